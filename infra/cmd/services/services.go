package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// service is one server the commands need.
type service struct {
	name   string // for people
	addr   string // where it must answer
	pkg    string // the apt package
	binary string // on PATH once installed
}

// env is what ensure touches of the machine; tests replace it.
type env struct {
	lookPath  func(string) (string, error)
	listening func(addr string) bool
	root      bool
	run       func(name string, args ...string) error
	clusters  func() []string // PostgreSQL clusters: /etc/postgresql/<version>/main
	log       func(string)
}

const (
	pgAddr    = "127.0.0.1:5432"
	redisAddr = "127.0.0.1:6379"
)

// services are the servers to check: each URL that is unset or names the
// default local address.
func services(databaseURL, redisURL string) []service {
	var out []service
	if local(databaseURL, pgAddr) {
		out = append(out, service{name: "PostgreSQL", addr: pgAddr, pkg: "postgresql", binary: "pg_ctlcluster"})
	}
	if local(redisURL, redisAddr) {
		out = append(out, service{name: "Redis", addr: redisAddr, pkg: "redis-server", binary: "redis-server"})
	}
	return out
}

// local reports whether raw is unset or points at the default address.
func local(raw, addr string) bool {
	if raw == "" {
		return true
	}
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		_, port, _ = net.SplitHostPort(addr)
	}
	return (host == "127.0.0.1" || host == "localhost") && net.JoinHostPort("127.0.0.1", port) == addr
}

// listening reports whether something accepts TCP connections at addr.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// ensure starts (and first installs) every service that does not answer.
func ensure(e env, svcs []service) error {
	var down []service
	for _, s := range svcs {
		if !e.listening(s.addr) {
			down = append(down, s)
		}
	}
	if len(down) == 0 {
		return nil
	}
	if !e.root {
		return errors.New(notRoot(e, down))
	}
	if _, err := e.lookPath("apt-get"); err != nil {
		for _, s := range down {
			if _, err := e.lookPath(s.binary); err != nil {
				return fmt.Errorf("%s is not installed and this machine has no apt-get: install it and start it on %s", s.name, s.addr)
			}
		}
	}
	for _, s := range down {
		if err := start(e, s); err != nil {
			return err
		}
	}
	return nil
}

// notRoot is the one line that tells a user without root what to run.
func notRoot(e env, down []service) string {
	var what []string
	for _, s := range down {
		state := "not running on " + s.addr
		if _, err := e.lookPath(s.binary); err != nil {
			state = "not installed"
		}
		what = append(what, s.name+" is "+state)
	}
	run := "sudo make services"
	if _, err := e.lookPath("sudo"); err != nil {
		run = "make services (as root)"
	}
	return strings.Join(what, " and ") + "; run: " + run + ", then this command again"
}

// start installs s with apt-get when it is missing, starts it and waits
// until it answers.
func start(e env, s service) error {
	if _, err := e.lookPath(s.binary); err != nil {
		e.log("installing " + s.name + " with apt-get")
		if err := e.run("apt-get", "update", "-qq"); err != nil {
			return fmt.Errorf("apt-get update: %w", err)
		}
		if err := e.run("apt-get", "install", "-y", "-qq", s.pkg); err != nil {
			return fmt.Errorf("apt-get install %s: %w", s.pkg, err)
		}
		if s.pkg == "postgresql" {
			if err := trustLocal(e); err != nil {
				return err
			}
		}
	}
	e.log("starting " + s.name)
	if err := launch(e, s); err != nil {
		return err
	}
	for range 60 {
		if e.listening(s.addr) {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("%s started but does not answer on %s", s.name, s.addr)
}

// launch runs the start command of s.
func launch(e env, s service) error {
	if s.pkg == "redis-server" {
		for _, d := range []string{"/var/lib/redis", "/var/log/redis"} {
			if err := os.MkdirAll(d, 0o750); err != nil {
				return fmt.Errorf("start Redis: %w", err)
			}
		}
		return e.run("redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
			"--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log")
	}
	cl := e.clusters()
	if len(cl) == 0 {
		return errors.New("PostgreSQL is installed but has no cluster under /etc/postgresql; create one: pg_createcluster <version> main")
	}
	version := filepath.Base(filepath.Dir(cl[0]))
	return e.run("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start")
}

// trustLocal lets local TCP connections in without a password, as the
// tests and `make run` connect (postgres://postgres@127.0.0.1).
func trustLocal(e env) error {
	for _, dir := range e.clusters() {
		p := filepath.Join(dir, "pg_hba.conf")
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("trust local connections: %w", err)
		}
		lines := "host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
		if err := os.WriteFile(p, append([]byte(lines), b...), 0o640); err != nil {
			return fmt.Errorf("trust local connections: %w", err)
		}
	}
	return nil
}
