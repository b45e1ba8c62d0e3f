package uac

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// stack is one sipgo user agent with its client, its server for the
// peer's requests and, over UDP, its own socket: what a Call or an Agent
// signals through. Closing it frees all of them.
type stack struct {
	ua        *sipgo.UserAgent
	srv       *sipgo.Server
	cli       *sipgo.Client
	pc        net.PacketConn // UDP only
	serveDone chan struct{}  // closed when the UDP server returns
	contact   sip.ContactHeader
}

// newStack builds the user agent for s. Over UDP it listens on an
// ephemeral port of s.LocalIP and sends from it, so that requests from the
// peer (to our Contact) and responses (to our Via) reach the same socket.
// Over TCP and TLS the peer answers on our connection; the Contact port is
// filled in from it.
func newStack(s *settings) (*stack, error) {
	log := s.log
	uaOpts := []sipgo.UserAgentOption{
		sipgo.WithUserAgent(s.UserAgent),
		sipgo.WithUserAgentHostname(s.FromHost),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
	}
	if s.tls != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(s.tls))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, fmt.Errorf("uac: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		_ = ua.Close()
		return nil, fmt.Errorf("uac: server: %w", err)
	}
	st := &stack{ua: ua, srv: srv}
	cliOpts := []sipgo.ClientOption{sipgo.WithClientHostname(s.LocalIP.String()), sipgo.WithClientLogger(log)}
	st.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: s.FromUser, Host: s.LocalIP.String()}}
	if s.transport == TransportUDP {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(s.LocalIP.String(), "0"))
		if err != nil {
			_ = ua.Close()
			return nil, fmt.Errorf("uac: listen: %w", err)
		}
		st.pc = pc
		st.serveDone = make(chan struct{})
		go func() {
			defer close(st.serveDone)
			_ = srv.ServeUDP(pc)
		}()
		laddr := pc.LocalAddr().String()
		if err := waitListener(ua, laddr); err != nil {
			st.close()
			return nil, err
		}
		cliOpts = append(cliOpts, sipgo.WithClientConnectionAddr(laddr))
		st.contact.Address.Port = pc.LocalAddr().(*net.UDPAddr).Port
	} else {
		st.contact.Address.UriParams = sip.HeaderParams{{K: "transport", V: s.transport.uriParam()}}
	}
	st.cli, err = sipgo.NewClient(ua, cliOpts...)
	if err != nil {
		st.close()
		return nil, fmt.Errorf("uac: client: %w", err)
	}
	return st, nil
}

// close stops reading, then closes the user agent. Stopping the reader
// first matters: a message handled after sipgo's transport is closed would
// make it open a new socket.
func (st *stack) close() {
	if st.pc != nil {
		_ = st.pc.Close()
		<-st.serveDone
	}
	_ = st.ua.Close()
}

// waitListener waits until sipgo has pooled our UDP listener, so that the
// client sends from it rather than binding the same address again.
func waitListener(ua *sipgo.UserAgent, laddr string) error {
	for i := 0; ; i++ {
		if conn, err := ua.TransportLayer().GetConnection("udp", laddr); err == nil && conn != nil {
			_, _ = conn.TryClose()
			return nil
		}
		if i > 400 {
			return errors.New("uac: UDP listener not ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
