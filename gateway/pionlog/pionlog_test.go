package pionlog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// Records arrive at the slog handler with pion's scope, at the mapped
// level, and below the handler's level they are not even formatted.
func TestLevelsAndScope(t *testing.T) {
	var buf bytes.Buffer
	f := New(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l := f.NewLogger("ice")
	l.Tracef("trace %d", 1)
	l.Debugf("debug %d", 2)
	l.Info("state changed")
	l.Warnf("warn %s", "x")
	l.Error("failed")
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="debug 2" pion=ice`,
		`level=DEBUG msg="state changed" pion=ice`,
		`level=WARN msg="warn x" pion=ice`,
		`level=ERROR msg=failed pion=ice`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "trace") {
		t.Errorf("trace logged at debug level:\n%s", out)
	}

	buf.Reset()
	quiet := New(slog.New(slog.NewTextHandler(&buf, nil))).NewLogger("dtls")
	formatted := false
	quiet.Debugf("%v", stringer(func() string { formatted = true; return "x" }))
	quiet.Infof("%v", stringer(func() string { formatted = true; return "x" }))
	if formatted || buf.Len() != 0 {
		t.Errorf("a record below the handler's level was formatted or written: %q", buf.String())
	}
	New(nil).NewLogger("pc").Error("goes nowhere")
}

type stringer func() string

func (s stringer) String() string { return s() }
