package outbound

import "time"

// RegState is where a trunk's registration stands.
type RegState int

// Registration states. A trunk without Register stays RegDisabled.
const (
	RegUnknown RegState = iota
	RegDisabled
	RegRegistering
	RegRegistered
	RegFailed
	RegUnregistered // removed at shutdown
)

// String is the state's name in the API and logs.
func (s RegState) String() string {
	switch s {
	case RegDisabled:
		return "disabled"
	case RegRegistering:
		return "registering"
	case RegRegistered:
		return "registered"
	case RegFailed:
		return "failed"
	case RegUnregistered:
		return "unregistered"
	}
	return "unknown"
}

// Health is what a trunk's OPTIONS pings say.
type Health int

// Health values: HealthUnknown while pings are off or none has finished.
const (
	HealthUnknown Health = iota
	HealthUp
	HealthDown
)

// String is the health's name in the API and logs.
func (h Health) String() string {
	switch h {
	case HealthUp:
		return "up"
	case HealthDown:
		return "down"
	}
	return "unknown"
}

// TrunkState is a snapshot of one outbound trunk, for the API.
type TrunkState struct {
	Name     string
	URI      string
	Priority int
	Numbers  []string

	Registration RegistrationState
	Options      OptionsState
	// ActiveCalls are calls answered through the trunk and not hung up.
	ActiveCalls int
}

// RegistrationState is a trunk's registration.
type RegistrationState struct {
	State RegState
	// Expires is when the binding lapses (zero when not registered);
	// NextAttempt when the next REGISTER goes out.
	Expires     time.Time
	NextAttempt time.Time
	// Server is the last server registered with ("udp:ip:port").
	Server string
	// LastError is the last failure, empty after a success.
	LastError string
	// Failures counts failed attempts since the last success.
	Failures int
	// LastSuccess is when the registrar last answered 2xx.
	LastSuccess time.Time
}

// OptionsState is a trunk's OPTIONS health.
type OptionsState struct {
	Health Health
	// Interval between pings; zero means off.
	Interval time.Duration
	// LastStatus is the status code of the last answer (0 if none).
	LastStatus int
	LastPing   time.Time
	LastError  string
	// Failures counts consecutive failed pings.
	Failures int
}
