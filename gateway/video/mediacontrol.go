package video

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MediaControlType is the SIP INFO Content-Type of RFC 5168 keyframe
// requests.
const MediaControlType = "application/media_control+xml"

// maxMediaControl bounds a media_control body: real ones are 200 bytes.
const maxMediaControl = 16 << 10

// MediaControl is what a media_control document (RFC 5168 §5) says.
type MediaControl struct {
	// PictureFastUpdate asks the receiver's encoder for a keyframe.
	PictureFastUpdate bool
	// StreamIDs name the streams it is about; empty means all video.
	StreamIDs []string
	// GeneralError is the text of a general_error element: the peer's
	// answer to a request it could not understand.
	GeneralError string
}

// BuildPictureFastUpdate returns the body of a SIP INFO asking a room
// system for a keyframe, as RFC 5168 §4 writes it; streamID is added as
// a stream_id element when not empty.
func BuildPictureFastUpdate(streamID string) []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\r\n" +
		"<media_control>\r\n" +
		"  <vc_primitive>\r\n" +
		"    <to_encoder>\r\n" +
		"      <picture_fast_update/>\r\n" +
		"    </to_encoder>\r\n")
	if streamID != "" {
		b.WriteString("    <stream_id>")
		_ = xml.EscapeText(&b, []byte(streamID)) // writes to a bytes.Buffer: no error
		b.WriteString("</stream_id>\r\n")
	}
	b.WriteString("  </vc_primitive>\r\n" +
		"</media_control>\r\n")
	return b.Bytes()
}

// ParseMediaControl reads a media_control body tolerantly, as room
// systems write it: with or without the XML declaration, any declared
// encoding, namespace prefixes, element names in any case,
// <picture_fast_update></picture_fast_update> or the empty-element form,
// and unclosed elements at the end. The root must be media_control; a
// picture_fast_update anywhere below it counts (some devices leave out
// vc_primitive or to_encoder). Errors wrap ErrMalformed.
func ParseMediaControl(body []byte) (MediaControl, error) {
	var mc MediaControl
	if len(body) > maxMediaControl {
		return mc, fmt.Errorf("%w: media_control of %d bytes", ErrMalformed, len(body))
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	// The body is ASCII in practice whatever the declaration says; pass
	// it through rather than fail on "ISO-8859-1".
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }

	var stack []string
	root := false
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) || root {
				break // a truncated or sloppy tail after what we need
			}
			return mc, fmt.Errorf("%w: media_control: %w", ErrMalformed, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(tok.Name.Local)
			if len(stack) == 0 {
				if name != "media_control" {
					return mc, fmt.Errorf("%w: root element %.40q, want media_control", ErrMalformed, tok.Name.Local)
				}
				root = true
			}
			if len(stack) > 16 {
				return mc, fmt.Errorf("%w: media_control nested too deep", ErrMalformed)
			}
			stack = append(stack, name)
			text.Reset()
			if name == "picture_fast_update" {
				mc.PictureFastUpdate = true
			}
		case xml.CharData:
			if text.Len() < 256 {
				text.Write(tok)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			switch stack[len(stack)-1] {
			case "stream_id":
				if id := strings.TrimSpace(text.String()); id != "" && len(mc.StreamIDs) < 16 {
					mc.StreamIDs = append(mc.StreamIDs, id)
				}
			case "general_error":
				mc.GeneralError = strings.TrimSpace(text.String())
			}
			stack = stack[:len(stack)-1]
		}
	}
	if !root {
		return mc, fmt.Errorf("%w: no media_control element", ErrMalformed)
	}
	return mc, nil
}
