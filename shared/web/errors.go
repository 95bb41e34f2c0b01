package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// statusOf is the one place where error codes become HTTP status codes.
func statusOf(code string) int {
	switch code {
	case forgelink.EINVALID:
		return http.StatusUnprocessableEntity
	case forgelink.EMALFORMED, forgelink.EEXPIRED:
		return http.StatusBadRequest
	case forgelink.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case forgelink.EFORBIDDEN, forgelink.EDENIED:
		return http.StatusForbidden
	case forgelink.ENOTFOUND:
		return http.StatusNotFound
	case forgelink.EMETHOD:
		return http.StatusMethodNotAllowed
	case forgelink.ECONFLICT, forgelink.EPENDING:
		return http.StatusConflict
	case forgelink.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case forgelink.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case forgelink.ERATELIMITED:
		return http.StatusTooManyRequests
	case forgelink.EUPSTREAM:
		return http.StatusBadGateway
	case forgelink.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is the JSON error shape of DESIGN.md.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// fail answers err as JSON on API paths and as an HTML page elsewhere.
func (s *site) fail(w http.ResponseWriter, r *http.Request, err error) {
	if isAPI(r) {
		s.failJSON(w, r, err)
		return
	}
	s.failHTML(w, r, err, "")
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// prepareFailure logs err and sets headers that depend on it; it returns code and status.
func (s *site) prepareFailure(w http.ResponseWriter, r *http.Request, err error) (string, int) {
	code := forgelink.ErrorCode(err)
	status := statusOf(code)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "error", err.Error(), "code", code)
	} else {
		s.log.InfoContext(r.Context(), "request refused", "error", err.Error(), "code", code)
	}
	var e *forgelink.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	} else if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "2")
	}
	if status == http.StatusUnauthorized && isAPI(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="forgelink"`)
	}
	return code, status
}

func (s *site) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	code, status := s.prepareFailure(w, r, err)
	if code == forgelink.EINTERNAL || code == "" {
		code = forgelink.EINTERNAL
	}
	writeJSON(w, status, errorBody{Error: errorDetail{
		Code:    code,
		Message: forgelink.ErrorMessage(err),
		Fields:  forgelink.ErrorFields(err),
	}})
}

// errorPage is the data of the HTML error page.
type errorPage struct {
	Status  int
	Title   string
	Message string
	// Action is an optional link back into the flow ("Try again").
	ActionURL   string
	ActionLabel string
}

// failHTML renders the error page. title may be empty: a title by status is used.
func (s *site) failHTML(w http.ResponseWriter, r *http.Request, err error, title string) {
	s.failPage(w, r, err, errorPage{Title: title})
}

// failPage renders the error page with page's title and action; status and message come
// from err unless page sets them.
func (s *site) failPage(w http.ResponseWriter, r *http.Request, err error, page errorPage) {
	_, status := s.prepareFailure(w, r, err)
	if page.Status == 0 {
		page.Status = status
	}
	if page.Title == "" {
		page.Title = titleOf(page.Status)
	}
	if page.Message == "" {
		page.Message = forgelink.ErrorMessage(err)
	}
	s.render(w, r, page.Status, "error.html", page)
}

func titleOf(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Not found"
	case http.StatusUnauthorized:
		return "Please sign in"
	case http.StatusForbidden:
		return "Not allowed"
	case http.StatusBadGateway:
		return "GitLab did not answer as expected"
	case http.StatusServiceUnavailable:
		return "Temporarily unavailable"
	case http.StatusTooManyRequests:
		return "Too many requests"
	}
	if status >= 500 {
		return "Something went wrong"
	}
	return "That did not work"
}
