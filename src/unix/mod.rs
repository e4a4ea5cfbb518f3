//! The Unix backend: the nine `icmpapi.h` functions implemented over kernel
//! ICMP sockets (Linux, macOS, FreeBSD), with the Windows contract — same
//! signatures, reply-buffer format, return values, `IP_STATUS` codes and
//! buffer-size rules. They are re-exported by [`icmpapi`](crate::icmpapi).
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
//!   descriptor readable while signalled, manual reset). Pitfalls: an
//!   async send goes out in the sending thread's network namespace (one
//!   shared socket per namespace, family and kind; at most 16 sockets, then
//!   `ERROR_NOT_ENOUGH_MEMORY`); `IcmpCloseHandle` does not cancel requests
//!   in flight (the handles are stateless; Wine 8.0 does not cancel either):
//!   they complete normally (reply or timeout, event, APC), and nothing is
//!   written to a buffer after its completion; a `fork` child
//!   starts a fresh engine (the parent's requests never complete there).
//! - No heap: the echo path allocates nothing (a thread's socket cache is
//!   one `malloc` on its first synchronous send). The receive buffer is on the
//!   stack: 4 KiB for a `RequestSize` of up to 3960 bytes (every reply or
//!   ICMP error about such a request fits), 64 KiB above that — send larger
//!   requests from threads with at least 128 KiB of stack.
//!
//! Permissions: Linux ping sockets need the caller's group in
//! `net.ipv4.ping_group_range` (per network namespace), raw sockets need
//! root or `CAP_NET_RAW`; macOS needs nothing; FreeBSD needs root. Without
//! either, a send returns 0 with [`ERROR_ACCESS_DENIED`].

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

use crate::ipexport::*;
use core::mem::size_of;
use core::sync::atomic::{AtomicBool, Ordering};
use sock::Kind;

pub(crate) use sock::errno;

/// The location of the calling thread's `errno`.
pub(crate) fn errno_location() -> *mut libc::c_int {
    #[cfg(target_os = "linux")]
    // SAFETY: no preconditions.
    return unsafe { libc::__errno_location() };
    #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
    // SAFETY: no preconditions.
    return unsafe { libc::__error() };
}

/// The calling thread's last error, as stored by the backend.
pub(crate) fn last_error() -> u32 {
    errno() as u32
}

pub(crate) fn set_last_error(code: u32) {
    // SAFETY: the errno location is valid for the calling thread.
    unsafe { *errno_location() = code as libc::c_int };
}

/// Which kind of socket a handle's requests use.
///
/// `#[non_exhaustive]`: later versions may add kinds; match with a `_` arm.
#[cfg_attr(
    docsrs,
    doc(cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketMode {
    /// Datagram (Linux ping socket; macOS unprivileged ICMP socket) first,
    /// raw socket if that is not permitted. The kind that worked is
    /// remembered per address family.
    Auto,
    /// Datagram sockets only (Linux: errors through `IP_RECVERR`).
    Datagram,
    /// Raw sockets only (root / `CAP_NET_RAW`).
    Raw,
}

/// The static descriptor a handle points to.
#[repr(C, align(8))]
pub(crate) struct Desc {
    /// IPv6 handle.
    pub(crate) v6: bool,
    /// Socket kind.
    pub(crate) mode: SocketMode,
}

static HANDLES: [Desc; 6] = [
    Desc {
        v6: false,
        mode: SocketMode::Auto,
    },
    Desc {
        v6: false,
        mode: SocketMode::Datagram,
    },
    Desc {
        v6: false,
        mode: SocketMode::Raw,
    },
    Desc {
        v6: true,
        mode: SocketMode::Auto,
    },
    Desc {
        v6: true,
        mode: SocketMode::Datagram,
    },
    Desc {
        v6: true,
        mode: SocketMode::Raw,
    },
];

/// `SocketMode::Auto`: whether raw sockets worked where datagram ones did
/// not, per family (IPv4, IPv6).
static PREFER_RAW: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

/// The descriptor of a handle, or `None` if it is not one of ours. Compares
/// addresses only: never dereferences a foreign value.
pub(crate) fn desc(h: HANDLE) -> Option<&'static Desc> {
    let base = HANDLES.as_ptr() as usize;
    let off = (h as usize).wrapping_sub(base);
    if off < size_of::<[Desc; 6]>() && off % size_of::<Desc>() == 0 {
        HANDLES.get(off / size_of::<Desc>())
    } else {
        None
    }
}

/// Opens a handle like [`IcmpCreateFile`](crate::icmpapi::IcmpCreateFile) (`v6` false) or
/// [`Icmp6CreateFile`](crate::icmpapi::Icmp6CreateFile) (`v6` true) whose requests use the given kind of
/// socket: the Unix backend's knob for choosing (and testing) the
/// ping-socket and raw-socket paths. Close it with [`IcmpCloseHandle`](crate::icmpapi::IcmpCloseHandle).
///
/// Pitfall: Unix only; Windows has no equivalent.
#[cfg_attr(
    docsrs,
    doc(cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))
)]
pub fn create_handle(v6: bool, mode: SocketMode) -> HANDLE {
    let i = usize::from(v6) * 3
        + match mode {
            SocketMode::Auto => 0,
            SocketMode::Datagram => 1,
            SocketMode::Raw => 2,
        };
    (&HANDLES[i] as *const Desc).cast_mut().cast()
}

/// The mode [`IcmpCreateFile`](crate::icmpapi::IcmpCreateFile) and [`Icmp6CreateFile`](crate::icmpapi::Icmp6CreateFile) use: the environment
/// variable `ICMP_SYS_SOCKET` (`raw`, `dgram`), else [`SocketMode::Auto`].
pub(crate) fn default_mode() -> SocketMode {
    // SAFETY: getenv with a NUL-terminated name; the result is only read
    // here (a concurrent setenv by another thread is the caller's race, as
    // for any getenv).
    let v = unsafe { libc::getenv(c"ICMP_SYS_SOCKET".as_ptr()) };
    if v.is_null() {
        return SocketMode::Auto;
    }
    // SAFETY: getenv returned a NUL-terminated string.
    match unsafe { core::ffi::CStr::from_ptr(v) }.to_bytes() {
        b"raw" => SocketMode::Raw,
        b"dgram" => SocketMode::Datagram,
        _ => SocketMode::Auto,
    }
}

/// The Win32 error of a failed `socket()`.
fn socket_error(e: libc::c_int) -> u32 {
    match e {
        libc::EACCES | libc::EPERM => ERROR_ACCESS_DENIED,
        libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT | libc::ESOCKTNOSUPPORT => ERROR_NOT_SUPPORTED,
        libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM => ERROR_NOT_ENOUGH_MEMORY,
        _ => ERROR_GEN_FAILURE,
    }
}

/// Opens the socket of a request per the handle's mode, or the Win32 error.
pub(crate) fn open(d: &Desc) -> Result<(sock::Fd, Kind), u32> {
    let fallback = |e: libc::c_int| {
        matches!(
            e,
            libc::EACCES
                | libc::EPERM
                | libc::EPROTONOSUPPORT
                | libc::ESOCKTNOSUPPORT
                | libc::EPROTOTYPE
        )
    };
    let only = |kind| {
        sock::open(d.v6, kind)
            .map(|fd| (fd, kind))
            .map_err(socket_error)
    };
    match d.mode {
        SocketMode::Datagram => only(Kind::Dgram),
        SocketMode::Raw => only(Kind::Raw),
        SocketMode::Auto => {
            let prefer = &PREFER_RAW[usize::from(d.v6)];
            let (first, second) = if prefer.load(Ordering::Relaxed) {
                (Kind::Raw, Kind::Dgram)
            } else {
                (Kind::Dgram, Kind::Raw)
            };
            match sock::open(d.v6, first) {
                Ok(fd) => Ok((fd, first)),
                Err(e) if fallback(e) => match sock::open(d.v6, second) {
                    Ok(fd) => {
                        prefer.store(second == Kind::Raw, Ordering::Relaxed);
                        Ok((fd, second))
                    }
                    // Report the more telling error: no permission.
                    Err(e2) if fallback(e2) => {
                        Err(socket_error(if e == libc::EACCES || e == libc::EPERM {
                            e
                        } else {
                            e2
                        }))
                    }
                    Err(e2) => Err(socket_error(e2)),
                },
                Err(e) => Err(socket_error(e)),
            }
        }
    }
}

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
    doc(cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))
)]
pub fn forget_thread_sockets() {
    cache::forget_thread();
}
