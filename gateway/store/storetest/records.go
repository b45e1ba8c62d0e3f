package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/store"
)

// RecordsFactory returns empty records for one subtest.
type RecordsFactory func(t *testing.T) store.Records

// RunRecords runs the conformance tests of store.Records.
func RunRecords(t *testing.T, open RecordsFactory) {
	t.Run("PutGetListDelete", func(t *testing.T) { testRecordsBasic(t, open(t)) })
	t.Run("Claim", func(t *testing.T) { testRecordsClaim(t, open(t)) })
	t.Run("Expiry", func(t *testing.T) { testRecordsExpiry(t, open(t)) })
}

func testRecordsBasic(t *testing.T, r store.Records) {
	ctx := context.Background()
	if _, err := r.GetRecord(ctx, "node", "gw1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRecord of nothing = %v, want ErrNotFound", err)
	}
	if err := r.PutRecord(ctx, "node", "gw1", []byte(`{"a":1}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := r.PutRecord(ctx, "node", "gw2", []byte(`{"b":2}`), 0); err != nil {
		t.Fatal(err)
	}
	if err := r.PutRecord(ctx, "other", "gw1", []byte(`x`), 0); err != nil {
		t.Fatal(err)
	}
	if err := r.PutRecord(ctx, "node", "gw1", []byte(`{"a":3}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := r.GetRecord(ctx, "node", "gw1"); err != nil || string(v) != `{"a":3}` {
		t.Fatalf("GetRecord = %q %v, want the second put", v, err)
	}
	list, err := r.ListRecords(ctx, "node")
	if err != nil || fmt.Sprint(list) != fmt.Sprint(map[string][]byte{"gw1": []byte(`{"a":3}`), "gw2": []byte(`{"b":2}`)}) {
		t.Fatalf("ListRecords = %q %v", list, err)
	}
	if ok, err := r.DeleteRecord(ctx, "node", "gw2", []byte("not its value")); err != nil || ok {
		t.Fatalf("DeleteRecord with another value = %v %v, want kept", ok, err)
	}
	if ok, err := r.DeleteRecord(ctx, "node", "gw2", nil); err != nil || !ok {
		t.Fatalf("DeleteRecord = %v %v", ok, err)
	}
	if ok, err := r.DeleteRecord(ctx, "node", "gw2", nil); err != nil || ok {
		t.Fatalf("second DeleteRecord = %v %v, want nothing removed", ok, err)
	}
	if list, err := r.ListRecords(ctx, "node"); err != nil || len(list) != 1 {
		t.Fatalf("ListRecords after delete = %q %v", list, err)
	}
	if list, err := r.ListRecords(ctx, "nothing"); err != nil || len(list) != 0 {
		t.Fatalf("ListRecords of an unknown kind = %q %v", list, err)
	}
}

func testRecordsClaim(t *testing.T, r store.Records) {
	ctx := context.Background()
	ok, holder, err := r.ClaimRecord(ctx, "placement", "demo", []byte("gw1"), time.Minute)
	if err != nil || !ok || string(holder) != "gw1" {
		t.Fatalf("first claim = %v %q %v", ok, holder, err)
	}
	if ok, holder, err := r.ClaimRecord(ctx, "placement", "demo", []byte("gw2"), time.Minute); err != nil || ok || string(holder) != "gw1" {
		t.Fatalf("a second node's claim = %v %q %v, want held by gw1", ok, holder, err)
	}
	if ok, _, err := r.ClaimRecord(ctx, "placement", "demo", []byte("gw1"), time.Minute); err != nil || !ok {
		t.Fatalf("the holder renewing = %v %v", ok, err)
	}
	if ok, err := r.DeleteRecord(ctx, "placement", "demo", []byte("gw2")); err != nil || ok {
		t.Fatalf("gw2 released gw1's claim: %v %v", ok, err)
	}
	if ok, err := r.DeleteRecord(ctx, "placement", "demo", []byte("gw1")); err != nil || !ok {
		t.Fatalf("gw1 releasing = %v %v", ok, err)
	}
	if ok, _, err := r.ClaimRecord(ctx, "placement", "demo", []byte("gw2"), time.Minute); err != nil || !ok {
		t.Fatalf("claim after the release = %v %v", ok, err)
	}
}

func testRecordsExpiry(t *testing.T, r store.Records) {
	ctx := context.Background()
	const ttl = 200 * time.Millisecond
	if ok, _, err := r.ClaimRecord(ctx, "placement", "gone", []byte("gw1"), ttl); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := r.PutRecord(ctx, "node", "gw9", []byte("x"), ttl); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := r.GetRecord(ctx, "node", "gw9")
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("a record with a %v ttl still there after 5 s", ttl)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if list, err := r.ListRecords(ctx, "node"); err != nil || len(list) != 0 {
		t.Fatalf("ListRecords lists an expired record: %q %v", list, err)
	}
	// An expired claim is free for another node.
	if ok, holder, err := r.ClaimRecord(ctx, "placement", "gone", []byte("gw2"), ttl); err != nil || !ok {
		t.Fatalf("claim of an expired record = %v %q %v", ok, holder, err)
	}
}
