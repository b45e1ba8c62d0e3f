package bfcp

import (
	"encoding/binary"
	"fmt"
)

// Primitive is a message type (RFC 8855 §5.1, Table 2).
type Primitive uint8

// The primitives.
const (
	PrimitiveUnknown      Primitive = 0
	FloorRequest          Primitive = 1
	FloorRelease          Primitive = 2
	FloorRequestQuery     Primitive = 3
	FloorRequestStatus    Primitive = 4
	UserQuery             Primitive = 5
	UserStatus            Primitive = 6
	FloorQuery            Primitive = 7
	FloorStatus           Primitive = 8
	ChairAction           Primitive = 9
	ChairActionAck        Primitive = 10
	Hello                 Primitive = 11
	HelloAck              Primitive = 12
	Error                 Primitive = 13
	FloorRequestStatusAck Primitive = 14
	FloorStatusAck        Primitive = 15
	Goodbye               Primitive = 16
	GoodbyeAck            Primitive = 17
)

var primitiveNames = [...]string{
	"Unknown", "FloorRequest", "FloorRelease", "FloorRequestQuery", "FloorRequestStatus", "UserQuery",
	"UserStatus", "FloorQuery", "FloorStatus", "ChairAction", "ChairActionAck", "Hello", "HelloAck",
	"Error", "FloorRequestStatusAck", "FloorStatusAck", "Goodbye", "GoodbyeAck",
}

// String returns the primitive's name in RFC 8855.
func (p Primitive) String() string {
	if int(p) < len(primitiveNames) {
		return primitiveNames[p]
	}
	return fmt.Sprintf("Primitive(%d)", uint8(p))
}

// AttrType is an attribute type (RFC 8855 §5.2, Table 3).
type AttrType uint8

// The attribute types.
const (
	AttrUnknown                 AttrType = 0
	AttrBeneficiaryID           AttrType = 1
	AttrFloorID                 AttrType = 2
	AttrFloorRequestID          AttrType = 3
	AttrPriority                AttrType = 4
	AttrRequestStatus           AttrType = 5
	AttrErrorCode               AttrType = 6
	AttrErrorInfo               AttrType = 7
	AttrParticipantProvidedInfo AttrType = 8
	AttrStatusInfo              AttrType = 9
	AttrSupportedAttributes     AttrType = 10
	AttrSupportedPrimitives     AttrType = 11
	AttrUserDisplayName         AttrType = 12
	AttrUserURI                 AttrType = 13
	AttrBeneficiaryInformation  AttrType = 14
	AttrFloorRequestInformation AttrType = 15
	AttrRequestedByInformation  AttrType = 16
	AttrFloorRequestStatus      AttrType = 17
	AttrOverallRequestStatus    AttrType = 18
)

// RequestStatus is the state of a floor request (RFC 8855 §5.2.5).
type RequestStatus uint8

// The request states.
const (
	StatusUnknown   RequestStatus = 0
	StatusPending   RequestStatus = 1
	StatusAccepted  RequestStatus = 2
	StatusGranted   RequestStatus = 3
	StatusDenied    RequestStatus = 4
	StatusCancelled RequestStatus = 5
	StatusReleased  RequestStatus = 6
	StatusRevoked   RequestStatus = 7
)

// String returns the state's name in RFC 8855.
func (s RequestStatus) String() string {
	names := [...]string{"Unknown", "Pending", "Accepted", "Granted", "Denied", "Cancelled", "Released", "Revoked"}
	if int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("RequestStatus(%d)", uint8(s))
}

// Error codes (RFC 8855 §5.2.6, Table 5) the server sends.
const (
	ErrCodeConferenceNotFound  uint8 = 1
	ErrCodeUserNotFound        uint8 = 2
	ErrCodeUnknownPrimitive    uint8 = 3
	ErrCodeUnknownMandatory    uint8 = 4
	ErrCodeUnauthorized        uint8 = 5
	ErrCodeInvalidFloorID      uint8 = 6
	ErrCodeFloorRequestUnknown uint8 = 7
	ErrCodeUnparsable          uint8 = 10
	ErrCodeUnsupportedVersion  uint8 = 12
)

// Header and attribute sizes.
const (
	headerLen = 12
	// MaxMessage bounds what Parse takes and what the server reads: a
	// UDP datagram within the path MTU (RFC 8855 §6.2.3).
	MaxMessage = 1500
)

// Attribute is one attribute: its type, its M (mandatory) bit and its
// contents as sent, without the 2-byte header and the padding. Grouped
// attributes (BENEFICIARY-INFORMATION, FLOOR-REQUEST-INFORMATION,
// REQUESTED-BY-INFORMATION, FLOOR-REQUEST-STATUS, OVERALL-REQUEST-STATUS)
// hold a 16-bit id and encoded attributes: see [Group] and [Attribute.Group].
type Attribute struct {
	Type      AttrType
	Mandatory bool
	Value     []byte
}

// Message is one BFCP message (RFC 8855 §5).
type Message struct {
	// Version is 1 over TCP/TLS and 2 over UDP/DTLS (RFC 8855 §5.1).
	Version uint8
	// Responder is the R bit: the message answers a request (UDP only).
	Responder     bool
	Primitive     Primitive
	ConferenceID  uint32
	TransactionID uint16
	UserID        uint16
	Attributes    []Attribute
}

// Parse decodes one unfragmented message. Attributes are checked for
// framing only; the caller decides what it understands.
func Parse(b []byte) (Message, error) {
	var m Message
	if len(b) < headerLen || len(b) > MaxMessage {
		return m, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	m.Version = b[0] >> 5
	if m.Version != 1 && m.Version != 2 {
		return m, fmt.Errorf("%w: version %d", ErrMalformed, m.Version)
	}
	m.Responder = b[0]&0x10 != 0
	if b[0]&0x08 != 0 {
		return m, ErrFragmented
	}
	m.Primitive = Primitive(b[1])
	n := int(binary.BigEndian.Uint16(b[2:])) * 4
	if headerLen+n != len(b) {
		return m, fmt.Errorf("%w: payload length %d, %d bytes after the header", ErrMalformed, n, len(b)-headerLen)
	}
	m.ConferenceID = binary.BigEndian.Uint32(b[4:])
	m.TransactionID = binary.BigEndian.Uint16(b[8:])
	m.UserID = binary.BigEndian.Uint16(b[10:])
	var err error
	m.Attributes, err = parseAttributes(b[headerLen:])
	return m, err
}

// parseAttributes decodes a run of attributes, each padded to 4 bytes
// (RFC 8855 §5.2); the last one may come without its padding.
func parseAttributes(b []byte) ([]Attribute, error) {
	var out []Attribute
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: %d bytes of attribute header", ErrMalformed, len(b))
		}
		l := int(b[1])
		if l < 2 || l > len(b) {
			return nil, fmt.Errorf("%w: attribute length %d of %d bytes", ErrMalformed, l, len(b))
		}
		out = append(out, Attribute{Type: AttrType(b[0] >> 1), Mandatory: b[0]&1 != 0, Value: b[2:l]})
		b = b[min(len(b), (l+3)&^3):]
	}
	return out, nil
}

// Find returns the first attribute of type t.
func Find(attrs []Attribute, t AttrType) (Attribute, bool) {
	for _, a := range attrs {
		if a.Type == t {
			return a, true
		}
	}
	return Attribute{}, false
}

// Uint16 is the 16-bit value of an attribute that holds one (FLOOR-ID,
// FLOOR-REQUEST-ID, BENEFICIARY-ID).
func (a Attribute) Uint16() (uint16, bool) {
	if len(a.Value) < 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(a.Value), true
}

// Group splits a grouped attribute into its id and its attributes.
func (a Attribute) Group() (uint16, []Attribute, error) {
	if len(a.Value) < 2 {
		return 0, nil, fmt.Errorf("%w: grouped attribute of %d bytes", ErrMalformed, len(a.Value))
	}
	attrs, err := parseAttributes(a.Value[2:])
	return binary.BigEndian.Uint16(a.Value), attrs, err
}

// Marshal encodes m; attributes longer than an attribute can say
// (253 bytes of contents) are cut.
func (m Message) Marshal() []byte {
	b := make([]byte, headerLen, 64)
	b[0] = m.Version << 5
	if m.Responder {
		b[0] |= 0x10
	}
	b[1] = byte(m.Primitive)
	binary.BigEndian.PutUint32(b[4:], m.ConferenceID)
	binary.BigEndian.PutUint16(b[8:], m.TransactionID)
	binary.BigEndian.PutUint16(b[10:], m.UserID)
	b = appendAttributes(b, m.Attributes, 0)
	binary.BigEndian.PutUint16(b[2:], uint16((len(b)-headerLen)/4))
	return b
}

// appendAttributes appends attrs to b, each padded to 4 bytes from the
// start of the message: b starts skew bytes after an aligned position
// (2 for the contents of a grouped attribute, after its header).
func appendAttributes(b []byte, attrs []Attribute, skew int) []byte {
	for _, a := range attrs {
		v := a.Value
		if len(v) > 253 {
			v = v[:253]
		}
		t := byte(a.Type) << 1
		if a.Mandatory {
			t |= 1
		}
		b = append(b, t, byte(2+len(v)))
		b = append(b, v...)
		for (len(b)+skew)%4 != 0 {
			b = append(b, 0)
		}
	}
	return b
}

// Uint16Attr makes an attribute holding a 16-bit value (FLOOR-ID,
// FLOOR-REQUEST-ID, BENEFICIARY-ID).
func Uint16Attr(t AttrType, v uint16) Attribute {
	return Attribute{Type: t, Mandatory: true, Value: binary.BigEndian.AppendUint16(nil, v)}
}

// Group makes a grouped attribute of an id and attributes.
func Group(t AttrType, id uint16, attrs ...Attribute) Attribute {
	return Attribute{Type: t, Mandatory: true, Value: appendAttributes(binary.BigEndian.AppendUint16(nil, id), attrs, 2)}
}

// StatusAttr makes a REQUEST-STATUS attribute (queue position 0).
func StatusAttr(s RequestStatus) Attribute {
	return Attribute{Type: AttrRequestStatus, Mandatory: true, Value: []byte{byte(s), 0}}
}

// TextAttr makes a text attribute (USER-DISPLAY-NAME, STATUS-INFO, …).
func TextAttr(t AttrType, s string) Attribute {
	return Attribute{Type: t, Value: []byte(s)}
}

// ErrorCodeAttr makes an ERROR-CODE attribute.
func ErrorCodeAttr(code uint8) Attribute {
	return Attribute{Type: AttrErrorCode, Mandatory: true, Value: []byte{code}}
}
