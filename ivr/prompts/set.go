package prompts

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/media/resample"
	"github.com/roombridge/roombridge/gateway/media/wav"
)

//go:embed audio
var embedded embed.FS

// langRE is what a language tag may look like ("en", "de", "pt-BR"); it is
// also a path element, so it must not hold separators or dots.
var langRE = regexp.MustCompile(`^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$`)

// Languages lists the embedded languages, sorted.
func Languages() []string {
	entries, err := embedded.ReadDir("audio")
	if err != nil {
		return nil
	}
	var langs []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "common" {
			langs = append(langs, e.Name())
		}
	}
	sort.Strings(langs)
	return langs
}

// Set is one language's prompts. It is safe for concurrent use; load it
// once at start-up and share it between calls.
type Set struct {
	lang  string
	mu    sync.Mutex
	clips map[string]*clip
}

// clip is one prompt as loaded, with its conversions to other rates.
type clip struct {
	source string          // file it came from, "embedded:…" for the binary's own
	rate   int             // rate of the file
	pcm    map[int][]int16 // by rate, the file's own included
}

// Load returns the prompts of lang ("en", "de", …). With dir empty they are
// the embedded ones. Otherwise each prompt is read from dir/lang/NAME.wav,
// else dir/NAME.wav, else taken from the embedded set; all files are
// checked now, and an error names the file at fault.
func Load(dir, lang string) (*Set, error) {
	if !langRE.MatchString(lang) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownLanguage, lang)
	}
	s := &Set{lang: lang, clips: make(map[string]*clip)}
	var missing []string
	for _, name := range Names() {
		c, err := loadClip(dir, lang, name)
		if err != nil {
			return nil, err
		}
		if c == nil {
			missing = append(missing, name)
			continue
		}
		s.clips[name] = c
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %q is not embedded and %q lacks %s.wav",
			ErrUnknownLanguage, lang, dir, strings.Join(missing, ".wav, "))
	}
	if dir != "" {
		for _, d := range []string{filepath.Join(dir, lang), dir} {
			if err := checkFolder(d); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// loadClip finds and decodes one prompt; nil, nil when no source has it.
func loadClip(dir, lang, name string) (*clip, error) {
	if dir != "" {
		for _, p := range []string{filepath.Join(dir, lang, name+".wav"), filepath.Join(dir, name+".wav")} {
			b, err := readFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("prompts: %w", err)
			}
			return decodeClip(p, b)
		}
	}
	sub := lang
	if slices.Contains(CommonNames(), name) {
		sub = "common"
	}
	p := path.Join("audio", sub, name+".wav")
	b, err := embedded.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("prompts: embedded %s: %w", p, err)
	}
	return decodeClip("embedded:"+p, b)
}

// readFile reads a prompt file, refusing one too large to be a prompt
// before reading it.
func readFile(p string) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s: %w: is a directory", p, ErrFormat)
	}
	if fi.Size() > wav.MaxDataBytes+1024 {
		return nil, fmt.Errorf("%s: %w: %d bytes, too large for a prompt", p, ErrFormat, fi.Size())
	}
	return os.ReadFile(p)
}

func decodeClip(source string, b []byte) (*clip, error) {
	pcm, rate, err := DecodeWAV(b)
	if err != nil {
		return nil, fmt.Errorf("prompts: %s: %w", source, err)
	}
	if len(pcm) == 0 {
		return nil, fmt.Errorf("prompts: %s: %w: no samples", source, ErrFormat)
	}
	return &clip{source: source, rate: rate, pcm: map[int][]int16{rate: pcm}}, nil
}

// checkFolder rejects a .wav file in d whose name is not a prompt, so that
// a misspelt override does not go unnoticed. A missing d is fine.
func checkFolder(d string) error {
	entries, err := os.ReadDir(d)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("prompts: %w", err)
	}
	known := Names()
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.EqualFold(filepath.Ext(n), ".wav") {
			continue
		}
		if !slices.Contains(known, strings.TrimSuffix(n, filepath.Ext(n))) || filepath.Ext(n) != ".wav" {
			return fmt.Errorf("%w: %s is not a prompt name (want one of %s.wav)",
				ErrUnknownPrompt, filepath.Join(d, n), strings.Join(known, ".wav, "))
		}
	}
	return nil
}

// Lang is the set's language.
func (s *Set) Lang() string { return s.lang }

// Source is where prompt name came from: a file path, or
// "embedded:audio/LANG/NAME.wav".
func (s *Set) Source(name string) (string, error) {
	c, ok := s.clips[name]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownPrompt, name)
	}
	return c.source, nil
}

// PCM returns prompt name as mono 16-bit samples at rate, 8000 or 16000 Hz,
// converting it on first use and caching the result. The slice is shared:
// callers must not modify it.
func (s *Set) PCM(name string, rate int) ([]int16, error) {
	if rate != 8000 && rate != 16000 {
		return nil, fmt.Errorf("%w: %d Hz, want 8000 or 16000", ErrRate, rate)
	}
	c, ok := s.clips[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownPrompt, name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if pcm, ok := c.pcm[rate]; ok {
		return pcm, nil
	}
	pcm, err := convert(c.pcm[c.rate], c.rate, rate)
	if err != nil {
		return nil, fmt.Errorf("prompts: %s: %w", c.source, err)
	}
	c.pcm[rate] = pcm
	return pcm, nil
}

// Duration is how long prompt name plays.
func (s *Set) Duration(name string) (time.Duration, error) {
	c, ok := s.clips[name]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownPrompt, name)
	}
	s.mu.Lock()
	n := len(c.pcm[c.rate])
	s.mu.Unlock()
	return time.Duration(n) * time.Second / time.Duration(c.rate), nil
}

// convert resamples a whole clip from one rate to another (48 kHz goes
// through 16 kHz), compensating the filter's delay so that the output is
// aligned with the input and as long as it.
func convert(src []int16, from, to int) ([]int16, error) {
	for from != to {
		step := to
		if from == 48000 || to == 48000 {
			step = 16000
		}
		r, err := resample.New(from, step)
		if err != nil {
			return nil, err
		}
		delay := int(math.Round(r.Delay()))
		want := len(src) * step / from
		// Feed enough trailing silence to flush the delayed tail out.
		in := make([]int16, len(src)+(delay+2)*max(from/step, 1))
		copy(in, src)
		out := make([]int16, r.MaxOut(len(in)))
		n, err := r.Process(out, in)
		if err != nil {
			return nil, err
		}
		out = out[min(delay, n):n]
		src = out[:min(want, len(out))]
		from = step
	}
	return src, nil
}
