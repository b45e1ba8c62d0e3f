package caller

import (
	"fmt"
	"io"
	"os"

	"github.com/roombridge/roombridge/gateway/media/resample"
	"github.com/roombridge/roombridge/gateway/media/wav"
)

// WAV is mono 16-bit PCM audio and its sample rate.
type WAV struct {
	Rate    int
	Samples []int16
}

// ReadWAV decodes a mono 16-bit PCM WAV file (see wav.Decode) at 8 or
// 16 kHz, the rates of the caller's codecs.
func ReadWAV(r io.Reader) (*WAV, error) {
	samples, rate, err := wav.Read(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadWAV, err)
	}
	if rate != 8000 && rate != 16000 {
		return nil, fmt.Errorf("%w: %d Hz (want 8 or 16 kHz)", ErrBadWAV, rate)
	}
	return &WAV{Rate: rate, Samples: samples}, nil
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
	_, err := w.Write(wav.Encode(pcm, rate))
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
