package wuzapi_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// cannedServer answers every request on a kept-alive connection with the
// fake WuzAPI's answer to a send, without net/http: the server's own work
// is a small part of a benchmark's time and allocations.
func cannedServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ln.Close() })
	const body = `{"code":200,"data":{"Details":"Sent","Id":"3EB0AABBCCDDEEFF001122","Timestamp":1716400000},"success":true}` + "\n"
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Mon, 07 Dec 2026 15:00:00 GMT\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveCanned(conn, answer)
		}
	}()
	return "http://" + ln.Addr().String()
}

func serveCanned(conn net.Conn, answer []byte) {
	defer conn.Close()
	tp := textproto.NewReader(bufio.NewReader(conn))
	for {
		if _, err := tp.ReadLine(); err != nil {
			return
		}
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(h.Get("Content-Length"))
		if _, err := io.CopyN(io.Discard, tp.R, int64(n)); err != nil {
			return
		}
		if _, err := conn.Write(answer); err != nil {
			return
		}
	}
}

// BenchmarkSendText is one send as the campaign worker makes it, a
// 20-second deadline on the call, against a server that answers at once on
// a kept-alive connection: through the guard's net/http client behind the
// telemetry transport (tracing off), and through the guard's pool.
func BenchmarkSendText(b *testing.B) {
	url := cannedServer(b)
	body := strings.Repeat("Olá Maria, tudo bem? ", 8)
	hc := telemetry.HTTPClient(wuzapi.Guard{AllowPrivate: true}.HTTPClient(30 * time.Second))
	pool := wuzapi.Guard{AllowPrivate: true}.Pool(30 * time.Second)
	pool.Trace = telemetry.StartClientCall
	clients := []struct {
		name string
		new  func() *wuzapi.Client
	}{
		{"net-http", func() *wuzapi.Client { return wuzapi.New(url, "tok-0123456789", hc) }},
		{"pool", func() *wuzapi.Client { return pool.Client(url, "tok-0123456789") }},
	}
	for _, c := range clients {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				_, err := c.new().SendText(sctx, "5511999998888", body, "3EB0AABBCCDDEEFF001122")
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu0)
		})
	}
	b.Run("pool-within", func(b *testing.B) {
		// The 20-second bound as the campaign worker's sends carry it
		// through the pool: the connection's deadline, no context of its
		// own; the invocation's context can still end the call.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b.ReportAllocs()
		cpu0 := processCPU()
		for b.Loop() {
			if _, err := pool.Client(url, "tok-0123456789").SendTextWithin(ctx, 20*time.Second, "5511999998888", body, "3EB0AABBCCDDEEFF001122"); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu0)
	})
}

// processCPU is the user and system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU per iteration since cpu0 (the
// client's and the canned server's): less bound to the machine's load than
// the wall time.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
