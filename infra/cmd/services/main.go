// Command services is the first step of `make run` and `make test`: it makes
// sure the PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) they use
// are running. When both answer it does nothing (two TCP connects). On a
// Debian or Ubuntu machine where one is missing it installs it with apt-get
// and starts it, as root; without root it stops with one line saying
// exactly what to run. A DATABASE_URL or REDIS_URL naming another host or
// port is someone else's server and is not checked.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

func main() {
	e := system()
	if err := ensure(e, services(os.Getenv("DATABASE_URL"), os.Getenv("REDIS_URL"))); err != nil {
		fmt.Fprintln(os.Stderr, "services: "+err.Error())
		os.Exit(1)
	}
}

// system is the machine itself.
func system() env {
	return env{
		lookPath:  exec.LookPath,
		listening: listening,
		root:      os.Geteuid() == 0,
		run: func(name string, args ...string) error {
			cmd := exec.Command(name, args...)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			return cmd.Run()
		},
		clusters: func() []string {
			m, _ := filepath.Glob("/etc/postgresql/*/main")
			return m
		},
		log: func(s string) { fmt.Fprintln(os.Stderr, "services: "+s) },
	}
}
