package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type fakeTokens map[string][2]string

func (f fakeTokens) Verify(tok string) (string, string, error) {
	v, ok := f[tok]
	if !ok {
		return "", "", errors.New("bad")
	}
	return v[0], v[1], nil
}

func TestWebAdmission(t *testing.T) {
	exists := func(_ context.Context, r string) (bool, error) { return r == "demo" || r == "other", nil }
	toks := fakeTokens{"good": {"demo", "alice"}, "anon": {"demo", ""}}
	for _, tc := range []struct {
		public          bool
		room, name, tok string
		want            string
		err             error
	}{
		{public: true, room: "demo", name: "bob", want: "bob"},
		{public: true, room: "nope", name: "bob", err: ErrNoSuchRoom},
		{public: false, room: "demo", name: "bob", err: ErrTokenRequired},
		{public: false, room: "demo", name: "bob", tok: "good", want: "alice"},
		{public: false, room: "demo", name: "bob", tok: "anon", want: "bob"},
		{public: false, room: "other", name: "bob", tok: "good", err: ErrTokenRoom},
		{public: true, room: "demo", name: "bob", tok: "forged", err: ErrTokenInvalid},
		{public: true, room: "demo", name: "  \x07 ", want: "guest"},
		{public: true, room: "demo", name: strings.Repeat("é", 100), want: strings.Repeat("é", 64)},
	} {
		w := &WebAdmission{Public: tc.public, Tokens: toks, RoomExists: exists}
		got, err := w.Admit(context.Background(), tc.room, tc.name, tc.tok)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("%+v: got %q, %v", tc, got, err)
		}
	}
}
