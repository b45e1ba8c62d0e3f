package main

import (
	"os"

	"github.com/roombridge/roombridge/gateway/config"
)

func loadConfig(path string) (config.Config, error) {
	return config.Load(path, os.Environ())
}
