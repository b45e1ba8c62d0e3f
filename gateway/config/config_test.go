package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load("", nil)
	if err != nil || cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.Backend != "embedded" {
		t.Fatalf("%+v %v", cfg.HTTP, err)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := Load("../../configs/roombridge.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rooms) == 0 || cfg.Rooms[0].Name != "demo" || cfg.Rooms[0].PIN != "1234" {
		t.Fatalf("demo room missing: %+v", cfg.Rooms)
	}
	if len(cfg.SIP.Listen) != 2 || cfg.SIP.Domain != "conf.example.com" {
		t.Fatalf("sip: %+v", cfg.SIP)
	}
}

func TestFileOverridesAndKeepsDefaults(t *testing.T) {
	p := write(t, `
http: { listen: 127.0.0.1:9090 }
trunks: [ { name: carrier, allow: [192.0.2.0/24] } ]
rooms:
  - { name: demo, pin: "1234", host_pin: "9999", aliases: ["4711"] }
`)
	cfg, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:9090" || cfg.HTTP.TokenTTL != time.Hour || !cfg.HTTP.PublicRooms {
		t.Fatalf("http: %+v", cfg.HTTP)
	}
	if len(cfg.Trunks) != 1 || cfg.Trunks[0].Name != "carrier" {
		t.Fatalf("trunks replaced, not merged: %+v", cfg.Trunks)
	}
	if len(cfg.DialIn.Numbers) != 1 {
		t.Fatalf("dialin default lost: %+v", cfg.DialIn)
	}
}

func TestEnvOverrides(t *testing.T) {
	cfg, err := Load("", []string{
		"ROOMBRIDGE_HTTP_LISTEN=127.0.0.1:7000",
		"ROOMBRIDGE_API_KEYS=aaaaaaaaaa, bbbbbbbbbb",
		"ROOMBRIDGE_HTTP_TOKEN_TTL=5m",
		"ROOMBRIDGE_RTP_PORT_MIN=40000",
		"ROOMBRIDGE_RTP_PORT_MAX=40100",
		"ROOMBRIDGE_HTTP_PUBLIC_ROOMS=false",
		"ROOMBRIDGE_LIMITS_MAX_LEGS=500",
		"ROOMBRIDGE_LIMITS_MAX_CPU=65.5",
		"ROOMBRIDGE_SIP_LIMITS_INVITES_PER_SECOND=2.5",
		"ROOMBRIDGE_METRICS_KEY=0123456789abcdef",
		"OTHER=ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SIP.Limits.InvitesPerSecond != 2.5 || cfg.Metrics.Key != "0123456789abcdef" {
		t.Fatalf("new keys from the environment: %+v %+v", cfg.SIP.Limits, cfg.Metrics)
	}
	if cfg.HTTP.Listen != "127.0.0.1:7000" || len(cfg.API.Keys) != 2 || cfg.API.Keys[1] != "bbbbbbbbbb" ||
		cfg.HTTP.TokenTTL != 5*time.Minute || cfg.RTP.PortMin != 40000 || cfg.HTTP.PublicRooms ||
		cfg.Limits.MaxLegs != 500 || cfg.Limits.MaxCPU != 65.5 {
		t.Fatalf("%+v %+v %+v", cfg.HTTP, cfg.API, cfg.RTP)
	}
}

// TestScaleKeys: the keys several nodes need, from the file and the
// environment, and the node id's default.
func TestScaleKeys(t *testing.T) {
	cfg, err := Load(write(t, "store: { redis: { addr: 'redis.internal:6379', db: 2 } }\nnode: { id: gw-1 }\n"), []string{
		"ROOMBRIDGE_STORE_REDIS_PASSWORD=s3cret",
		"ROOMBRIDGE_SHUTDOWN_DRAIN_TIMEOUT=10m",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Store.Redis
	if r.Addr != "redis.internal:6379" || r.DB != 2 || r.Password != "s3cret" || r.Prefix != "roombridge:" ||
		cfg.Node.ID != "gw-1" || cfg.Shutdown.DrainTimeout != 10*time.Minute {
		t.Fatalf("store %+v node %+v shutdown %+v", r, cfg.Node, cfg.Shutdown)
	}
	def, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := os.Hostname(); def.Node.ID != h || def.Shutdown.DrainTimeout != 2*time.Hour || def.Store.Redis.Addr != "" {
		t.Fatalf("defaults: node %q (host %q), drain %v, redis %q", def.Node.ID, h, def.Shutdown.DrainTimeout, def.Store.Redis.Addr)
	}
}

// TestEnvNames: every name EnvNames lists is read by Load, and lists of
// structs are not offered.
func TestEnvNames(t *testing.T) {
	names := EnvNames()
	for _, want := range []string{"ROOMBRIDGE_HTTP_LISTEN", "ROOMBRIDGE_API_KEYS", "ROOMBRIDGE_STORE_REDIS_PASSWORD", "ROOMBRIDGE_SHUTDOWN_DRAIN_TIMEOUT", "ROOMBRIDGE_NODE_ID"} {
		if !slices.Contains(names, want) {
			t.Errorf("EnvNames lacks %s", want)
		}
	}
	for _, bad := range []string{"ROOMBRIDGE_TRUNKS", "ROOMBRIDGE_ROOMS", "ROOMBRIDGE_DIALIN_LANGUAGES", "ROOMBRIDGE_STORE"} {
		if slices.Contains(names, bad) {
			t.Errorf("EnvNames lists %s, which cannot be set from the environment", bad)
		}
	}
	// Each is read: some value of its type changes the configuration.
	for _, n := range names {
		changed := false
		for _, v := range []string{"7", "8s", "false", "true", "x"} {
			c := Default()
			if applyEnv(&c, []string{n + "=" + v}) == nil && !reflect.DeepEqual(c, Default()) {
				changed = true
				break
			}
		}
		if !changed {
			t.Errorf("%s changes nothing", n)
		}
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ yaml, env, key string }{
		{yaml: "http: { listen: nonsense }", key: "http.listen"},
		{yaml: "http: { lisen: 1.2.3.4:80 }", key: "lisen"},
		{yaml: "bogus: 1", key: "bogus"},
		{yaml: "backend: janus", key: "backend"},
		{yaml: "rtp: { port_min: 3000, port_max: 2000 }", key: "rtp.port_min"},
		{yaml: "rtp: { external_ip: nope }", key: "rtp.external_ip"},
		{yaml: "sip: { listen: [sctp://1.2.3.4:5060] }", key: "sip.listen[0]"},
		{yaml: "sip: { listen: [tls://127.0.0.1:5061] }", key: "sip.tls"},
		{yaml: "api: { keys: [] }", key: "api.keys"},
		{yaml: "trunks: [ { name: a, allow: [300.1.1.1/8] } ]", key: "trunks[0].allow[0]"},
		{yaml: "rooms: [ { name: Demo } ]", key: "rooms[0].name"},
		{yaml: "rooms: [ { name: a, pin: '12' } ]", key: "rooms[0].pin"},
		{yaml: "rooms: [ { name: a, pin: '1234' }, { name: b, host_pin: '1234' } ]", key: "rooms[1].host_pin"},
		{yaml: "rooms: [ { name: a, wait_for_host: true } ]", key: "rooms[0].wait_for_host"},
		{yaml: "rooms: [ { name: a, pin_on_direct_dial: true } ]", key: "rooms[0].pin_on_direct_dial"},
		{yaml: "backend: livekit\nlivekit: { url: ws://x, api_key: '' }", key: "livekit.api_key"},
		{yaml: "livekit: { connect_timeout: 0s }", key: "livekit.connect_timeout"},
		{yaml: "limits: { concurrent_joins: 0 }", key: "limits.concurrent_joins"},
		{yaml: "livekit: { health_interval: 1ms }", key: "livekit.health_interval"},
		{yaml: "livekit: { reconnect_grace: -1s }", key: "livekit.reconnect_grace"},
		{yaml: "livekit: { connect_timout: 5s }", key: "connect_timout"},
		{yaml: "log: { level: loud }", key: "log.level"},
		{yaml: "trunks: [ { name: a, allow: [127.0.0.1], srtp: maybe } ]", key: "trunks[0].srtp"},
		{yaml: "trunks: [ { name: a, allow: [127.0.0.1], dtmf: smoke } ]", key: "trunks[0].dtmf"},
		{yaml: "trunks: [ { name: a, allow: [127.0.0.1], codecs: [opus, amr] } ]", key: "trunks[0].codecs[1]"},
		{yaml: "trunks: [ { name: a, allow: [127.0.0.1], codecs: [PCMU, pcmu] } ]", key: "trunks[0].codecs[1]"},
		{yaml: "trunks: [ { name: a, allow: [127.0.0.1], username: u } ]", key: "trunks[0].password"},
		{yaml: "trunks: [ { name: a, allow: [127.0.0.1], numbers: ['+49 30*'] } ]", key: "trunks[0].numbers[0]"},
		{yaml: "sip: { min_se: 10s }", key: "sip.min_se"},
		{yaml: "trunks: [ { name: a, allow: [127.0.0.1], pin_lockout: never } ]", key: "trunks[0].pin_lockout"},
		{yaml: "ivr: { max_attempts: 0 }", key: "ivr.max_attempts"},
		{yaml: "ivr: { language: English }", key: "ivr.language"},
		{yaml: "ivr: { prompts_dir: /nonexistent/prompts }", key: "ivr.prompts_dir"},
		{yaml: "dialin: { numbers: ['+1555'], languages: { '+1666': de } }", key: "dialin.languages"},
		{yaml: "rtp: { timeout: 1ms }", key: "rtp.timeout"},
		{yaml: "node: { id: 'a b' }", key: "node.id"},
		{yaml: "node: { sip_address: gw1 }", key: "node.sip_address"},
		{yaml: "node: { sip_address: '0.0.0.0:5060' }", key: "node.sip_address"},
		{yaml: "store: { redis: { addr: redis } }", key: "store.redis.addr"},
		{yaml: "store: { redis: { addr: 'redis:0' } }", key: "store.redis.addr"},
		{yaml: "store: { redis: { addr: 'redis:6379', db: -1 } }", key: "store.redis.db"},
		{yaml: "store: { redis: { addr: 'redis:6379', ca: /nonexistent.pem } }", key: "store.redis.ca"},
		{yaml: "store: { redis: { prefix: 'a b' } }", key: "store.redis.prefix"},
		{yaml: "shutdown: { drain_timeout: -1s }", key: "shutdown.drain_timeout"},
		{env: "ROOMBRIDGE_STORE_REDIS_DB=x", key: "store.redis.db"},
		{yaml: "trunks: [ { name: a, allow: [0.0.0.0/0], trusted: true } ]", key: "trunks[0].trusted"},
		{yaml: "trunks: [ { name: a, allow: [192.0.2.0/24, 198.51.0.0/16], trusted: true } ]", key: "trunks[0].trusted"},
		{yaml: "trunks: [ { name: a, allow: ['2001:db8::/48'], trusted: true } ]", key: "trunks[0].trusted"},
		{yaml: "trunks: [ { name: a, allow: [0.0.0.0/0], click_to_call: true } ]", key: "trunks[0].click_to_call"},
		{yaml: "trunks: [ { name: a, allow: [10.0.0.0/8], max_cps: 100 } ]", key: "trunks[0].max_cps"},
		{yaml: "trunks: [ { name: a, allow: [127.0.0.1], max_calls: -1 } ]", key: "trunks[0].max_calls"},
		{yaml: "trunks: [ { name: a, allow: [127.0.0.1], srtp: require } ]", key: "trunks[0].srtp"},
		{yaml: "trunks: [ { name: a, allow: [127.0.0.1], digest_algorithms: [SHA-512] } ]", key: "trunks[0].digest_algorithms[0]"},
		{yaml: "sip: { limits: { invites_per_second: -1 } }", key: "sip.limits"},
		{yaml: "sip: { block_user_agents: [''] }", key: "sip.block_user_agents[0]"},
		{yaml: "http: { trusted_proxies: [proxy] }", key: "http.trusted_proxies[0]"},
		{yaml: "http: { max_sockets_per_ip: -2 }", key: "http.max_sockets_per_ip"},
		{yaml: "metrics: { key: short }", key: "metrics.key"},
		{yaml: "http: { listen: 0.0.0.0:8080, token_secret: 0123456789abcdef, tls: { cert: c, key: k } }\napi: { keys: [a-long-key] }\nmetrics: { pprof: true }", key: "metrics.pprof"},
		// A listener others can reach refuses what only suits a demo.
		{yaml: "http: { listen: 0.0.0.0:8080, token_secret: 0123456789abcdef, tls: { cert: c, key: k } }", key: "api.keys[0]"},
		{yaml: "http: { listen: 0.0.0.0:8080, tls: { cert: c, key: k } }\napi: { keys: [a-long-key] }", key: "http.token_secret"},
		{yaml: "http: { listen: '[::]:8080', token_secret: 0123456789abcdef }\napi: { keys: [a-long-key] }", key: "http.tls"},
		{yaml: "http: { listen: 192.0.2.1:8080, token_secret: 0123456789abcdef, trusted_proxies: [192.0.2.9] }\napi: { keys: [a-long-key] }\nbackend: livekit", key: "livekit.api_secret"},
		{env: "ROOMBRIDGE_HTTP_LISTEN=:8080", key: "api.keys[0]"},
		{yaml: "sip: { ws_origins: ['https://app.example.com', 'app.example.com'] }", key: "sip.ws_origins[1]"},
		{yaml: "sip: { ws_origins: ['https://app.example.com/call'] }", key: "sip.ws_origins[0]"},
		{yaml: "sip: { ws_max_per_ip: -1 }", key: "sip.ws_max_per_ip"},
		{yaml: "sip: { ws_ping_interval: 10ms }", key: "sip.ws_ping_interval"},
		{yaml: "sip: { listen: [wss://127.0.0.1:7443] }", key: "sip.tls"},
		{yaml: "sip: { users: [ { username: 'a b', password: secret123 } ] }", key: "sip.users[0].username"},
		{yaml: "sip: { users: [ { username: alice, password: short } ] }", key: "sip.users[0].password"},
		{yaml: "sip: { users: [ { username: alice, password: secret123 }, { username: Alice, password: secret456 } ] }", key: "sip.users[1].username"},
		{env: "ROOMBRIDGE_SIP_WS_PING_INTERVAL=often", key: "sip.ws_ping_interval"},
		{yaml: "limits: { max_legs: -1 }", key: "limits.max_legs"},
		{yaml: "limits: { max_cpu: 0 }", key: "limits.max_cpu"},
		{yaml: "limits: { max_cpu: 150 }", key: "limits.max_cpu"},
		{yaml: "limits: { max_machine_cpu: 0 }", key: "limits.max_machine_cpu"},
		{yaml: "limits: { max_machine_cpu: 101 }", key: "limits.max_machine_cpu"},
		{yaml: "limits: { max_late_ticks: -2 }", key: "limits.max_late_ticks"},
		{env: "ROOMBRIDGE_LIMITS_MAX_CPU=lots", key: "limits.max_cpu"},
		{env: "ROOMBRIDGE_RTP_PORT_MIN=abc", key: "rtp.port_min"},
		{env: "ROOMBRIDGE_HTTP_TOKEN_TTL=soon", key: "http.token_ttl"},
	} {
		p := ""
		if tc.yaml != "" {
			p = write(t, tc.yaml)
		}
		var env []string
		if tc.env != "" {
			env = []string{tc.env}
		}
		_, err := Load(p, env)
		if err == nil {
			t.Errorf("%q %q: no error", tc.yaml, tc.env)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v is not ErrInvalid", tc.yaml, err)
		}
		if !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: error %q does not name %q", tc.yaml, err, tc.key)
		}
	}
}

// A public listener with its own secrets and TLS (or a proxy in front)
// starts; so do trusted trunks that are authenticated or narrow.
func TestSecureConfigsLoad(t *testing.T) {
	for _, y := range []string{
		"http: { listen: 0.0.0.0:8080, token_secret: 0123456789abcdef, tls: { cert: c, key: k } }\napi: { keys: [a-long-key] }",
		// Nodes sharing Redis keep one generated token secret there.
		"http: { listen: 0.0.0.0:8080, tls: { cert: c, key: k } }\napi: { keys: [a-long-key] }\nstore: { redis: { addr: 'redis:6379' } }",
		"http: { listen: 10.0.0.5:8080, token_secret: 0123456789abcdef, trusted_proxies: [10.0.0.1] }\napi: { keys: [a-long-key] }",
		"trunks: [ { name: sbc, allow: [192.0.2.10, 192.0.2.0/24, '2001:db8:1:2::/64'], trusted: true, max_cps: 800, max_calls: 300 } ]",
		"trunks: [ { name: pbx, allow: [0.0.0.0/0], trusted: true, username: u, password: p, digest_algorithms: [md5] } ]",
		"trunks: [ { name: pbx, allow: [192.0.2.10], click_to_call: true } ]",
		"trunks: [ { name: lab, allow: [127.0.0.1], srtp: require, srtp_over_plain: true } ]",
		"trunks: [ { name: carrier, allow: [127.0.0.1], codecs: [opus, PCMA, g722] } ]",
		"sip: { listen: [tls://127.0.0.1:5061], tls: { cert: c, key: k } }\ntrunks: [ { name: tls, allow: [127.0.0.1], srtp: require } ]",
	} {
		if _, err := Load(write(t, y), nil); err != nil {
			t.Errorf("%s: %v", y, err)
		}
	}
}

func TestNarrowTrunks(t *testing.T) {
	for _, tc := range []struct {
		allow  []string
		narrow bool
	}{
		{[]string{"127.0.0.0/8"}, true},
		{[]string{"192.0.2.0/24", "198.51.100.7"}, true},
		{[]string{"::ffff:192.0.2.0/120"}, true},
		{[]string{"2001:db8::/64"}, true},
		{[]string{"192.0.2.0/23"}, false},
		{[]string{"2001:db8::/63"}, false},
		{[]string{"0.0.0.0/0"}, false},
		{nil, false},
	} {
		if got := (Trunk{Allow: tc.allow}).Narrow(); got != tc.narrow {
			t.Errorf("%v: narrow %v, want %v", tc.allow, got, tc.narrow)
		}
	}
}

func TestSIPWebSocketKeys(t *testing.T) {
	p := write(t, `
sip:
  listen: [udp://127.0.0.1:5060, ws://127.0.0.1:5066]
  ws_origins: ["https://crm.example.com", "*"]
  ws_max_per_ip: 0
  users: [ { username: alice, password: correct-horse } ]
`)
	cfg, err := Load(p, []string{"ROOMBRIDGE_SIP_WS_PING_INTERVAL=5s"})
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.SIP
	if len(s.WSOrigins) != 2 || s.WSMaxPerIP != 0 || s.WSPingInterval != 5*time.Second || len(s.Users) != 1 || s.Users[0].Username != "alice" {
		t.Fatalf("%+v", s)
	}
	if d := Default().SIP; d.WSMaxPerIP != 32 || d.WSPingInterval != 30*time.Second || d.WSOrigins != nil {
		t.Fatalf("defaults %+v", d)
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml"), nil); err == nil {
		t.Fatal("missing file accepted")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte("http: { listen: 127.0.0.1:8080 }"))
	f.Add([]byte("rooms: [ { name: demo, pin: '1234' } ]"))
	f.Add([]byte("trunks: [ { name: a, allow: [10.0.0.0/8] } ]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Default()
		if err := decode(data, &cfg); err != nil {
			return
		}
		_ = cfg.Validate()
	})
}
