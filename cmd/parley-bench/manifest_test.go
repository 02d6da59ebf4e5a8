package main

import (
	"reflect"
	"testing"
)

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := &Manifest{Seed: 7, BaseDomain: "bench.test",
		Large: TenantInfo{ID: "01L", Slug: "large", AdminEmail: "admin@bench.example", Password: "pw", Token: "tok",
			Clients: []string{"c1", "c2"}, Chats: []string{"h1"}, NamePrefixes: []string{"ann"}, PhoneFragments: []string{"7911"},
			Words: []string{"invoice"}, Articles: []string{"reset-password"}, KBQueries: []string{"password"}},
		Small: []TenantInfo{{ID: "01S", Slug: "small0001", Token: "t2"}},
		Steps: []GenStep{{Name: "small tenants", Seconds: 1.5}}, Sizes: map[string]int64{"large tenant clients": 2}}
	if err := writeManifest(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := readManifest(t.TempDir()); err == nil {
		t.Error("readManifest of an empty directory: got nil error, want one")
	}
}
