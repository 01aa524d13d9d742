package blocksock

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Dial connects to address over network and, for TCP, returns a Conn:
// the socket outside the network poller, its calls waiting in the kernel,
// with net.Conn's deadlines. It has the signature of
// pgconn.Config.DialFunc.
func Dial(ctx context.Context, network, address string) (net.Conn, error) {
	s, nc, err := detach(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if nc != nil {
		return nc, nil
	}
	sleepFor, err := recvTimeout(s.fd, blockFor)
	if err != nil {
		_ = unix.Close(s.fd)
		return nil, &net.OpError{Op: "dial", Net: network, Addr: s.raddr, Err: err}
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(s.fd)
		return nil, &net.OpError{Op: "dial", Net: network, Addr: s.raddr, Err: os.NewSyscallError("eventfd", err)}
	}
	c := &Conn{fd: s.fd, wake: wake, sleepFor: sleepFor, laddr: s.laddr, raddr: s.raddr}
	// A Conn dropped without Close gives its descriptors back, as a
	// net.Conn's finalizer does; Close stops this before it closes them.
	c.cleanup = runtime.AddCleanup(c, closeFds, [2]int{s.fd, wake})
	return c, nil
}

func closeFds(fds [2]int) {
	_ = unix.Close(fds[0])
	_ = unix.Close(fds[1])
}

// blockFor is the receive timeout (SO_RCVTIMEO) asked for a Conn's
// socket: how long a Read first sleeps in the receive itself before it
// waits in ppoll. The kernel rounds it up to its scheduler ticks and may
// wake the receive up to a tick later (12 ms and 12-16 ms with 4 ms
// ticks), so a deadline changed during that sleep may be seen that late;
// recvTimeout measures the true bound. A variable so tests can lengthen it.
var blockFor = 10 * time.Millisecond

// pollHook, when set (by tests), is called by a call about to wait in
// ppoll with the events it waits for.
var pollHook atomic.Pointer[func(events int16)]

// recvTimeout sets the receive timeout of socket fd to d and returns how
// long a receive may then sleep: the timeout the kernel keeps (rounded up
// to its ticks), read back, and one tick more, the most the timer may
// fire late.
func recvTimeout(fd int, d time.Duration) (time.Duration, error) {
	set := func(d time.Duration) (time.Duration, error) {
		tv := unix.NsecToTimeval(int64(d))
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return 0, os.NewSyscallError("setsockopt", err)
		}
		got, err := unix.GetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO)
		if err != nil {
			return 0, os.NewSyscallError("getsockopt", err)
		}
		return time.Duration(got.Nano()), nil
	}
	tick, err := set(time.Microsecond) // rounded up to one tick
	if err != nil {
		return 0, err
	}
	kept, err := set(d)
	if err != nil {
		return 0, err
	}
	return kept + tick, nil
}

// Conn is a connected TCP socket outside the network poller with
// net.Conn's deadlines, safe for concurrent use as net.Conn is.
//
// A Read first receives in the kernel for up to sleepFor (the socket is
// in blocking mode with a receive timeout, blockFor rounded up by the
// kernel), unless its deadline is nearer: an answer that comes by then
// costs that one system call. After
// that, and for every Write that finds the buffer full, a call waits in
// ppoll on the socket and on an eventfd (wake), then receives or sends
// with MSG_DONTWAIT, so no call ever sleeps longer than sleepFor where
// nothing can wake it (two readers may race for the same bytes: the loser
// polls again). The rules:
//   - a deadline is checked before each wait and is the wait's timeout; a
//     call that finds its deadline passed fails at once with a timeout
//     (an *net.OpError wrapping os.ErrDeadlineExceeded, Timeout() true)
//     and leaves the connection as it was: a later call with a later or no
//     deadline goes on reading the stream where it stopped;
//   - a deadline set while calls wait (pgx's cancellation sets one in the
//     past from another goroutine) wakes them through wake, and each looks
//     at the deadline again: a deadline in the past ends them with a
//     timeout, one in the future becomes their new timeout; a Read still
//     in its first receive sees it when that returns, within sleepFor;
//   - Close wakes the calls in progress (a Read in its first receive by
//     shutting the socket down), which return net.ErrClosed; the socket is closed when the last of
//     them returns, so its descriptor is never reused under a call.
//
// wake stays readable from a change until every call that was waiting
// at the change has seen it (a call that has seen it and waits again
// returns at once, for the few microseconds until the others wake); then
// it is read back to zero. A Read in its first receive is not counted: it
// takes the connection's state as it is when the receive returns.
type Conn struct {
	fd, wake     int
	sleepFor     time.Duration // the most a first receive sleeps
	laddr, raddr net.Addr

	mu       sync.Mutex
	rdl, wdl time.Time // the deadlines; zero: none
	busy     int       // calls in progress
	sleeping int       // Reads in their first receive, which wake does not wake
	gen      uint64    // counts the changes the calls in progress must see
	unseen   int       // calls in progress, but sleeping Reads, that have not seen gen
	woken    bool      // wake is readable
	closed   bool
	cleanup  runtime.Cleanup
}

// Fd is the socket's file descriptor, valid until Close.
func (c *Conn) Fd() int { return c.fd }

// LocalAddr is the connection's local address.
func (c *Conn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr is the connection's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.set(&c.rdl, &c.wdl, t) }

// SetReadDeadline sets the deadline of Reads, those waiting included.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.set(&c.rdl, nil, t) }

// SetWriteDeadline sets the deadline of Writes, those waiting included.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.set(&c.wdl, nil, t) }

func (c *Conn) set(a, b *time.Time, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opError("set deadline", net.ErrClosed)
	}
	*a = t
	if b != nil {
		*b = t
	}
	c.notify()
	return nil
}

// notify makes the calls in progress look at the connection's state
// again. c.mu is held.
func (c *Conn) notify() {
	if c.busy == 0 {
		return
	}
	c.gen++
	c.unseen = c.busy - c.sleeping
	if c.unseen > 0 && !c.woken {
		c.woken = true
		one := uint64(1)
		_, _ = unix.Write(c.wake, (*[8]byte)(unsafe.Pointer(&one))[:])
	}
}

// seen records that a call in progress has seen gen. c.mu is held.
func (c *Conn) seen() {
	c.unseen--
	if c.unseen == 0 && c.woken && !c.closed {
		var b [8]byte
		_, _ = unix.Read(c.wake, b[:])
		c.woken = false
	}
}

// enter starts a call: its view of gen, the deadline that applies and,
// for a Read, whether its first receive sleeps (the deadline is not
// nearer than sleepFor, so the sleep never overshoots it); such a Read
// must call woke when it returns.
func (c *Conn) enter(read bool) (gen uint64, dl time.Time, sleep bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, dl, false, net.ErrClosed
	}
	c.busy++
	dl = c.deadline(read)
	if read && (dl.IsZero() || time.Until(dl) > c.sleepFor) {
		sleep = true
		c.sleeping++
	}
	return c.gen, dl, sleep, nil
}

// woke ends a Read's first receive: from now on it counts among the
// calls wake must wake, having seen every change so far. It reports
// whether the connection is closed.
//
// Taking gen is needed: notify did not count this Read among the calls
// that must see a change made during its sleep, so were it to keep its
// older gen it would later call seen for a change it was never counted
// for, bring unseen to zero early and read wake back while a Write about
// to wait in ppoll has not seen that change; the Write would then wait
// without its new deadline.
func (c *Conn) woke(gen *uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeping--
	*gen = c.gen
	return c.closed
}

// again is enter for a call in progress that was woken or would block.
func (c *Conn) again(read bool, gen *uint64) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *gen != c.gen {
		*gen = c.gen
		c.seen()
	}
	if c.closed {
		return time.Time{}, net.ErrClosed
	}
	return c.deadline(read), nil
}

func (c *Conn) deadline(read bool) time.Time {
	if read {
		return c.rdl
	}
	return c.wdl
}

// exit ends a call; the last call of a closed connection closes it.
func (c *Conn) exit(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy--
	if gen != c.gen {
		c.seen()
	}
	if c.closed && c.busy == 0 {
		c.release()
	}
}

// release closes the socket and wake. c.mu is held, no call in progress.
func (c *Conn) release() {
	c.cleanup.Stop()
	closeFds([2]int{c.fd, c.wake})
}

// Close closes the connection; calls in progress return net.ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opError("close", net.ErrClosed)
	}
	c.closed = true
	if c.busy == 0 {
		c.release()
		return nil
	}
	if c.sleeping > 0 {
		// wake does not reach a Read in its first receive; a shut-down
		// socket ends that receive at once with nothing read.
		_ = unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
	c.notify()
	return nil
}

// Read reads what the socket holds, waiting for it until the read
// deadline.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	gen, dl, sleep, err := c.enter(true)
	if err != nil {
		return 0, c.opError("read", err)
	}
	defer func() { c.exit(gen) }()
	// The first receive may sleep for sleepFor; any later one follows a
	// ppoll and does not sleep.
	flags := unix.MSG_DONTWAIT
	if sleep {
		flags = 0
	}
	for {
		if flags != 0 {
			if err := c.wait(unix.POLLIN, dl); err != nil {
				return 0, c.opError("read", err)
			}
		}
		n, err := c.recv(p, flags)
		closed := flags == 0 && c.woke(&gen)
		switch {
		case err == nil && n == 0 && (closed || c.isClosed()):
			// Close shut the socket down under this Read.
			return 0, c.opError("read", net.ErrClosed)
		case err == nil && n == 0:
			return 0, io.EOF
		case err == nil:
			return n, nil
		case !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR):
			return 0, c.opError("read", os.NewSyscallError("recvfrom", err))
		}
		flags = unix.MSG_DONTWAIT
		if dl, err = c.again(true, &gen); err != nil {
			return 0, c.opError("read", err)
		}
	}
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// recv is recv(2) on the socket with flags.
func (c *Conn) recv(p []byte, flags int) (int, error) {
	n, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, uintptr(c.fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// send is send(2) on the socket without waiting and without SIGPIPE.
func (c *Conn) send(p []byte) (int, error) {
	n, _, e := syscall.Syscall6(syscall.SYS_SENDTO, uintptr(c.fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Write writes all of p, waiting for room in the socket's buffer until the
// write deadline.
func (c *Conn) Write(p []byte) (int, error) {
	gen, dl, _, err := c.enter(false)
	if err != nil {
		return 0, c.opError("write", err)
	}
	defer func() { c.exit(gen) }()
	done := 0
	for done < len(p) {
		if !dl.IsZero() && !time.Now().Before(dl) {
			return done, c.opError("write", os.ErrDeadlineExceeded)
		}
		n, err := c.send(p[done:])
		switch {
		case err == nil:
			done += n
			continue
		case !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR):
			return done, c.opError("write", os.NewSyscallError("sendto", err))
		case errors.Is(err, syscall.EAGAIN):
			if err := c.wait(unix.POLLOUT, dl); err != nil {
				return done, c.opError("write", err)
			}
		}
		if dl, err = c.again(false, &gen); err != nil {
			return done, c.opError("write", err)
		}
	}
	return done, nil
}

// wait waits until the socket is ready for events, wake is readable or dl
// passes; a dl already passed is os.ErrDeadlineExceeded.
func (c *Conn) wait(events int16, dl time.Time) error {
	var ts *unix.Timespec
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := unix.NsecToTimespec(int64(d))
		ts = &t
	}
	if h := pollHook.Load(); h != nil {
		(*h)(events)
	}
	fds := [2]unix.PollFd{{Fd: int32(c.fd), Events: events}, {Fd: int32(c.wake), Events: unix.POLLIN}}
	if _, err := unix.Ppoll(fds[:], ts, nil); err != nil && !errors.Is(err, unix.EINTR) {
		return os.NewSyscallError("ppoll", err)
	}
	return nil
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: err}
}
