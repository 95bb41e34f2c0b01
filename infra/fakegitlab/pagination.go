package fakegitlab

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// GitLab's offset pagination (Kaminari configured with max_per_page 100).
const (
	defaultPerPage = 20
	maxPerPage     = 100
)

// pager is a request's page and per_page. rawPerPage is per_page as sent
// (or the default), which GitLab copies into its Link URLs unclamped.
type pager struct {
	page, perPage int
	rawPerPage    string
}

// parsePager reads page and per_page. Grape rejects values that are not
// integers ("page is invalid"); Kaminari treats a page below 1 as page 1
// and caps per_page at 100. A per_page below 1 falls back to 20 here
// (Kaminari's own handling of 0 is an edge case nobody relies on).
func parsePager(q url.Values, errs *[]string) pager {
	p := pager{page: 1, perPage: defaultPerPage, rawPerPage: strconv.Itoa(defaultPerPage)}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			*errs = append(*errs, "page is invalid")
		} else if n > 1 {
			p.page = n
		}
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			*errs = append(*errs, "per_page is invalid")
		case n > maxPerPage:
			p.perPage, p.rawPerPage = maxPerPage, v
		case n >= 1:
			p.perPage, p.rawPerPage = n, v
		}
	}
	return p
}

// window is the slice [lo, hi) of total items the page covers.
func (p pager) window(total int) (lo, hi int) {
	lo = min((p.page-1)*p.perPage, total)
	hi = min(lo+p.perPage, total)
	return lo, hi
}

// writePageHeaders sets the headers GitLab's OffsetHeaderBuilder sends:
// X-Per-Page, X-Page, X-Next-Page and X-Prev-Page (empty when there is
// none, as Kaminari's nil renders), Link (prev, next, first, last), X-Total
// and X-Total-Pages (at least 1). params are the request's parameters as
// Grape sees them (query, defaults and route params such as id); Link URLs
// carry them sorted, with page and per_page replaced, on the configured
// base URL.
func (s *Server) writePageHeaders(w http.ResponseWriter, r *http.Request, p pager, total int, params url.Values) {
	totalPages := (total + p.perPage - 1) / p.perPage
	outOfRange := p.page > totalPages
	next, prev := "", ""
	if !outOfRange && p.page < totalPages {
		next = strconv.Itoa(p.page + 1)
	}
	if !outOfRange && p.page > 1 {
		prev = strconv.Itoa(p.page - 1)
	}
	lastPage := max(totalPages, 1)
	href := func(page int) string {
		q := url.Values{}
		for k, v := range params {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", p.rawPerPage)
		return "<" + s.base(r) + r.URL.EscapedPath() + "?" + q.Encode() + ">"
	}
	var links []string
	if prev != "" {
		links = append(links, href(p.page-1)+`; rel="prev"`)
	}
	if next != "" {
		links = append(links, href(p.page+1)+`; rel="next"`)
	}
	links = append(links, href(1)+`; rel="first"`, href(lastPage)+`; rel="last"`)
	h := w.Header()
	h.Set("X-Per-Page", strconv.Itoa(p.perPage))
	h.Set("X-Page", strconv.Itoa(p.page))
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	h.Set("Link", strings.Join(links, ", "))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(lastPage))
}

// requestParams copies the query string and adds Grape's defaults for the
// endpoint's declared parameters, which GitLab's Link URLs include.
func requestParams(r *http.Request, defaults map[string]string) url.Values {
	q := url.Values{}
	for k, v := range r.URL.Query() {
		q[k] = append([]string(nil), v...)
	}
	for k, v := range defaults {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	return q
}
