// Package config loads Roombridge's one YAML configuration file. Every key
// has a default (Default), every scalar key can be overridden from the
// environment (ROOMBRIDGE_HTTP_LISTEN for http.listen), unknown keys are
// refused, and Validate names the offending key in every error, so that a
// typo is caught at start rather than discovered during a call.
package config
