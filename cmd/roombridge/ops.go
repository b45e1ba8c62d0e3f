package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/roombridge/roombridge/gateway/api"
	"github.com/roombridge/roombridge/gateway/config"
)

const opsUsage = `usage: roombridge health|drain [--config FILE] [flags]

health  exits 0 when the gateway of that config answers /healthz (for a
        container HEALTHCHECK)
drain   asks the gateway to drain (POST /v1/admin/drain with its first API
        key); with --wait, waits until its calls and web sessions have
        ended (a Kubernetes preStop hook)

`

// opsMain runs the health and drain commands against the gateway that the
// config (file and ROOMBRIDGE_* environment) describes.
func opsMain(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(cmd, opsUsage, stderr)
	configPath := fs.String("config", "", "the gateway's YAML configuration `file`")
	wait := fs.Bool("wait", false, "drain: wait until no call or web session is left")
	timeout := fs.Duration("timeout", 5*time.Second, "health: how long to wait for an answer")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "roombridge %s: %v\n", cmd, err)
		return 2
	}
	c := opsClient{base: localURL(cfg.HTTP), http: &http.Client{Transport: &http.Transport{
		// The certificate names the public host, not 127.0.0.1.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback to our own process
	}}}
	if len(cfg.API.Keys) > 0 {
		c.key = cfg.API.Keys[0]
	}
	switch cmd {
	case "health":
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		err = c.health(ctx)
	case "drain":
		err = c.drain(ctx, *wait, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "roombridge %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// localURL is the base URL of the gateway's HTTP listener as seen from its
// own host: a wildcard listen address is reached on loopback.
func localURL(h config.HTTP) string {
	host, port, _ := net.SplitHostPort(h.Listen)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if h.TLS.Cert != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

type opsClient struct {
	base, key string
	http      *http.Client
}

func (c opsClient) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, body)
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

func (c opsClient) health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil)
}

// drainPoll is how often drain --wait asks how much is left.
const drainPoll = time.Second

func (c opsClient) drain(ctx context.Context, wait bool, out io.Writer) error {
	var st api.DrainState
	if err := c.do(ctx, http.MethodPost, "/v1/admin/drain", &st); err != nil {
		return err
	}
	fmt.Fprintf(out, "draining: %d calls and %d web sessions left\n", st.Calls, st.Sessions)
	for wait && st.Calls+st.Sessions > 0 {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(drainPoll):
		}
		if err := c.do(ctx, http.MethodGet, "/v1/admin/drain", &st); err != nil {
			// The gateway exits once drained; a refused connection then
			// means done.
			var op *net.OpError
			if errors.As(err, &op) {
				break
			}
			return err
		}
	}
	fmt.Fprintln(out, "drained")
	return nil
}
