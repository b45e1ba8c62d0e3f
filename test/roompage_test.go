package test

import (
	"context"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestRoomPagePeopleAndDialIn: the room page lists everyone with what they
// joined with — itself and another page as browsers, a phone over UDP, a
// SIP client over ws:// as a browser SIP client — marks the phone that
// sends a tone as speaking and not the silent one, and shows the room's
// dial-in number and (guest) PIN, never the host PIN.
func TestRoomPagePeopleAndDialIn(t *testing.T) {
	b := launchBrowser(t)
	g := startSIPWSGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	alice := openRoomPIN(ctx, t, b, g.srv.URL, "demo", "alice", harness.DemoPIN)
	openRoomPIN(ctx, t, b, g.srv.URL, "demo", "bob", harness.DemoPIN)
	sipStartCaller(t, caller.Options{
		Target: "sip:demo@" + g.udp, Transport: uac.TransportUDP, Codec: caller.CodecPCMU,
		Tone: 700, Duration: 40 * time.Second, PortMin: 35000, PortMax: 35999,
	})
	sipStartCaller(t, caller.Options{
		Target: "sip:demo@" + g.ws, Transport: uac.TransportWS, Codec: caller.CodecPCMU,
		Duration: 40 * time.Second, PortMin: 36100, PortMax: 37099, // silence
	})

	kinds := `[...document.querySelectorAll('#people-list .person')].map(e => e.dataset.kind).sort().join()`
	wait(ctx, t, alice, kinds+` === 'browser,browser,browser-sip,phone'`)
	wait(ctx, t, alice, `[...document.querySelectorAll('#people-list .person .pname')].some(e => e.textContent === 'alice (you)') &&
		document.querySelector('#people-list .kind-phone .kind').textContent === 'Phone' &&
		document.querySelector('#people-list .kind-browser-sip .kind').textContent === 'Browser (SIP)' &&
		document.getElementById('people-count').textContent === '(4)'`)
	// The phone with a tone speaks; the silent SIP client does not.
	wait(ctx, t, alice, `document.querySelector('#people-list .kind-phone').classList.contains('speaking') &&
		!document.querySelector('#people-list .kind-browser-sip').classList.contains('speaking')`)

	wait(ctx, t, alice, `!document.getElementById('dialin').hidden &&
		document.getElementById('dialin-numbers').textContent === '+15550100' &&
		document.getElementById('dialin-pin').textContent === '1234 #' &&
		document.getElementById('dialin-sip').textContent === 'sip:demo@`+sipDomain+`' &&
		window.roombridge.dialin.numeric_id !== '' && !document.body.innerText.includes('9999')`)
}

// TestRoomPagePreJoin: without a name the page shows the pre-join screen
// with the fake camera's preview and the devices to choose from; joining
// with "No camera" publishes audio only. The link carries room demo's PIN,
// which the page takes out of the address bar.
func TestRoomPagePreJoin(t *testing.T) {
	b := launchBrowser(t)
	g := startSIPWSGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := b.NewPage(ctx, "prejoin", g.srv.URL+"/r/demo?pin="+harness.DemoPIN)
	if err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, p, `!document.getElementById('name-form').hidden &&
		document.getElementById('preview').srcObject && document.getElementById('preview').srcObject.getVideoTracks().length === 1 &&
		document.querySelector('#name-form select[name=mic]').options.length >= 2 &&
		[...document.querySelector('#name-form select[name=cam]').options].some(o => o.value === 'off')`)
	mustEval(ctx, t, p, `(() => { const f = document.getElementById('name-form');
		f.elements.name.value = 'carol'; f.elements.cam.value = 'off'; f.elements.cam.dispatchEvent(new Event('change')); })()`)
	wait(ctx, t, p, `!document.getElementById('preview').srcObject`)
	mustEval(ctx, t, p, `document.getElementById('name-form').requestSubmit()`)
	wait(ctx, t, p, `window.roombridge.state === 'joined' && location.search === '?name=carol' &&
		window.roombridge.pub.getSenders().filter(s => s.track).map(s => s.track.kind).join() === 'audio' &&
		document.getElementById('cam').disabled`)
}
