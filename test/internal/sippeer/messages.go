package sippeer

import (
	"bufio"
	"strings"
	"time"
)

// Message is one SIP message in sipp's message log (-trace_msg).
type Message struct {
	// Time is when sipp sent or received it (local time, µs).
	Time time.Time
	// Sent is true for messages sipp sent, false for those it received.
	Sent bool
	// StartLine is the request or status line; CSeq the CSeq value
	// ("2 INVITE").
	StartLine, CSeq string
}

// Find returns the first message sent (or received) whose start line
// begins with prefix and whose CSeq is cseq, and whether there is one.
func Find(msgs []Message, sent bool, prefix, cseq string) (Message, bool) {
	for _, m := range msgs {
		if m.Sent == sent && strings.HasPrefix(m.StartLine, prefix) && m.CSeq == cseq {
			return m, true
		}
	}
	return Message{}, false
}

// ParsedMessages parses the message log written so far.
func (p *Process) ParsedMessages() []Message { return parseMessages(p.Messages()) }

// parseMessages reads sipp's message log: each message follows a line of
// dashes with a timestamp, then "UDP message sent (N bytes):" or
// "TCP message received [N] bytes :", a blank line and the message.
func parseMessages(log string) []Message {
	var msgs []Message
	var cur *Message
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, "----------") {
			stamp := strings.TrimSpace(strings.TrimLeft(line, "-"))
			t, err := time.ParseInLocation("2006-01-02 15:04:05.000000", stamp, time.Local)
			if err != nil {
				cur = nil
				continue
			}
			msgs = append(msgs, Message{Time: t})
			cur = &msgs[len(msgs)-1]
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case strings.Contains(line, "message sent"):
			cur.Sent = true
		case strings.Contains(line, "message received"):
		case cur.StartLine == "" && line != "":
			cur.StartLine = line
		case strings.HasPrefix(strings.ToLower(line), "cseq:"):
			cur.CSeq = strings.TrimSpace(line[len("cseq:"):])
		}
	}
	// Drop entries that were not SIP messages.
	out := msgs[:0]
	for _, m := range msgs {
		if m.StartLine != "" {
			out = append(out, m)
		}
	}
	return out
}
