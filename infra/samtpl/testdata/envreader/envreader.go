// Package envreader reads a setting around internal/config, for the
// template test's scan to find.
package envreader

import "os"

// Debug reads DEBUG directly.
func Debug() bool {
	_, ok := os.LookupEnv("DEBUG")
	return ok
}
