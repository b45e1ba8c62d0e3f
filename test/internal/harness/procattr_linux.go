package harness

import "syscall"

// procAttr makes the kernel kill the gateway if the test process dies
// without cleaning up (a panic, a -timeout kill), so no gateway outlives it.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
