package chrome

import (
	"fmt"
	"os"
	"os/exec"
)

var sprintf = fmt.Sprintf

func lookPath() (string, error) {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return exec.LookPath(p)
	}
	return exec.LookPath(DefaultPath)
}
