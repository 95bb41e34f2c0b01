package web

import (
	"reflect"
	"testing"
)

func TestSummarizeListsEachMessageOnce(t *testing.T) {
	got := summarize(map[string]string{
		"url":           "is required",
		"platform":      "is required",
		"client_id":     "Application ID or Secret is wrong",
		"client_secret": "Application ID or Secret is wrong",
	})
	want := []fieldError{
		{Field: "platform", Label: "Platform", Message: "is required"},
		{Field: "url", Label: "Server URL", Message: "is required"},
		{Field: "client_id", Label: "Application ID", Message: "Application ID or Secret is wrong"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summarize = %+v\nwant %+v", got, want)
	}
}
