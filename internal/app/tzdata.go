package app

// Every function imports this package, so the time zone database is compiled
// into each binary: the Lambda image may have no zoneinfo, and without it every
// tenant's time zone would silently become UTC.
import (
	// The time zone database, compiled in: see above.
	_ "time/tzdata"
)
