#!/bin/sh
# gen.sh regenerates the embedded IVR prompts from text, so that anyone can
# reword, re-voice or translate them. It needs espeak-ng and sox.
#
#   ./gen.sh                 every language in text/ and the common sounds
#   ./gen.sh LANG [VOICE]    audio/LANG/ from text/LANG.txt (VOICE: espeak-ng -v)
#   ./gen.sh common          audio/common/: join and leave tones, hold music
#
# To add a language: copy text/en.txt to text/xx.txt, translate the right-hand
# sides, set "@voice" to an espeak-ng voice (espeak-ng --voices=xx) and run
# ./gen.sh xx.
#
# Rates: speech is stored at 8 kHz mono 16-bit (G.711 legs, the common case,
# play it as it is; the Go package upsamples it for 16 kHz G.722 legs), which
# keeps English and German together under 2 MB. The common sounds are stored
# at 16 kHz (and downsampled for 8 kHz legs). SPEECH_RATE=16000 ./gen.sh xx
# writes wideband speech instead, at twice the size.
set -eu

cd "$(dirname "$0")"
SPEECH_RATE=${SPEECH_RATE:-8000}
COMMON_RATE=${COMMON_RATE:-16000}

# -R: repeatable dither, so that regenerating unchanged text gives the same
# bytes and git shows only the prompts that really changed.
sox() { command sox -R "$@"; }

need() {
	env sh -c "command -v $1" >/dev/null 2>&1 || { echo "gen.sh: $1 is not installed" >&2; exit 1; }
}

# speak NAME TEXT VOICE SPEED OUTDIR: espeak-ng at its own rate, then sox:
# mono 16-bit at $SPEECH_RATE, leading and trailing silence trimmed, peak normalised
# to -3 dBFS, 50 ms of silence before and 200 ms after.
speak() {
	tmp=$(mktemp --suffix=.wav)
	espeak-ng -v "$3" -s "$4" -w "$tmp" "$2"
	sox "$tmp" -r "$SPEECH_RATE" -c 1 -b 16 -e signed-integer "$5/$1.wav" \
		silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
		gain -n -3 pad 0.05 0.2
	rm -f "$tmp"
}

lang() {
	l=$1
	txt=text/$l.txt
	[ -f "$txt" ] || { echo "gen.sh: no $txt" >&2; exit 1; }
	voice=$(sed -n 's/^@voice[[:space:]]*//p' "$txt")
	speed=$(sed -n 's/^@speed[[:space:]]*//p' "$txt")
	voice=${2:-${voice:-$l}}
	speed=${speed:-150}
	mkdir -p "audio/$l"
	rm -f "audio/$l"/*.wav
	grep -v -e '^#' -e '^@' -e '^[[:space:]]*$' "$txt" | while IFS='|' read -r name text; do
		speak "$name" "$text" "$voice" "$speed" "audio/$l"
	done
	echo "audio/$l: $(ls "audio/$l" | wc -l) prompts, voice $voice"
}

# chord SECONDS FREQ...: a soft sine chord with slow fades, to stdout.
chord() {
	d=$1
	shift
	set -- $(for f in "$@"; do echo sine "$f"; done)
	sox -r "$COMMON_RATE" -c $(($# / 2)) -n -b 16 -t wav - synth "$d" "$@" \
		remix - tremolo 0.4 20 fade q 0.5 "$d" 0.5
}

# note SECONDS FREQ: one sine note with 10 ms fades, to stdout.
note() {
	sox -n -r "$COMMON_RATE" -c 1 -b 16 -t wav - synth "$1" sine "$2" fade q 0.01 "$1" 0.01
}

common() {
	mkdir -p audio/common
	out=audio/common
	# Join tone: two rising notes; leave tone: the same notes falling.
	tmp=$(mktemp -d)
	note 0.12 660 >"$tmp/lo.wav"
	note 0.18 880 >"$tmp/hi.wav"
	sox "$tmp/lo.wav" "$tmp/hi.wav" $out/join_tone.wav gain -n -6 pad 0 0.05
	note 0.12 880 >"$tmp/hi.wav"
	note 0.18 660 >"$tmp/lo.wav"
	sox "$tmp/hi.wav" "$tmp/lo.wav" $out/leave_tone.wav gain -n -6 pad 0 0.05
	rm -rf "$tmp"
	# Hold music: C, A minor, F, G major, 2.5 s each (10 s), looped by the player.
	tmp=$(mktemp -d)
	chord 2.5 261.63 329.63 392.00 130.81 >"$tmp/1.wav"
	chord 2.5 220.00 261.63 329.63 110.00 >"$tmp/2.wav"
	chord 2.5 174.61 220.00 261.63 87.31 >"$tmp/3.wav"
	chord 2.5 196.00 246.94 293.66 98.00 >"$tmp/4.wav"
	sox "$tmp/1.wav" "$tmp/2.wav" "$tmp/3.wav" "$tmp/4.wav" -b 16 $out/hold_music.wav gain -n -10
	rm -rf "$tmp"
	echo "audio/common: join_tone, leave_tone, hold_music"
}

need sox
case "${1:-}" in
"")
	need espeak-ng
	common
	for f in text/*.txt; do
		l=$(basename "$f" .txt)
		lang "$l"
	done
	;;
common) common ;;
*)
	need espeak-ng
	lang "$1" "${2:-}"
	;;
esac
