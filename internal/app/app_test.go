package app

import "testing"

func TestFromEnv(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("REDIS_URL", "")
	if _, err := FromEnv(); err == nil || err.Error() != "missing environment: DATABASE_URL, REDIS_URL" {
		t.Fatalf("FromEnv without URLs: err = %v", err)
	}
	t.Setenv("DATABASE_URL", "postgres://x/y")
	t.Setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
	t.Setenv("ALLOW_PRIVATE_WUZAPI", "true")
	t.Setenv("PUBLIC_BASE_URL", "https://api.example.com/")
	t.Setenv("CAMPAIGNS_QUEUE_URL", "http://q/campaigns")
	t.Setenv("IMPORTS_QUEUE_URL", "")
	t.Setenv("REPORTS_QUEUE_URL", "http://q/reports")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !c.AllowPrivateWuzapi || c.PublicBaseURL != "https://api.example.com" {
		t.Fatalf("config = %+v", c)
	}
	if q := c.Queues(); len(q) != 2 || q[0] != "http://q/campaigns" || q[1] != "http://q/reports" {
		t.Fatalf("Queues() = %v", q)
	}
}
