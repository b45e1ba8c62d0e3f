package bridge

import "github.com/roombridge/roombridge/gateway/media/opus"

// PhoneOpus is how a phone's audio is Opus-encoded for the room.
var PhoneOpus = opus.EncoderConfig{}

// MixOpus is how a room's N−1 mix is Opus-encoded for an Opus leg.
var MixOpus = opus.EncoderConfig{}
