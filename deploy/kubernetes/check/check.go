// Package check validates the Kubernetes manifests of deploy/kubernetes
// against the Kubernetes API types (k8s.io/api): its test decodes every
// document strictly, so a misspelt or misplaced field fails, and checks
// what the gateway needs of its pods. It is a module of its own so that
// the gateway's module does not depend on the Kubernetes API packages.
package check
