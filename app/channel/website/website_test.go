package website

import (
	"context"
	"testing"

	"parley/app"
)

func TestSendIsIdempotentByKey(t *testing.T) {
	p := New()
	out := app.Outbound{Key: "m1"}
	a, err := p.Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	b, found, err := p.Lookup(context.Background(), out)
	if err != nil || !found {
		t.Fatalf("lookup: found %v, err %v", found, err)
	}
	if a != b || a != "web:m1" {
		t.Errorf("ids: send %q, lookup %q, want web:m1 for both", a, b)
	}
}
