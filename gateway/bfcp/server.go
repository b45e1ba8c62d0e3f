package bfcp

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Retransmission of the server's own requests over UDP (RFC 8855 §6.2.2):
// T1 500 ms, doubled each time, four sends at most.
const (
	retransmitT1 = 500 * time.Millisecond
	maxSends     = 4
	// pollEvery is how often the reader looks at due retransmissions.
	pollEvery = 100 * time.Millisecond
	// cachedResponses is how many responses are kept to answer a
	// retransmitted request with the same response (RFC 8855 §6.2.2).
	cachedResponses = 8
)

// Config sets a Server up; the values are those of the SDP that
// negotiated it (RFC 8856: a=confid, a=userid, a=floorid).
type Config struct {
	// Conn is the socket of the m=application line; the Server owns it.
	Conn         net.PacketConn
	ConferenceID uint32
	UserID       uint16
	FloorID      uint16
	// OnFloor, when set, is told when the room system is granted the
	// floor (true) and when its grant ends (false); it runs on the
	// server's goroutine.
	OnFloor func(granted bool)
	Logger  *slog.Logger
}

// Server is the floor control server of one room system's BFCP session
// over UDP. The floor is the room system's content stream. A request for
// it is granted at once; someone in the room taking the floor (sharing a
// screen, [Server.RoomHolder]) revokes the room system's grant and is
// reported to it in FloorStatus once it subscribed with FloorQuery.
//
// One goroutine reads the socket and retransmits; Close stops it.
type Server struct {
	cfg  Config
	log  *slog.Logger
	done chan struct{}
	wg   sync.WaitGroup

	closed atomic.Bool

	mu         sync.Mutex
	remote     net.Addr // where the client sends from
	version    uint8    // the client's BFCP version
	reqID      uint16   // the room system's floor request, 0 when none
	status     RequestStatus
	nextReqID  uint16
	subscribed bool
	holder     string // a room participant holding the floor, "" when none
	holderReq  uint16
	nextTxn    uint16
	pending    []*outgoing
	outbox     [][]byte // requests of ours to send once mu is released
	outboxTo   net.Addr
	cache      []cached
	requests   atomic.Uint64
}

// outgoing is a request of ours waiting for its acknowledgement.
type outgoing struct {
	txn   uint16
	b     []byte
	sends int
	next  time.Time
}

// cached is a response sent, for a retransmitted request.
type cached struct {
	txn uint16
	p   Primitive
	b   []byte
}

// NewServer starts a server on cfg.Conn.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, done: make(chan struct{}), version: 2, nextReqID: 1, nextTxn: 1}
	s.wg.Add(1)
	go s.run()
	return s
}

// Close stops the server and closes its socket; it is idempotent.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.done)
	err := s.cfg.Conn.Close()
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Granted reports whether the room system holds the floor.
func (s *Server) Granted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqID != 0 && s.status == StatusGranted
}

// Requests counts the messages the server has taken.
func (s *Server) Requests() uint64 { return s.requests.Load() }

func (s *Server) run() {
	defer s.wg.Done()
	buf := make([]byte, MaxMessage+1)
	for {
		_ = s.cfg.Conn.SetReadDeadline(time.Now().Add(pollEvery))
		n, from, err := s.cfg.Conn.ReadFrom(buf)
		if s.closed.Load() {
			return
		}
		var ne net.Error
		switch {
		case err == nil:
			s.handle(buf[:n], from)
		case errors.As(err, &ne) && ne.Timeout():
		default:
			s.log.Debug("bfcp read", "err", err)
		}
		s.retransmit(time.Now())
	}
}

// handle answers one datagram.
func (s *Server) handle(b []byte, from net.Addr) {
	m, err := Parse(b)
	if err != nil {
		s.log.Debug("bfcp message dropped", "from", from, "err", err)
		if errors.Is(err, ErrFragmented) || len(b) >= headerLen {
			s.replyError(b, from, ErrCodeUnparsable)
		}
		return
	}
	s.requests.Add(1)
	s.mu.Lock()
	s.remote, s.version = from, m.Version
	if m.Responder {
		s.ackedLocked(m)
		s.unlock()
		return
	}
	for _, c := range s.cache {
		if c.txn == m.TransactionID && c.p == m.Primitive && m.TransactionID != 0 {
			s.unlock()
			s.send(c.b, from)
			return
		}
	}
	res, floor := s.answerLocked(m)
	var out []byte
	if res != nil {
		out = res.Marshal()
		s.cache = append(s.cache, cached{txn: m.TransactionID, p: m.Primitive, b: out})
		if len(s.cache) > cachedResponses {
			s.cache = s.cache[1:]
		}
	}
	// The response goes before the notifications it caused.
	notes, to := s.outbox, s.outboxTo
	s.outbox = nil
	s.mu.Unlock()
	// The floor's owner hears of the change before the client does.
	if floor != nil && s.cfg.OnFloor != nil {
		s.cfg.OnFloor(*floor)
	}
	if out != nil {
		s.send(out, from)
	}
	for _, b := range notes {
		s.send(b, to)
	}
}

// reply is a response to m with its ids and the R bit.
func (s *Server) reply(m Message, p Primitive, attrs ...Attribute) *Message {
	return &Message{
		Version: m.Version, Responder: m.Version == 2, Primitive: p,
		ConferenceID: m.ConferenceID, TransactionID: m.TransactionID, UserID: m.UserID, Attributes: attrs,
	}
}

// answerLocked handles a request and returns the response (nil for
// none) and, when the room system's floor changed, whether it holds it.
func (s *Server) answerLocked(m Message) (res *Message, floor *bool) {
	granted, released := true, false
	switch m.Primitive {
	case Hello:
		return s.reply(m, HelloAck, supportedPrimitives(), supportedAttributes()), nil
	case FloorRequest:
		if !s.floorOK(m.Attributes) {
			return s.reply(m, Error, ErrorCodeAttr(ErrCodeInvalidFloorID)), nil
		}
		if s.reqID == 0 || s.status != StatusGranted {
			s.reqID, s.status = s.newReqIDLocked(), StatusGranted
			s.log.Info("bfcp: floor granted to the room system", "floor_request", s.reqID)
			s.notifyLocked()
			return s.reply(m, FloorRequestStatus, s.requestInfo(s.reqID, StatusGranted)), &granted
		}
		return s.reply(m, FloorRequestStatus, s.requestInfo(s.reqID, StatusGranted)), nil
	case FloorRelease:
		a, ok := Find(m.Attributes, AttrFloorRequestID)
		id, ok2 := a.Uint16()
		if !ok || !ok2 || id != s.reqID || s.reqID == 0 {
			return s.reply(m, Error, ErrorCodeAttr(ErrCodeFloorRequestUnknown)), nil
		}
		wasGranted := s.status == StatusGranted
		s.status = StatusReleased
		s.log.Info("bfcp: the room system released the floor", "floor_request", id)
		res := s.reply(m, FloorRequestStatus, s.requestInfo(id, StatusReleased))
		s.reqID = 0
		s.notifyLocked()
		if wasGranted {
			return res, &released
		}
		return res, nil
	case FloorRequestQuery:
		a, _ := Find(m.Attributes, AttrFloorRequestID)
		id, ok := a.Uint16()
		if !ok || id != s.reqID || s.reqID == 0 {
			return s.reply(m, Error, ErrorCodeAttr(ErrCodeFloorRequestUnknown)), nil
		}
		return s.reply(m, FloorRequestStatus, s.requestInfo(id, s.status)), nil
	case FloorQuery:
		s.subscribed = true
		return s.reply(m, FloorStatus, s.floorStatusAttrs()...), nil
	case Goodbye:
		s.subscribed, s.reqID = false, 0
		return s.reply(m, GoodbyeAck), nil
	case FloorRequestStatusAck, FloorStatusAck, GoodbyeAck, HelloAck, Error:
		return nil, nil // answers without the R bit (BFCP over TCP): nothing to do
	default:
		return s.reply(m, Error, ErrorCodeAttr(ErrCodeUnknownPrimitive)), nil
	}
}

// floorOK reports whether a FloorRequest names our floor (or none, the
// conference's only floor).
func (s *Server) floorOK(attrs []Attribute) bool {
	n := 0
	for _, a := range attrs {
		if a.Type != AttrFloorID {
			continue
		}
		n++
		if id, ok := a.Uint16(); !ok || id != s.cfg.FloorID {
			return false
		}
	}
	return n <= 1
}

func (s *Server) newReqIDLocked() uint16 {
	id := s.nextReqID
	s.nextReqID++
	if s.nextReqID == 0 {
		s.nextReqID = 1
	}
	return id
}

// requestInfo is a FLOOR-REQUEST-INFORMATION for request id in state st.
func (s *Server) requestInfo(id uint16, st RequestStatus) Attribute {
	return Group(AttrFloorRequestInformation, id,
		Group(AttrOverallRequestStatus, id, StatusAttr(st)),
		Group(AttrFloorRequestStatus, s.cfg.FloorID),
	)
}

// floorStatusAttrs describe the floor: who holds it, if anyone.
func (s *Server) floorStatusAttrs() []Attribute {
	attrs := []Attribute{Uint16Attr(AttrFloorID, s.cfg.FloorID)}
	switch {
	case s.holder != "":
		attrs = append(attrs, Group(AttrFloorRequestInformation, s.holderReq,
			Group(AttrOverallRequestStatus, s.holderReq, StatusAttr(StatusGranted)),
			Group(AttrFloorRequestStatus, s.cfg.FloorID),
			Group(AttrBeneficiaryInformation, 0, TextAttr(AttrUserDisplayName, s.holder)),
		))
	case s.reqID != 0 && s.status == StatusGranted:
		attrs = append(attrs, s.requestInfo(s.reqID, StatusGranted))
	}
	return attrs
}

// RoomHolder says that someone in the room (name) took the floor by
// sharing a screen, or, with "", that they stopped. The room system's
// grant, if any, is revoked (one presenter at a time); a subscribed room
// system gets a FloorStatus.
func (s *Server) RoomHolder(name string) {
	var revoked bool
	s.mu.Lock()
	if name == s.holder {
		s.mu.Unlock()
		return
	}
	s.holder = name
	if name != "" {
		s.holderReq = s.newReqIDLocked()
		if s.reqID != 0 && s.status == StatusGranted {
			s.status, revoked = StatusRevoked, true
			s.log.Info("bfcp: the room system's floor revoked: someone in the room shares", "floor_request", s.reqID, "holder", name)
			s.requestLocked(FloorRequestStatus, s.requestInfo(s.reqID, StatusRevoked))
			s.reqID = 0
		}
	}
	s.notifyLocked()
	s.unlock()
	if revoked && s.cfg.OnFloor != nil {
		s.cfg.OnFloor(false)
	}
}

// notifyLocked sends a subscribed client the floor's status.
func (s *Server) notifyLocked() {
	if s.subscribed {
		s.requestLocked(FloorStatus, s.floorStatusAttrs()...)
	}
}

// requestLocked sends a request of ours to the client, to be
// retransmitted until acknowledged (UDP) or sent once (version 1).
func (s *Server) requestLocked(p Primitive, attrs ...Attribute) {
	if s.remote == nil {
		return
	}
	m := Message{Version: s.version, Primitive: p, ConferenceID: s.cfg.ConferenceID, UserID: s.cfg.UserID, Attributes: attrs}
	if s.version == 2 {
		m.TransactionID = s.nextTxn
		if s.nextTxn++; s.nextTxn == 0 {
			s.nextTxn = 1
		}
	}
	b := m.Marshal()
	if s.version == 2 {
		s.pending = append(s.pending, &outgoing{txn: m.TransactionID, b: b, sends: 1, next: time.Now().Add(retransmitT1)})
	}
	s.outbox, s.outboxTo = append(s.outbox, b), s.remote
}

// unlock releases mu and sends what requestLocked queued.
func (s *Server) unlock() {
	out, to := s.outbox, s.outboxTo
	s.outbox = nil
	s.mu.Unlock()
	for _, b := range out {
		s.send(b, to)
	}
}

// ackedLocked takes the acknowledgement of one of our requests.
func (s *Server) ackedLocked(m Message) {
	for i, o := range s.pending {
		if o.txn == m.TransactionID {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return
		}
	}
}

// retransmit resends our unacknowledged requests that are due.
func (s *Server) retransmit(now time.Time) {
	s.mu.Lock()
	var due [][]byte
	keep := s.pending[:0]
	for _, o := range s.pending {
		if now.Before(o.next) {
			keep = append(keep, o)
			continue
		}
		if o.sends >= maxSends {
			s.log.Debug("bfcp: request not acknowledged", "transaction", o.txn)
			continue
		}
		o.sends++
		o.next = now.Add(retransmitT1 << (o.sends - 1))
		due = append(due, o.b)
		keep = append(keep, o)
	}
	s.pending = keep
	remote := s.remote
	s.mu.Unlock()
	for _, b := range due {
		s.send(b, remote)
	}
}

// replyError answers an unreadable message whose header can be read.
func (s *Server) replyError(b []byte, from net.Addr, code uint8) {
	if len(b) < headerLen || b[0]>>5 == 0 {
		return
	}
	m := Message{
		Version: min(b[0]>>5, 2), Responder: b[0]>>5 == 2, Primitive: Error,
		ConferenceID:  uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]),
		TransactionID: uint16(b[8])<<8 | uint16(b[9]), UserID: uint16(b[10])<<8 | uint16(b[11]),
		Attributes: []Attribute{ErrorCodeAttr(code)},
	}
	s.send(m.Marshal(), from)
}

func (s *Server) send(b []byte, to net.Addr) {
	if to == nil || s.closed.Load() {
		return
	}
	if _, err := s.cfg.Conn.WriteTo(b, to); err != nil {
		s.log.Debug("bfcp write", "err", err)
	}
}

// supportedPrimitives lists what the server answers (HelloAck).
func supportedPrimitives() Attribute {
	ps := []Primitive{
		FloorRequest, FloorRelease, FloorRequestQuery, FloorRequestStatus, FloorQuery, FloorStatus,
		Hello, HelloAck, Error, FloorRequestStatusAck, FloorStatusAck, Goodbye, GoodbyeAck,
	}
	v := make([]byte, len(ps))
	for i, p := range ps {
		v[i] = byte(p)
	}
	return Attribute{Type: AttrSupportedPrimitives, Mandatory: true, Value: v}
}

// supportedAttributes lists the attributes the server understands; each
// octet is the type and a reserved bit (RFC 8855 §5.2.10).
func supportedAttributes() Attribute {
	var v []byte
	for t := AttrBeneficiaryID; t <= AttrOverallRequestStatus; t++ {
		v = append(v, byte(t)<<1)
	}
	return Attribute{Type: AttrSupportedAttributes, Mandatory: true, Value: v}
}
