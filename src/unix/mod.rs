//! The Unix backend: the nine `icmpapi.h` functions implemented over kernel
//! ICMP sockets (Linux and Android, macOS and iOS, FreeBSD), with the
//! Windows contract — same signatures, reply-buffer format, return values,
//! `IP_STATUS` codes and buffer-size rules. They are re-exported by [`icmpapi`](crate::icmpapi).
//!
//! Design:
//! - **Handles** are the addresses of six static descriptors (IPv4/IPv6 ×
//!   [`SocketMode`]): no allocation, nothing to free, and any other value is
//!   recognised as invalid without being dereferenced. `IcmpCloseHandle` of a
//!   valid handle always succeeds (closing twice is not detected).
//! - **Synchronous requests use per-thread sockets** (`cache`): each thread
//!   keeps at most one socket per family and kind (4), opened by its first
//!   request that needs it and reused by its next ones; closed at thread
//!   exit, after 2 s unused (at the thread's next request), by
//!   [`forget_thread_sockets`], and in a `fork` child (every inherited one).
//!   A thread runs one synchronous request at a time, so a socket has one
//!   request in flight: a Linux ping socket's identifier is the kernel's,
//!   other sockets (raw; macOS datagram) hold an identifier of their own
//!   while open and filter on it; replies are matched on identifier,
//!   sequence, source and payload, and what a timed-out request leaves
//!   behind is drained before the next send, so concurrent requests on one
//!   handle never see each other's replies. Options (TTL, TOS, DF, IP
//!   options) are set only when they change; a request without them is sent
//!   with the socket's defaults. A request with a source address opens a
//!   socket of its own, bound to it, and closes it before returning (as
//!   every request did before, and as Wine does). Pitfall: a thread that changes network
//!   namespace (`unshare`, `setns`) keeps sending through its cached
//!   sockets of the old namespace: call [`forget_thread_sockets`] after the
//!   change (a new thread has no cached sockets).
//! - **Last error**: Windows error codes are stored in the thread's `errno`
//!   (thread-local, free, no `std` needed); read it with
//!   [`helper::last_error`](crate::helper::last_error) **right after** the
//!   call, before any other libc call. After a success it is what Wine 8.0
//!   leaves (Windows documents nothing): 0 after `Icmp[6]CreateFile` and a
//!   send, untouched after `IcmpCloseHandle` and a `*ParseReplies` that
//!   returns a reply.
//! - **Asynchronous sends** (an `Event` or an `ApcRoutine`) follow the
//!   Windows contract: 0 with `ERROR_IO_PENDING` once the request is on its
//!   way (0 with the error at once when it cannot start: bad arguments, an
//!   `Event` that is not an event of `event` (`ERROR_INVALID_HANDLE`), past
//!   the limit of requests in flight (`ERROR_NOT_ENOUGH_MEMORY`)); on
//!   completion the reply buffer is written as a synchronous send writes it
//!   (same writer), `IcmpParseReplies` then gives the count (1 in
//!   `Reserved`, or 0 with `Status` as the last error, e.g. a timeout's
//!   `IP_REQ_TIMED_OUT`), the `IO_STATUS_BLOCK` holds {0, bytes written},
//!   the event is reset when the request starts (as Windows and Wine do),
//!   the event is signalled, the APC is queued to the issuing thread (run by
//!   `apc::sleep_alertable`, never on another thread). Engine: `engine`
//!   (one completion thread per process, started on first use; shared
//!   sockets; at most 16 384 requests in flight). Events: `event` (a
//!   descriptor readable while signalled, manual or auto reset, as many as
//!   the process has descriptors); registered waits: `wait` (one waiter
//!   thread for all `Event::register_wait` callbacks). Pitfalls: an
//!   async send goes out in the sending thread's network namespace (one
//!   shared socket per namespace, family and kind; at most 16 with requests
//!   in flight, then `ERROR_NOT_ENOUGH_MEMORY`; idle ones are closed after
//!   5 s); `IcmpCloseHandle` does not cancel requests
//!   in flight (the handles are stateless; Wine 8.0 does not cancel either):
//!   they complete normally (reply or timeout, event, APC), and nothing is
//!   written to a buffer after its completion; a `fork` child
//!   starts a fresh engine (the parent's requests never complete there;
//!   their records, event references and descriptors are released).
//! - No heap: the echo path allocates nothing (a thread's socket cache is
//!   one `malloc` on its first synchronous send). The receive buffer is on the
//!   stack: 4 KiB for a `RequestSize` of up to 3960 bytes (every reply or
//!   ICMP error about such a request fits), 64 KiB above that — send larger
//!   requests from threads with at least 128 KiB of stack.
//!
//! Permissions: Linux ping sockets need the caller's group in
//! `net.ipv4.ping_group_range` (per network namespace), raw sockets need
//! root or `CAP_NET_RAW`; macOS needs nothing; FreeBSD needs root. Without
//! either, a send returns 0 with
//! [`ERROR_ACCESS_DENIED`](crate::ipexport::ERROR_ACCESS_DENIED).
//!
//! macOS, iOS and FreeBSD (never run here; README "Beyond Windows"): an
//! asynchronous IPv4 send with a `SourceAddress` fails at the call with
//! [`ERROR_NOT_SUPPORTED`](crate::ipexport::ERROR_NOT_SUPPORTED) (no
//! per-packet IPv4 source on their sockets; synchronous sends bind one of
//! their own); `IP_FLAG_DF` without root on macOS and iOS fails the request
//! with `IP_BAD_OPTION` (their unprivileged ICMP sockets refuse DF);
//! `EHOSTDOWN` (a link host that failed ARP) is `IP_DEST_HOST_UNREACHABLE`;
//! every socket receives every ICMP message of the host (no kernel filter).
//! Android runs Linux's code, iOS macOS's; both are only built here.
//!
//! Layers (issue 14, item 1): the modules form a stack read downward only —
//! a module uses only modules below it, never one beside or above it, and
//! never the items of this file (the top). `tests/layering.rs` enforces it
//! (a source scan of `src/unix/*.rs`; a new module must be placed there).
//!
//! ```text
//!  entry        mod.rs (public face: docs, re-exports)
//!                 │
//!               api (the nine functions)
//!                 │
//!          ┌──────┴────────────────────┐
//!  paths   cache (synchronous)         engine (asynchronous: records,
//!          │                           │  deadlines, completion thread)
//!          │                          apc (APC queues; the engine's records
//!          │                           │  through `apc::Records`)
//!          │                           │  wait (registered waits: one waiter
//!          │                           │  thread; beside apc)
//!          │                          event (events, wake primitive)
//!          └──────┬────────────────────┘
//!  sockets      sock (handles and modes, opening incl. `open_shared`, options,
//!                 │   send, receive, error queue, errno / last error)
//!  pure         reply (packets → outcome → the caller's reply buffer;
//!                     no syscalls)
//! ```
//!
//! `apc` sits below `engine`: the engine owns the records (and their APC
//! links); a queue stores record indices and reaches the records only
//! through the `apc::Records` functions the engine passes with each queued
//! completion.

pub(crate) mod apc;
pub(crate) mod api;
mod cache;
mod engine;
pub(crate) mod event;
// The pure packet → reply-buffer conversion (no syscalls). Private: only the
// fuzz harness (`fuzz/run`, which builds with `--cfg icmp_sys_fuzz`, declared
// in build.rs) sees it as `icmp_sys::unix::reply`; no dependent can use it
// (the doctest below proves it).
#[cfg(icmp_sys_fuzz)]
#[doc(hidden)]
pub mod reply;
#[cfg(not(icmp_sys_fuzz))]
#[allow(dead_code)] // what only the fuzz harness calls
mod reply;
mod sock;
pub(crate) mod wait;

/// Without `--cfg icmp_sys_fuzz` the reply conversion is private:
///
/// ```compile_fail,E0603
/// use icmp_sys::unix::reply::OutBuf;
/// ```
///
/// while the module's public items are reachable:
///
/// ```
/// use icmp_sys::unix::SocketMode;
/// ```
#[cfg(doctest)]
pub struct ReplyIsPrivate;

pub(crate) use sock::last_error;
pub use sock::{SocketMode, create_handle};

/// Closes the calling thread's cached sockets, those its synchronous sends
/// (`IcmpSendEcho`, `IcmpSendEcho2`/`2Ex`, `Icmp6SendEcho2` without an event
/// or APC) reuse; its next send opens new ones. Unix backend only; no
/// Microsoft Learn page (Windows has no equivalent: its requests go through
/// the ICMP driver).
///
/// Call it after the thread changed network namespace (`unshare(2)`,
/// `setns(2)`): until then its sends go out through sockets of the old
/// namespace (the pitfall of per-thread sockets). Not needed otherwise:
/// the sockets are closed at thread exit, after 2 s unused, and in a `fork`
/// child. Asynchronous sends use the engine's sockets, chosen per request
/// by the sending thread's namespace: nothing to forget for them.
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))
)]
pub fn forget_thread_sockets() {
    cache::forget_thread();
}
