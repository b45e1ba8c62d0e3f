package loadgen

import "errors"

// Sentinel errors; Run and the helpers wrap them with detail.
var (
	// ErrInvalidConfig reports a Config that cannot run; the wrapping
	// error names the field.
	ErrInvalidConfig = errors.New("loadgen: invalid config")
	// ErrMetrics reports a /metrics scrape that failed or did not parse.
	ErrMetrics = errors.New("loadgen: metrics")
	// ErrAPI reports a room API request that failed.
	ErrAPI = errors.New("loadgen: room API")
)
