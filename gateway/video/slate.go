package video

import (
	"fmt"
	"slices"
)

// Slate defaults: a 640×360 picture, dark slate blue with white text.
const (
	DefaultSlateWidth  = 640
	DefaultSlateHeight = 360
	maxSlateMBs        = 8192 // level 4: 2048×1024
)

// The slate's colours, BT.601 limited range.
const (
	slateBgY, slateBgCb, slateBgCr = 50, 138, 122 // RGB about (30, 40, 60)
	slateFgY, slateFgC             = 235, 128     // white
	slateLineGap                   = 12           // pixels between text lines
)

// SlateConfig describes a slate picture.
type SlateConfig struct {
	// Width and Height are even, DefaultSlateWidth×DefaultSlateHeight
	// when 0.
	Width, Height int
	// Lines are drawn centred, one below the other, such as the room's
	// name and "waiting for video". Characters outside printable ASCII
	// are drawn as '?', lines too wide end in "...".
	Lines []string
	// MaxNALSize, when not 0, cuts the picture into slices of at most
	// this many bytes each, so that packetization-mode 0 (one NAL unit per
	// packet) can carry it: the MTU's payload. At least 512.
	MaxNALSize int
}

// Slate is what a room system sees while the room has no H.264 source: a
// still picture with the room's name, as an H.264 constrained-baseline
// stream made here, for any name, without an encoder library.
//
// The picture is coded losslessly and cheaply: each macroblock that holds
// text, or borders on it, is an I_PCM macroblock (its samples as they
// are, H.264 §7.3.5), and every other one is Intra 16×16 DC prediction with
// no residual, which repeats the flat background from its neighbours in
// two bytes. Deblocking is off, so decoders show exactly the picture
// rendered. After the IDR, each further frame is a P picture of skipped
// macroblocks (10 bytes) that repeats it. An IDR of 640×360 with two lines
// of text is about 24 KB in one slice; cut into slices of 1188 bytes for
// packetization-mode 0 it is about 64 KB, since the first macroblock of
// each slice has no neighbour to predict from and goes as I_PCM.
//
// Access units come precomputed; Next returns them without allocating.
// A Slate is used from one goroutine.
type Slate struct {
	width, height int
	idr           [2][]byte  // SPS, PPS and IDR slices, idr_pic_id 0 and 1
	repeat        [16][]byte // P frames by frame_num
	frameNum      int
	idrID         int
	started       bool
}

// NewSlate renders and encodes the picture.
func NewSlate(cfg SlateConfig) (*Slate, error) {
	if cfg.Width == 0 && cfg.Height == 0 {
		cfg.Width, cfg.Height = DefaultSlateWidth, DefaultSlateHeight
	}
	w, h := cfg.Width, cfg.Height
	mbw, mbh := (w+15)/16, (h+15)/16
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 || mbw*mbh > maxSlateMBs {
		return nil, fmt.Errorf("%w: slate of %d×%d", ErrUnsupported, w, h)
	}
	if cfg.MaxNALSize != 0 && cfg.MaxNALSize < 512 {
		return nil, fmt.Errorf("%w: slate slices of %d bytes, want at least 512", ErrUnsupported, cfg.MaxNALSize)
	}
	font, err := loadSlateFont()
	if err != nil {
		return nil, err
	}
	pic := newSlatePicture(mbw, mbh)
	pic.drawLines(font, w, h, cfg.Lines)

	enc := slateEncoder{pic: pic, maxNAL: cfg.MaxNALSize}
	params := enc.paramSets(w, h)
	s := &Slate{width: w, height: h}
	for id := range s.idr {
		slices, err := enc.idrSlices(id)
		if err != nil {
			return nil, err
		}
		au := append([]byte(nil), params...)
		for _, sl := range slices {
			au = append(append(au, startCode...), sl...)
		}
		s.idr[id] = au
	}
	for fn := range s.repeat {
		s.repeat[fn] = append(append([]byte(nil), startCode...), enc.skipSlice(fn)...)
	}
	return s, nil
}

// Size returns the picture size.
func (s *Slate) Size() (width, height int) { return s.width, s.height }

// Next returns the next access unit: an IDR (SPS and PPS in front) when
// key is set or nothing was sent yet, else a frame that repeats the
// picture. The slice is shared and must not be modified.
func (s *Slate) Next(key bool) []byte {
	if key || !s.started {
		s.started = true
		s.frameNum = 0
		s.idrID ^= 1 // consecutive IDRs differ in idr_pic_id (§7.4.3)
		return s.idr[s.idrID]
	}
	s.frameNum = (s.frameNum + 1) % len(s.repeat)
	return s.repeat[s.frameNum]
}

// slatePicture is a 4:2:0 picture in whole macroblocks.
type slatePicture struct {
	mbw, mbh  int
	y, cb, cr []byte
}

func newSlatePicture(mbw, mbh int) *slatePicture {
	p := &slatePicture{mbw: mbw, mbh: mbh}
	p.y = slices.Repeat([]byte{slateBgY}, mbw*16*mbh*16)
	p.cb = slices.Repeat([]byte{slateBgCb}, mbw*8*mbh*8)
	p.cr = slices.Repeat([]byte{slateBgCr}, mbw*8*mbh*8)
	return p
}

// drawLines renders the text, centred in the visible w×h.
func (p *slatePicture) drawLines(f *bitmapFont, w, h int, lines []string) {
	stride := p.mbw * 16
	cov := make([]byte, len(p.y))
	total := len(lines)*f.height + max(len(lines)-1, 0)*slateLineGap
	y := (h - total) / 2
	for _, l := range lines {
		l = f.fit(l, w-32)
		f.draw(cov, stride, (w-f.width(l))/2, y, l)
		y += f.height + slateLineGap
	}
	for i, a := range cov {
		p.y[i] = blend(slateBgY, slateFgY, int(a))
	}
	cstride := p.mbw * 8
	for cy := range p.mbh * 8 {
		for cx := range cstride {
			i := 2*cy*stride + 2*cx
			a := (int(cov[i]) + int(cov[i+1]) + int(cov[i+stride]) + int(cov[i+stride+1]) + 2) / 4
			p.cb[cy*cstride+cx] = blend(slateBgCb, slateFgC, a)
			p.cr[cy*cstride+cx] = blend(slateBgCr, slateFgC, a)
		}
	}
}

func blend(bg, fg, a int) byte { return byte(bg + ((fg-bg)*a+127)/255) }
