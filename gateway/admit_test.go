package gateway

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/roombridge/roombridge/gateway/lockout"
	"github.com/roombridge/roombridge/gateway/store"
)

type fakeTokens map[string][2]string

func (f fakeTokens) Verify(tok string) (string, string, error) {
	v, ok := f[tok]
	if !ok {
		return "", "", errors.New("bad")
	}
	return v[0], v[1], nil
}

type fakeRooms map[string]store.Room

func (f fakeRooms) GetRoom(_ context.Context, name string) (store.Room, error) {
	r, ok := f[name]
	if !ok {
		return store.Room{}, store.ErrNotFound
	}
	return r, nil
}

var admitRooms = fakeRooms{
	"demo":   {Name: "demo"},
	"other":  {Name: "other"},
	"locked": {Name: "locked", PIN: "1234", HostPIN: "9999"},
	"hosted": {Name: "hosted", HostPIN: "9999"},
}

func TestWebAdmission(t *testing.T) {
	toks := fakeTokens{"good": {"demo", "alice"}, "anon": {"demo", ""}, "lockedtok": {"locked", "carol"}}
	for _, tc := range []struct {
		public               bool
		room, name, tok, pin string
		want                 Admitted
		err                  error
	}{
		{public: true, room: "demo", name: "bob", want: Admitted{Name: "bob"}},
		{public: true, room: "nope", name: "bob", err: ErrNoSuchRoom},
		{public: false, room: "demo", name: "bob", err: ErrTokenRequired},
		{public: false, room: "demo", name: "bob", tok: "good", want: Admitted{Name: "alice"}},
		{public: false, room: "demo", name: "bob", tok: "anon", want: Admitted{Name: "bob"}},
		{public: false, room: "other", name: "bob", tok: "good", err: ErrTokenRoom},
		{public: true, room: "demo", name: "bob", tok: "forged", err: ErrTokenInvalid},
		{public: true, room: "demo", name: "  \x07 ", want: Admitted{Name: "guest"}},
		{public: true, room: "demo", name: strings.Repeat("é", 100), want: Admitted{Name: strings.Repeat("é", 64)}},
		// A room with a PIN needs it, public or not; the host PIN makes a host.
		{public: true, room: "locked", name: "bob", err: ErrPINRequired},
		{public: true, room: "locked", name: "bob", pin: "1235", err: ErrPINWrong},
		{public: true, room: "locked", name: "bob", pin: "1234", want: Admitted{Name: "bob"}},
		{public: false, room: "locked", name: "bob", pin: "1234", want: Admitted{Name: "bob"}},
		{public: true, room: "locked", name: "bob", pin: "9999", want: Admitted{Name: "bob", Host: true}},
		{public: true, room: "locked", name: "bob", tok: "lockedtok", want: Admitted{Name: "carol"}},
		{public: true, room: "locked", name: "bob", tok: "good", err: ErrTokenRoom},
		// Only a host PIN: guests come in freely, the host PIN makes a host.
		{public: true, room: "hosted", name: "bob", want: Admitted{Name: "bob"}},
		{public: true, room: "hosted", name: "bob", pin: "9999", want: Admitted{Name: "bob", Host: true}},
		{public: true, room: "hosted", name: "bob", pin: "1111", err: ErrPINWrong},
	} {
		w, err := NewWebAdmission(WebAdmission{Public: tc.public, Tokens: toks, Rooms: admitRooms}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.Admit(context.Background(), JoinRequest{Room: tc.room, Name: tc.name, Token: tc.tok, PIN: tc.pin, Client: netip.MustParseAddr("192.0.2.7")})
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("%+v: got %+v, %v", tc, got, err)
		}
	}
}

// Wrong web PINs count per client address in the table the phones use;
// a locked address is refused even with the right PIN, another is not.
func TestWebAdmissionLockout(t *testing.T) {
	table := lockout.New(lockout.Config{MaxFailures: 3})
	reg := prometheus.NewRegistry()
	w, err := NewWebAdmission(WebAdmission{Public: true, Rooms: admitRooms, Lockout: table}, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	attacker := netip.MustParseAddr("198.51.100.1")
	for i, want := range []error{ErrPINWrong, ErrPINWrong, ErrWebLockedOut, ErrWebLockedOut} {
		_, err := w.Admit(ctx, JoinRequest{Room: "locked", PIN: "000" + string(rune('0'+i)), Client: attacker})
		if !errors.Is(err, want) {
			t.Errorf("guess %d: %v, want %v", i, err, want)
		}
	}
	if _, err := w.Admit(ctx, JoinRequest{Room: "locked", PIN: "1234", Client: attacker}); !errors.Is(err, ErrWebLockedOut) {
		t.Errorf("right PIN from a locked address: %v, want ErrWebLockedOut", err)
	}
	if _, locked := table.Locked(lockout.SourceKey(attacker)); !locked {
		t.Error("the shared table does not hold the lock")
	}
	if a, err := w.Admit(ctx, JoinRequest{Room: "locked", PIN: "1234", Client: netip.MustParseAddr("192.0.2.7")}); err != nil || a.Host {
		t.Errorf("another address with the right PIN: %+v, %v", a, err)
	}
	count := func(result string) float64 {
		var m dto.Metric
		if err := w.joins.WithLabelValues(result).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	if got := count(webWrongPIN); got != 2 {
		t.Errorf("web_joins_total{wrong_pin} = %v, want 2", got)
	}
	if got := count(webLocked); got != 3 {
		t.Errorf("web_joins_total{locked_out} = %v, want 3", got)
	}
	var ae *AdmitError
	if !errors.As(ErrPINRequired, &ae) || ae.Reason() != "pin_required" {
		t.Error("ErrPINRequired carries no reason for the page")
	}
}
