package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "ROOMBRIDGE_"

// ErrInvalid marks every configuration error; the message names the key.
var ErrInvalid = errors.New("invalid configuration")

// KeyError is a configuration error about one key.
type KeyError struct {
	Key    string // dotted path, e.g. "http.listen"
	Reason string
}

func (e *KeyError) Error() string { return "config: " + e.Key + ": " + e.Reason }

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *KeyError) Unwrap() error { return ErrInvalid }

// Load reads the file at path (empty: defaults only), applies environment
// overrides from env (use os.Environ()), and validates the result.
func Load(path string, env []string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := decode(data, &cfg); err != nil {
			return cfg, err
		}
	}
	if err := applyEnv(&cfg, env); err != nil {
		return cfg, err
	}
	if cfg.Node.ID == "" {
		// The host name is what tells nodes apart in a fleet; a machine
		// without one (or with an odd one) must set node.id itself.
		if h, err := os.Hostname(); err == nil && nodeIDRe.MatchString(h) {
			cfg.Node.ID = h
		}
	}
	return cfg, cfg.Validate()
}

func decode(data []byte, cfg *Config) error {
	// Lists given in the file replace the defaults rather than merge into
	// them: a user listing one trunk means exactly one trunk.
	cfg.Trunks, cfg.Rooms, cfg.DialIn.Numbers, cfg.Webhooks = nil, nil, nil, nil
	var probe map[string]any
	if err := yaml.Unmarshal(data, &probe); err != nil {
		return fmt.Errorf("config: %w: %w", ErrInvalid, err)
	}
	def := Default()
	if _, ok := probe["trunks"]; !ok {
		cfg.Trunks = def.Trunks
	}
	if d, ok := probe["dialin"].(map[string]any); !ok || d["numbers"] == nil {
		cfg.DialIn.Numbers = def.DialIn.Numbers
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: %w: %s", ErrInvalid, unknownFieldKey(err))
	}
	return nil
}

// unknownFieldKey rewrites yaml.v3's "field x not found in type config.HTTP"
// into words a user can act on.
func unknownFieldKey(err error) string {
	msg := err.Error()
	msg = strings.ReplaceAll(msg, "yaml: unmarshal errors:\n", "")
	msg = strings.ReplaceAll(msg, "not found in type config.", "is not a known key under ")
	return strings.TrimSpace(msg)
}

// applyEnv walks the struct and sets every scalar or string-list key whose
// environment variable is present: http.listen ← ROOMBRIDGE_HTTP_LISTEN,
// api.keys ← ROOMBRIDGE_API_KEYS (comma separated).
func applyEnv(cfg *Config, env []string) error {
	vars := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			vars[k] = v
		}
	}
	if len(vars) == 0 {
		return nil
	}
	return walkEnv(reflect.ValueOf(cfg).Elem(), "", vars)
}

func walkEnv(v reflect.Value, prefix string, vars map[string]string) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct {
			if err := walkEnv(fv, key, vars); err != nil {
				return err
			}
			continue
		}
		name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		raw, ok := vars[name]
		if !ok {
			continue
		}
		if err := setScalar(fv, raw); err != nil {
			return &KeyError{Key: key, Reason: fmt.Sprintf("from %s: %v", name, err)}
		}
	}
	return nil
}

// EnvNames lists every environment variable Load reads: one per scalar
// or string-list key, ROOMBRIDGE_ and the dotted key in upper case with
// '_' for '.'. Deploy files are checked against it, since a misspelt
// variable is silently ignored.
func EnvNames() []string {
	var names []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			key := strings.TrimPrefix(prefix+"."+tag, ".")
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type != durationType:
				walk(f.Type, key)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() != reflect.String, f.Type.Kind() == reflect.Map:
				// Lists of structs and maps come from the file only.
			default:
				names = append(names, EnvPrefix+strings.ToUpper(strings.ReplaceAll(key, ".", "_")))
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return names
}

var durationType = reflect.TypeFor[time.Duration]()

func setScalar(v reflect.Value, raw string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	case v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64:
		n, err := strconv.ParseFloat(raw, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetFloat(n)
	case v.Kind() >= reflect.Uint && v.Kind() <= reflect.Uint64:
		n, err := strconv.ParseUint(raw, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetUint(n)
	case v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64:
		n, err := strconv.ParseFloat(raw, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetFloat(n)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var items []string
		for s := range strings.SplitSeq(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}
