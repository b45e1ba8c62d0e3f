package sdp

import "testing"

func benchmarkParseAnswer(b *testing.B, file string, p Policy) {
	body := readSample(b, file)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		offer, err := Parse(body)
		if err != nil {
			b.Fatal(err)
		}
		ans, err := Answer(offer, p)
		if err != nil {
			b.Fatal(err)
		}
		_ = Marshal(ans)
	}
}

// BenchmarkParseAnswer measures the work per INVITE: parse the offer,
// answer it, write the answer.
func BenchmarkParseAnswer(b *testing.B) {
	b.Run("trunk-pcma", func(b *testing.B) { benchmarkParseAnswer(b, "trunk-pcma.sdp", testPolicy()) })
	b.Run("savp", func(b *testing.B) { benchmarkParseAnswer(b, "savp-cisco.sdp", testPolicy()) })
	b.Run("cisco-room-h264", func(b *testing.B) { benchmarkParseAnswer(b, "cisco-room-h264.sdp", testPolicy()) })
}

func BenchmarkParse(b *testing.B) {
	body := readSample(b, "cisco-room-h264.sdp")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
