// Package wav reads and writes the one WAV format the gateway deals in:
// mono 16-bit PCM. Prompts, test callers' audio and recordings all use it;
// it is a leaf of the media stages and imports nothing of the project.
package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFormat marks every file this package cannot take.
var ErrFormat = errors.New("wav: unsupported file")

// MaxDataBytes bounds the PCM data accepted from one file: 64 MiB is about
// 35 minutes at 16 kHz, far more than a prompt or a test recording, and a
// bad path cannot exhaust memory.
const MaxDataBytes = 64 << 20

// Decode parses a RIFF/WAVE file holding mono 16-bit little-endian PCM
// (format tag 1, or WAVE_FORMAT_EXTENSIBLE with the PCM sub-format) and
// returns its samples and rate; callers check the rate they can use. Chunks other
// than "fmt " and "data" (LIST, fact, …) are skipped. A data chunk whose
// declared size runs past the end of the file, as streaming writers leave
// it, is read to the end of the file. Every other deviation is an error
// wrapping ErrFormat.
func Decode(b []byte) (samples []int16, rate int, err error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%w: not a RIFF/WAVE file", ErrFormat)
	}
	b = b[12:]
	haveFmt := false
	for len(b) >= 8 {
		id, size := string(b[0:4]), uint64(binary.LittleEndian.Uint32(b[4:8]))
		b = b[8:]
		switch id {
		case "fmt ":
			if size > uint64(len(b)) {
				return nil, 0, fmt.Errorf("%w: fmt chunk truncated", ErrFormat)
			}
			if rate, err = parseFmt(b[:size]); err != nil {
				return nil, 0, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, fmt.Errorf("%w: data chunk before fmt chunk", ErrFormat)
			}
			size = min(size, uint64(len(b)))
			if size > MaxDataBytes {
				return nil, 0, fmt.Errorf("%w: %d bytes of audio, more than %d", ErrFormat, size, MaxDataBytes)
			}
			samples = make([]int16, size/2)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
			}
			return samples, rate, nil
		}
		size += size & 1 // chunks are padded to an even length
		if size > uint64(len(b)) {
			break
		}
		b = b[size:]
	}
	if !haveFmt {
		return nil, 0, fmt.Errorf("%w: no fmt chunk", ErrFormat)
	}
	return nil, 0, fmt.Errorf("%w: no data chunk", ErrFormat)
}

// parseFmt checks a "fmt " chunk and returns its sample rate.
func parseFmt(f []byte) (int, error) {
	if len(f) < 16 {
		return 0, fmt.Errorf("%w: fmt chunk of %d bytes", ErrFormat, len(f))
	}
	tag := binary.LittleEndian.Uint16(f[0:])
	channels := binary.LittleEndian.Uint16(f[2:])
	rate := binary.LittleEndian.Uint32(f[4:])
	align := binary.LittleEndian.Uint16(f[12:])
	bits := binary.LittleEndian.Uint16(f[14:])
	const (
		tagPCM        = 1
		tagExtensible = 0xfffe
	)
	if tag == tagExtensible {
		// cbSize(2) validBits(2) channelMask(4) subFormat GUID(16): the
		// GUID's first two bytes are the real format tag.
		if len(f) < 40 {
			return 0, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes", ErrFormat, len(f))
		}
		tag = binary.LittleEndian.Uint16(f[24:])
	}
	switch {
	case tag != tagPCM:
		return 0, fmt.Errorf("%w: format tag %#x, want PCM (1)", ErrFormat, tag)
	case channels != 1:
		return 0, fmt.Errorf("%w: %d channels, want mono", ErrFormat, channels)
	case bits != 16 || align != 2:
		return 0, fmt.Errorf("%w: %d-bit samples (block align %d), want 16-bit", ErrFormat, bits, align)
	case rate == 0 || rate > 192000:
		return 0, fmt.Errorf("%w: %d Hz", ErrFormat, rate)
	}
	return int(rate), nil
}

// Read reads a whole file from r and decodes it.
func Read(r io.Reader) (samples []int16, rate int, err error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxDataBytes+64<<10))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return Decode(b)
}

// Encode returns samples as a mono 16-bit PCM WAV file at rate Hz.
func Encode(samples []int16, rate int) []byte {
	n := 2 * len(samples)
	b := make([]byte, 44+n)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(n))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	return b
}
