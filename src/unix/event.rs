//! Events on Unix: the objects an asynchronous send signals (its `Event`
//! parameter), and the waitable primitive the backend's own threads use.
//!
//! An event is a **descriptor that becomes readable when signalled**: an
//! `eventfd` on Linux, a non-blocking pipe elsewhere (macOS, FreeBSD). So
//! `poll`, `epoll`, `kqueue` or tokio's `AsyncFd` can wait on [`fd`].
//!
//! **Manual reset**, as `CreateEventW(NULL, TRUE, FALSE, NULL)`: once
//! [`set`], an event stays signalled (every [`wait`] returns `true`, the
//! descriptor stays readable) until [`reset`]. Waiting never consumes the
//! signal.
//!
//! **Handles.** A `HANDLE` from [`create`] is not a pointer: it encodes a
//! slot of a fixed process-wide registry and that slot's generation, so a
//! foreign or stale value is recognised as unknown without being
//! dereferenced, and the backend can never write to a descriptor it did not
//! create. The slot holds a reference count: a request that will signal an
//! event holds a reference from the send to the signal, so [`close`] during
//! a request only marks the event closed; its descriptors are closed when
//! the last reference goes (never a write to a reused descriptor number).
//! At most [`MAX_EVENTS`] events exist at once; [`create`] past that fails
//! with `ERROR_NOT_ENOUGH_MEMORY`.
//!
//! Layer: below `apc` and `engine`; may use: `sock`.

use crate::ipexport::{ERROR_NOT_ENOUGH_MEMORY, HANDLE};
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use libc::c_int;

/// The most events that can exist at once in a process.
pub(crate) const MAX_EVENTS: usize = 4096;

// ---------------------------------------------------------------------------
// The raw primitive: (read end, write end), equal for an eventfd.
// ---------------------------------------------------------------------------

/// A signallable descriptor pair: `(read end, write end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Raw {
    /// Readable while signalled.
    pub(crate) rfd: c_int,
    /// Written to signal (the same descriptor for an eventfd).
    pub(crate) wfd: c_int,
}

fn errno() -> c_int {
    super::sock::errno()
}

/// The Win32 error of a failed `eventfd`/`pipe`.
fn create_error(e: c_int) -> u32 {
    match e {
        libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::ENODEV => ERROR_NOT_ENOUGH_MEMORY,
        _ => crate::ipexport::ERROR_GEN_FAILURE,
    }
}

impl Raw {
    /// A new unsignalled primitive (close-on-exec, non-blocking).
    pub(crate) fn new() -> Result<Raw, u32> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: plain eventfd(2).
            let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
            if fd < 0 {
                return Err(create_error(errno()));
            }
            Ok(Raw { rfd: fd, wfd: fd })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut p = [-1 as c_int; 2];
            // SAFETY: p is a valid 2-int array.
            if unsafe { libc::pipe(p.as_mut_ptr()) } != 0 {
                return Err(create_error(errno()));
            }
            for fd in p {
                // SAFETY: fds we just created.
                unsafe {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                    let fl = libc::fcntl(fd, libc::F_GETFL);
                    libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
                }
            }
            Ok(Raw {
                rfd: p[0],
                wfd: p[1],
            })
        }
    }

    /// Signals (idempotent: a full pipe or counter is still signalled).
    pub(crate) fn set(self) {
        #[cfg(target_os = "linux")]
        {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a local.
            unsafe { libc::write(self.wfd, (&one as *const u64).cast(), 8) };
        }
        #[cfg(not(target_os = "linux"))]
        {
            let b = 1u8;
            // SAFETY: writes 1 byte from a local; EAGAIN (full) is fine.
            unsafe { libc::write(self.wfd, (&b as *const u8).cast(), 1) };
        }
    }

    /// Unsignals (drains what is readable, without blocking).
    pub(crate) fn reset(self) {
        let mut b = [0u8; 64];
        for _ in 0..1024 {
            // SAFETY: reads into a local buffer (an eventfd needs 8 bytes).
            let n = unsafe { libc::read(self.rfd, b.as_mut_ptr().cast(), b.len()) };
            if n <= 0 || cfg!(target_os = "linux") {
                break;
            }
        }
    }

    /// Waits until signalled or `timeout_ms` elapsed (`u32::MAX`: no
    /// limit); `true` when signalled. Restarts after signals with the
    /// remaining time.
    pub(crate) fn wait(self, timeout_ms: u32) -> bool {
        let deadline = (timeout_ms != u32::MAX)
            .then(|| super::sock::now_ns().saturating_add(u64::from(timeout_ms) * 1_000_000));
        loop {
            let wait_ms = match deadline {
                None => -1,
                Some(d) => d
                    .saturating_sub(super::sock::now_ns())
                    .div_ceil(1_000_000)
                    .min(i32::MAX as u64) as c_int,
            };
            let mut p = libc::pollfd {
                fd: self.rfd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut p, 1, wait_ms) };
            if n > 0 {
                return p.revents & libc::POLLIN != 0;
            }
            if n == 0 {
                if wait_ms == 0 {
                    return false;
                }
                continue; // the deadline check ends it
            }
            if errno() != libc::EINTR {
                return false;
            }
        }
    }

    /// Closes the descriptors.
    pub(crate) fn close(self) {
        // SAFETY: descriptors owned by this primitive, closed once by the
        // caller's protocol.
        unsafe {
            libc::close(self.rfd);
            if self.wfd != self.rfd {
                libc::close(self.wfd);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// A registry of reference-counted slots (events here, threads in `apc`).
// ---------------------------------------------------------------------------

/// State word of a slot: generation (high 32 bits), open bit (bit 31),
/// reference count (bits 0–30). Free = not open, no reference.
const OPEN: u64 = 1 << 31;
const REFS: u64 = OPEN - 1;

/// One slot: its state and its primitive.
pub(crate) struct Slot {
    state: AtomicU64,
    rfd: AtomicI32,
    wfd: AtomicI32,
}

impl Slot {
    /// An empty slot.
    #[allow(clippy::declare_interior_mutable_const)]
    pub(crate) const EMPTY: Slot = Slot {
        state: AtomicU64::new(0),
        rfd: AtomicI32::new(-1),
        wfd: AtomicI32::new(-1),
    };

    /// The primitive (valid while a reference is held).
    pub(crate) fn raw(&self) -> Raw {
        Raw {
            rfd: self.rfd.load(Ordering::Acquire),
            wfd: self.wfd.load(Ordering::Acquire),
        }
    }

    /// Forgets everything (a fork child's copy of the parent's threads).
    pub(crate) fn clear(&self) {
        self.state.store(0, Ordering::Relaxed);
        self.rfd.store(-1, Ordering::Relaxed);
        self.wfd.store(-1, Ordering::Relaxed);
    }
}

/// A slot's identity: index and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Id {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// Takes a free slot, gives it a new primitive and one reference (the
/// owner's), opens it.
pub(crate) fn alloc(slots: &[Slot]) -> Result<Id, u32> {
    for (i, s) in slots.iter().enumerate() {
        let st = s.state.load(Ordering::Acquire);
        if st & (OPEN | REFS) != 0 {
            continue;
        }
        // Reserve: one reference, not open (nobody else can acquire it).
        if s.state
            .compare_exchange(st, st | 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        let raw = match Raw::new() {
            Ok(r) => r,
            Err(e) => {
                s.state.store(st, Ordering::Release);
                return Err(e);
            }
        };
        s.rfd.store(raw.rfd, Ordering::Release);
        s.wfd.store(raw.wfd, Ordering::Release);
        s.state.store(st | OPEN | 1, Ordering::Release);
        return Ok(Id {
            index: i as u32,
            generation: (st >> 32) as u32,
        });
    }
    Err(ERROR_NOT_ENOUGH_MEMORY)
}

/// Adds a reference to an open slot of this identity; `false` if it is
/// not (closed, reused, out of range).
pub(crate) fn acquire(slots: &[Slot], id: Id) -> bool {
    let Some(s) = slots.get(id.index as usize) else {
        return false;
    };
    let mut st = s.state.load(Ordering::Acquire);
    loop {
        if (st >> 32) as u32 != id.generation || st & OPEN == 0 || st & REFS == REFS {
            return false;
        }
        match s
            .state
            .compare_exchange_weak(st, st + 1, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return true,
            Err(now) => st = now,
        }
    }
}

/// Drops a reference (held by the caller); the last one of a closed slot
/// closes its primitive and frees the slot (next generation).
pub(crate) fn release(slots: &[Slot], index: u32) {
    let s = &slots[index as usize];
    let mut st = s.state.load(Ordering::Acquire);
    loop {
        debug_assert!(st & REFS != 0);
        if st & REFS == 1 && st & OPEN == 0 {
            // The last reference of a closed slot: nobody can acquire it
            // (not open), nobody else holds it.
            s.raw().close();
            s.rfd.store(-1, Ordering::Release);
            s.wfd.store(-1, Ordering::Release);
            let next = ((st >> 32) + 1) << 32;
            s.state.store(next, Ordering::Release);
            return;
        }
        match s
            .state
            .compare_exchange_weak(st, st - 1, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return,
            Err(now) => st = now,
        }
    }
}

/// Marks an open slot of this identity closed (nobody can acquire it any
/// more) without dropping the owner's reference; `false` if it is not open.
pub(crate) fn mark_closed(slots: &[Slot], id: Id) -> bool {
    let Some(s) = slots.get(id.index as usize) else {
        return false;
    };
    let mut st = s.state.load(Ordering::Acquire);
    loop {
        if (st >> 32) as u32 != id.generation || st & OPEN == 0 {
            return false;
        }
        match s
            .state
            .compare_exchange_weak(st, st & !OPEN, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return true,
            Err(now) => st = now,
        }
    }
}

/// Closes an open slot of this identity (drops the owner's reference);
/// `false` if it is not open.
pub(crate) fn close_slot(slots: &[Slot], id: Id) -> bool {
    let ok = mark_closed(slots, id);
    if ok {
        release(slots, id.index);
    }
    ok
}

/// Whether slot `index` is open (whatever its generation).
pub(crate) fn is_open(slots: &[Slot], index: u32) -> bool {
    is_open_any(&slots[index as usize])
}

/// Whether a slot is open.
pub(crate) fn is_open_any(s: &Slot) -> bool {
    s.state.load(Ordering::Acquire) & OPEN != 0
}

/// The current generation of slot `index`.
pub(crate) fn generation(slots: &[Slot], index: u32) -> u32 {
    (slots[index as usize].state.load(Ordering::Acquire) >> 32) as u32
}

// ---------------------------------------------------------------------------
// Events: the registry and its handles.
// ---------------------------------------------------------------------------

static EVENTS: [Slot; MAX_EVENTS] = [Slot::EMPTY; MAX_EVENTS];

/// Low bits of every event handle: never null, never
/// `INVALID_HANDLE_VALUE` (all ones), never a valid aligned pointer to one of
/// the ICMP handles.
const TAG: usize = 0xE;
const INDEX_BITS: u32 = 12;
const _: () = assert!(MAX_EVENTS == 1 << INDEX_BITS);
/// The generation bits a handle holds (the rest of a `usize`).
const GEN_BITS: u32 = usize::BITS - 4 - INDEX_BITS;

fn handle_of(id: Id) -> HANDLE {
    let gen_mask = if GEN_BITS >= 32 {
        u32::MAX
    } else {
        (1u32 << GEN_BITS) - 1
    };
    let g = (id.generation & gen_mask) as usize;
    ((((g << INDEX_BITS) | id.index as usize) << 4) | TAG) as HANDLE
}

fn id_of(h: HANDLE) -> Option<Id> {
    let v = h as usize;
    if v & 0xF != TAG {
        return None;
    }
    let index = ((v >> 4) & (MAX_EVENTS - 1)) as u32;
    let g = (v >> (4 + INDEX_BITS)) as u32;
    // The handle holds the generation's low bits; compare them with the slot's.
    let s = &EVENTS[index as usize];
    let full = (s.state.load(Ordering::Acquire) >> 32) as u32;
    let gen_mask = if GEN_BITS >= 32 {
        u32::MAX
    } else {
        (1u32 << GEN_BITS) - 1
    };
    (full & gen_mask == g).then_some(Id {
        index,
        generation: full,
    })
}

/// A reference to an event, held by a request from its send to its signal.
#[derive(Debug)]
pub(crate) struct EventRef(u32);

impl EventRef {
    /// References the event of `h`, or `None` for a handle that is not an
    /// open event of [`create`] (the send then fails with
    /// `ERROR_INVALID_HANDLE`).
    pub(crate) fn new(h: HANDLE) -> Option<EventRef> {
        let id = id_of(h)?;
        // `then`, not `then_some`: an EventRef built eagerly would be
        // dropped (released) when the acquisition fails.
        acquire(&EVENTS, id).then(|| EventRef(id.index))
    }

    /// Unsignals the event (a request starting, as the Windows I/O manager
    /// clears an overlapped request's event).
    pub(crate) fn reset(&self) {
        EVENTS[self.0 as usize].raw().reset();
    }

    /// Signals the event and drops the reference.
    pub(crate) fn signal(self) {
        EVENTS[self.0 as usize].raw().set();
        // Drop releases.
    }
}

impl Drop for EventRef {
    fn drop(&mut self) {
        release(&EVENTS, self.0);
    }
}

/// Runs `f` on the primitive of the open event `h`, holding a reference;
/// `None` for an unknown handle.
fn with<R>(h: HANDLE, f: impl FnOnce(Raw) -> R) -> Option<R> {
    let r = EventRef::new(h)?;
    Some(f(EVENTS[r.0 as usize].raw()))
}

/// Creates an unsignalled manual-reset event: its handle (for the `Event`
/// parameter of `IcmpSendEcho2`, `IcmpSendEcho2Ex`, `Icmp6SendEcho2`), or
/// the Win32 error (`ERROR_NOT_ENOUGH_MEMORY` when [`MAX_EVENTS`] exist or
/// the descriptor limit is reached).
pub(crate) fn create() -> Result<HANDLE, u32> {
    alloc(&EVENTS).map(handle_of)
}

/// Signals the event; `false` for an unknown handle.
pub(crate) fn set(h: HANDLE) -> bool {
    with(h, Raw::set).is_some()
}

/// Unsignals the event; `false` for an unknown handle.
pub(crate) fn reset(h: HANDLE) -> bool {
    with(h, Raw::reset).is_some()
}

/// Waits until the event is signalled (`true`) or `timeout_ms` elapsed
/// (`false`; `u32::MAX` = no limit). Does not reset it. `false` at once for
/// an unknown handle.
pub(crate) fn wait(h: HANDLE, timeout_ms: u32) -> bool {
    with(h, |r| r.wait(timeout_ms)).unwrap_or(false)
}

/// Closes the event; `false` for an unknown (or already closed) handle.
/// Requests still holding it signal it first; its descriptors are closed
/// after the last of them.
pub(crate) fn close(h: HANDLE) -> bool {
    id_of(h).is_some_and(|id| close_slot(&EVENTS, id))
}

/// The descriptor that is readable while the event is signalled, or -1 for
/// an unknown handle. Valid until [`close`]; do not read or close it.
pub(crate) fn fd(h: HANDLE) -> libc::c_int {
    with(h, |r| r.rfd).unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "makes syscalls (eventfd, poll)")]
    fn manual_reset_and_foreign_handles() {
        let h = create().unwrap();
        assert!(!h.is_null() && h != crate::ipexport::INVALID_HANDLE_VALUE);
        assert!(fd(h) >= 0);
        assert!(!wait(h, 0));
        assert!(set(h));
        assert!(wait(h, 0) && wait(h, 10), "stays signalled");
        assert!(reset(h));
        assert!(!wait(h, 5));
        // Foreign values are unknown, never dereferenced.
        for f in [
            core::ptr::null_mut(),
            crate::ipexport::INVALID_HANDLE_VALUE,
            0x1000 as HANDLE,
            0x1234_5670 as HANDLE,
            (h as usize ^ (1 << 20)) as HANDLE,
        ] {
            assert!(EventRef::new(f).is_none(), "{f:?}");
            assert!(!set(f) && !wait(f, 0) && !close(f) && fd(f) == -1);
        }
        // A reference outlives close: the descriptor stays valid for it.
        let r = EventRef::new(h).unwrap();
        let before = fd(h);
        assert!(close(h));
        assert!(!close(h), "closed twice");
        assert!(EventRef::new(h).is_none(), "closed handle");
        assert_eq!(fd(h), -1);
        // SAFETY: fcntl on a number: still our eventfd, open.
        assert!(unsafe { libc::fcntl(before, libc::F_GETFD) } >= 0);
        r.signal();
        // A stale handle never reaches a new event in its slot.
        let h2 = create().unwrap();
        assert_ne!(h2, h);
        assert!(!set(h));
        assert!(close(h2));
    }
}
