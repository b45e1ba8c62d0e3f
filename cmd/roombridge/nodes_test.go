package main

import (
	"net"
	"testing"

	"github.com/roombridge/roombridge/gateway/sip"
)

// TestNodeSIPAddress: node.sip_address wins; otherwise the first UDP or
// TCP listener on a specific address; a wildcard listener gives none.
func TestNodeSIPAddress(t *testing.T) {
	udp := func(s string) sip.BoundAddr {
		a, _ := net.ResolveUDPAddr("udp", s)
		return sip.BoundAddr{Transport: "udp", Addr: a}
	}
	ws := func(s string) sip.BoundAddr {
		a, _ := net.ResolveTCPAddr("tcp", s)
		return sip.BoundAddr{Transport: "ws", Addr: a}
	}
	for _, tc := range []struct {
		configured string
		addrs      []sip.BoundAddr
		want       string
	}{
		{"gw1.internal:5060", []sip.BoundAddr{udp("10.0.0.5:5060")}, "gw1.internal:5060"},
		{"", []sip.BoundAddr{ws("10.0.0.5:8088"), udp("10.0.0.5:5060")}, "10.0.0.5:5060"},
		{"", []sip.BoundAddr{udp("0.0.0.0:5060")}, ""},
		{"", []sip.BoundAddr{udp("[::]:5060"), udp("192.0.2.1:5070")}, "192.0.2.1:5070"},
	} {
		if got := nodeSIPAddress(tc.configured, tc.addrs); got != tc.want {
			t.Errorf("nodeSIPAddress(%q, %v) = %q, want %q", tc.configured, tc.addrs, got, tc.want)
		}
	}
}
