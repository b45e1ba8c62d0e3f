package video

import "fmt"

// slateEncoder writes the slate's bitstream (H.264 §7.3): constrained
// baseline, CAVLC, 4:2:0, 8 bits, picture order count type 2, one
// reference frame, deblocking off.
type slateEncoder struct {
	pic    *slatePicture
	maxNAL int
}

const (
	slateLog2MaxFrameNum = 4 // frame_num counts 0–15
	mbTypeI16DC          = 3 // I_16x16_2_0_0: DC prediction, no coded residual
	mbTypePCM            = 25
)

// paramSets returns the SPS and PPS in Annex B form.
func (e *slateEncoder) paramSets(w, h int) []byte {
	p := e.pic
	level := uint32(30)
	switch mbs := p.mbw * p.mbh; {
	case mbs > 5120:
		level = 40
	case mbs > 3600:
		level = 32
	case mbs > 1620:
		level = 31
	}
	var s bitWriter
	s.bits(66, 8)   // profile_idc: baseline
	s.bits(0xe0, 8) // constraint_set0,1,2: constrained baseline
	s.bits(level, 8)
	s.ue(0)                                // seq_parameter_set_id
	s.ue(slateLog2MaxFrameNum - 4)         // log2_max_frame_num_minus4
	s.ue(2)                                // pic_order_cnt_type
	s.ue(1)                                // max_num_ref_frames
	s.bit(0)                               // gaps_in_frame_num_value_allowed_flag
	s.ue(uint32(p.mbw - 1))                // pic_width_in_mbs_minus1
	s.ue(uint32(p.mbh - 1))                // pic_height_in_map_units_minus1
	s.bit(1)                               // frame_mbs_only_flag
	s.bit(1)                               // direct_8x8_inference_flag
	cropX, cropY := p.mbw*16-w, p.mbh*16-h // in pixels; crop units are 2
	s.flag(cropX > 0 || cropY > 0)
	if cropX > 0 || cropY > 0 {
		s.ue(0)
		s.ue(uint32(cropX / 2))
		s.ue(0)
		s.ue(uint32(cropY / 2))
	}
	s.bit(0) // vui_parameters_present_flag
	s.trailing()

	var q bitWriter
	q.ue(0)  // pic_parameter_set_id
	q.ue(0)  // seq_parameter_set_id
	q.bit(0) // entropy_coding_mode_flag: CAVLC
	q.bit(0) // bottom_field_pic_order_in_frame_present_flag
	q.ue(0)  // num_slice_groups_minus1
	q.ue(0)  // num_ref_idx_l0_default_active_minus1
	q.ue(0)  // num_ref_idx_l1_default_active_minus1
	q.bit(0) // weighted_pred_flag
	q.bits(0, 2)
	q.se(0)  // pic_init_qp_minus26
	q.se(0)  // pic_init_qs_minus26
	q.se(0)  // chroma_qp_index_offset
	q.bit(1) // deblocking_filter_control_present_flag
	q.bit(0) // constrained_intra_pred_flag
	q.bit(0) // redundant_pic_cnt_present_flag
	q.trailing()

	out := append(append([]byte(nil), startCode...), 0x67) // nal_ref_idc 3, SPS
	out = appendEBSP(out, s.b)
	out = append(append(out, startCode...), 0x68) // PPS
	return appendEBSP(out, q.b)
}

// idrSlices codes the picture as an IDR, in slices of at most maxNAL
// bytes each when maxNAL is set, and returns the NAL units.
func (e *slateEncoder) idrSlices(idrID int) ([][]byte, error) {
	total := e.pic.mbw * e.pic.mbh
	var out [][]byte
	for start := 0; start < total; {
		n := total - start
		for {
			nal := e.idrSlice(idrID, start, n)
			if e.maxNAL == 0 || len(nal) <= e.maxNAL {
				out = append(out, nal)
				start += n
				break
			}
			if n == 1 {
				return nil, fmt.Errorf("%w: one macroblock does not fit %d bytes", ErrUnsupported, e.maxNAL)
			}
			// Shrink by what the excess would take, at least one.
			n = max(1, min(n-1, n*e.maxNAL/len(nal)))
		}
	}
	return out, nil
}

// idrSlice codes macroblocks start … start+n−1 as one IDR slice.
func (e *slateEncoder) idrSlice(idrID, start, n int) []byte {
	var w bitWriter
	w.ue(uint32(start)) // first_mb_in_slice
	w.ue(7)             // slice_type: I, all slices
	w.ue(0)             // pic_parameter_set_id
	w.bits(0, slateLog2MaxFrameNum)
	w.ue(uint32(idrID))
	w.bit(0) // no_output_of_prior_pics_flag
	w.bit(0) // long_term_reference_flag
	w.se(0)  // slice_qp_delta
	w.ue(1)  // disable_deblocking_filter_idc: off
	// nnz is each macroblock's coefficient count for CAVLC's nC
	// (§9.2.1): 16 for I_PCM, 0 for the DC-only macroblocks.
	nnz := make([]int, n)
	mbw := e.pic.mbw
	for i := range n {
		mb := start + i
		left := mb%mbw > 0 && mb-1 >= start
		top := mb >= mbw && mb-mbw >= start
		if e.pic.flat(mb, left, top) {
			w.ue(mbTypeI16DC)
			w.ue(0) // intra_chroma_pred_mode: DC
			w.se(0) // mb_qp_delta
			// Intra16x16DCLevel: coeff_token for no coefficients, in the
			// table nC chooses (table 9-5).
			nc := 0
			switch {
			case left && top:
				nc = (nnz[i-1] + nnz[i-mbw] + 1) >> 1
			case left:
				nc = nnz[i-1]
			case top:
				nc = nnz[i-mbw]
			}
			switch {
			case nc < 2:
				w.bits(0b1, 1)
			case nc < 4:
				w.bits(0b11, 2)
			case nc < 8:
				w.bits(0b1111, 4)
			default:
				w.bits(0b000011, 6)
			}
			continue
		}
		w.ue(mbTypePCM)
		w.alignZero()
		e.pic.appendPCM(&w, mb)
		nnz[i] = 16
	}
	w.trailing()
	return appendEBSP([]byte{0x65}, w.b) // nal_ref_idc 3, IDR slice
}

// skipSlice codes a P picture whose macroblocks are all skipped: the
// decoder repeats the reference picture.
func (e *slateEncoder) skipSlice(frameNum int) []byte {
	var w bitWriter
	w.ue(0) // first_mb_in_slice
	w.ue(5) // slice_type: P, all slices
	w.ue(0) // pic_parameter_set_id
	w.bits(uint32(frameNum), slateLog2MaxFrameNum)
	w.bit(0) // num_ref_idx_active_override_flag
	w.bit(0) // ref_pic_list_modification_flag_l0
	w.bit(0) // adaptive_ref_pic_marking_mode_flag
	w.se(0)  // slice_qp_delta
	w.ue(1)  // disable_deblocking_filter_idc
	w.ue(uint32(e.pic.mbw * e.pic.mbh))
	w.trailing()
	return appendEBSP([]byte{0x41}, w.b) // nal_ref_idc 2, non-IDR slice
}

// flat reports whether macroblock mb is plain background and DC
// prediction from its available neighbours gives exactly that: at least
// one neighbour available, and the neighbouring row and column it would
// use (§8.3.3.3, §8.3.4.1–3; the corner sample too, to keep it simple)
// all background.
func (p *slatePicture) flat(mb int, left, top bool) bool {
	if !left && !top {
		return false // the prediction would be 128, not the background
	}
	x, y := mb%p.mbw, mb/p.mbw
	l, t := boolInt(left), boolInt(top)
	return uniform(p.y, p.mbw*16, x*16-l, y*16-t, x*16+16, y*16+16, slateBgY) &&
		uniform(p.cb, p.mbw*8, x*8-l, y*8-t, x*8+8, y*8+8, slateBgCb) &&
		uniform(p.cr, p.mbw*8, x*8-l, y*8-t, x*8+8, y*8+8, slateBgCr)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// uniform reports whether every sample of the rectangle [x0,x1)×[y0,y1)
// is v.
func uniform(plane []byte, stride, x0, y0, x1, y1 int, v byte) bool {
	for y := y0; y < y1; y++ {
		for _, s := range plane[y*stride+x0 : y*stride+x1] {
			if s != v {
				return false
			}
		}
	}
	return true
}

// appendPCM writes a macroblock's samples (pcm_sample_luma, then chroma,
// §7.3.5) to an aligned writer.
func (p *slatePicture) appendPCM(w *bitWriter, mb int) {
	x, y := mb%p.mbw, mb/p.mbw
	ys, cs := p.mbw*16, p.mbw*8
	for r := range 16 {
		i := (y*16+r)*ys + x*16
		w.b = append(w.b, p.y[i:i+16]...)
	}
	for _, plane := range [][]byte{p.cb, p.cr} {
		for r := range 8 {
			i := (y*8+r)*cs + x*8
			w.b = append(w.b, plane[i:i+8]...)
		}
	}
}
