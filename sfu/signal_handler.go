package sfu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/roombridge/roombridge/gateway/room"
)

// Keepalive of the signalling socket: a ping every pingInterval, and a
// participant whose socket stays silent (no message, no pong) for
// silenceTimeout is dropped.
const (
	pingInterval   = 10 * time.Second
	silenceTimeout = 30 * time.Second
	writeTimeout   = 10 * time.Second
	joinTimeout    = 10 * time.Second
	maxMessage     = 256 << 10
	outQueue       = 256
)

var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}

// SignalHandler returns the WebSocket endpoint of the web client's
// signalling (protocol.go); cmd mounts it at /v1/rtc.
func (s *SFU) SignalHandler() http.Handler {
	return http.HandlerFunc(s.serveSignal)
}

func (s *SFU) serveSignal(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	conn.SetReadLimit(maxMessage)
	if !s.track() {
		rejectConn(conn, "server shutting down")
		return
	}
	defer s.wg.Done()
	s.sessions.Add(1)
	defer s.sessions.Add(-1)
	// Close must not wait for a client that never sends its join or for a
	// slow Admit: shutting the SFU down closes the socket.
	stop := context.AfterFunc(s.ctx, func() { _ = conn.Close() })
	defer stop()

	join, err := readJoin(conn)
	if err != nil {
		rejectConn(conn, err.Error())
		return
	}
	adm := Admission{Name: join.Name}
	if s.cfg.Admit != nil {
		ctx, cancel := context.WithTimeout(r.Context(), joinTimeout)
		adm, err = s.cfg.Admit(ctx, JoinRequest{Room: join.Room, Name: join.Name, Token: join.Token, PIN: join.PIN, RemoteAddr: r.RemoteAddr})
		cancel()
		if err != nil {
			s.log.Info("join refused", "room", join.Room, "name", join.Name, "remote", r.RemoteAddr, "err", err)
			rejectConnErr(conn, err)
			return
		}
	}
	p, err := newRTCPeer(s, conn, join.Room, adm.Name, adm.Attributes)
	if err != nil {
		s.log.Warn("participant setup failed", "room", join.Room, "err", err)
		rejectConn(conn, "internal error")
		return
	}
	p.run()
}

// track counts a signalling session in the SFU's wait group unless the SFU
// is closed.
func (s *SFU) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// readJoin reads and checks the first message.
func readJoin(conn *websocket.Conn) (*Message, error) {
	_ = conn.SetReadDeadline(time.Now().Add(joinTimeout))
	var msg Message
	if err := conn.ReadJSON(&msg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if msg.Type != MsgJoin || msg.Room == "" {
		return nil, fmt.Errorf("%w: first message must be a join with a room", ErrBadMessage)
	}
	return &msg, nil
}

// rejectConnErr is rejectConn for a refused join: err's text, and its
// reason when it has one, so that the page can act on it (ask for a PIN).
func rejectConnErr(conn *websocket.Conn, err error) {
	var r interface{ Reason() string }
	reason := ""
	if errors.As(err, &r) {
		reason = r.Reason()
	}
	rejectMsg(conn, Message{Type: MsgError, Error: err.Error(), Reason: reason})
}

// rejectConn sends an error message and closes the socket.
func rejectConn(conn *websocket.Conn, text string) {
	rejectMsg(conn, Message{Type: MsgError, Error: text})
}

func rejectMsg(conn *websocket.Conn, msg Message) {
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = conn.WriteJSON(msg)
	_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, ""))
	_ = conn.Close()
}

// readLoop reads client messages until the socket fails or the peer ends.
// Every message and every pong pushes the silence deadline back.
func (p *rtcPeer) readLoop() {
	extend := func(string) error { return p.conn.SetReadDeadline(time.Now().Add(silenceTimeout)) }
	_ = extend("")
	p.conn.SetPongHandler(extend)
	for {
		_, data, err := p.conn.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				err = ErrSilent
			}
			p.cancel(fmt.Errorf("signalling socket: %w", err))
			return
		}
		_ = extend("")
		var msg Message
		if err := json.Unmarshal(data, &msg); err != nil {
			p.log.Debug("bad message", "err", err)
			continue
		}
		if done := p.handle(&msg); done {
			return
		}
	}
}

// handle applies one client message; it returns true when the client left.
func (p *rtcPeer) handle(msg *Message) bool {
	switch msg.Type {
	case MsgOffer:
		if msg.PC != PCPub {
			p.log.Debug("offer for wrong pc", "pc", msg.PC)
			return false
		}
		p.setSources(msg.Sources)
		sdp := msg.SDP
		p.post(func() { p.applyPubOffer(sdp) })
	case MsgAnswer:
		if msg.PC != PCSub {
			p.log.Debug("answer for wrong pc", "pc", msg.PC)
			return false
		}
		sdp := msg.SDP
		p.post(func() { p.applySubAnswer(sdp) })
	case MsgCandidate:
		if msg.Candidate == nil {
			return false
		}
		pc, c := msg.PC, *msg.Candidate
		p.post(func() { p.addRemoteCandidate(pc, c) })
	case MsgMute:
		kind := room.ParseTrackKind(msg.Kind)
		if msg.Muted == nil || kind == room.TrackKindUnknown {
			return false
		}
		if err := p.m.room.setMuted(p.m, kind, *msg.Muted, false); err != nil {
			p.log.Debug("self mute", "err", err)
		}
	case MsgLeave:
		p.cancel(errLeft)
		return true
	default:
		p.log.Debug("unknown message", "type", msg.Type)
	}
	return false
}

// writeLoop is the only writer of the socket: queued messages and pings.
// When the peer ends it flushes what is queued (a "removed" or "error"
// message) and closes the socket, which also ends readLoop.
func (p *rtcPeer) writeLoop() {
	defer p.wg.Done()
	defer p.conn.Close()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case msg := <-p.out:
			if err := p.write(msg); err != nil {
				p.cancel(fmt.Errorf("signalling socket: %w", err))
				return
			}
		case <-ping.C:
			if err := p.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				p.cancel(fmt.Errorf("signalling socket: %w", err))
				return
			}
		case <-p.ctx.Done():
			for {
				select {
				case msg := <-p.out:
					if p.write(msg) != nil {
						return
					}
				default:
					_ = p.conn.WriteControl(websocket.CloseMessage,
						websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
					return
				}
			}
		}
	}
}

func (p *rtcPeer) write(msg Message) error {
	_ = p.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return p.conn.WriteJSON(msg)
}

// send queues msg for the client without blocking; a client that lets
// outQueue messages pile up is dropped rather than stalling the room.
func (p *rtcPeer) send(msg Message) {
	select {
	case p.out <- msg:
	default:
		p.cancel(ErrSlowClient)
	}
}
