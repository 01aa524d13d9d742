//go:build !faults

package faults

// longForm is false: `make test` runs the short form (about two minutes).
const longForm = false
