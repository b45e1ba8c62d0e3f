package sip

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Refresher roles (RFC 4028 §4, the "refresher" parameter).
const (
	refresherUAC = "uac"
	refresherUAS = "uas"
)

// sessionTimer is the outcome of session-timer negotiation for one INVITE
// or UPDATE (RFC 4028 §9). A zero interval means no session timer.
type sessionTimer struct {
	interval  time.Duration
	refresher string // refresherUAC (the caller refreshes) or refresherUAS (we do)
	// peerSupports: the caller sent Supported: timer, so our 2xx carries
	// Require: timer (RFC 4028 §9).
	peerSupports bool
}

// active reports whether a session timer runs.
func (t sessionTimer) active() bool { return t.interval > 0 }

// weRefresh reports whether we send the refreshes.
func (t sessionTimer) weRefresh() bool { return t.active() && t.refresher == refresherUAS }

// headerValue is the Session-Expires value for our 2xx or refresh.
func (t sessionTimer) headerValue() string {
	return fmt.Sprintf("%d;refresher=%s", int(t.interval/time.Second), t.refresher)
}

// nextDeadline is how long until we act: send a refresh at half the
// interval when we refresh (RFC 4028 §10), or, when the caller refreshes,
// give up and send BYE at interval - min(32 s, interval/3).
func (t sessionTimer) nextDeadline() time.Duration {
	if t.refresher == refresherUAS {
		return t.interval / 2
	}
	return t.interval - min(32*time.Second, t.interval/3)
}

// negotiateTimer applies RFC 4028 §9 to a request: se is the interval we
// want (negative: session timers off), minSE the smallest we accept. It
// returns errIntervalTooSmall (422) when the request asks for less than
// minSE, errBadRequest for unparsable headers.
func negotiateTimer(req *sip.Request, se, minSE time.Duration) (sessionTimer, error) {
	var st sessionTimer
	if se < 0 {
		return st, nil
	}
	st.peerSupports = hasOptionTag(req, "Supported", "k", "timer")
	reqMinSE := time.Duration(0)
	if h := headerValue(req, "Min-SE", ""); h != "" {
		d, _, err := parseSessionExpires(h)
		if err != nil {
			return st, fmt.Errorf("%w: Min-SE: %w", errBadRequest, err)
		}
		reqMinSE = d
	}
	floor := max(minSE, reqMinSE)
	if h := headerValue(req, "Session-Expires", "x"); h != "" {
		d, refresher, err := parseSessionExpires(h)
		if err != nil {
			return st, fmt.Errorf("%w: Session-Expires: %w", errBadRequest, err)
		}
		if d < minSE {
			return st, fmt.Errorf("%w: %v < %v", errIntervalTooSmall, d, minSE)
		}
		// §9: the UAS may lower the interval, but not below Min-SE.
		st.interval = min(d, max(se, floor))
		st.refresher = refresher
	} else {
		// §9: the request asks for no timer; the UAS may still insert one.
		st.interval = max(se, floor)
	}
	switch {
	case !st.peerSupports:
		// §9: a caller without timer support cannot refresh.
		st.refresher = refresherUAS
	case st.refresher == "":
		// §9: the UAS chooses; we let the caller refresh.
		st.refresher = refresherUAC
	}
	return st, nil
}

// parseSessionExpires parses "delta-seconds *(;param)" (RFC 4028 §4),
// returning the interval and the refresher parameter, if any.
func parseSessionExpires(v string) (time.Duration, string, error) {
	parts := strings.Split(v, ";")
	n, err := strconv.ParseUint(strings.TrimSpace(parts[0]), 10, 32)
	if err != nil {
		return 0, "", fmt.Errorf("bad delta-seconds %q", parts[0])
	}
	refresher := ""
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			val = strings.ToLower(strings.TrimSpace(val))
			if val != refresherUAC && val != refresherUAS {
				return 0, "", fmt.Errorf("bad refresher %q", val)
			}
			refresher = val
		}
	}
	return time.Duration(n) * time.Second, refresher, nil
}

// headerValue returns the first value of a header by full or compact name.
// headerSource is what sip.Request and sip.Response share for headers.
type headerSource interface {
	GetHeader(name string) sip.Header
	GetHeaders(name string) []sip.Header
}

func headerValue(m headerSource, name, compact string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	if compact != "" {
		if h := m.GetHeader(compact); h != nil {
			return h.Value()
		}
	}
	return ""
}

// optionTags returns the comma-separated tokens of every header name (or
// its compact form), lower-cased: Supported, Require, Allow...
func optionTags(m headerSource, name, compact string) []string {
	var out []string
	hs := m.GetHeaders(name)
	if compact != "" {
		hs = append(hs, m.GetHeaders(compact)...)
	}
	for _, h := range hs {
		for tok := range strings.SplitSeq(h.Value(), ",") {
			if tok = strings.ToLower(strings.TrimSpace(tok)); tok != "" {
				out = append(out, tok)
			}
		}
	}
	return out
}

func hasOptionTag(m headerSource, name, compact, tag string) bool {
	for _, t := range optionTags(m, name, compact) {
		if t == tag {
			return true
		}
	}
	return false
}
