package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSQLiteRegistrations(t *testing.T) {
	s, _ := openTest(t)
	testRegistrations(t, s)
}

// testRegistrations is the contract of the registration methods, for any
// Store.
func testRegistrations(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Now()
	alice := "sip:alice@conf.example.com"
	put := func(r Registration) {
		t.Helper()
		if err := s.PutRegistration(ctx, r); err != nil {
			t.Fatalf("PutRegistration(%s, %s): %v", r.AOR, r.Contact, err)
		}
	}
	laptop := Registration{
		AOR: alice, Contact: "sip:k1@x1.invalid;transport=ws", Username: "alice", Transport: "wss",
		Source: "192.0.2.7:50123", UserAgent: "JsSIP 3.13.8", CallID: "c1", CSeq: 7,
		InstanceID: "<urn:uuid:3f1b0a5c-0d5e-4b7a-9d1e-2f7b7f4c1e11>", ExpiresAt: now.Add(10 * time.Minute),
	}
	put(laptop)
	put(Registration{AOR: alice, Contact: "sip:alice@192.0.2.8:5060", Transport: "udp", ExpiresAt: now.Add(time.Hour)})
	put(Registration{AOR: "sip:bob@conf.example.com", Contact: "sip:bob@192.0.2.9", ExpiresAt: now.Add(time.Hour)})
	put(Registration{AOR: "sip:carol@conf.example.com", Contact: "sip:carol@192.0.2.10", ExpiresAt: now.Add(-time.Second)})

	got, err := s.ListRegistrations(ctx, alice, now)
	if err != nil || len(got) != 2 {
		t.Fatalf("alice: %v, %v", got, err)
	}
	if got[0].Contact != "sip:alice@192.0.2.8:5060" || got[1].Contact != laptop.Contact {
		t.Errorf("order: %s, %s", got[0].Contact, got[1].Contact)
	}
	l := got[1]
	if l.Username != "alice" || l.Transport != "wss" || l.Source != laptop.Source || l.UserAgent != laptop.UserAgent ||
		l.CallID != "c1" || l.CSeq != 7 || l.InstanceID != laptop.InstanceID ||
		l.ExpiresAt.UnixMilli() != laptop.ExpiresAt.UnixMilli() || l.UpdatedAt.Before(now.Add(-time.Second)) {
		t.Errorf("stored %+v", l)
	}
	all, err := s.ListRegistrations(ctx, "", now)
	if err != nil || len(all) != 3 || all[2].AOR != "sip:bob@conf.example.com" {
		t.Fatalf("all (expired carol left out): %v, %v", all, err)
	}
	// A refresh replaces the binding's fields.
	laptop.CSeq, laptop.ExpiresAt = 8, now.Add(20*time.Minute)
	put(laptop)
	got, _ = s.ListRegistrations(ctx, alice, now)
	if len(got) != 2 || got[1].CSeq != 8 || got[1].ExpiresAt.UnixMilli() != laptop.ExpiresAt.UnixMilli() {
		t.Errorf("after refresh: %+v", got)
	}
	// Time passes: the laptop's binding expires before the phone's.
	if got, _ := s.ListRegistrations(ctx, alice, now.Add(30*time.Minute)); len(got) != 1 || got[0].Transport != "udp" {
		t.Errorf("30 minutes later: %+v", got)
	}
	if err := s.DeleteRegistrations(ctx, alice, laptop.Contact); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ListRegistrations(ctx, alice, now); len(got) != 1 {
		t.Errorf("after deleting one: %+v", got)
	}
	if err := s.DeleteRegistrations(ctx, alice, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ListRegistrations(ctx, alice, now); len(got) != 0 {
		t.Errorf("after deleting all: %+v", got)
	}
	if err := s.DeleteRegistrations(ctx, "sip:nobody@x", ""); err != nil {
		t.Errorf("deleting nothing: %v", err)
	}
	for field, r := range map[string]Registration{
		"aor":        {Contact: "sip:x@y", ExpiresAt: now},
		"contact":    {AOR: alice, ExpiresAt: now},
		"expires_at": {AOR: alice, Contact: "sip:x@y"},
		"user_agent": {AOR: alice, Contact: "sip:x@y", ExpiresAt: now, UserAgent: strings.Repeat("u", 300)},
	} {
		err := s.PutRegistration(ctx, r)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", field, err)
		}
	}
}
