package main

import (
	"reflect"
	"testing"

	"github.com/forgelink/forgelink/infra/fakegitlab"
)

func TestParseGroup(t *testing.T) {
	cases := []struct {
		in      string
		want    fakegitlab.GroupSpec
		wantErr bool
	}{
		{in: "qa", want: fakegitlab.GroupSpec{FullPath: "qa", Members: map[string]int{}}},
		{in: "eng/sec=carol:developer, dave:40", want: fakegitlab.GroupSpec{FullPath: "eng/sec",
			Members: map[string]int{"carol": fakegitlab.Developer, "dave": fakegitlab.Maintainer}}},
		{in: "qa=carol:Owner", want: fakegitlab.GroupSpec{FullPath: "qa", Members: map[string]int{"carol": fakegitlab.Owner}}},
		{in: "=carol:10", wantErr: true},
		{in: "qa=carol", wantErr: true},
		{in: "qa=carol:boss", wantErr: true},
	}
	for _, c := range cases {
		got, err := parseGroup(c.in)
		if (err != nil) != c.wantErr || (!c.wantErr && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("parseGroup(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func TestNewServerReportsBadGroups(t *testing.T) {
	_, err := newServer(fakegitlab.Options{ExtraGroups: []fakegitlab.GroupSpec{{FullPath: "missing/child"}}})
	if err == nil {
		t.Fatal("a group under a missing parent should be an error")
	}
}
