package prompts

import "errors"

var (
	// ErrFormat is returned for a WAV file that is malformed or is not mono
	// 16-bit PCM at a supported rate.
	ErrFormat = errors.New("prompts: unsupported or malformed WAV")
	// ErrUnknownPrompt is returned for a prompt name that is not in the set.
	ErrUnknownPrompt = errors.New("prompts: unknown prompt")
	// ErrUnknownLanguage is returned by Load for a language that is neither
	// embedded nor fully supplied by the prompts folder.
	ErrUnknownLanguage = errors.New("prompts: unknown language")
	// ErrRate is returned by Set.PCM for a rate other than 8000 or 16000 Hz.
	ErrRate = errors.New("prompts: unsupported sample rate")
)
