package baresip

import (
	"os/exec"
	"syscall"
)

// procAttr makes the kernel kill baresip if the test process dies without
// cleaning up, so no baresip outlives the test binary.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

func kill(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
