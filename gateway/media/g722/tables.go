package g722

// Tables of G.722 §4 (fixed-point), indexed as in the Recommendation.

// qmfCoeffs are the 24 QMF taps (Table 11); the filter is symmetric, so 12
// values serve both halves.
var qmfCoeffs = [12]int{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}

// Lower band quantizer (QUANTL): decision levels q6 (Table 6, scaled by
// 2^-12 times det) and the 6-bit codes for negative and positive errors.
var (
	q6 = [32]int{
		0, 35, 72, 110, 150, 190, 233, 276,
		323, 370, 422, 473, 530, 587, 650, 714,
		786, 858, 940, 1023, 1121, 1219, 1339, 1458,
		1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
	}
	codeNegLow = [32]int{
		0, 63, 62, 31, 30, 29, 28, 27,
		26, 25, 24, 23, 22, 21, 20, 19,
		18, 17, 16, 15, 14, 13, 12, 11,
		10, 9, 8, 7, 6, 5, 4, 0,
	}
	codePosLow = [32]int{
		0, 61, 60, 59, 58, 57, 56, 55,
		54, 53, 52, 51, 50, 49, 48, 47,
		46, 45, 44, 43, 42, 41, 40, 39,
		38, 37, 36, 35, 34, 33, 32, 0,
	}
)

// Inverse quantizer outputs: qm6 for the full 6-bit lower band code (what
// the decoder outputs in mode 1), qm4 for the 4-bit truncated code that
// drives adaptation in both encoder and decoder (so they stay in step in
// every mode), qm2 for the higher band.
var (
	qm6 = [64]int{
		-136, -136, -136, -136, -24808, -21904, -19008, -16704,
		-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
		-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
		10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
		1688, 1360, 1040, 728, 432, 136, -432, -136,
	}
	qm4 = [16]int{
		0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
		20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
	}
	qm2 = [4]int{-7408, -1616, 7408, 1616}
)

// Scale factor adaptation (LOGSCL, LOGSCH): code → magnitude index, and
// index → log-domain increment.
var (
	rl42 = [16]int{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	wl   = [8]int{-60, -30, 58, 172, 334, 538, 1198, 3042}
	rh2  = [4]int{2, 1, 2, 1}
	wh   = [3]int{0, -214, 798}
)

// Higher band quantizer (QUANTH) codes for negative and positive errors,
// indexed by magnitude class 1 (small) or 2 (large).
var (
	codeNegHigh = [3]int{0, 1, 0}
	codePosHigh = [3]int{0, 3, 2}
)

// ilb is the antilog table of SCALEL/SCALEH (Table 15).
var ilb = [32]int{
	2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383,
	2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
	2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371,
	3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
}
