package apptest

import (
	"html"
	"net/url"
	"regexp"
	"strings"
)

var (
	formTag   = regexp.MustCompile(`(?s)<form.*?</form>`)
	inputTag  = regexp.MustCompile(`<input[^>]*>`)
	attrValue = regexp.MustCompile(`\b(name|value|type)="([^"]*)"`)
)

// HiddenInputs returns the hidden inputs of the form with the given id attribute on page
// (e.g. the fake GitLab's consent forms "authorize" and "deny").
func HiddenInputs(page, formID string) map[string]string {
	out := map[string]string{}
	for _, form := range formTag.FindAllString(page, -1) {
		if strings.Contains(form[:strings.Index(form, ">")+1], `id="`+formID+`"`) {
			page = form
			break
		}
	}
	for _, tag := range inputTag.FindAllString(page, -1) {
		attrs := map[string]string{}
		for _, m := range attrValue.FindAllStringSubmatch(tag, -1) {
			attrs[m[1]] = html.UnescapeString(m[2])
		}
		if attrs["type"] == "hidden" && attrs["name"] != "" {
			out[attrs["name"]] = attrs["value"]
		}
	}
	return out
}

// FormValue returns the value attribute of the input named name on page, or "".
func FormValue(page, name string) string {
	for _, tag := range inputTag.FindAllString(page, -1) {
		attrs := map[string]string{}
		for _, m := range attrValue.FindAllStringSubmatch(tag, -1) {
			attrs[m[1]] = html.UnescapeString(m[2])
		}
		if attrs["name"] == name {
			return attrs["value"]
		}
	}
	return ""
}

func queryEscape(s string) string { return url.QueryEscape(s) }
