//go:build faults

package faults

// longForm is true: `make faults` (build tag faults) runs the long form.
const longForm = true
