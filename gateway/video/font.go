package video

import (
	_ "embed" // the slate's glyphs
	"fmt"
	"sync"
)

//go:generate go run ./internal/slatefont -out slatefont.bin

// slateFontFile holds printable ASCII in the Go Bold font, rendered by
// internal/slatefont (see there for the format).
//
//go:embed slatefont.bin
var slateFontFile []byte

type glyph struct {
	advance, left, top, w, h int
	alpha                    []byte
}

type bitmapFont struct {
	height, ascent int
	glyphs         [95]glyph // ' ' … '~'
}

var (
	slateFontOnce sync.Once
	slateFont     *bitmapFont
	errSlateFont  error
)

func loadSlateFont() (*bitmapFont, error) {
	slateFontOnce.Do(func() { slateFont, errSlateFont = parseFont(slateFontFile) })
	return slateFont, errSlateFont
}

func parseFont(b []byte) (*bitmapFont, error) {
	if len(b) < 8 || string(b[:4]) != "RBSF" || b[4] != 1 {
		return nil, fmt.Errorf("%w: slate font header", ErrMalformed)
	}
	f := &bitmapFont{height: int(b[6]), ascent: int(b[7])}
	b = b[8:]
	for i := range f.glyphs {
		if len(b) < 5 {
			return nil, fmt.Errorf("%w: slate font truncated", ErrMalformed)
		}
		g := glyph{advance: int(b[0]), left: int(int8(b[1])), top: int(b[2]), w: int(b[3]), h: int(b[4])}
		b = b[5:]
		if len(b) < g.w*g.h {
			return nil, fmt.Errorf("%w: slate font truncated", ErrMalformed)
		}
		g.alpha, b = b[:g.w*g.h], b[g.w*g.h:]
		f.glyphs[i] = g
	}
	return f, nil
}

// glyphOf returns the glyph of r; characters outside printable ASCII are
// drawn as '?'.
func (f *bitmapFont) glyphOf(r rune) *glyph {
	if r < ' ' || r > '~' {
		r = '?'
	}
	return &f.glyphs[r-' ']
}

// width is the advance of s in pixels.
func (f *bitmapFont) width(s string) int {
	w := 0
	for _, r := range s {
		w += f.glyphOf(r).advance
	}
	return w
}

// fit shortens s with "..." until it is at most max pixels wide.
func (f *bitmapFont) fit(s string, maxWidth int) string {
	if f.width(s) <= maxWidth {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && f.width(string(rs)+"...") > maxWidth {
		rs = rs[:len(rs)-1]
	}
	return string(rs) + "..."
}

// draw writes s with its line top at (x, y) into a coverage map of width
// stride, taking the brighter of what is there and the glyph.
func (f *bitmapFont) draw(cov []byte, stride, x, y int, s string) {
	rows := len(cov) / stride
	for _, r := range s {
		g := f.glyphOf(r)
		for gy := range g.h {
			py := y + g.top + gy
			if py < 0 || py >= rows {
				continue
			}
			for gx := range g.w {
				px := x + g.left + gx
				if px < 0 || px >= stride {
					continue
				}
				if a := g.alpha[gy*g.w+gx]; a > cov[py*stride+px] {
					cov[py*stride+px] = a
				}
			}
		}
		x += g.advance
	}
}
