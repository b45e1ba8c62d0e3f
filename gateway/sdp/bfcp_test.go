package sdp

import (
	"strings"
	"testing"
)

// TestAnswerBFCP: next to an accepted slides stream, a room system's
// UDP/BFCP line is answered as its floor control server (s-only) with the
// offer's conference, user and floor ids (ours where it gives none), the
// floor naming our slides line's a=label; without a BFCP port, without
// slides, or over TCP it is rejected with port 0.
func TestAnswerBFCP(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		policy     func(*Policy)
		edit       func(*Session)
		want       string // BFCP attributes, "" when rejected
		label      string
	}{
		{
			name: "cisco", file: "cisco-room-h264.sdp", policy: func(p *Policy) { p.Slides, p.SlidesPort, p.BFCPPort = true, 10004, 10006 },
			want: "floorctrl:s-only confid:1 userid:2 floorid:2 mstrm:12", label: "12",
		},
		{
			name: "poly", file: "poly-group-h264.sdp", policy: func(p *Policy) { p.Slides, p.SlidesPort, p.BFCPPort = true, 10004, 10006 },
			want: "floorctrl:s-only confid:1 userid:2 floorid:2 mstrm:3", label: "3",
		},
		{name: "no port", file: "cisco-room-h264.sdp", policy: func(p *Policy) { p.Slides, p.SlidesPort = true, 10004 }},
		{name: "no slides", file: "cisco-room-h264.sdp", policy: func(p *Policy) { p.BFCPPort = 10006 }},
		{
			name: "tcp", file: "cisco-room-h264.sdp", policy: func(p *Policy) { p.Slides, p.SlidesPort, p.BFCPPort = true, 10004, 10006 },
			edit: func(s *Session) { s.BFCP.Proto = "TCP/BFCP" },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPolicy()
			tc.policy(&p)
			offer := mustParse(t, readSample(t, tc.file))
			if tc.edit != nil {
				tc.edit(offer)
			}
			ans, err := Answer(offer, p)
			if err != nil {
				t.Fatal(err)
			}
			again := mustParse(t, ans.Marshal())
			if tc.want == "" {
				if again.BFCP != nil {
					t.Fatalf("BFCP answered: %+v", again.BFCP)
				}
				if m := again.media()[offer.BFCP.Index]; m.Port != 0 || m.Type != "application" {
					t.Errorf("BFCP line answered %+v", m)
				}
				return
			}
			b := again.BFCP
			if b == nil || b.Port != 10006 || b.Proto != "UDP/BFCP" || b.Index != offer.BFCP.Index {
				t.Fatalf("BFCP = %+v\n%s", b, ans.Marshal())
			}
			var got []string
			for _, a := range b.Attributes {
				got = append(got, a.Key+":"+a.Value)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("BFCP attributes %q, want %q", strings.Join(got, " "), tc.want)
			}
			if l, _ := again.Slides.Attr("label"); l != tc.label {
				t.Errorf("slides label %q, want %q", l, tc.label)
			}
			params, ok := b.BFCPParams()
			if !ok || params.ConferenceID != 1 || params.UserID != 2 || params.FloorID != 2 {
				t.Errorf("BFCPParams %+v %v", params, ok)
			}
		})
	}
}

// TestAnswerBFCPPrefersUDP: an offer with a TCP/BFCP and a UDP/BFCP line
// gets the UDP one answered and the TCP one rejected.
func TestAnswerBFCPPrefersUDP(t *testing.T) {
	offer := mustParse(t, readSample(t, "cisco-room-h264.sdp"))
	udp := *offer.BFCP
	offer.BFCP.Proto = "TCP/BFCP"
	udp.Index = len(offer.media())
	offer = mustParse(t, append(offer.Marshal(), []byte("m=application 5072 UDP/BFCP *\r\na=floorctrl:c-s\r\na=floorid:2 mstrm:12\r\n")...))
	if offer.BFCP == nil || offer.BFCP.Proto != "UDP/BFCP" || offer.BFCP.Index != udp.Index {
		t.Fatalf("BFCP = %+v", offer.BFCP)
	}
	p := testPolicy()
	p.Slides, p.SlidesPort, p.BFCPPort = true, 10004, 10006
	ans, err := Answer(offer, p)
	if err != nil {
		t.Fatal(err)
	}
	again := mustParse(t, ans.Marshal())
	lines := again.media()
	if tcp := lines[3]; tcp.Port != 0 || tcp.Proto != "TCP/BFCP" {
		t.Errorf("TCP line answered %+v", tcp)
	}
	if again.BFCP == nil || again.BFCP.Port != 10006 || again.BFCP.Index != udp.Index {
		t.Errorf("UDP line answered %+v", again.BFCP)
	}
}
