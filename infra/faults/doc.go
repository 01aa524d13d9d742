// Package faults is the fault-and-load suite (`make faults`, and a short
// form in `make test`): the real local platform (package local) with its
// own throwaway PostgreSQL and Redis servers and the fake WuzAPI, three
// tenants running campaigns and calling the API at their plan's ceiling, a
// fourth doing careless things, while the suite kills function processes,
// restarts Redis and Postgres, and makes WuzAPI fail, hang and reset
// connections. It then prints and checks a table: nobody messaged twice,
// nobody lost, the good tenants' API tail latency, the API and send
// limits, and the time to recover from each fault. The package has only
// tests; docs/faults.md describes the scenario and the bounds.
package faults
