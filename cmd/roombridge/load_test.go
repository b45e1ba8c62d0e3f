package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestLoadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"-h"}, 0, "usage: roombridge load"},
		{"bad codec", []string{"--codec", "opus"}, 2, "codec"},
		{"bad transport", []string{"--transport", "sctp"}, 2, "transport"},
		{"no legs", []string{"--legs", "0"}, 2, "Legs"},
		{"stray argument", []string{"extra"}, 2, "usage"},
		{"bad local ip", []string{"--local-ip", "nope"}, 2, "--local-ip"},
		{"missing wav", []string{"--wav", "/nonexistent.wav"}, 2, "WAVPath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := loadMain(context.Background(), tt.args, &out, &errb)
			if code != tt.code || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), tt.code, tt.want)
			}
		})
	}
}
