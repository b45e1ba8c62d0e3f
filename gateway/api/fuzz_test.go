package api

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeBody feeds arbitrary bytes to the request decoder for each
// request type: it must never panic, and must either accept or return an
// error that maps to 400 or 413 with a message.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"standup","pin":"4321","host_pin":"9876","aliases":["4711"],"wait_for_host":false,"pin_on_direct_dial":false}`,
		`{"pin":null,"aliases":[]}`,
		`{"audio":true,"video":false}`,
		`{"name":"alice","ttl_seconds":3600}`,
		`{"name":`, `[]`, `null`, `{} {}`, `{"x":1}`, `{"pin":1234}`, `{"ttl_seconds":1e99}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := []any{&createRoomRequest{}, &patchRoomRequest{}, &muteRequest{}, &tokenRequest{}}
		for _, dst := range targets {
			err := decodeBody(bytes.NewReader(data), dst)
			if err == nil {
				continue
			}
			var re *requestError
			if !errors.As(err, &re) || re.msg == "" {
				t.Fatalf("decode %q: unclassified error %v", data, err)
			}
			if code := statusOf(err); code != 400 && code != 413 {
				t.Fatalf("decode %q: status %d", data, code)
			}
		}
	})
}
