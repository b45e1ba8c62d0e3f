package chrome

import "syscall"

// procAttr puts the browser in its own process group (so Close can kill
// all its helpers) and kills it if the test process dies first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
