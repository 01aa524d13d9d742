package blocksock

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pair dials a Conn to a listener and returns it with the accepted end.
func pair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	nc, err := Dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, ok := nc.(*Conn)
	if !ok {
		t.Fatalf("Dial over tcp gave a %T, want a *Conn", nc)
	}
	peer := <-accepted
	if peer == nil {
		t.FailNow()
	}
	t.Cleanup(func() { _ = c.Close(); _ = peer.Close() })
	return c, peer
}

// polled reports whether fd is registered with any epoll instance of this
// process (Go's network poller is one), from /proc/self/fdinfo.
func polled(t *testing.T, fd int) bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if l, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); l != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile(filepath.Join("/proc/self/fdinfo", e.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(info), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "tfd:" && f[1] == strconv.Itoa(fd) {
				return true
			}
		}
	}
	return false
}

func nonblocking(t *testing.T, fd int) bool {
	t.Helper()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return flags&unix.O_NONBLOCK != 0
}

// TestConnIsOutsideThePoller: Dial's socket is in no epoll set (a
// net.Conn's is in the poller's), a read waiting for data waits in the
// kernel (a thread of the process sits in recvfrom, then after blockFor
// in ppoll; Go's poller never calls either), and the connection carries
// data both ways.
func TestConnIsOutsideThePoller(t *testing.T) {
	lengthen(t, 300*time.Millisecond)
	polling := hookPoll(t)
	c, peer := pair(t)
	if polled(t, c.Fd()) {
		t.Error("the socket is in an epoll set")
	}
	raw, err := peer.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.Control(func(fd uintptr) {
		if !polled(t, int(fd)) {
			t.Error("a net.Conn's socket is in no epoll set: the check sees nothing")
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 4))
		done <- err
	}()
	waitSleeping(t, c, 1)
	for !inSyscall(t, unix.SYS_RECVFROM) {
		if sleepingNow(c) == 0 {
			t.Fatal("the read left its first receive before a thread was seen in recvfrom")
		}
		runtime.Gosched()
	}
	waitPoll(t, polling, unix.POLLIN)
	for deadline := time.Now().Add(5 * time.Second); !inSyscall(t, unix.SYS_PPOLL); runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatal("no thread in ppoll 5 s after the read began to wait")
		}
	}
	if _, err := peer.Write([]byte("wake")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	echo(t, c, peer, "ping")
}

// TestReadSleepsInTheReceive: a read whose answer comes during its first
// sleep gets it from the receive it sleeps in, and a deadline passed or a
// Close made during that sleep ends it within sleepFor (Close at once),
// the connection usable after the deadline.
func TestReadSleepsInTheReceive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		act    func(c *Conn, peer net.Conn) error
		want   func(error) bool
		usable bool
	}{
		{"answer", func(_ *Conn, peer net.Conn) error { _, err := peer.Write([]byte("answer")); return err }, func(err error) bool { return err == nil }, true},
		{"passed deadline", func(c *Conn, _ net.Conn) error { return c.SetDeadline(time.Now()) }, isTimeout, true},
		{"close", func(c *Conn, _ net.Conn) error { return c.Close() }, func(err error) bool { return errors.Is(err, net.ErrClosed) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lengthen(t, 300*time.Millisecond)
			c, peer := pair(t)
			done := make(chan error, 1)
			go func() {
				_, err := c.Read(make([]byte, 8))
				done <- err
			}()
			waitSleeping(t, c, 1)
			start := time.Now()
			if err := tc.act(c, peer); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !tc.want(err) {
					t.Fatalf("read = %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the sleeping read did not end")
			}
			// A loaded machine may wake the reader late; a read that missed
			// the change would wait the 5 s above.
			if d := time.Since(start); d > c.sleepFor+time.Second {
				t.Errorf("the read ended %v after the change, want within %v", d, c.sleepFor)
			}
			if tc.usable {
				_ = c.SetDeadline(time.Time{})
				echo(t, c, peer, "still here")
			}
		})
	}
}

// TestDeadlineChangeSkipsASleepingRead: a deadline set while the only
// call is a Read in its first receive leaves wake unreadable (that Read
// takes the new deadline when its receive returns), so no waiting call
// would return from ppoll again and again until it did; the Read then
// ends at the deadline.
func TestDeadlineChangeSkipsASleepingRead(t *testing.T) {
	lengthen(t, 300*time.Millisecond)
	c, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	waitSleeping(t, c, 1)
	// Two changes: the second must leave wake as the first did.
	_ = c.SetReadDeadline(time.Now().Add(time.Hour))
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	c.mu.Lock()
	sleeping, woken := c.sleeping, c.woken
	c.mu.Unlock()
	// A machine that stalled past the lengthened sleep let the Read reach
	// ppoll first.
	if sleeping == 1 && woken {
		t.Error("a deadline change with only a sleeping Read made wake readable")
	}
	select {
	case err := <-done:
		if !isTimeout(err) {
			t.Fatalf("read = %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read did not end at its deadline")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy != 0 || c.sleeping != 0 || c.woken {
		t.Errorf("after the read: %d in progress, %d sleeping, wake readable %v; want 0, 0, false", c.busy, c.sleeping, c.woken)
	}
}

// inSyscall reports whether a thread of this process is in system call nr.
func inSyscall(t *testing.T, nr int) bool {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "syscall"))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 && f[0] == strconv.Itoa(nr) {
			return true
		}
	}
	return false
}

// echo writes msg from peer and reads it on c, then the other way.
func echo(t *testing.T, c *Conn, peer net.Conn, msg string) {
	t.Helper()
	if _, err := peer.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("read %q, %v; want %q", buf, err, msg)
	}
	if n, err := c.Write([]byte(msg)); err != nil || n != len(msg) {
		t.Fatalf("write = %d, %v", n, err)
	}
	if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != msg {
		t.Fatalf("peer read %q, %v; want %q", buf, err, msg)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

// TestDeadlineSetBeforeACall: a passed deadline fails the next read and
// write at once with a timeout, a future one ends a read that gets nothing
// by then, and neither harms the stream: once cleared, calls go on.
func TestDeadlineSetBeforeACall(t *testing.T) {
	c, peer := pair(t)
	if _, err := peer.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(-time.Second))
	if n, err := c.Read(make([]byte, 1)); !isTimeout(err) {
		t.Errorf("read after a passed deadline = %d, %v; want a timeout", n, err)
	}
	if n, err := c.Write([]byte("y")); n != 0 || !isTimeout(err) {
		t.Errorf("write after a passed deadline = %d, %v; want 0 and a timeout", n, err)
	}
	_ = c.SetDeadline(time.Time{})
	buf := make([]byte, 1)
	if _, err := io.ReadFull(c, buf); err != nil || buf[0] != 'x' {
		t.Fatalf("read after the deadline cleared = %q, %v; want x", buf, err)
	}
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(30 * time.Millisecond))
	if n, err := c.Read(buf); !isTimeout(err) {
		t.Errorf("read with nothing to read by its deadline = %d, %v; want a timeout", n, err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("the read timed out after %v, before its deadline", d)
	}
	_ = c.SetReadDeadline(time.Time{})
	echo(t, c, peer, "after")
}

// TestDeadlineWakesAWaitingRead: a deadline set from another goroutine
// while a read waits in its first receive (pgx's cancellation of a query
// answered slower than the first sleep is TestDeadlineWakesAPollingRead)
// ends it with a timeout, and the connection stays usable.
func TestDeadlineWakesAWaitingRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first time.Time // the read's deadline before the change
		set   func(c *Conn) error
	}{
		{"passed deadline, none before", time.Time{}, func(c *Conn) error { return c.SetDeadline(time.Now()) }},
		{"earlier read deadline", time.Now().Add(time.Hour), func(c *Conn) error { return c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, peer := pair(t)
			_ = c.SetReadDeadline(tc.first)
			done := make(chan error, 1)
			go func() {
				_, err := c.Read(make([]byte, 8))
				done <- err
			}()
			waitBusy(t, c, 1)
			if err := tc.set(c); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !isTimeout(err) {
					t.Fatalf("read = %v, want a timeout", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the waiting read did not end")
			}
			_ = c.SetDeadline(time.Time{})
			echo(t, c, peer, "still here")
		})
	}
}

// waitBusy waits until n calls are in progress on c.
func waitBusy(t *testing.T, c *Conn, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		c.mu.Lock()
		busy := c.busy
		c.mu.Unlock()
		if busy == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls in progress, want %d", busy, n)
		}
		runtime.Gosched()
	}
}

// TestDeadlineWakesAWaitingWrite: a write waiting for room in a full
// buffer (the peer reads nothing) ends with a timeout and the count
// written when its deadline is set in the past.
func TestDeadlineWakesAWaitingWrite(t *testing.T) {
	c, peer := pair(t)
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	big := make([]byte, 64<<20)
	go func() {
		n, err := c.Write(big)
		done <- result{n, err}
	}()
	waitBusy(t, c, 1)
	_ = c.SetWriteDeadline(time.Now())
	select {
	case r := <-done:
		if !isTimeout(r.err) || r.n <= 0 || r.n >= len(big) {
			t.Fatalf("write = %d, %v; want part of %d and a timeout", r.n, r.err, len(big))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting write did not end")
	}
	_ = peer.Close()
}

// TestCloseEndsWaitingCalls: Close ends a waiting read with net.ErrClosed
// and the socket is closed once it has returned.
func TestCloseEndsWaitingCalls(t *testing.T) {
	c, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	waitBusy(t, c, 1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting read did not end")
	}
	if _, err := unix.FcntlInt(uintptr(c.Fd()), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
		t.Errorf("fcntl on the closed socket = %v, want EBADF", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v, want net.ErrClosed", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close = %v, want net.ErrClosed", err)
	}
}

// TestConcurrentCallsAndDeadlines: a reader and a writer run while another
// goroutine keeps moving the deadline; every byte arrives in order (run
// with -race).
func TestConcurrentCallsAndDeadlines(t *testing.T) {
	c, peer := pair(t)
	const n = 1 << 20
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() { // peer echoes
		_, _ = io.CopyN(peer, peer, n)
	})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				_ = c.SetDeadline(time.Now().Add(time.Hour))
			} else {
				_ = c.SetDeadline(time.Time{})
			}
		}
	})
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(i * 7)
	}
	wg.Go(func() {
		if _, err := c.Write(out); err != nil {
			t.Error(err)
		}
	})
	in := make([]byte, n)
	_, err := io.ReadFull(c, in)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if in[i] != out[i] {
			t.Fatalf("byte %d = %d, want %d", i, in[i], out[i])
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy != 0 || c.sleeping != 0 || c.woken {
		t.Errorf("after the calls: %d in progress, %d sleeping, wake readable %v; want 0, 0, false", c.busy, c.sleeping, c.woken)
	}
}

// TestDroppedConnClosesItsSocket: a Conn dropped without Close gives its
// descriptors back once collected (the peer reads EOF); one closed first
// never closes them again, though the numbers are reused by then.
func TestDroppedConnClosesItsSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := func() (int, net.Conn) {
		nc, err := Dial(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		peer, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = peer.Close() })
		return nc.(*Conn).Fd(), peer
	}
	_, peer := dial()
	for i := 0; i < 10; i++ {
		runtime.GC()
	}
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := peer.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("the peer of a dropped Conn read %v, want EOF", err)
	}

	nc, err := Dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fd := nc.(*Conn).Fd()
	_ = nc.Close()
	f, err := os.CreateTemp(t.TempDir(), "reused")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := 0; i < 10; i++ {
		runtime.GC()
	}
	if _, err := f.WriteString("still open"); err != nil {
		t.Fatalf("a file on a closed Conn's reused descriptor (%d, now %d) failed: %v", fd, f.Fd(), err)
	}
}

// lengthen makes the Conns dialled by the test first sleep d in their
// receive, so the test sees the sleep for sure.
func lengthen(t *testing.T, d time.Duration) {
	t.Helper()
	old := blockFor
	blockFor = d
	t.Cleanup(func() { blockFor = old })
}

// hookPoll reports, for the rest of the test, the events of every call
// about to wait in ppoll.
func hookPoll(t *testing.T) <-chan int16 {
	t.Helper()
	ch := make(chan int16, 64)
	h := func(events int16) {
		select {
		case ch <- events:
		default:
		}
	}
	pollHook.Store(&h)
	t.Cleanup(func() { pollHook.Store(nil) })
	return ch
}

// waitPoll waits until a call waiting for events is about to wait in
// ppoll.
func waitPoll(t *testing.T, polling <-chan int16, events int16) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-polling:
			if e == events {
				return
			}
		case <-timeout:
			t.Fatalf("no call waited in ppoll for events %#x within 5 s", events)
		}
	}
}

func sleepingNow(c *Conn) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sleeping
}

// waitSleeping waits until n Reads on c are in their first receive.
func waitSleeping(t *testing.T, c *Conn, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); sleepingNow(c) != n; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("%d reads in their first receive, want %d", sleepingNow(c), n)
		}
	}
}

// ended waits up to 1 s for a call's result.
func ended(t *testing.T, done <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Second):
		t.Fatalf("%s did not end within 1 s", what)
		return nil
	}
}

// TestDeadlineWakesAPollingRead: a read past its first receive, waiting
// in ppoll (a query answered slower than the first sleep when pgx cancels
// it), ends at once when its deadline is set in the past, with a timeout,
// and when the connection is closed, with net.ErrClosed.
func TestDeadlineWakesAPollingRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(c *Conn) error
		want func(error) bool
	}{
		{"passed deadline", func(c *Conn) error { return c.SetDeadline(time.Now()) }, isTimeout},
		{"close", func(c *Conn) error { return c.Close() }, func(err error) bool { return errors.Is(err, net.ErrClosed) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			polling := hookPoll(t)
			c, _ := pair(t)
			done := make(chan error, 1)
			go func() {
				_, err := c.Read(make([]byte, 8))
				done <- err
			}()
			waitPoll(t, polling, unix.POLLIN)
			if err := tc.act(c); err != nil {
				t.Fatal(err)
			}
			if err := ended(t, done, "the polling read"); !tc.want(err) {
				t.Fatalf("read = %v", err)
			}
		})
	}
}

// TestDeadlineWakesAPollingReadAndWrite: a write waiting for room in a
// full buffer and a read waiting for data, both in ppoll, both end with a
// timeout at a deadline set in the past.
func TestDeadlineWakesAPollingReadAndWrite(t *testing.T) {
	polling := hookPoll(t)
	c, _ := pair(t)
	reads, writes := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		reads <- err
	}()
	waitPoll(t, polling, unix.POLLIN)
	go func() {
		_, err := c.Write(make([]byte, 64<<20))
		writes <- err
	}()
	waitPoll(t, polling, unix.POLLOUT)
	_ = c.SetDeadline(time.Now())
	if err := ended(t, reads, "the polling read"); !isTimeout(err) {
		t.Errorf("read = %v, want a timeout", err)
	}
	if err := ended(t, writes, "the polling write"); !isTimeout(err) {
		t.Errorf("write = %v, want a timeout", err)
	}
}

// TestSleptReadLeavesWakeToAWrite: a deadline set while a Read sleeps in
// its first receive and a Write is about to wait in ppoll reaches the
// Write, though the Read returns in between: the Read, not counted among
// the calls that must see the change, does not read wake back.
func TestSleptReadLeavesWakeToAWrite(t *testing.T) {
	lengthen(t, 5*time.Second)
	c, peer := pair(t)
	reads, writes := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		reads <- err
	}()
	waitSleeping(t, c, 1)
	atPoll, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h := func(events int16) {
		if events == unix.POLLOUT {
			once.Do(func() { close(atPoll); <-release })
		}
	}
	pollHook.Store(&h)
	t.Cleanup(func() { pollHook.Store(nil) })
	go func() {
		_, err := c.Write(make([]byte, 64<<20))
		writes <- err
	}()
	select {
	case <-atPoll:
	case <-time.After(5 * time.Second):
		t.Fatal("the write did not come to wait")
	}
	_ = c.SetWriteDeadline(time.Now())
	if _, err := peer.Write([]byte("answer")); err != nil {
		t.Fatal(err)
	}
	if err := ended(t, reads, "the sleeping read"); err != nil {
		t.Fatalf("read = %v", err)
	}
	close(release)
	if err := ended(t, writes, "the write"); !isTimeout(err) {
		t.Errorf("write = %v, want a timeout", err)
	}
}

// TestSleepNeverOvershootsADeadline: a Read whose deadline is nearer
// than the receive timeout the kernel keeps (blockFor rounded up to its
// ticks) does not sleep in the receive.
func TestSleepNeverOvershootsADeadline(t *testing.T) {
	c, _ := pair(t)
	tv, err := unix.GetsockoptTimeval(c.Fd(), unix.SOL_SOCKET, unix.SO_RCVTIMEO)
	if err != nil {
		t.Fatal(err)
	}
	kept := time.Duration(tv.Nano())
	if c.sleepFor < kept {
		t.Fatalf("sleepFor = %v, under the kept receive timeout %v", c.sleepFor, kept)
	}
	_ = c.SetReadDeadline(time.Now().Add(kept))
	gen, _, sleep, err := c.enter(true)
	if err != nil {
		t.Fatal(err)
	}
	if sleep {
		c.woke(&gen)
	}
	c.exit(gen)
	if sleep {
		t.Errorf("a read with its deadline %v away sleeps in a receive that may last %v", kept, kept)
	}
}

// TestCloseEndsASleepingReadAtOnce: Close ends a Read in its first
// receive at once with net.ErrClosed, not when the receive times out.
func TestCloseEndsASleepingReadAtOnce(t *testing.T) {
	lengthen(t, 5*time.Second)
	c, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	waitSleeping(t, c, 1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ended(t, done, "the sleeping read"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read = %v, want net.ErrClosed", err)
	}
}
