package video

import "fmt"

// SPS is what the gateway needs from a sequence parameter set (H.264
// §7.3.2.1.1): the profile and level, the picture size after cropping, and
// the frame rate when the encoder states one in its VUI.
type SPS struct {
	ProfileIDC uint8
	// Constraints is the byte of constraint_set flags (profile-iop in
	// SDP, RFC 6184 §8.1).
	Constraints uint8
	LevelIDC    uint8
	ID          uint32
	// ChromaFormatIDC is 1 (4:2:0) unless a high profile says otherwise.
	ChromaFormatIDC uint32
	// Width and Height are the displayed size in pixels, cropping applied
	// (§7.4.2.1.1, frame_crop_*_offset).
	Width, Height int
	// FrameRate is time_scale / (2 × num_units_in_tick) from the VUI's
	// timing info (§E.2.1), 0 when absent. It is the encoder's maximum,
	// not what it sends; [Meter] measures the real rate.
	FrameRate float64
}

// maxMBs bounds picture dimensions in macroblocks (16 384 pixels), far
// above any level's limit, so a hostile SPS cannot make us compute with
// absurd sizes.
const maxMBs = 1024

// highProfiles are the profile_idc values whose SPS carries chroma format
// and bit depth (§7.3.2.1.1).
func highProfile(idc uint8) bool {
	switch idc {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		return true
	}
	return false
}

// ParseSPS decodes a sequence parameter set NAL unit (with its one-byte
// NAL header, emulation prevention bytes still in). It does not allocate.
// Errors wrap ErrMalformed, or ErrUnsupported for samples wider than
// 8 bits, which the room's browsers do not decode.
func ParseSPS(nal []byte) (SPS, error) {
	var s SPS
	if NALType(nal) != NALSPS {
		return s, fmt.Errorf("%w: NAL type %d is not an SPS", ErrMalformed, NALType(nal))
	}
	r := newBitReader(nal[1:])
	s.ProfileIDC = uint8(r.bits(8))
	s.Constraints = uint8(r.bits(8))
	s.LevelIDC = uint8(r.bits(8))
	s.ID = r.ue()
	if s.ID > 31 {
		return s, fmt.Errorf("%w: seq_parameter_set_id %d", ErrMalformed, s.ID)
	}
	s.ChromaFormatIDC = 1
	separatePlanes := false
	if highProfile(s.ProfileIDC) {
		s.ChromaFormatIDC = r.ue()
		if s.ChromaFormatIDC > 3 {
			return s, fmt.Errorf("%w: chroma_format_idc %d", ErrMalformed, s.ChromaFormatIDC)
		}
		if s.ChromaFormatIDC == 3 {
			separatePlanes = r.flag()
		}
		if depthL, depthC := r.ue(), r.ue(); depthL != 0 || depthC != 0 {
			return s, fmt.Errorf("%w: bit depth %d/%d", ErrUnsupported, depthL+8, depthC+8)
		}
		r.flag() // qpprime_y_zero_transform_bypass_flag
		if r.flag() {
			lists := 8
			if s.ChromaFormatIDC == 3 {
				lists = 12
			}
			for i := range lists {
				if r.flag() {
					size := 16
					if i >= 6 {
						size = 64
					}
					skipScalingList(&r, size)
				}
			}
		}
	}
	if r.ue() > 12 { // log2_max_frame_num_minus4
		return s, fmt.Errorf("%w: log2_max_frame_num", ErrMalformed)
	}
	switch poc := r.ue(); poc {
	case 0:
		if r.ue() > 12 {
			return s, fmt.Errorf("%w: log2_max_pic_order_cnt_lsb", ErrMalformed)
		}
	case 1:
		r.flag() // delta_pic_order_always_zero_flag
		r.se()   // offset_for_non_ref_pic
		r.se()   // offset_for_top_to_bottom_field
		n := r.ue()
		if n > 255 {
			return s, fmt.Errorf("%w: num_ref_frames_in_pic_order_cnt_cycle %d", ErrMalformed, n)
		}
		for range n {
			r.se()
		}
	case 2:
	default:
		return s, fmt.Errorf("%w: pic_order_cnt_type %d", ErrMalformed, poc)
	}
	r.ue()   // max_num_ref_frames
	r.flag() // gaps_in_frame_num_value_allowed_flag
	wMBs, hUnits := r.ue()+1, r.ue()+1
	frameMBsOnly := r.flag()
	if !frameMBsOnly {
		r.flag() // mb_adaptive_frame_field_flag
	}
	r.flag() // direct_8x8_inference_flag
	// ue()+1 wraps to 0 for the largest code, and doubling a huge height
	// could wrap to a small one: check the units before using them.
	if r.err || wMBs == 0 || hUnits == 0 || wMBs > maxMBs || hUnits > maxMBs {
		return s, fmt.Errorf("%w: SPS truncated or picture of %d×%d macroblocks", ErrMalformed, wMBs, hUnits)
	}
	hMBs := hUnits
	if !frameMBsOnly {
		hMBs *= 2
	}
	if hMBs > maxMBs {
		return s, fmt.Errorf("%w: SPS truncated or picture of %d×%d macroblocks", ErrMalformed, wMBs, hMBs)
	}
	w, h := int(wMBs)*16, int(hMBs)*16
	if r.flag() { // frame_cropping_flag
		// Crop units, §7.4.2.1.1 (7-19 to 7-22).
		cropX, cropY := 1, 1
		if s.ChromaFormatIDC != 0 && !separatePlanes {
			subW, subH := 2, 2
			switch s.ChromaFormatIDC {
			case 2:
				subH = 1
			case 3:
				subW, subH = 1, 1
			}
			cropX, cropY = subW, subH
		}
		if !frameMBsOnly {
			cropY *= 2
		}
		left, right, top, bottom := r.ue(), r.ue(), r.ue(), r.ue()
		cw := (int64(left) + int64(right)) * int64(cropX)
		ch := (int64(top) + int64(bottom)) * int64(cropY)
		if cw >= int64(w) || ch >= int64(h) {
			return s, fmt.Errorf("%w: cropping %d×%d of %d×%d", ErrMalformed, cw, ch, w, h)
		}
		w -= int(cw)
		h -= int(ch)
	}
	if r.err {
		return s, fmt.Errorf("%w: SPS truncated", ErrMalformed)
	}
	s.Width, s.Height = w, h
	// The VUI is optional information: a truncated one costs the frame
	// rate, not the SPS.
	if r.flag() { // vui_parameters_present_flag
		if fps := parseVUITiming(&r); !r.err {
			s.FrameRate = fps
		}
	}
	return s, nil
}

// skipScalingList reads past a scaling_list() (§7.3.2.1.1.1).
func skipScalingList(r *bitReader, size int) {
	last, next := int32(8), int32(8)
	for range size {
		if next != 0 {
			next = (last + r.se() + 256) % 256
		}
		if next != 0 {
			last = next
		}
		if r.err {
			return
		}
	}
}

// parseVUITiming reads the VUI up to its timing info (§E.1.1) and returns
// the frame rate it states, 0 when none. A VUI truncated after the timing
// info is fine: only the part before it matters here.
func parseVUITiming(r *bitReader) float64 {
	if r.flag() { // aspect_ratio_info_present_flag
		if r.bits(8) == 255 { // Extended_SAR
			r.bits(16)
			r.bits(16)
		}
	}
	if r.flag() { // overscan_info_present_flag
		r.flag()
	}
	if r.flag() { // video_signal_type_present_flag
		r.bits(4)
		if r.flag() { // colour_description_present_flag
			r.bits(24)
		}
	}
	if r.flag() { // chroma_loc_info_present_flag
		r.ue()
		r.ue()
	}
	if !r.flag() { // timing_info_present_flag
		return 0
	}
	units, scale := r.bits(32), r.bits(32)
	if units == 0 {
		return 0
	}
	return float64(scale) / float64(2*uint64(units))
}
