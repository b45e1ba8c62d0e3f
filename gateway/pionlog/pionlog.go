// Package pionlog routes the logs of pion (ICE, DTLS, SCTP, SRTP, the
// PeerConnection itself) to the *slog.Logger the process was given, so that
// they share its handler, format and level instead of going to stderr.
//
// Pion's Info records (a PeerConnection's state changes, one line each per
// call) are logged at Debug: at Info they would drown a gateway carrying
// hundreds of calls. Trace is below Debug.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// LevelTrace is the slog level of pion's Trace records.
const LevelTrace = slog.LevelDebug - 4

// Factory is a logging.LoggerFactory writing to a *slog.Logger; each pion
// scope ("ice", "dtls", "pc"…) is in the records' "pion" attribute.
type Factory struct{ log *slog.Logger }

var _ logging.LoggerFactory = (*Factory)(nil)

// New returns a factory logging to log (nil: nowhere).
func New(log *slog.Logger) *Factory {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Factory{log: log}
}

// NewLogger implements logging.LoggerFactory.
func (f *Factory) NewLogger(scope string) logging.LeveledLogger {
	return &logger{log: f.log.With("pion", scope)}
}

// logger is one pion scope's logger. Formatting is skipped for records the
// handler would drop, so that disabled Trace and Debug cost next to nothing.
type logger struct{ log *slog.Logger }

func (l *logger) write(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, msg)
}

func (l *logger) writef(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l *logger) Trace(msg string)                  { l.write(LevelTrace, msg) }
func (l *logger) Tracef(format string, args ...any) { l.writef(LevelTrace, format, args...) }
func (l *logger) Debug(msg string)                  { l.write(slog.LevelDebug, msg) }
func (l *logger) Debugf(format string, args ...any) { l.writef(slog.LevelDebug, format, args...) }
func (l *logger) Info(msg string)                   { l.write(slog.LevelDebug, msg) }
func (l *logger) Infof(format string, args ...any)  { l.writef(slog.LevelDebug, format, args...) }
func (l *logger) Warn(msg string)                   { l.write(slog.LevelWarn, msg) }
func (l *logger) Warnf(format string, args ...any)  { l.writef(slog.LevelWarn, format, args...) }
func (l *logger) Error(msg string)                  { l.write(slog.LevelError, msg) }
func (l *logger) Errorf(format string, args ...any) { l.writef(slog.LevelError, format, args...) }
