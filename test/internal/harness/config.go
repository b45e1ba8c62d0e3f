package harness

import (
	"fmt"
	"maps"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultAPIKey is the API key in the generated config.
const DefaultAPIKey = "devkey-change-me"

// The PINs of room demo in the generated config: the web client and
// callers over a trunk that is not trusted need one of them.
const (
	DemoPIN     = "1234"
	DemoHostPIN = "9999"
)

// ports are the listeners chosen for one gateway.
type ports struct {
	http, sip                      int
	rtpMin, rtpMax, rtcMin, rtcMax int
}

func pickPorts() (ports, error) {
	var p ports
	var err error
	if p.http, err = freeTCPPort(); err != nil {
		return p, err
	}
	// The kernel may hand the HTTP port, just released, out again.
	for p.sip == 0 || p.sip == p.http {
		if p.sip, err = freeDualPort(); err != nil {
			return p, err
		}
	}
	if p.rtpMin, p.rtpMax, err = freeUDPRange(); err != nil {
		return p, err
	}
	if p.rtcMin, p.rtcMax, err = freeUDPRange(); err != nil {
		return p, err
	}
	return p, nil
}

// baseConfig is the config every test starts from: the documented example
// with loopback ports, a temporary store, a short drain so that stopping
// stays well inside the harness's 10 s kill deadline, and no admission
// ceilings.
func baseConfig(p ports, storePath string) map[string]any {
	return map[string]any{
		"log":  map[string]any{"level": "debug", "format": "text"},
		"http": map[string]any{"listen": fmt.Sprintf("127.0.0.1:%d", p.http)},
		"sip": map[string]any{
			"listen": []any{fmt.Sprintf("udp://127.0.0.1:%d", p.sip), fmt.Sprintf("tcp://127.0.0.1:%d", p.sip)},
			"domain": "conf.example.com",
		},
		"rtp":     map[string]any{"port_min": p.rtpMin, "port_max": p.rtpMax, "external_ip": ""},
		"webrtc":  map[string]any{"port_min": p.rtcMin, "port_max": p.rtcMax, "include_loopback": true},
		"api":     map[string]any{"keys": []any{DefaultAPIKey}},
		"store":   map[string]any{"path": storePath},
		"backend": "embedded",
		"rooms": []any{
			map[string]any{"name": "demo", "pin": DemoPIN, "host_pin": DemoHostPIN, "aliases": []any{"4711"}},
		},
		// The test callers on loopback are a trusted trunk: they dial demo
		// directly, without its PIN, as a PBX in front of the gateway
		// would. Tests of the PIN on direct dial replace this list.
		"trunks": []any{
			map[string]any{"name": "local", "allow": []any{"127.0.0.0/8"}, "trusted": true},
		},
		"shutdown": map[string]any{"grace": "5s", "drain_timeout": "5s"},
		// Tests share busy machines: admission control (which refuses
		// calls when the machine is short of CPU) stays out of the way of
		// tests that are not about it.
		"limits": map[string]any{"max_cpu": 100, "max_machine_cpu": 100, "max_late_ticks": 100},
	}
}

// merge applies over onto base: maps merge key by key, a nil value deletes
// the key (to test a default), anything else (lists included) replaces.
func merge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range over {
		if v == nil {
			delete(out, k)
			continue
		}
		if vm, ok := asMap(v); ok {
			if bm, ok := asMap(out[k]); ok {
				out[k] = merge(bm, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func asMap(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	return m, ok
}

// renderConfig merges the overrides and YAML fragments, in that order,
// over base and returns the file content.
func renderConfig(base map[string]any, over map[string]any, fragments []string) ([]byte, error) {
	cfg := merge(base, over)
	for i, f := range fragments {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(f), &m); err != nil {
			return nil, fmt.Errorf("harness: YAML fragment %d: %w", i, err)
		}
		cfg = merge(cfg, m)
	}
	return yaml.Marshal(cfg)
}

// applyOverrides reads the listen address, SIP address and first API key
// back from the final config, in case a test overrode them.
func (s *Server) applyOverrides(body []byte) {
	var c struct {
		HTTP struct {
			Listen string `yaml:"listen"`
		} `yaml:"http"`
		SIP struct {
			Listen []string `yaml:"listen"`
		} `yaml:"sip"`
		API struct {
			Keys []string `yaml:"keys"`
		} `yaml:"api"`
	}
	if yaml.Unmarshal(body, &c) != nil {
		return
	}
	if c.HTTP.Listen != "" {
		s.URL = "http://" + c.HTTP.Listen
	}
	if len(c.SIP.Listen) > 0 {
		if _, addr, ok := strings.Cut(c.SIP.Listen[0], "://"); ok {
			s.SIPAddr = addr
		}
	}
	if len(c.API.Keys) > 0 {
		s.APIKey = c.API.Keys[0]
	}
}
