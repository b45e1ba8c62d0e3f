package test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/roombridge/roombridge/test/internal/harness"
)

// webJoinReq is a join message of the web client's signalling.
type webJoinReq struct {
	Room, Name, Token, PIN string
}

// webJoin asks srv's signalling WebSocket to join a room as the web client
// does, and returns the answer: "joined" or "error", with the error's text.
func webJoin(t *testing.T, srv *harness.Server, req webJoinReq) (typ, text string) {
	t.Helper()
	c, res, err := websocket.DefaultDialer.DialContext(t.Context(), srv.WSURL("/v1/rtc"), http.Header{"Origin": {srv.URL}})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.WSURL("/v1/rtc"), err)
	}
	_ = res.Body.Close()
	defer c.Close()
	msg := map[string]string{"type": "join", "room": req.Room, "name": req.Name}
	if req.Token != "" {
		msg["token"] = req.Token
	}
	if req.PIN != "" {
		msg["pin"] = req.PIN
	}
	if err := c.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var ans struct{ Type, Error string }
		if err := c.ReadJSON(&ans); err != nil {
			t.Fatalf("read the answer to join: %v", err)
		}
		if ans.Type == "joined" || ans.Type == "error" {
			return ans.Type, ans.Error
		}
	}
}
