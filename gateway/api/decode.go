package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxBodyBytes bounds every request body; a room is a few hundred bytes.
const maxBodyBytes = 64 << 10

// decodeJSON reads the body of r into dst: a single JSON value of at most
// maxBodyBytes, sent as application/json, with no fields dst does not know.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	if r.ContentLength > maxBodyBytes {
		return tooLarge()
	}
	return decodeBody(http.MaxBytesReader(w, r.Body, maxBodyBytes), dst)
}

// decodeOptionalJSON is decodeJSON for bodies that may be left out
// entirely: an empty body leaves dst as it is.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return decodeJSON(w, r, dst)
}

func checkContentType(ct string) error {
	if ct == "" {
		return &requestError{class: errMediaType, msg: "Content-Type must be application/json"}
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &requestError{class: errMediaType, msg: fmt.Sprintf("Content-Type must be application/json, not %q", ct)}
	}
	return nil
}

func tooLarge() error {
	return &requestError{class: errTooLarge, msg: fmt.Sprintf("request body exceeds %d bytes", maxBodyBytes)}
}

// decodeBody is decodeJSON after the header checks; the fuzz target calls
// it directly.
func decodeBody(body io.Reader, dst any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	// One value only: "{}{}" or "{} x" is a client bug worth reporting.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge()
		}
		return badRequest("", "request body must hold a single JSON object")
	}
	return nil
}

// jsonError turns a decoding error into a client error naming the field
// where it can.
func jsonError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge()
	case errors.Is(err, io.EOF):
		return badRequest("", "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "malformed JSON: unexpected end of body")
	case errors.As(err, &se):
		return badRequest("", fmt.Sprintf("malformed JSON at byte %d", se.Offset))
	case errors.As(err, &te):
		if te.Field == "" {
			return badRequest("", "request body must be a JSON object")
		}
		return badRequest(te.Field, fmt.Sprintf("%s must be %s", te.Field, jsonTypeName(te.Type.Kind().String())))
	}
	// encoding/json reports unknown fields only as text.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return badRequest(name, fmt.Sprintf("unknown field %q", name))
	}
	return badRequest("", "malformed JSON")
}

// jsonTypeName names a Go kind the way a JSON client thinks of it.
func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int64", "int32", "uint", "uint64", "uint32", "float64":
		return "a number"
	default:
		return "of another type"
	}
}
