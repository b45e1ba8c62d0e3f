package test

import (
	"context"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/harness"
	"github.com/roombridge/roombridge/test/internal/sippeer"
)

// TestAdminPageDialOut: in the admin page of a real gateway, "Call a
// phone" in room demo dials a number through the outbound trunk to sipp,
// which answers (and echoes RTP). An invalid "to" first shows the API's
// error naming the field; then the page follows the call to "answered",
// lists the callee in the room, and after "Hang up" shows it ended with
// cause hangup while sipp receives the BYE.
func TestAdminPageDialOut(t *testing.T) {
	harness.RequireTool(t, "sipp")
	b := launchBrowser(t)
	echo := sippeer.StartUAS(t, sippeer.UASOptions{Scenario: "carrier_echo.xml", Args: []string{"-rtp_echo"}})
	srv := startDialOutGateway(t, echo.Addr, "", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	p, err := b.NewPage(ctx, "admin", srv.URL+"/admin")
	if err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, p, `!document.getElementById('login').hidden`)
	mustEval(ctx, t, p, `(() => { const f = document.getElementById('login');
		f.elements.key.value = `+jsString(srv.APIKey)+`; f.requestSubmit(); })()`)
	card := `document.querySelector('.room-card[data-room="demo"]')`
	wait(ctx, t, p, card+` && window.roombridgeAdmin.refreshes > 0`)
	mustEval(ctx, t, p, card+`.querySelector('.dial-open').click()`)
	dialTo := func(to, name string) {
		t.Helper()
		mustEval(ctx, t, p, `(() => { const f = `+card+`.querySelector('.dial-form');
			f.elements.to.value = `+jsString(to)+`; f.elements.name.value = `+jsString(name)+`; f.requestSubmit(); })()`)
	}

	dialTo("bob", "")
	wait(ctx, t, p, `/"bob" is neither a number nor a SIP URI \(field: to\)$/.test(document.getElementById('notice').textContent) &&
		`+card+`.querySelector('.dial-form [name=to]').getAttribute('aria-invalid') === 'true'`)

	dialTo(calleeNumber, "Carrier")
	row := card + `.querySelector('.dial-calls li')`
	wait(ctx, t, p, row+` && `+row+`.querySelector('.dial-state').textContent === 'answered' &&
		document.getElementById('notice').hidden`)
	// The answered callee is a participant, listed by the page's refresh.
	wait(ctx, t, p, `[...`+card+`.querySelectorAll('.pname')].some((e) => e.textContent === 'Carrier')`)

	mustEval(ctx, t, p, row+`.querySelector('.hangup').click()`)
	wait(ctx, t, p, row+`.querySelector('.dial-state').textContent.startsWith('ended (hangup') &&
		`+row+`.querySelector('.hangup').hidden`)
	waitLog(t, echo, false, "INVITE ACK BYE", 5*time.Second)
	t.Logf("the page shows the call as %q", evalString(ctx, t, p, row+`.querySelector('.dial-state').textContent`))
	id := evalString(ctx, t, p, row+`.dataset.call`)
	if c := getDialed(t, srv, id); c.State != "ended" || c.Cause != "hangup" {
		t.Errorf("the call the page hung up: %+v", c)
	}
}
