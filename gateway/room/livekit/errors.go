package livekit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/twitchtv/twirp"

	"github.com/roombridge/roombridge/gateway/room"
)

// Errors of package livekit. Callers map them with errors.Is; failures that
// the gateway turns into status codes wrap the room sentinels instead
// (room.ErrUnavailable, room.ErrParticipantNotFound, …).
var (
	// ErrBadCredentials: LiveKit refused the API key or secret. It is a
	// configuration error, not an outage, and is not retried.
	ErrBadCredentials = errors.New("livekit: API key or secret rejected")
	// ErrConfig: a Config field is missing or malformed.
	ErrConfig = errors.New("livekit: bad config")
	// ErrUnknownTrack: RequestKeyframe named a track this participant does
	// not receive.
	ErrUnknownTrack = errors.New("livekit: unknown track")
	// ErrHiddenPublish: hidden participants receive only.
	ErrHiddenPublish = errors.New("livekit: hidden participant cannot publish")
	// ErrFrameTooLarge: an audio frame larger than an RTP packet can carry.
	ErrFrameTooLarge = errors.New("livekit: frame too large")
)

// apiError turns a RoomService error into one of the room sentinels where
// one fits: unreachable → room.ErrUnavailable, 401/403 → ErrBadCredentials,
// not found → notFound (when not nil).
func apiError(op string, err error, notFound error) error {
	if err == nil {
		return nil
	}
	var te twirp.Error
	if errors.As(err, &te) {
		switch te.Code() {
		case twirp.Unauthenticated, twirp.PermissionDenied:
			return fmt.Errorf("%w: %s: %w", ErrBadCredentials, op, err)
		case twirp.NotFound:
			if notFound != nil {
				return fmt.Errorf("%w: %s: %s", notFound, op, te.Msg())
			}
		case twirp.Unavailable, twirp.DeadlineExceeded:
			return fmt.Errorf("%w: livekit %s: %w", room.ErrUnavailable, op, err)
		}
	}
	if unreachable(err) {
		return fmt.Errorf("%w: livekit %s: %w", room.ErrUnavailable, op, err)
	}
	return fmt.Errorf("livekit %s: %w", op, err)
}

// unreachable says whether err is a transport failure: connection refused,
// DNS, TLS, or a timeout.
func unreachable(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded)
}
