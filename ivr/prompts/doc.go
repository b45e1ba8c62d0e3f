// Package prompts holds the IVR's recorded prompts: speech generated from
// text by gen.sh (espeak-ng and sox), join and leave tones and hold music,
// embedded in the binary with go:embed, one set per language.
//
// # Embedded audio
//
// The files live under audio/ as mono 16-bit PCM WAV:
//
//	audio/en/*.wav, audio/de/*.wav   speech, 8 kHz (about 0.66 and 0.80 MB)
//	audio/common/*.wav               join_tone, leave_tone, hold_music, 16 kHz (0.34 MB)
//
// Speech is stored at 8 kHz because G.711 legs, the common case, play it as
// it is and because English and German together then stay under 2 MB; a
// 16 kHz (G.722) leg gets it upsampled with gateway/media/resample, which
// adds nothing above 4 kHz but costs nothing at play time either: every
// conversion is done once per prompt and rate and cached in the Set. The
// common sounds are stored at 16 kHz and downsampled for 8 kHz legs.
//
// # Overrides
//
// Load(dir, lang) with a non-empty dir (the ivr.prompts_dir setting) takes
// each prompt from dir/lang/NAME.wav, else dir/NAME.wav, else the embedded
// file. Files must be mono 16-bit PCM WAV at 8, 16 or 48 kHz; any other
// format, or a .wav file whose name is not a prompt, is an error that names
// the file. A language that is not embedded can be used only when the
// folder supplies every speech prompt of it.
//
// # Regenerating
//
// Reword or translate text/LANG.txt and run ./gen.sh LANG (see the script);
// the Go code picks up any audio/LANG folder that holds every prompt.
package prompts
