package video

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pion/rtcp"
)

// The samples in testdata/media_control are the RFC 5168 §4 example and
// the variants room systems are known to send (long-form elements, no
// declaration, other declared encodings, upper case, namespace prefixes,
// a body cut short, no vc_primitive, a general_error answer).
func TestParseMediaControlSamples(t *testing.T) {
	want := map[string]MediaControl{
		"rfc5168.xml":                  {PictureFastUpdate: true},
		"one-line-long-form.xml":       {PictureFastUpdate: true},
		"no-declaration-stream-id.xml": {PictureFastUpdate: true, StreamIDs: []string{"11"}},
		"latin1-declaration.xml":       {PictureFastUpdate: true},
		"upper-case.xml":               {PictureFastUpdate: true},
		"namespace-prefix.xml":         {PictureFastUpdate: true},
		"truncated.xml":                {PictureFastUpdate: true},
		"no-vc-primitive.xml":          {PictureFastUpdate: true},
		"general-error.xml":            {GeneralError: "Invalid request"},
	}
	files, _ := filepath.Glob("testdata/media_control/*.xml")
	if len(files) != len(want) {
		t.Fatalf("%d samples, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseMediaControl(b)
		w := want[filepath.Base(f)]
		if err != nil || got.PictureFastUpdate != w.PictureFastUpdate || got.GeneralError != w.GeneralError ||
			strings.Join(got.StreamIDs, ",") != strings.Join(w.StreamIDs, ",") {
			t.Errorf("%s: %+v %v, want %+v", filepath.Base(f), got, err, w)
		}
	}
}

func TestParseMediaControlBad(t *testing.T) {
	for _, b := range []string{
		"",
		"picture_fast_update",
		"<media_control_x><picture_fast_update/></media_control_x>",
		"<vc_primitive><to_encoder><picture_fast_update/></to_encoder></vc_primitive>",
		"<?xml version=\"1.0\"?>",
		strings.Repeat("<media_control>", 2000),
		"<media_control>" + strings.Repeat("<a>", 40) + "<picture_fast_update/>",
	} {
		if mc, err := ParseMediaControl([]byte(b)); err == nil && mc.PictureFastUpdate {
			t.Errorf("%.60q: %+v", b, mc)
		} else if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%.60q: %v does not wrap ErrMalformed", b, err)
		}
	}
}

func TestBuildPictureFastUpdate(t *testing.T) {
	rfc, err := os.ReadFile("testdata/media_control/rfc5168.xml")
	if err != nil {
		t.Fatal(err)
	}
	if got := BuildPictureFastUpdate(""); string(got) != string(rfc) {
		t.Errorf("body differs from RFC 5168 §4:\n%s", got)
	}
	mc, err := ParseMediaControl(BuildPictureFastUpdate("a<&b"))
	if err != nil || !mc.PictureFastUpdate || len(mc.StreamIDs) != 1 || mc.StreamIDs[0] != "a<&b" {
		t.Errorf("%+v %v", mc, err)
	}
}

func TestRTCPKeyframeRequests(t *testing.T) {
	const ours, theirs = 0x1111, 0x2222
	pli, err := BuildPLI(theirs, ours)
	if err != nil {
		t.Fatal(err)
	}
	var fs FIRSender
	fir1, _ := fs.Build(theirs, ours)
	fir2, _ := fs.Build(theirs, ours)
	otherFIR, _ := (&FIRSender{}).Build(theirs, 0x3333)
	rr, _ := (&rtcp.ReceiverReport{SSRC: theirs}).Marshal()
	compound := append(append([]byte{}, rr...), pli...)
	pliOther, _ := BuildPLI(theirs, 0x3333)
	pliZero, _ := BuildPLI(theirs, 0)
	legacy := []byte{0x80, 192, 0, 1, 0, 0, 0x11, 0x11}

	var r FIRReceiver
	for _, tc := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"PLI", pli, true},
		{"RR+PLI", compound, true},
		{"PLI for another SSRC", pliOther, false},
		{"PLI for SSRC 0", pliZero, true},
		{"FIR 1", fir1, true},
		{"FIR 1 again", fir1, false},
		{"FIR 2", fir2, true},
		{"FIR for another SSRC", otherFIR, false},
		{"RR", rr, false},
		{"RFC 2032 FIR", legacy, true},
	} {
		got, err := r.Parse(tc.pkt, ours)
		if err != nil || got != tc.want {
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := r.Parse([]byte{1, 2, 3}, ours); !errors.Is(err, ErrMalformed) {
		t.Errorf("garbage: %v", err)
	}
	// The FIR's sequence number advances per request (RFC 5104 §4.3.1.1).
	var p rtcp.FullIntraRequest
	if err := p.Unmarshal(fir2); err != nil || p.FIR[0].SequenceNumber != 2 || p.FIR[0].SSRC != ours || p.SenderSSRC != theirs {
		t.Errorf("FIR %+v %v", p, err)
	}
}
