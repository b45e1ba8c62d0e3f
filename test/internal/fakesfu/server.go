package fakesfu

import (
	"net"
	"net/http"
	"slices"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// Server is the fake signalling endpoint; mount it at /v1/rtc.
type Server struct {
	// JoinError, when set before the first client connects, refuses
	// every join with this error message, as the gateway does for an
	// unknown room or a bad token.
	JoinError string

	api      *webrtc.API
	upgrader websocket.Upgrader
	logf     func(format string, args ...any)

	mu       sync.Mutex
	sessions []*session
	received []Message
	nextID   int
	closed   bool
}

// New returns a server whose PeerConnections use loopback only, as the
// browser under test runs on the same machine. logf may be nil.
func New(logf func(format string, args ...any)) (*Server, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return &Server{
		api:  webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)),
		logf: logf,
	}, nil
}

// ServeHTTP upgrades to the signalling WebSocket and runs one session.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.nextID++
	sess := newSession(s, ws, s.nextID)
	s.sessions = append(s.sessions, sess)
	s.mu.Unlock()
	sess.run()
	s.mu.Lock()
	s.sessions = slices.DeleteFunc(s.sessions, func(x *session) bool { return x == sess })
	s.mu.Unlock()
}

// Send writes m to every connected client.
func (s *Server) Send(m Message) {
	s.mu.Lock()
	list := slices.Clone(s.sessions)
	s.mu.Unlock()
	for _, sess := range list {
		sess.send(m)
	}
}

// Received returns the messages clients have sent so far, in order.
func (s *Server) Received() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	s.received = append(s.received, m)
	s.mu.Unlock()
}

// Close ends all sessions and waits for them.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	list := slices.Clone(s.sessions)
	s.mu.Unlock()
	for _, sess := range list {
		sess.close()
	}
	for _, sess := range list {
		sess.wg.Wait()
	}
}
