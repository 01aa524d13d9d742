package main

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// machine is a fake machine: what is on PATH, what answers, what ran.
type machine struct {
	mu      sync.Mutex
	path    map[string]bool
	up      map[string]bool
	ran     []string
	cluster []string
}

func (m *machine) env(root bool) env {
	return env{
		lookPath: func(name string) (string, error) {
			if m.path[name] {
				return "/usr/bin/" + name, nil
			}
			return "", errors.New("not found")
		},
		listening: func(addr string) bool { m.mu.Lock(); defer m.mu.Unlock(); return m.up[addr] },
		root:      root,
		run: func(name string, args ...string) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.ran = append(m.ran, strings.Join(append([]string{name}, args...), " "))
			switch name {
			case "apt-get":
				if len(args) > 3 {
					m.path[map[string]string{"postgresql": "pg_ctlcluster", "redis-server": "redis-server"}[args[3]]] = true
				}
			case "pg_ctlcluster":
				m.up[pgAddr] = true
			case "redis-server":
				m.up[redisAddr] = true
			}
			return nil
		},
		clusters: func() []string { return m.cluster },
		log:      func(string) {},
	}
}

func TestEnsure(t *testing.T) {
	redisStart := "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save  --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
	tests := []struct {
		name    string
		path    []string
		up      []string
		root    bool
		wantErr string
		wantRan []string
	}{
		{"both running: nothing to do", nil, []string{pgAddr, redisAddr}, false, "", nil},
		{"no root, PostgreSQL not installed", []string{"redis-server", "sudo"}, []string{redisAddr}, false,
			"PostgreSQL is not installed; run: sudo make services, then this command again", nil},
		{"no root, both stopped, no sudo", []string{"pg_ctlcluster", "redis-server"}, nil, false,
			"PostgreSQL is not running on 127.0.0.1:5432 and Redis is not running on 127.0.0.1:6379; run: make services (as root), then this command again", nil},
		{"root, PostgreSQL stopped", []string{"pg_ctlcluster", "apt-get"}, []string{redisAddr}, true, "",
			[]string{"pg_ctlcluster --skip-systemctl-redirect 15 main start"}},
		{"root, Redis not installed", []string{"pg_ctlcluster", "apt-get"}, []string{pgAddr}, true, "",
			[]string{"apt-get update -qq", "apt-get install -y -qq redis-server", redisStart}},
		{"root, no apt-get, PostgreSQL not installed", []string{"redis-server"}, []string{redisAddr}, true,
			"PostgreSQL is not installed and this machine has no apt-get: install it and start it on 127.0.0.1:5432", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &machine{path: map[string]bool{}, up: map[string]bool{}, cluster: []string{"/etc/postgresql/15/main"}}
			for _, p := range tt.path {
				m.path[p] = true
			}
			for _, a := range tt.up {
				m.up[a] = true
			}
			err := ensure(m.env(tt.root), services("", ""))
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("path %v, up %v, root %v:\n got error %q\nwant       %q", tt.path, tt.up, tt.root, got, tt.wantErr)
			}
			if !reflect.DeepEqual(m.ran, tt.wantRan) {
				t.Fatalf("ran %q, want %q", m.ran, tt.wantRan)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestServicesFollowTheURLs(t *testing.T) {
	tests := []struct {
		name, db, redis string
		want            []string
	}{
		{"defaults", "", "", []string{"PostgreSQL", "Redis"}},
		{"make run's defaults", "postgres://postgres@127.0.0.1:5432/wuzapi_manager?sslmode=disable", "redis://127.0.0.1:6379/0", []string{"PostgreSQL", "Redis"}},
		{"localhost without a port", "postgres://postgres@localhost/x", "redis://localhost", []string{"PostgreSQL", "Redis"}},
		{"another host", "postgres://db.example.com/x", "redis://127.0.0.1:6379/1", []string{"Redis"}},
		{"another port", "postgres://127.0.0.1:6543/x", "rediss://cache.example.com:6379", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range services(tt.db, tt.redis) {
				got = append(got, s.name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("services(%q, %q) = %v, want %v", tt.db, tt.redis, got, tt.want)
			}
		})
	}
}
