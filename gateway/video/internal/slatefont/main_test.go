package main

import (
	"bytes"
	"os"
	"testing"
)

// TestCommittedFontIsGenerated: the file gateway/video embeds is what this
// generator makes, byte for byte (run `go generate ./gateway/video` after
// changing either).
func TestCommittedFontIsGenerated(t *testing.T) {
	want, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../slatefont.bin")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("gateway/video/slatefont.bin (%d bytes) differs from the generator's output (%d bytes): run go generate ./gateway/video", len(got), len(want))
	}
}
