package bfcp

import (
	"bytes"
	"testing"
)

// FuzzParse: Parse never panics, and what it accepts encodes back to a
// message that parses to the same thing.
func FuzzParse(f *testing.F) {
	f.Add(Message{Version: 2, Primitive: Hello, ConferenceID: 1, TransactionID: 1, UserID: 1}.Marshal())
	f.Add(Message{
		Version: 1, Primitive: FloorRequest, ConferenceID: 1, TransactionID: 2, UserID: 1,
		Attributes: []Attribute{Uint16Attr(AttrFloorID, 2), TextAttr(AttrParticipantProvidedInfo, "slides")},
	}.Marshal())
	f.Add(Message{
		Version: 2, Responder: true, Primitive: FloorRequestStatus, ConferenceID: 1, TransactionID: 2, UserID: 1,
		Attributes: []Attribute{Group(AttrFloorRequestInformation, 1,
			Group(AttrOverallRequestStatus, 1, StatusAttr(StatusGranted)), Group(AttrFloorRequestStatus, 2))},
	}.Marshal())
	f.Add([]byte{0x48, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		for _, a := range m.Attributes {
			_, _, _ = a.Group()
			_, _ = a.Uint16()
		}
		again, err := Parse(m.Marshal())
		if err != nil {
			t.Fatalf("re-encoded message does not parse: %v", err)
		}
		if again.Primitive != m.Primitive || again.TransactionID != m.TransactionID || len(again.Attributes) != len(m.Attributes) {
			t.Fatalf("round trip: %+v, then %+v", m, again)
		}
		for i, a := range m.Attributes {
			b := again.Attributes[i]
			if a.Type != b.Type || a.Mandatory != b.Mandatory || !bytes.Equal(a.Value, b.Value) {
				t.Fatalf("attribute %d: %+v, then %+v", i, a, b)
			}
		}
	})
}
