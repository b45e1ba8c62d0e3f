package baresip

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/roombridge/roombridge/gateway/media/tone"
)

// WriteWAV writes pcm as a mono 16-bit WAV file at rate.
func WriteWAV(path string, rate int, pcm []int16) error {
	data := len(pcm) * 2
	b := make([]byte, 0, 44+data)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+data))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1) // PCM
	b = binary.LittleEndian.AppendUint16(b, 1) // mono
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*2))
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(data))
	for _, s := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return os.WriteFile(path, b, 0o644)
}

// WriteToneWAV writes a sine of freq Hz (0 for silence) at amplitude
// (0..32767), lasting secs seconds, as an 8 kHz mono WAV file: a phone's microphone.
func WriteToneWAV(path string, freq, amplitude, secs float64) error {
	pcm := make([]int16, int(secs*Rate))
	if freq > 0 {
		tone.NewGenerator(freq, Rate, amplitude).Fill(pcm)
	}
	return WriteWAV(path, Rate, pcm)
}

// ReadWAVHeader returns the rate and channel count of a 16-bit PCM WAV file.
func ReadWAVHeader(path string) (rate, channels int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = f.Close() }()
	rate, channels, _, err = readHeader(f)
	return rate, channels, err
}

// ReadWAV returns the samples and rate of a mono 16-bit PCM WAV file. A
// data chunk whose size was never filled in (a recording cut short) is
// read to the end of the file.
func ReadWAV(path string) ([]int16, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = f.Close() }()
	rate, channels, size, err := readHeader(f)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	if channels != 1 {
		return nil, 0, fmt.Errorf("%s: %d channels, want mono", path, channels)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, err
	}
	if size > 0 && int(size) <= len(b) {
		b = b[:size]
	}
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return pcm, rate, nil
}

// readHeader walks the RIFF chunks up to the data chunk and leaves r at
// its first sample.
func readHeader(r io.Reader) (rate, channels int, size uint32, err error) {
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return 0, 0, 0, errNotWAV
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return 0, 0, 0, errNotWAV
	}
	haveFmt := false
	for {
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return 0, 0, 0, fmt.Errorf("%w: no data chunk", errNotWAV)
		}
		n := binary.LittleEndian.Uint32(h[4:])
		switch string(h[0:4]) {
		case "fmt ":
			if n < 16 || n > 1<<16 {
				return 0, 0, 0, errNotWAV
			}
			f := make([]byte, n+n%2)
			if _, err := io.ReadFull(r, f); err != nil {
				return 0, 0, 0, errNotWAV
			}
			format := binary.LittleEndian.Uint16(f[0:])
			bits := binary.LittleEndian.Uint16(f[14:])
			if (format != 1 && format != 0xFFFE) || bits != 16 {
				return 0, 0, 0, fmt.Errorf("%w: format %d, %d bits", errNotWAV, format, bits)
			}
			channels = int(binary.LittleEndian.Uint16(f[2:]))
			rate = int(binary.LittleEndian.Uint32(f[4:]))
			haveFmt = true
		case "data":
			if !haveFmt {
				return 0, 0, 0, fmt.Errorf("%w: data before fmt", errNotWAV)
			}
			if n == 0xFFFFFFFF {
				n = 0
			}
			return rate, channels, n, nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(n+n%2)); err != nil {
				return 0, 0, 0, errNotWAV
			}
		}
	}
}
