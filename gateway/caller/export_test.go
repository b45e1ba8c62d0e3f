package caller

// SetStallHook makes the media loop call f after each wake-up, until the
// test ends (restore runs the previous hook back in).
func SetStallHook(f func(tick int)) (restore func()) {
	old := stallHook
	stallHook = f
	return func() { stallHook = old }
}
