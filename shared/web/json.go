package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

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
	return unmarshalStrict(body, v)
}

// unmarshalStrict decodes one JSON object into v with github.com/go-json-experiment/json
// (the future encoding/json/v2) at its defaults: object keys match struct tags exactly
// (encoding/json folds case, so {"Name":…} set name) and a key given twice is an error
// (encoding/json kept the last). Two parsers of one body — a proxy, a WAF, forgelink —
// must never read two meanings from it. A library rather than a token pass of our own:
// it checks nested objects too and is maintained with the standard library's v2.
func unmarshalStrict(body []byte, v any) error {
	err := jsonv2.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var se *jsonv2.SemanticError
	if errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName) || errors.Is(err, jsontext.ErrDuplicateName) {
		return forgelink.Wrap(forgelink.EMALFORMED, err, "The request body has a key twice.")
	}
	if errors.As(err, &se) && se.GoType != nil && len(se.JSONPointer) > 0 {
		return forgelink.Wrap(forgelink.EMALFORMED, err, "Field %q has the wrong type.", fieldName(se.JSONPointer))
	}
	return forgelink.Wrap(forgelink.EMALFORMED, err, "The request body is not valid JSON.")
}

// fieldName is the top-level key of a JSON pointer ("/allowed_groups/0/path" →
// "allowed_groups"): a name of forgelink's own request types, never arbitrary input,
// since only known fields are decoded into typed values.
func fieldName(p jsontext.Pointer) string {
	for tok := range p.Tokens() {
		return tok
	}
	return ""
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
