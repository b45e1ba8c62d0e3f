// Command slatefont renders the glyphs the slate writes room names with
// (printable ASCII in the Go Bold font, at one size) into the file
// gateway/video embeds: `go generate ./gateway/video` runs it. The font is
// the Go font family's (BSD licence, golang.org/x/image/font/gofont),
// rasterised by golang.org/x/image in pure Go, so the output is the same
// on every machine; main_test.go checks the committed file against it.
//
// File format (all integers one byte): "RBSF", version 1, pixel size, line
// height, ascent, then for each character from ' ' to '~': advance, ink
// box left (signed, from the pen), top (from the line top), width,
// height, and width×height coverage bytes (0 none, 255 full), row by row.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Size is the glyph size in pixels: a room name on a 640×360 slate.
const Size = 30

func main() {
	out := flag.String("out", "slatefont.bin", "file to write")
	flag.Parse()
	b, err := Render()
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "slatefont:", err)
		os.Exit(1)
	}
}

// Render returns the file's bytes.
func Render() ([]byte, error) {
	f, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, err
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: Size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, err
	}
	defer face.Close()
	m := face.Metrics()
	ascent, height := m.Ascent.Ceil(), (m.Ascent + m.Descent).Ceil()
	if height > 255 {
		return nil, fmt.Errorf("line height %d", height)
	}
	var buf bytes.Buffer
	buf.WriteString("RBSF")
	buf.Write([]byte{1, Size, byte(height), byte(ascent)})
	for r := rune(' '); r <= '~'; r++ {
		adv, ok := face.GlyphAdvance(r)
		if !ok {
			return nil, fmt.Errorf("no glyph for %q", r)
		}
		// Draw on a canvas wide enough for any overhang, pen at x=8.
		const pen = 8
		canvas := image.NewGray(image.Rect(0, 0, Size*2+2*pen, height))
		d := font.Drawer{Dst: canvas, Src: image.White, Face: face, Dot: fixed.P(pen, ascent)}
		d.DrawString(string(r))
		box := inkBox(canvas)
		buf.Write([]byte{byte(adv.Round()), byte(int8(box.Min.X - pen)), byte(box.Min.Y), byte(box.Dx()), byte(box.Dy())})
		for y := box.Min.Y; y < box.Max.Y; y++ {
			buf.Write(canvas.Pix[canvas.PixOffset(box.Min.X, y):canvas.PixOffset(box.Max.X, y)])
		}
	}
	return buf.Bytes(), nil
}

// inkBox is the smallest rectangle holding every non-zero pixel (empty for
// a space).
func inkBox(g *image.Gray) image.Rectangle {
	box := image.Rectangle{}
	b := g.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if g.GrayAt(x, y).Y != 0 {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return box
}
