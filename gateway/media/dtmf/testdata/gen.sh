#!/bin/sh
# gen.sh regenerates the talk-off speech fixtures speech*.raw: 16-bit
# little-endian signed mono PCM at 8000 Hz, band-limited to the telephone
# band (300-3400 Hz) and normalised to -3 dBFS peak, the loudest speech a
# trunk delivers. Synthetic speech (espeak-ng, Debian package espeak-ng;
# resampling with sox) is reproducible, unlike recordings, and its strongly
# periodic voiced sounds are a hard case for a DTMF detector.
#
# The fixtures are committed; run this only to change them:
#   cd gateway/media/dtmf/testdata && ./gen.sh
# Made with eSpeak NG 1.51 and SoX 14.4.2; other versions give different
# bytes but the same kind of speech.
set -eu
cd "$(dirname "$0")"

say() { # say OUT VOICE PITCH SPEED TEXT
	espeak-ng -v "$2" -p "$3" -s "$4" --stdout "$5" |
		sox -R -D -t wav - -t raw -r 8000 -c 1 -b 16 -e signed-integer -L "$1" \
			sinc 300-3400 norm -3
}

say speech1.raw en-us+m3 50 165 "Please enter your conference PIN, followed by the pound key."
say speech2.raw en-gb+f3 70 160 "Seven, three, nine, one. Star, hash. You are joining."
say speech3.raw de+m1 40 150 "Bitte geben Sie die Konferenznummer ein."
say speech4.raw fr-fr+f2 80 150 "Bonjour, vous allez rejoindre la conference. Merci de patienter."
say speech5.raw en-us+klatt2 99 140 "Hello? Can you hear me? La la la, do re mi."
say speech6.raw es+m5 20 175 "Uno, dos, tres, cuatro, cinco, seis, siete."
