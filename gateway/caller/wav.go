package caller

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/roombridge/roombridge/gateway/media/resample"
)

// WAV is mono 16-bit PCM audio and its sample rate.
type WAV struct {
	Rate    int
	Samples []int16
}

// maxWAVBytes bounds the data a WAV file may hold (about 30 minutes at
// 16 kHz), so a bad path cannot exhaust memory.
const maxWAVBytes = 64 << 20

// ReadWAV decodes a RIFF WAVE file holding 8 or 16 kHz mono 16-bit PCM
// (format 1, or WAVE_FORMAT_EXTENSIBLE with the PCM subformat). Chunks
// other than fmt and data are skipped.
func ReadWAV(r io.Reader) (*WAV, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadWAV, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF WAVE file", ErrBadWAV)
	}
	var w WAV
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk", ErrBadWAV)
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrBadWAV, size)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrBadWAV, err)
			}
			format := binary.LittleEndian.Uint16(b[0:2])
			channels := binary.LittleEndian.Uint16(b[2:4])
			w.Rate = int(binary.LittleEndian.Uint32(b[4:8]))
			bits := binary.LittleEndian.Uint16(b[14:16])
			if format == 0xFFFE && size >= 26 {
				format = binary.LittleEndian.Uint16(b[24:26]) // the subformat GUID starts with it
			}
			if format != 1 || channels != 1 || bits != 16 || (w.Rate != 8000 && w.Rate != 16000) {
				return nil, fmt.Errorf("%w: format %d, %d channels, %d bits, %d Hz (want PCM mono 16-bit 8/16 kHz)",
					ErrBadWAV, format, channels, bits, w.Rate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data before fmt", ErrBadWAV)
			}
			if size > maxWAVBytes {
				return nil, fmt.Errorf("%w: data chunk of %d bytes", ErrBadWAV, size)
			}
			b := make([]byte, size)
			n, err := io.ReadFull(r, b)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: %w", ErrBadWAV, err)
			}
			// A truncated data chunk is common (streams written without
			// a final size); keep what is there.
			w.Samples = make([]int16, n/2)
			for i := range w.Samples {
				w.Samples[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
			}
			return &w, nil
		default:
			if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrBadWAV, err)
			}
		}
	}
}

// LoadWAV reads a WAV file from path.
func LoadWAV(path string) (*WAV, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w, err := ReadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// WriteWAV writes pcm as a mono 16-bit PCM WAV file at rate.
func WriteWAV(w io.Writer, rate int, pcm []int16) error {
	data := 2 * len(pcm)
	b := make([]byte, 44+data)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	_, err := w.Write(b)
	return err
}

// SaveWAV writes pcm to a WAV file at path.
func SaveWAV(path string, rate int, pcm []int16) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteWAV(f, rate, pcm); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// resampled returns w's samples at rate (8000 or 16000).
func (w *WAV) resampled(rate int) ([]int16, error) {
	if w.Rate == rate {
		return w.Samples, nil
	}
	r, err := resample.New(w.Rate, rate)
	if err != nil {
		return nil, fmt.Errorf("%w: %d Hz to %d Hz: %w", ErrBadWAV, w.Rate, rate, err)
	}
	out := make([]int16, r.MaxOut(len(w.Samples)))
	n, err := r.Process(out, w.Samples)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}
