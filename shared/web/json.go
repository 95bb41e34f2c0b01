package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// maxBody bounds every request body (DESIGN.md: 413 over 64 KiB).
const maxBody = 64 << 10

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// decodeJSON reads one JSON object from r's body into v: 415 for another content type,
// 413 past maxBody, 400 for anything that does not parse into v.
func decodeJSON(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return forgelink.Errorf(forgelink.EUNSUPPORTED, "Content-Type must be application/json.")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	// JSON text is UTF-8 (RFC 8259); encoding/json would silently turn bad bytes into
	// U+FFFD and store mangled names.
	if !utf8.Valid(body) {
		return forgelink.Errorf(forgelink.EMALFORMED, "The request body is not valid UTF-8 JSON.")
	}
	// Every request body is one JSON object. encoding/json accepts a bare null as "no
	// change" and would turn it into a 422 about missing fields; it is malformed input.
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return forgelink.Errorf(forgelink.EMALFORMED, "The request body must be a JSON object.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return forgelink.Wrap(forgelink.EMALFORMED, err, "Field %q has the wrong type.", typeErr.Field)
		}
		return forgelink.Wrap(forgelink.EMALFORMED, err, "The request body is not valid JSON.")
	}
	return nil
}

// readBody reads the whole body within maxBody.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, forgelink.Errorf(forgelink.ETOOLARGE, "The request body is larger than 64 KiB.")
	} else if err != nil {
		return nil, forgelink.Wrap(forgelink.EMALFORMED, err, "The request body could not be read.")
	}
	return body, nil
}

// parseForm parses an urlencoded form body within maxBody: 415 for another content type.
func parseForm(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return forgelink.Errorf(forgelink.EUNSUPPORTED, "The form must be sent as application/x-www-form-urlencoded.")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return forgelink.Errorf(forgelink.ETOOLARGE, "The form is larger than 64 KiB.")
		}
		return forgelink.Wrap(forgelink.EMALFORMED, err, "The form could not be read.")
	}
	return nil
}
