package test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/roombridge/roombridge/gateway/config"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// deployPath is a file under deploy/.
func deployPath(t *testing.T, parts ...string) string {
	t.Helper()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(append([]string{root, "deploy"}, parts...)...)
}

// composeCommand is `docker compose` when the plugin is there, else the
// standalone docker-compose.
func composeCommand(t *testing.T) []string {
	t.Helper()
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	return []string{harness.RequireTool(t, "docker-compose")}
}

// TestComposeConfig validates deploy/compose with Compose itself (offline:
// `config` needs no engine): with the example .env it renders, and
// without the secrets it refuses to.
func TestComposeConfig(t *testing.T) {
	cmd := composeCommand(t)
	dir := deployPath(t, "compose")
	run := func(args ...string) ([]byte, error) {
		c := exec.Command(cmd[0], append(cmd[1:], args...)...)
		c.Dir = dir
		var env []string
		for _, kv := range os.Environ() {
			if k, _, _ := strings.Cut(kv, "="); !strings.Contains(composeEnvNames, " "+k+" ") {
				env = append(env, kv)
			}
		}
		c.Env = env
		return c.CombinedOutput()
	}
	out, err := run("--env-file", ".env.example", "-f", "docker-compose.yml", "config")
	if err != nil {
		t.Fatalf("compose config with .env.example: %v\n%s", err, out)
	}
	for _, want := range []string{"gw1", "gw2", "kamailio", "livekit", "redis", "ROOMBRIDGE_API_KEYS: change-me-api-key"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("rendered compose file lacks %q", want)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run("--env-file", empty, "-f", "docker-compose.yml", "config", "-q")
	if err == nil || !strings.Contains(string(out), "in .env") {
		t.Errorf("compose config without secrets: %v\n%s", err, out)
	}
}

// composeEnvNames are the variables of .env.example, kept out of the
// environment of the compose commands above.
const composeEnvNames = " PUBLIC_IP API_KEYS TOKEN_SECRET REDIS_PASSWORD LIVEKIT_API_KEY LIVEKIT_API_SECRET "

// TestComposeGatewayConfig: the gateways' config file loads with the
// environment compose gives gw1 and gw2, and every ROOMBRIDGE_* variable
// there names a real configuration key (a misspelt one would be ignored).
func TestComposeGatewayConfig(t *testing.T) {
	vars := dotEnv(t, deployPath(t, "compose", ".env.example"))
	data, err := os.ReadFile(deployPath(t, "compose", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Environment     map[string]string `yaml:"environment"`
			StopGracePeriod string            `yaml:"stop_grace_period"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	ref := regexp.MustCompile(`\$\{([A-Z_]+)(:\?[^}]*)?\}`)
	for _, node := range []string{"gw1", "gw2"} {
		svc, ok := compose.Services[node]
		if !ok {
			t.Fatalf("no service %s", node)
		}
		var env []string
		for k, v := range svc.Environment {
			v = ref.ReplaceAllStringFunc(v, func(m string) string { return vars[ref.FindStringSubmatch(m)[1]] })
			env = append(env, k+"="+v)
		}
		cfg := checkEnvKeys(t, deployPath(t, "compose", "roombridge.yaml"), env)
		if cfg.Node.ID != node || cfg.Backend != config.BackendLiveKit || cfg.Store.Redis.Addr == "" || cfg.HTTP.TokenSecret == "" {
			t.Errorf("%s: node %q backend %q redis %q token secret set %v", node, cfg.Node.ID, cfg.Backend, cfg.Store.Redis.Addr, cfg.HTTP.TokenSecret != "")
		}
		// Compose must not kill a node before its drain is over.
		if stop, err := time.ParseDuration(svc.StopGracePeriod); err != nil || stop < cfg.Shutdown.DrainTimeout+cfg.Shutdown.Grace {
			t.Errorf("%s: stop_grace_period %q is shorter than drain_timeout + grace (%v)", node, svc.StopGracePeriod, cfg.Shutdown.DrainTimeout+cfg.Shutdown.Grace)
		}
	}
}

// TestKubernetesGatewayConfig: the same for the ConfigMap and the
// Deployment's environment (values stand in for the Secret's).
func TestKubernetesGatewayConfig(t *testing.T) {
	data, err := os.ReadFile(deployPath(t, "kubernetes", "roombridge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfgFile string
	var env []string
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var m struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Env []struct {
								Name  string `yaml:"name"`
								Value string `yaml:"value"`
							} `yaml:"env"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		switch m.Kind {
		case "ConfigMap":
			cfgFile = m.Data["roombridge.yaml"]
		case "Deployment":
			for _, e := range m.Spec.Template.Spec.Containers[0].Env {
				v := e.Value
				if v == "" {
					v = map[string]string{"ROOMBRIDGE_NODE_ID": "node-1", "ROOMBRIDGE_RTP_EXTERNAL_IP": "192.0.2.10"}[e.Name]
				}
				if v == "" {
					v = "secret-from-k8s-0123456789" // a Secret's value
				}
				env = append(env, e.Name+"="+v)
			}
		}
	}
	if cfgFile == "" || len(env) == 0 {
		t.Fatal("no ConfigMap roombridge.yaml or no Deployment env")
	}
	path := filepath.Join(t.TempDir(), "roombridge.yaml")
	if err := os.WriteFile(path, []byte(cfgFile), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := checkEnvKeys(t, path, env)
	if cfg.Shutdown.DrainTimeout == 0 || cfg.Store.Redis.Addr == "" {
		t.Errorf("drain %v redis %q", cfg.Shutdown.DrainTimeout, cfg.Store.Redis.Addr)
	}
}

// checkEnvKeys loads path with env and checks that every variable names a
// configuration key (config.EnvNames): a misspelt one would be ignored.
func checkEnvKeys(t *testing.T, path string, env []string) config.Config {
	t.Helper()
	cfg, err := config.Load(path, env)
	if err != nil {
		t.Fatalf("%s with %v: %v", path, env, err)
	}
	names := config.EnvNames()
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !slices.Contains(names, k) {
			t.Errorf("%s: %s is not a configuration key", path, k)
		}
	}
	return cfg
}

// dotEnv reads KEY=value lines.
func dotEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vars[k] = v
		}
	}
	return vars
}

// TestDockerfiles checks what the images promise without a container
// engine to build them: multi-stage, a non-root user, a HEALTHCHECK, no
// secret baked in.
func TestDockerfiles(t *testing.T) {
	for _, tc := range []struct {
		path        string
		stages      int
		healthcheck bool
	}{
		{deployPath(t, "Dockerfile"), 2, true},
		{deployPath(t, "kamailio", "Dockerfile"), 1, false},
	} {
		data, err := os.ReadFile(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var from, user, health int
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || strings.HasPrefix(f[0], "#") {
				continue
			}
			switch strings.ToUpper(f[0]) {
			case "FROM":
				from++
			case "USER":
				user++
				if f[1] == "root" || f[1] == "0" || strings.HasPrefix(f[1], "0:") {
					t.Errorf("%s: runs as root", tc.path)
				}
			case "HEALTHCHECK":
				health++
			case "ENV":
				if u := strings.ToUpper(line); strings.Contains(u, "SECRET") || strings.Contains(u, "PASSWORD") || strings.Contains(u, "API_KEY") {
					t.Errorf("%s: a secret in the image: %s", tc.path, line)
				}
			}
		}
		if from != tc.stages || user == 0 || (health > 0) != tc.healthcheck {
			t.Errorf("%s: %d stages (want %d), USER %d, HEALTHCHECK %d", tc.path, from, tc.stages, user, health)
		}
	}
}

// TestSystemdStopTimeout: systemd must not kill the gateway before a drain
// with the default timeouts is over.
func TestSystemdStopTimeout(t *testing.T) {
	data, err := os.ReadFile(deployPath(t, "roombridge.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TimeoutStopSec=(\d+)$`).FindStringSubmatch(string(data))
	if m == nil {
		t.Fatal("no TimeoutStopSec=SECONDS in roombridge.service")
	}
	def := config.Default().Shutdown
	if stop, _ := time.ParseDuration(m[1] + "s"); stop < def.DrainTimeout+def.Grace {
		t.Errorf("TimeoutStopSec=%s is shorter than the default drain_timeout + grace (%v)", m[1], def.DrainTimeout+def.Grace)
	}
}

// TestKamailioConfigSyntax: kamailio -c accepts the configuration as the
// entrypoint starts it.
func TestKamailioConfigSyntax(t *testing.T) {
	harness.RequireTool(t, "kamailio")
	dir := t.TempDir()
	cmd := exec.Command("sh", deployPath(t, "kamailio", "entrypoint.sh"), "-c")
	cmd.Env = append(os.Environ(), "GATEWAYS=sip:192.0.2.1:5060 sip:192.0.2.2:5060",
		"LISTEN=127.0.0.1:0", "ADVERTISE=198.51.100.7:5060", "DISPATCHER_LIST="+filepath.Join(dir, "list"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "config file ok") {
		t.Fatalf("kamailio -c: %v\n%s", err, out)
	}
	bad := exec.Command("sh", deployPath(t, "kamailio", "entrypoint.sh"), "-c")
	bad.Env = append(os.Environ(), "GATEWAYS=192.0.2.1:5060", "DISPATCHER_LIST="+filepath.Join(dir, "list"))
	if out, err := bad.CombinedOutput(); err == nil {
		t.Fatalf("a gateway that is not a sip: URI was accepted:\n%s", out)
	}
}
