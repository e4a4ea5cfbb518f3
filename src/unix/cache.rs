//! The synchronous path's sockets: a per-thread cache (issue 11, item 1).
//!
//! Each thread keeps at most one socket per (family, kind) — 2 × 2 — opened
//! by its first synchronous request that needs it and reused by the next
//! ones. A thread runs one synchronous request at a time, so a cached socket
//! has at most one request in flight:
//! - **Identifiers**: a Linux ping socket's identifier is its port (the
//!   kernel's); every other socket (raw, macOS datagram) gets an identifier
//!   of its own from a process-wide table while it is open (never the async
//!   engine's, never another open socket's); on Linux its kernel filter
//!   (BPF) passes only that identifier's echo replies, while on macOS and
//!   FreeBSD, which have no such filter, the socket receives every ICMP
//!   message of the host and user space alone sorts them out (so does Linux
//!   with `ICMP_SYS_KERNEL_FILTERS=off`, as CI runs it once); the sequence
//!   counts per socket. So (identifier, sequence) is never shared by two
//!   requests in flight.
//! - **Stale replies** (to a request that timed out or failed) are drained
//!   before the socket's next send and, like everything else that arrives,
//!   matched on identifier, sequence, source and payload: never taken for a
//!   later request's reply.
//! - **Options** (TTL, TOS, DF, IP options) are set only when they differ
//!   from the socket's current ones; a request without them gets the
//!   socket's defaults back (`sock::apply_options`). The receive
//!   side (Linux: `IP_RECVERR`, filters) is set once, at open
//!   (`sock::open_shared`).
//!   A request with a source address uses a socket of its own, bound to
//!   it (opened and closed by the request, as every request did before).
//! - **Bounded and shrinking**: at most 4 sockets per thread; closed at
//!   thread exit (a `pthread` key's destructor), and a socket unused for
//!   [`IDLE_NS`] is closed at the thread's next request.
//! - **Fork**: a `fork` child closes every inherited cached socket (of every
//!   thread) in a `pthread_atfork` handler; the child opens its own.
//! - **Network namespace** pitfall: a thread that changes namespace
//!   (`unshare`, `setns`) keeps using its cached sockets of the old one until
//!   they idle out; call [`forget_thread`] (public as
//!   `unix::forget_thread_sockets`) after the change.
//!
//! - **Re-entry**: a synchronous send from a signal handler that
//!   interrupted one of the thread's sends uses a socket of its own.
//!
//! Memory: one `malloc` per thread (its cache), on its first synchronous
//! request; nothing per echo.
//!
//! Layer: the synchronous path (beside `engine`, never using it); may use:
//! `sock`, `reply`.

use super::reply::Outcome;
use super::sock::{self, Desc, Fd, Kind, NO_SOCKET, Request, Shared, SocketMode};
use crate::ipexport::*;
use core::cell::UnsafeCell;
use core::mem::{ManuallyDrop, size_of};
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering, compiler_fence};
use libc::c_void;

/// A cached socket unused for this long (2 s) is closed at its thread's
/// next request.
pub(crate) const IDLE_NS: u64 = 2_000_000_000;

/// One cached socket.
#[derive(Clone, Copy)]
struct Entry {
    /// The socket and the options it currently sends with (`fd` -1: none).
    s: Shared,
    /// Our identifier (sockets whose identifier is not the kernel's).
    ident: u16,
    /// The last sequence sent.
    seq: u16,
    /// Last use, monotonic ns.
    last_used: u64,
    /// The last request did not end with its reply: drain before sending.
    dirty: bool,
}

const EMPTY: Entry = Entry {
    s: NO_SOCKET,
    ident: 0,
    seq: 0,
    last_used: 0,
    dirty: false,
};

/// A thread's cache, `malloc`ed, linked into the process-wide registry (for
/// the fork child).
struct Cache {
    entries: [Entry; 4],
    /// A request of this thread is using the cache (a signal handler that
    /// sends synchronously meanwhile gets a socket of its own).
    busy: AtomicBool,
    prev: *mut Cache,
    next: *mut Cache,
}

fn index(v6: bool, kind: Kind) -> usize {
    usize::from(v6) * 2 + usize::from(kind == Kind::Raw)
}

// ---------------------------------------------------------------------------
// Identifiers
// ---------------------------------------------------------------------------

/// The identifiers held by open cached sockets of this process (one bit
/// each).
static IDENTS: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];
/// Where the next search for a free identifier starts.
static NEXT_IDENT: AtomicU16 = AtomicU16::new(0);

/// A free identifier (not the engine's), held until [`release_ident`];
/// `None` if all 65 535 are held.
fn take_ident() -> Option<u16> {
    let engine_ident = sock::raw_ident();
    // Different processes start at different places (raw sockets see every
    // process's replies).
    let base = engine_ident
        .rotate_left(7)
        .wrapping_add(NEXT_IDENT.fetch_add(1, Ordering::Relaxed));
    (0..=u16::MAX).map(|i| base.wrapping_add(i)).find(|&id| {
        let bit = 1u64 << (id % 64);
        id != engine_ident
            && IDENTS[usize::from(id / 64)].fetch_or(bit, Ordering::AcqRel) & bit == 0
    })
}

fn release_ident(id: u16) {
    IDENTS[usize::from(id / 64)].fetch_and(!(1u64 << (id % 64)), Ordering::AcqRel);
}

// ---------------------------------------------------------------------------
// Registry, thread key, fork
// ---------------------------------------------------------------------------

struct Registry {
    lock: UnsafeCell<libc::pthread_mutex_t>,
    head: UnsafeCell<*mut Cache>,
}
// SAFETY: `head` and the links are accessed with `lock` held (or in a fork
// child, single-threaded).
unsafe impl Sync for Registry {}

static REGISTRY: Registry = Registry {
    lock: UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER),
    head: UnsafeCell::new(ptr::null_mut()),
};

fn lock() {
    // SAFETY: a statically initialised mutex.
    unsafe { libc::pthread_mutex_lock(REGISTRY.lock.get()) };
}

fn unlock() {
    // SAFETY: held by this thread.
    unsafe { libc::pthread_mutex_unlock(REGISTRY.lock.get()) };
}

/// The thread key (+ 1; 0: not created yet).
static KEY: AtomicUsize = AtomicUsize::new(0);
static ATFORK: AtomicBool = AtomicBool::new(false);

extern "C" fn fork_prepare() {
    lock();
}

extern "C" fn fork_parent() {
    unlock();
}

extern "C" fn fork_child() {
    // Single-threaded: close every inherited cached socket, of every thread
    // (the other threads do not exist here). Their identifiers stay held:
    // the parent still uses them.
    // SAFETY: the registry lock is held (fork_prepare), links are valid.
    unsafe {
        let mut c = *REGISTRY.head.get();
        while !c.is_null() {
            for e in &mut (*c).entries {
                let fd = e.s.fd;
                *e = EMPTY;
                if fd >= 0 {
                    libc::close(fd);
                }
            }
            c = (*c).next;
        }
    }
    unlock();
}

/// The thread key, created on first use (with the fork handlers).
fn key() -> Option<libc::pthread_key_t> {
    let k = KEY.load(Ordering::Acquire);
    if k != 0 {
        return Some((k - 1) as libc::pthread_key_t);
    }
    let mut new: libc::pthread_key_t = 0;
    // SAFETY: a valid out-pointer and destructor.
    if unsafe { libc::pthread_key_create(&mut new, Some(destroy)) } != 0 {
        return None;
    }
    match KEY.compare_exchange(0, new as usize + 1, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            if !ATFORK.swap(true, Ordering::AcqRel) {
                // SAFETY: plain extern "C" handlers.
                unsafe {
                    libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child))
                };
            }
            Some(new)
        }
        Err(k) => {
            // Another thread created it first.
            // SAFETY: our unused key.
            unsafe { libc::pthread_key_delete(new) };
            Some((k - 1) as libc::pthread_key_t)
        }
    }
}

/// Closes an entry's socket (forgetting it first: a fork child never sees
/// a descriptor number that is already closed) and frees its identifier.
fn close(e: &mut Entry) {
    let old = *e;
    *e = EMPTY;
    if old.s.fd >= 0 {
        // SAFETY: our descriptor.
        unsafe { libc::close(old.s.fd) };
        if !sock::kernel_ident(old.s.kind) {
            release_ident(old.ident);
        }
    }
}

/// The key's destructor: at thread exit, closes the thread's sockets and
/// frees its cache.
unsafe extern "C" fn destroy(p: *mut c_void) {
    let c = p.cast::<Cache>();
    lock();
    // SAFETY: a cache of ours, linked; the lock is held.
    unsafe {
        let (prev, next) = ((*c).prev, (*c).next);
        if prev.is_null() {
            *REGISTRY.head.get() = next;
        } else {
            (*prev).next = next;
        }
        if !next.is_null() {
            (*next).prev = prev;
        }
    }
    unlock();
    // SAFETY: no longer reachable from the registry; this thread's only.
    unsafe {
        for e in &mut (*c).entries {
            close(e);
        }
        libc::free(p);
    }
}

/// The calling thread's cache (created on first use), or `None` if it
/// cannot be (no key, no memory).
fn this_thread() -> Option<*mut Cache> {
    let k = key()?;
    // SAFETY: a valid key.
    let p = unsafe { libc::pthread_getspecific(k) }.cast::<Cache>();
    if !p.is_null() {
        return Some(p);
    }
    // SAFETY: plain malloc.
    let c = unsafe { libc::malloc(size_of::<Cache>()) }.cast::<Cache>();
    if c.is_null() {
        return None;
    }
    lock();
    // SAFETY: fresh memory for one Cache; the registry lock is held.
    unsafe {
        let head = *REGISTRY.head.get();
        c.write(Cache {
            entries: [EMPTY; 4],
            busy: AtomicBool::new(false),
            prev: ptr::null_mut(),
            next: head,
        });
        if !head.is_null() {
            (*head).prev = c;
        }
        *REGISTRY.head.get() = c;
    }
    unlock();
    // SAFETY: a valid key; c is ours.
    if unsafe { libc::pthread_setspecific(k, c.cast()) } != 0 {
        // SAFETY: unlink and free what we just made (no socket yet).
        unsafe { destroy(c.cast()) };
        return None;
    }
    Some(c)
}

/// Closes the calling thread's cached sockets (after it changed network
/// namespace, or to release them early). The next request opens new ones.
pub(crate) fn forget_thread() {
    let Some(k) = KEY.load(Ordering::Acquire).checked_sub(1) else {
        return;
    };
    // SAFETY: a valid key.
    let p = unsafe { libc::pthread_getspecific(k as libc::pthread_key_t) }.cast::<Cache>();
    if p.is_null() {
        return;
    }
    // SAFETY: this thread's cache, as in `run`.
    let busy = unsafe { &(*p).busy };
    // From a signal handler that interrupted a send: nothing closed.
    if !busy.swap(true, Ordering::Relaxed) {
        compiler_fence(Ordering::SeqCst);
        // SAFETY: as in `run`.
        for e in unsafe { &mut (*p).entries } {
            close(e);
        }
        compiler_fence(Ordering::SeqCst);
        busy.store(false, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------
// The request
// ---------------------------------------------------------------------------

/// A request on a socket of its own (opened here, closed before returning):
/// where the cache cannot serve it.
fn uncached(d: &Desc, r: &Request<'_>) -> Outcome {
    match sock::open_for(d) {
        Ok((fd, kind)) => sock::echo(&fd, kind, r),
        Err(code) => Outcome::Fail(code),
    }
}

/// Runs one synchronous request on the calling thread's cached socket for
/// handle `d` (opened if needed).
pub(crate) fn run(d: &Desc, r: &Request<'_>) -> Outcome {
    // A source address: a socket bound to it, as before the cache (a
    // source the host does not have fails at bind with IP_GENERAL_FAILURE;
    // IP_PKTINFO would fail at send with another error, and not on
    // macOS/FreeBSD).
    if r.src.is_some() {
        return uncached(d, r);
    }
    let Some(c) = this_thread() else {
        return uncached(d, r);
    };
    // SAFETY: this thread's cache (only this thread and, between its
    // instructions, its signal handlers use it; the fork child's handler
    // runs when no other code does). `busy` is only used shared; the
    // entries are borrowed mutably by one request at a time (the one that
    // set `busy`).
    let busy = unsafe { &(*c).busy };
    if busy.swap(true, Ordering::Relaxed) {
        return uncached(d, r);
    }
    compiler_fence(Ordering::SeqCst);
    // SAFETY: as above; a field disjoint from `busy`.
    let out = run_on(unsafe { &mut (*c).entries }, d, r);
    compiler_fence(Ordering::SeqCst);
    busy.store(false, Ordering::Relaxed);
    out
}

/// [`run`] on the thread's cached sockets `c` (its cache marked busy).
fn run_on(c: &mut [Entry; 4], d: &Desc, r: &Request<'_>) -> Outcome {
    let now = sock::now_ns();
    for e in c.iter_mut() {
        if e.s.fd >= 0 && now.saturating_sub(e.last_used) > IDLE_NS {
            close(e);
        }
    }
    let have = |c: &[Entry; 4], kind| c[index(d.v6, kind)].s.fd >= 0;
    let kind = match d.mode {
        SocketMode::Datagram => Kind::Dgram,
        SocketMode::Raw => Kind::Raw,
        SocketMode::Auto if have(c, Kind::Dgram) => Kind::Dgram,
        SocketMode::Auto if have(c, Kind::Raw) => Kind::Raw,
        SocketMode::Auto => match sock::open_for(d) {
            // The per-request path's choice (and fallback memory).
            Ok((_fd, kind)) => kind,
            Err(code) => return Outcome::Fail(code),
        },
    };
    let e = &mut c[index(d.v6, kind)];
    if e.s.fd < 0 {
        let ident = if sock::kernel_ident(kind) {
            0
        } else {
            match take_ident() {
                Some(id) => id,
                None => return uncached(d, r),
            }
        };
        match sock::open_shared(d.v6, kind, ident) {
            Ok(s) => {
                *e = Entry {
                    s,
                    ident,
                    // Not where a closed socket with this identifier
                    // stopped.
                    seq: now as u16,
                    last_used: now,
                    dirty: false,
                }
            }
            Err(err) => {
                if !sock::kernel_ident(kind) {
                    release_ident(ident);
                }
                return Outcome::Fail(sock::socket_error(err));
            }
        }
    }
    e.last_used = now;
    if let Err(status) = sock::apply_options(&mut e.s, r) {
        return Outcome::Fail(status);
    }
    e.seq = e.seq.wrapping_add(1);
    let (ident, seq) = (e.ident, e.seq);
    let fd = ManuallyDrop::new(Fd(e.s.fd)); // borrowed: the cache owns it
    if e.dirty || !sock::kernel_ident(kind) {
        // What arrived for earlier requests (a raw socket also queues the
        // host's ICMP errors between requests).
        sock::drain(&fd);
    }
    // An earlier request's ICMP error is reported once by the next send,
    // without sending: clear it and send again (more may have arrived).
    let first = sock::send_echo(fd.0, kind, r, ident, seq, false);
    let sent = sock::resend_past_pending(fd.0, kind, r, ident, seq, false, first);
    let out = match sent {
        Ok(()) => sock::wait_reply(&fd, kind, r, ident, seq),
        Err(err) => Outcome::Fail(match err {
            libc::EAGAIN => IP_NO_RESOURCES,
            err => sock::map_send_errno(err, r),
        }),
    };
    e.dirty = !matches!(out, Outcome::Echo { .. });
    out
}
