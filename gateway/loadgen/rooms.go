package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// api is a minimal client of the room API: enough to create and delete
// the rooms of a run.
type api struct {
	base, key string
	client    *http.Client
}

// do sends a request with an optional JSON body and returns the status and
// (the start of) the response body.
func (a api) do(ctx context.Context, method, path string, body any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %w", ErrAPI, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.key != "" {
		req.Header.Set("Authorization", "Bearer "+a.key)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %s %s: %w", ErrAPI, method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(msg)), nil
}

// createRoom creates room name; it reports whether this call created it
// (false when it already existed, which is fine too).
func (a api) createRoom(ctx context.Context, name string) (bool, error) {
	status, msg, err := a.do(ctx, http.MethodPost, "/v1/rooms", map[string]string{"name": name})
	switch {
	case err != nil:
		return false, err
	case status == http.StatusCreated || status == http.StatusOK:
		return true, nil
	case status == http.StatusConflict:
		return false, nil
	}
	return false, fmt.Errorf("%w: POST /v1/rooms %s: %d %s", ErrAPI, name, status, msg)
}

// deleteRoom deletes room name; a room already gone is not an error.
func (a api) deleteRoom(ctx context.Context, name string) error {
	status, msg, err := a.do(ctx, http.MethodDelete, "/v1/rooms/"+url.PathEscape(name), nil)
	switch {
	case err != nil:
		return err
	case status/100 == 2 || status == http.StatusNotFound:
		return nil
	}
	return fmt.Errorf("%w: DELETE /v1/rooms/%s: %d %s", ErrAPI, name, status, msg)
}
