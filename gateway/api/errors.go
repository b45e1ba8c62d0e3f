package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/store"
)

// Error classes raised by the API itself; errors from the store and the room
// backend keep their own sentinels and are mapped by statusOf too.
var (
	errBadRequest       = errors.New("bad request")
	errUnauthorized     = errors.New("missing or invalid API key")
	errNotFound         = errors.New("not found")
	errMethodNotAllowed = errors.New("method not allowed")
	errTooLarge         = errors.New("request body too large")
	errMediaType        = errors.New("unsupported media type")
	errUnavailable      = errors.New("unavailable")
)

// requestError is an API error with the message and field shown to the
// client. Class is one of the err* sentinels above.
type requestError struct {
	class error
	msg   string
	field string
}

func (e *requestError) Error() string { return e.msg }
func (e *requestError) Unwrap() error { return e.class }

func badRequest(field, msg string) error {
	return &requestError{class: errBadRequest, msg: msg, field: field}
}

func notFound(msg string) error { return &requestError{class: errNotFound, msg: msg} }

// statusOf is the one place that turns an error into an HTTP status code.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errMediaType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, errBadRequest), errors.Is(err, store.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, errNotFound), errors.Is(err, store.ErrNotFound),
		errors.Is(err, room.ErrParticipantNotFound), errors.Is(err, room.ErrRoomNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrConflict), errors.Is(err, room.ErrDuplicateIdentity):
		return http.StatusConflict
	case errors.Is(err, errUnavailable), errors.Is(err, room.ErrUnavailable),
		errors.Is(err, store.ErrClosed), errors.Is(err, room.ErrClosed),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// describe returns what the client is told about err. Server-side failures
// get a generic message; their details go to the log only.
func describe(err error, status int) errorBody {
	var (
		re *requestError
		ve *store.ValidationError
		ce *store.ConflictError
	)
	switch {
	case errors.As(err, &re):
		return errorBody{Error: re.msg, Field: re.field}
	case errors.As(err, &ve):
		return errorBody{Error: ve.Error(), Field: ve.Field}
	case errors.As(err, &ce):
		msg := ce.Error()
		if ce.Field == "pin" || ce.Field == "host_pin" {
			msg = ce.Field + ": already used by another room"
		}
		return errorBody{Error: msg, Field: ce.Field}
	case errors.Is(err, store.ErrNotFound):
		return errorBody{Error: "room not found"}
	case errors.Is(err, room.ErrParticipantNotFound), errors.Is(err, room.ErrRoomNotFound):
		return errorBody{Error: "participant not found"}
	case errors.Is(err, room.ErrDuplicateIdentity):
		return errorBody{Error: "participant already in the room"}
	case status == http.StatusServiceUnavailable:
		return errorBody{Error: "service unavailable, try again"}
	case status >= 500:
		return errorBody{Error: "internal error"}
	default:
		return errorBody{Error: http.StatusText(status)}
	}
}

// fail writes err as a JSON error response and logs it: server-side
// failures as errors, client mistakes at debug level only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status >= 500 {
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	} else {
		s.log.Debug("api request rejected", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roombridge"`)
	}
	writeJSON(w, status, describe(err, status))
}
