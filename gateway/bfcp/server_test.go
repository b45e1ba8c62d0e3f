package bfcp

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// client is a room system's BFCP client over loopback UDP, as Cisco and
// Poly endpoints speak it (version 2).
type client struct {
	t    *testing.T
	conn *net.UDPConn
	to   net.Addr
	txn  uint16
}

func newPair(t *testing.T, onFloor func(bool)) (*Server, *client) {
	t.Helper()
	sc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(Config{Conn: sc, ConferenceID: 7, UserID: 2, FloorID: 1, OnFloor: onFloor})
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	cc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return s, &client{t: t, conn: cc, to: sc.LocalAddr()}
}

// do sends a request and returns the server's response to it, skipping
// (and returning in others) the server's own requests on the way.
func (c *client) do(p Primitive, attrs ...Attribute) (Message, []Message) {
	c.t.Helper()
	c.txn++
	m := Message{Version: 2, Primitive: p, ConferenceID: 7, TransactionID: c.txn, UserID: 2, Attributes: attrs}
	c.send(m)
	var others []Message
	for {
		r := c.recv(2 * time.Second)
		if r.Responder && r.TransactionID == c.txn {
			return r, others
		}
		others = append(others, r)
	}
}

func (c *client) send(m Message) {
	c.t.Helper()
	if _, err := c.conn.WriteTo(m.Marshal(), c.to); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) recv(within time.Duration) Message {
	c.t.Helper()
	buf := make([]byte, MaxMessage)
	_ = c.conn.SetReadDeadline(time.Now().Add(within))
	n, _, err := c.conn.ReadFrom(buf)
	if err != nil {
		c.t.Fatalf("no message from the server: %v", err)
	}
	m, err := Parse(buf[:n])
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

// requestStatus reads the request id and state of a FloorRequestStatus
// or FloorStatus, and the holder's display name if given.
func requestStatus(t *testing.T, m Message) (id uint16, st RequestStatus, name string) {
	t.Helper()
	fri, ok := Find(m.Attributes, AttrFloorRequestInformation)
	if !ok {
		return 0, StatusUnknown, ""
	}
	id, sub, err := fri.Group()
	if err != nil {
		t.Fatal(err)
	}
	if ors, ok := Find(sub, AttrOverallRequestStatus); ok {
		_, rs, err := ors.Group()
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := Find(rs, AttrRequestStatus); ok && len(a.Value) > 0 {
			st = RequestStatus(a.Value[0])
		}
	}
	if bi, ok := Find(sub, AttrBeneficiaryInformation); ok {
		_, ba, _ := bi.Group()
		if a, ok := Find(ba, AttrUserDisplayName); ok {
			name = string(a.Value)
		}
	}
	return id, st, name
}

// TestServerFloor: Hello is answered with what the server supports; a
// FloorRequest is granted at once (and a retransmission of it gets the
// same answer); FloorQuery subscribes to FloorStatus; someone in the room
// taking the floor revokes the room system's grant and is named in a
// FloorStatus, each retransmitted until acknowledged; FloorRelease of a
// request the server does not know, or a request for another floor, is
// an Error.
func TestServerFloor(t *testing.T) {
	var floor atomic.Int32 // 1 granted, 2 ended
	s, c := newPair(t, func(g bool) {
		if g {
			floor.Store(1)
		} else {
			floor.Store(2)
		}
	})

	r, _ := c.do(Hello)
	if r.Primitive != HelloAck || r.ConferenceID != 7 || r.UserID != 2 || r.Version != 2 {
		t.Fatalf("Hello answered %+v", r)
	}
	if a, ok := Find(r.Attributes, AttrSupportedPrimitives); !ok || len(a.Value) < 5 {
		t.Errorf("HelloAck without SUPPORTED-PRIMITIVES: %+v", r.Attributes)
	}

	r, _ = c.do(FloorRequest, Uint16Attr(AttrFloorID, 1))
	id, st, _ := requestStatus(t, r)
	if r.Primitive != FloorRequestStatus || st != StatusGranted || id == 0 || !s.Granted() || floor.Load() != 1 {
		t.Fatalf("FloorRequest answered %v %v (granted %v)", r.Primitive, st, s.Granted())
	}
	// The same request again (its response lost): the same answer.
	c.send(Message{
		Version: 2, Primitive: FloorRequest, ConferenceID: 7, TransactionID: c.txn, UserID: 2,
		Attributes: []Attribute{Uint16Attr(AttrFloorID, 1)},
	})
	if again := c.recv(time.Second); string(again.Marshal()) != string(r.Marshal()) {
		t.Errorf("retransmitted FloorRequest answered %+v, first %+v", again, r)
	}

	r, _ = c.do(FloorQuery, Uint16Attr(AttrFloorID, 1))
	if qid, qst, _ := requestStatus(t, r); r.Primitive != FloorStatus || qid != id || qst != StatusGranted {
		t.Errorf("FloorQuery answered %v: request %d %v", r.Primitive, qid, qst)
	}

	s.RoomHolder("alice")
	revoke := c.recv(time.Second)
	if _, rst, _ := requestStatus(t, revoke); revoke.Primitive != FloorRequestStatus || revoke.Responder || revoke.TransactionID == 0 || rst != StatusRevoked {
		t.Fatalf("after a room share: %v %v", revoke.Primitive, rst)
	}
	c.send(Message{Version: 2, Responder: true, Primitive: FloorRequestStatusAck, ConferenceID: 7, TransactionID: revoke.TransactionID, UserID: 2})
	status := c.recv(time.Second)
	if _, sst, name := requestStatus(t, status); status.Primitive != FloorStatus || sst != StatusGranted || name != "alice" {
		t.Fatalf("FloorStatus after a room share: %v %v %q", status.Primitive, sst, name)
	}
	if s.Granted() || floor.Load() != 2 {
		t.Error("the room system still holds the floor")
	}
	// Not acknowledged: sent again after T1.
	if again := c.recv(2 * retransmitT1); again.TransactionID != status.TransactionID || again.Primitive != FloorStatus {
		t.Errorf("retransmission %v %d, want FloorStatus %d", again.Primitive, again.TransactionID, status.TransactionID)
	}
	c.send(Message{Version: 2, Responder: true, Primitive: FloorStatusAck, ConferenceID: 7, TransactionID: status.TransactionID, UserID: 2})

	r, _ = c.do(FloorRelease, Uint16Attr(AttrFloorRequestID, id))
	if a, ok := Find(r.Attributes, AttrErrorCode); r.Primitive != Error || !ok || a.Value[0] != ErrCodeFloorRequestUnknown {
		t.Errorf("release of a revoked request answered %+v", r)
	}
	r, _ = c.do(FloorRequest, Uint16Attr(AttrFloorID, 9))
	if a, ok := Find(r.Attributes, AttrErrorCode); r.Primitive != Error || !ok || a.Value[0] != ErrCodeInvalidFloorID {
		t.Errorf("request for floor 9 answered %+v", r)
	}

	// The share ends; the room system asks again and releases.
	s.RoomHolder("")
	r, _ = c.do(FloorRequest, Uint16Attr(AttrFloorID, 1))
	id, st, _ = requestStatus(t, r)
	if st != StatusGranted || floor.Load() != 1 {
		t.Fatalf("second FloorRequest: %v", st)
	}
	r, _ = c.do(FloorRelease, Uint16Attr(AttrFloorRequestID, id))
	if _, rst, _ := requestStatus(t, r); r.Primitive != FloorRequestStatus || rst != StatusReleased || s.Granted() || floor.Load() != 2 {
		t.Errorf("FloorRelease answered %v %v", r.Primitive, rst)
	}
	r, _ = c.do(Goodbye)
	if r.Primitive != GoodbyeAck {
		t.Errorf("Goodbye answered %v", r.Primitive)
	}
}

// TestServerUnreadable: a message that is not BFCP gets no answer, one
// with a readable header but a broken body gets Error 10.
func TestServerUnreadable(t *testing.T) {
	_, c := newPair(t, nil)
	if _, err := c.conn.WriteTo([]byte("hello"), c.to); err != nil {
		t.Fatal(err)
	}
	bad := Message{Version: 2, Primitive: FloorRequest, ConferenceID: 7, TransactionID: 9, UserID: 2}.Marshal()
	bad = append(bad, 4, 9) // an attribute longer than the message
	bad[3] = 1
	bad = append(bad, 0, 0)
	if _, err := c.conn.WriteTo(bad, c.to); err != nil {
		t.Fatal(err)
	}
	r := c.recv(time.Second)
	if a, ok := Find(r.Attributes, AttrErrorCode); r.Primitive != Error || r.TransactionID != 9 || !ok || a.Value[0] != ErrCodeUnparsable {
		t.Errorf("broken message answered %+v", r)
	}
}
