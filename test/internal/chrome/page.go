package chrome

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Page is one browser tab, driven over a flattened session.
type Page struct {
	b        *Browser
	name     string
	targetID string
	session  string

	mu    sync.Mutex
	loads []chan struct{}
}

// NewPage opens a tab in its own window (so it counts as visible and is
// not throttled), forwards its console to the log prefixed with name, and
// navigates to url unless it is empty.
func (b *Browser) NewPage(ctx context.Context, name, url string) (*Page, error) {
	var created struct {
		TargetID string `json:"targetId"`
	}
	err := b.conn.call(ctx, "", "Target.createTarget",
		map[string]any{"url": "about:blank", "newWindow": true}, &created)
	if err != nil {
		return nil, err
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	err = b.conn.call(ctx, "", "Target.attachToTarget",
		map[string]any{"targetId": created.TargetID, "flatten": true}, &attached)
	if err != nil {
		return nil, err
	}
	p := &Page{b: b, name: name, targetID: created.TargetID, session: attached.SessionID}
	b.pagesMu.Lock()
	b.pages = append(b.pages, p)
	b.pagesMu.Unlock()
	b.conn.onEvents(p.session, p.event)
	for _, domain := range []string{"Runtime.enable", "Page.enable", "Log.enable"} {
		if err := b.conn.call(ctx, p.session, domain, nil, nil); err != nil {
			return nil, err
		}
	}
	if url != "" {
		if err := p.Navigate(ctx, url); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(ctx context.Context, url string) error {
	loaded := make(chan struct{})
	p.mu.Lock()
	p.loads = append(p.loads, loaded)
	p.mu.Unlock()
	var res struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.b.conn.call(ctx, p.session, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("chrome: navigate %s: %s", url, res.ErrorText)
	}
	select {
	case <-loaded:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("chrome: navigate %s: no load event: %w", url, context.Cause(ctx))
	}
}

// Evaluate runs js in the page, awaits it if it is a promise, and returns
// the value as JSON. A thrown exception or rejected promise is an error.
func (p *Page) Evaluate(ctx context.Context, js string) (json.RawMessage, error) {
	var res struct {
		Result struct {
			Type        string          `json:"type"`
			Value       json.RawMessage `json:"value"`
			Description string          `json:"description"`
		} `json:"result"`
		ExceptionDetails *exceptionDetails `json:"exceptionDetails"`
	}
	err := p.b.conn.call(ctx, p.session, "Runtime.evaluate", map[string]any{
		"expression":    js,
		"awaitPromise":  true,
		"returnByValue": true,
		"userGesture":   true,
	}, &res)
	if err != nil {
		return nil, err
	}
	if res.ExceptionDetails != nil {
		return nil, fmt.Errorf("chrome: evaluate: %s", res.ExceptionDetails)
	}
	if res.Result.Type == "undefined" || len(res.Result.Value) == 0 {
		return json.RawMessage("null"), nil
	}
	return res.Result.Value, nil
}

// EvalInto runs js like Evaluate and decodes the value into out.
func (p *Page) EvalInto(ctx context.Context, js string, out any) error {
	v, err := p.Evaluate(ctx, js)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(v, out); err != nil {
		return fmt.Errorf("chrome: decode %s: %w", v, err)
	}
	return nil
}

// WaitFor evaluates js every poll interval until it returns true, ctx ends
// (the error then carries the last value or error) or the page closes.
func (p *Page) WaitFor(ctx context.Context, js string, poll time.Duration) error {
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	var last string
	for {
		v, err := p.Evaluate(ctx, js)
		switch {
		case err == nil && string(v) == "true":
			return nil
		case err == nil:
			last = string(v)
		case errors.Is(err, ErrClosed):
			return err
		case ctx.Err() != nil && last != "":
			// The deadline cut this evaluation short; the previous
			// result says more about what never became true.
		default:
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chrome: [%s] waiting for %s: last result %s: %w", p.name, js, last, context.Cause(ctx))
		case <-time.After(poll):
		}
	}
}

// Close closes the tab.
func (p *Page) Close(ctx context.Context) error {
	err := p.b.conn.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.targetID}, nil)
	p.b.conn.onEvents(p.session, nil)
	p.b.pagesMu.Lock()
	p.b.pages = slices.DeleteFunc(p.b.pages, func(x *Page) bool { return x == p })
	p.b.pagesMu.Unlock()
	return err
}

// Name is the prefix of the page's log lines.
func (p *Page) Name() string { return p.name }

func (p *Page) event(method string, params json.RawMessage) {
	switch method {
	case "Page.loadEventFired":
		p.mu.Lock()
		loads := p.loads
		p.loads = nil
		p.mu.Unlock()
		for _, ch := range loads {
			close(ch)
		}
	case "Runtime.consoleAPICalled":
		var ev struct {
			Type string         `json:"type"`
			Args []remoteObject `json:"args"`
		}
		if json.Unmarshal(params, &ev) == nil {
			parts := make([]string, len(ev.Args))
			for i, a := range ev.Args {
				parts[i] = a.String()
			}
			p.b.log("[%s] console.%s: %s", p.name, ev.Type, strings.Join(parts, " "))
		}
	case "Runtime.exceptionThrown":
		var ev struct {
			Details exceptionDetails `json:"exceptionDetails"`
		}
		if json.Unmarshal(params, &ev) == nil {
			p.b.log("[%s] uncaught: %s", p.name, &ev.Details)
		}
	case "Log.entryAdded":
		var ev struct {
			Entry struct {
				Source string `json:"source"`
				Level  string `json:"level"`
				Text   string `json:"text"`
				URL    string `json:"url"`
			} `json:"entry"`
		}
		if json.Unmarshal(params, &ev) == nil {
			p.b.log("[%s] %s %s: %s %s", p.name, ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
		}
	}
}

type remoteObject struct {
	Type        string          `json:"type"`
	Value       json.RawMessage `json:"value"`
	Description string          `json:"description"`
}

func (o remoteObject) String() string {
	if o.Type == "string" {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
	}
	if len(o.Value) > 0 {
		return string(o.Value)
	}
	if o.Description != "" {
		return o.Description
	}
	return o.Type
}

type exceptionDetails struct {
	Text      string        `json:"text"`
	URL       string        `json:"url"`
	Line      int           `json:"lineNumber"`
	Exception *remoteObject `json:"exception"`
}

func (e *exceptionDetails) String() string {
	msg := e.Text
	if e.Exception != nil && e.Exception.Description != "" {
		msg = e.Exception.Description
	}
	if e.URL != "" {
		msg += fmt.Sprintf(" (%s:%d)", e.URL, e.Line+1)
	}
	return msg
}

// Screenshot returns a PNG of the page's viewport, for debugging a
// failing test.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var res struct {
		Data []byte `json:"data"`
	}
	err := p.b.conn.call(ctx, p.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &res)
	return res.Data, err
}
