// Package blocksock dials TCP connections whose sockets are in blocking
// mode, outside Go's network poller. A read that waits for an answer then
// sleeps in the kernel and is woken by the answer itself, where the
// poller's read fails with EAGAIN, parks the goroutine, lets its thread
// look for other work, waits in epoll_wait and reads again: two system
// calls, a futex wake-up and the scheduler's round more each round trip.
// While a goroutine waits in such a system call its thread holds its P.
// With another P idle the scheduler leaves it so for up to 10 ms, so short
// waits (a Lambda function's round trips to its APIs and Postgres) cost
// no thread switch. With one P (GOMAXPROCS=1: one CPU visible to the
// process) nothing else runs until sysmon takes the P back after one
// or two of its ticks (20 µs to 10 ms), so a goroutine that must act
// during the wait (a timer, pgx's cancellation setting a deadline, a
// concurrent call on another connection) may start up to ~20 ms late.
// That is latency, never a deadlock: sysmon always takes the P back.
//
// Two kinds, both made by net.Dialer (the context ends the connect, no
// delay, keep-alive probes after 15 s idle every 15 s) and then taken off
// the poller:
//
//   - DialSocket: a plain socket for one goroutine that never interrupts
//     it (the Lambda runtime's loop): one read or write system call each,
//     no deadlines.
//   - Dial: a net.Conn with deadlines, for clients that cancel a call from
//     another goroutine by setting a deadline (pgx). A read first sleeps
//     in the receive itself (the socket's receive timeout: 10 ms, which
//     the kernel rounds up to its ticks, 12 ms with 4 ms ticks, and may
//     fire a tick late), so an answer by then costs one system call;
//     after that, and for a write into a full buffer, a wait is a ppoll
//     on the socket and an eventfd that wakes it when a deadline changes
//     or the connection closes, and the receive or send after it never
//     blocks. A deadline changed during the first sleep is seen when it
//     ends, within the kept timeout and a tick (12-16 ms); a Close shuts
//     the socket down and ends it at once. A read whose deadline is
//     nearer than that bound does not sleep.
//
// Other networks than TCP and other systems than Linux get net.Dialer's
// connection unchanged.
package blocksock
