//! Events on Unix: the objects an asynchronous send signals (its `Event`
//! parameter), and the waitable primitive the backend's own threads use.
//!
//! An event is a **descriptor that becomes readable when signalled**: an
//! `eventfd` on Linux, a non-blocking pipe elsewhere (macOS: `pipe` then
//! `fcntl`; FreeBSD: `pipe2`, close-on-exec at creation). So
//! `poll`, `epoll`, `kqueue` or tokio's `AsyncFd` can wait on [`fd`].
//!
//! **Manual or auto reset**, as `CreateEventW`'s `bManualReset`. A
//! manual-reset event, once [`set`], stays signalled (every [`wait`] returns
//! `true`, the descriptor stays readable) until [`reset`]. An auto-reset
//! event is reset by the wait it satisfies: [`take`](EventRef::take) consumes the signal
//! atomically (Linux: the `read` of the eventfd's counter, which one reader
//! wins; a pipe: one byte, under the slot's lock bit), so one [`set`]
//! releases exactly one waiter, and sets of a signalled event add nothing.
//!
//! **Handles.** A `HANDLE` from [`create`] is not a pointer: it encodes a
//! slot of a process-wide registry and that slot's generation, so a
//! foreign or stale value is recognised as unknown without being
//! dereferenced, and the backend can never write to a descriptor it did not
//! create. The slot holds a reference count: a request that will signal an
//! event holds a reference from the send to the signal, so [`close`] during
//! a request only marks the event closed; its descriptors are closed when
//! the last reference goes (never a write to a reused descriptor number:
//! `tests/unix_echo.rs`, `async_event_dropped_in_flight_touches_nothing_reused`).
//! A registered wait holds one likewise (`wait`).
//!
//! **No table limit.** An event's slot is the one indexed by its (read)
//! descriptor number, in chunks of [`CHUNK`] slots mapped on first use
//! (`mmap`, never moved or unmapped): the events a process can have are the
//! descriptors it can open (`RLIMIT_NOFILE`); past that [`create`] fails
//! with `ERROR_TOO_MANY_OPEN_FILES`. (Descriptor numbers above
//! [`MAX_INDEX`] — 16 777 215 on 64-bit targets — are refused the same
//! way.)
//!
//! Layer: below `apc`, `wait` and `engine`; may use: `sock`.

use crate::ipexport::{ERROR_NOT_ENOUGH_MEMORY, ERROR_TOO_MANY_OPEN_FILES, HANDLE};
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use libc::c_int;

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
        Raw::new_or_errno().map_err(create_error)
    }

    /// As [`Raw::new`], failing with the `errno`.
    fn new_or_errno() -> Result<Raw, c_int> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // SAFETY: plain eventfd(2).
            let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
            if fd < 0 {
                return Err(errno());
            }
            Ok(Raw { rfd: fd, wfd: fd })
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let mut p = [-1 as c_int; 2];
            // FreeBSD: pipe2, close-on-exec atomically with the creation (a
            // concurrent fork + exec never inherits the pipe).
            #[cfg(target_os = "freebsd")]
            // SAFETY: p is a valid 2-int array.
            if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
                return Err(errno());
            }
            // macOS, iOS: no pipe2; the flags right after pipe.
            #[cfg(not(target_os = "freebsd"))]
            {
                // SAFETY: p is a valid 2-int array.
                if unsafe { libc::pipe(p.as_mut_ptr()) } != 0 {
                    return Err(errno());
                }
                for fd in p {
                    // SAFETY: fds we just created.
                    unsafe {
                        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                        let fl = libc::fcntl(fd, libc::F_GETFL);
                        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
                    }
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
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a local.
            unsafe { libc::write(self.wfd, (&one as *const u64).cast(), 8) };
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
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
            if n <= 0 || cfg!(any(target_os = "linux", target_os = "android")) {
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

    /// Linux: consumes the eventfd's signal (reads and zeroes its counter);
    /// `true` for the one reader that found it set.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn take(self) -> bool {
        let mut v = 0u64;
        // SAFETY: reads 8 bytes into a local; non-blocking (EAGAIN: unset).
        unsafe { libc::read(self.rfd, (&mut v as *mut u64).cast(), 8) == 8 }
    }

    /// Pipes: reads one byte; `true` if there was one.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn take_byte(self) -> bool {
        let mut b = 0u8;
        // SAFETY: reads 1 byte into a local; non-blocking.
        unsafe { libc::read(self.rfd, (&mut b as *mut u8).cast(), 1) == 1 }
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

/// One slot: its state, its primitive and (events) its reset mode.
#[derive(Debug)]
pub(crate) struct Slot {
    state: AtomicU64,
    rfd: AtomicI32,
    wfd: AtomicI32,
    /// Events: [`AUTO`], and for a pipe's auto reset `SIGNALLED` and
    /// `LOCKED`.
    flags: AtomicU32,
}

/// `flags`: an auto-reset event.
const AUTO: u32 = 1;
/// `flags`, pipes: the auto-reset event is signalled (its pipe holds one
/// byte).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SIGNALLED: u32 = 2;
/// `flags`, pipes: set / reset / take of an auto-reset event in progress.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const LOCKED: u32 = 4;

impl Slot {
    /// An empty slot.
    #[allow(clippy::declare_interior_mutable_const)]
    pub(crate) const EMPTY: Slot = Slot {
        state: AtomicU64::new(0),
        rfd: AtomicI32::new(-1),
        wfd: AtomicI32::new(-1),
        flags: AtomicU32::new(0),
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
        self.flags.store(0, Ordering::Relaxed);
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
    slots
        .get(id.index as usize)
        .is_some_and(|s| acquire_slot(s, id.generation))
}

/// [`acquire`] on one slot.
fn acquire_slot(s: &Slot, generation: u32) -> bool {
    update_open_slot(s, generation, |st| (st & REFS != REFS).then_some(st + 1))
}

/// Drops a reference (held by the caller); the last one of a closed slot
/// closes its primitive and frees the slot (next generation).
pub(crate) fn release(slots: &[Slot], index: u32) {
    release_slot(&slots[index as usize]);
}

/// [`release`] on one slot.
fn release_slot(s: &Slot) {
    let mut st = s.state.load(Ordering::Acquire);
    loop {
        debug_assert!(st & REFS != 0);
        if st & REFS == 1 && st & OPEN == 0 {
            // The last reference of a closed slot: nobody can acquire it
            // (not open), nobody else holds it. Free the slot first, then
            // close: once the descriptor number can be reused (an event's
            // slot is indexed by it), the slot is free.
            let raw = s.raw();
            s.rfd.store(-1, Ordering::Release);
            s.wfd.store(-1, Ordering::Release);
            s.flags.store(0, Ordering::Release);
            let next = ((st >> 32) + 1) << 32;
            s.state.store(next, Ordering::Release);
            raw.close();
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
    slots
        .get(id.index as usize)
        .is_some_and(|s| mark_closed_slot(s, id.generation))
}

/// [`mark_closed`] on one slot.
fn mark_closed_slot(s: &Slot, generation: u32) -> bool {
    update_open_slot(s, generation, |st| Some(st & !OPEN))
}

/// Changes the state of a slot that is open with this generation to what
/// `next` makes of it (retried if the state changes meanwhile); `false`,
/// unchanged, if the slot is not open with this generation or `next`
/// declines (`None`).
fn update_open_slot(s: &Slot, generation: u32, next: impl Fn(u64) -> Option<u64>) -> bool {
    s.state
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |st| {
            if (st >> 32) as u32 != generation || st & OPEN == 0 {
                return None;
            }
            next(st)
        })
        .is_ok()
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
// Events: the registry (indexed by descriptor, chunks mapped on demand) and
// its handles.
// ---------------------------------------------------------------------------

/// Slots per chunk.
pub(crate) const CHUNK: usize = 4096;
/// Index bits of a handle: descriptor numbers up to `MAX_INDEX`.
#[cfg(target_pointer_width = "64")]
const INDEX_BITS: u32 = 24;
#[cfg(not(target_pointer_width = "64"))]
const INDEX_BITS: u32 = 20;
/// The highest descriptor number an event's slot can have.
pub(crate) const MAX_INDEX: usize = (1 << INDEX_BITS) - 1;
const CHUNKS: usize = (MAX_INDEX + 1) / CHUNK;

/// The chunks, mapped on first use and never unmapped or moved (a slot's
/// address is stable for the life of the process).
#[allow(clippy::declare_interior_mutable_const)]
const NO_CHUNK: AtomicPtr<Slot> = AtomicPtr::new(core::ptr::null_mut());
static EVENTS: [AtomicPtr<Slot>; CHUNKS] = [NO_CHUNK; CHUNKS];

/// The slot of index `i`, if its chunk exists.
fn slot(i: usize) -> Option<&'static Slot> {
    let c = EVENTS.get(i / CHUNK)?.load(Ordering::Acquire);
    // SAFETY: a mapped chunk of CHUNK slots, never unmapped.
    (!c.is_null()).then(|| unsafe { &*c.add(i % CHUNK) })
}

/// An anonymous private read-write mapping of `bytes` (zeroed, page
/// aligned), or `None`. Also the waiter's tables (`wait`) and the engine's
/// records and payload pool (`engine`).
pub(super) fn map_anon(bytes: usize) -> Option<*mut core::ffi::c_void> {
    // SAFETY: an anonymous private mapping.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANON,
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p)
}

/// The slot of index `i`, its chunk mapped if needed.
fn slot_or_map(i: usize) -> Result<&'static Slot, u32> {
    if let Some(s) = slot(i) {
        return Ok(s);
    }
    let cell = EVENTS.get(i / CHUNK).ok_or(ERROR_TOO_MANY_OPEN_FILES)?;
    let bytes = CHUNK * core::mem::size_of::<Slot>();
    // Zeroed pages are not a valid Slot yet, so every slot is written
    // before the chunk is published.
    let p = map_anon(bytes).ok_or(ERROR_NOT_ENOUGH_MEMORY)?;
    let chunk = p.cast::<Slot>();
    for k in 0..CHUNK {
        // SAFETY: within the fresh mapping, aligned (page-aligned base).
        unsafe { chunk.add(k).write(Slot::EMPTY) };
    }
    if let Err(other) = cell.compare_exchange(
        core::ptr::null_mut(),
        chunk,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        // Another thread mapped it first: use theirs.
        // SAFETY: our own mapping, never published.
        unsafe { libc::munmap(p, bytes) };
        // SAFETY: as in `slot`.
        return Ok(unsafe { &*other.add(i % CHUNK) });
    }
    // SAFETY: as in `slot`.
    Ok(unsafe { &*chunk.add(i % CHUNK) })
}

/// Low bits of every event handle: never null, never
/// `INVALID_HANDLE_VALUE` (all ones), never a valid aligned pointer to one of
/// the ICMP handles.
const TAG: usize = 0xE;
/// The generation bits a handle holds (the rest of a `usize`).
const GEN_BITS: u32 = usize::BITS - 4 - INDEX_BITS;

fn gen_mask() -> u32 {
    if GEN_BITS >= 32 {
        u32::MAX
    } else {
        (1u32 << GEN_BITS) - 1
    }
}

fn handle_of(id: Id) -> HANDLE {
    let g = (id.generation & gen_mask()) as usize;
    ((((g << INDEX_BITS) | id.index as usize) << 4) | TAG) as HANDLE
}

/// The slot and identity a handle names, if it is an event handle whose
/// generation matches the slot's.
fn id_of(h: HANDLE) -> Option<(&'static Slot, Id)> {
    let v = h as usize;
    if v & 0xF != TAG {
        return None;
    }
    let index = (v >> 4) & MAX_INDEX;
    let g = ((v >> (4 + INDEX_BITS)) as u64 & u64::from(u32::MAX)) as u32;
    let s = slot(index)?;
    // The handle holds the generation's low bits; compare them with the slot's.
    let full = (s.state.load(Ordering::Acquire) >> 32) as u32;
    (full & gen_mask() == g).then_some((
        s,
        Id {
            index: index as u32,
            generation: full,
        },
    ))
}

/// Takes the slot of a new primitive's read descriptor; `None` if it is
/// busy (a descriptor of ours closed behind the backend's back and its
/// number reused: the caller moves the descriptor).
fn claim(s: &Slot, raw: Raw, auto: bool) -> Option<u32> {
    let st = s.state.load(Ordering::Acquire);
    if st & (OPEN | REFS) != 0
        || s.state
            .compare_exchange(st, st | 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
    {
        return None;
    }
    s.rfd.store(raw.rfd, Ordering::Release);
    s.wfd.store(raw.wfd, Ordering::Release);
    s.flags
        .store(if auto { AUTO } else { 0 }, Ordering::Release);
    s.state.store(st | OPEN | 1, Ordering::Release);
    Some((st >> 32) as u32)
}

/// A reference to an event, held by a request from its send to its signal
/// (and by a registered wait while it is registered).
#[derive(Debug)]
pub(crate) struct EventRef(&'static Slot);

impl EventRef {
    /// References the event of `h`, or `None` for a handle that is not an
    /// open event of [`create`] (the send then fails with
    /// `ERROR_INVALID_HANDLE`).
    pub(crate) fn new(h: HANDLE) -> Option<EventRef> {
        let (s, id) = id_of(h)?;
        // `then`, not `then_some`: an EventRef built eagerly would be
        // dropped (released) when the acquisition fails.
        acquire_slot(s, id.generation).then(|| EventRef(s))
    }

    /// Unsignals the event (a request starting, as the Windows I/O manager
    /// clears an overlapped request's event; [`reset`]).
    pub(crate) fn reset(&self) {
        slot_reset(self.0);
    }

    /// Signals the event ([`set`]).
    pub(crate) fn set(&self) {
        slot_set(self.0);
    }

    /// Signals the event and drops the reference.
    pub(crate) fn signal(self) {
        slot_set(self.0);
        // Drop releases.
    }

    /// The descriptor that is readable while the event is signalled.
    pub(crate) fn rfd(&self) -> c_int {
        self.0.raw().rfd
    }

    /// Whether the event is auto reset.
    pub(crate) fn is_auto(&self) -> bool {
        self.0.flags.load(Ordering::Acquire) & AUTO != 0
    }

    /// Satisfies a wait if the event is signalled: `true` if it is (an
    /// auto-reset event is reset by it: only one caller gets `true` per
    /// signal). Never blocks.
    pub(crate) fn take(&self) -> bool {
        take_slot(self.0)
    }

    /// Waits until [`take`](Self::take) succeeds or `timeout_ms` elapsed
    /// (`u32::MAX`: no limit).
    pub(crate) fn wait(&self, timeout_ms: u32) -> bool {
        if !self.is_auto() {
            return self.0.raw().wait(timeout_ms);
        }
        let deadline = (timeout_ms != u32::MAX)
            .then(|| super::sock::now_ns().saturating_add(u64::from(timeout_ms) * 1_000_000));
        loop {
            if self.take() {
                return true;
            }
            let left = match deadline {
                None => u32::MAX,
                Some(d) => {
                    let now = super::sock::now_ns();
                    if now >= d {
                        return false;
                    }
                    (d - now).div_ceil(1_000_000).min(u64::from(u32::MAX - 1)) as u32
                }
            };
            // Readable: signalled; another waiter may take it first, then
            // this one waits again.
            self.0.raw().wait(left);
        }
    }
}

impl Drop for EventRef {
    fn drop(&mut self) {
        release_slot(self.0);
    }
}

/// Pipes, auto reset: runs `f` with the slot's lock bit held.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn locked<R>(s: &Slot, f: impl FnOnce() -> R) -> R {
    let mut spins = 0u32;
    while s.flags.fetch_or(LOCKED, Ordering::Acquire) & LOCKED != 0 {
        spins += 1;
        if spins < 64 {
            core::hint::spin_loop();
        } else {
            // SAFETY: no preconditions.
            unsafe { libc::sched_yield() };
        }
    }
    let r = f();
    s.flags.fetch_and(!LOCKED, Ordering::Release);
    r
}

fn slot_set(s: &Slot) {
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    if s.flags.load(Ordering::Acquire) & AUTO != 0 {
        // One byte while signalled: a set of a signalled event adds nothing.
        locked(s, || {
            if s.flags.fetch_or(SIGNALLED, Ordering::AcqRel) & SIGNALLED == 0 {
                s.raw().set();
            }
        });
        return;
    }
    // eventfd: the counter only grows; one read (take) zeroes it.
    s.raw().set();
}

fn slot_reset(s: &Slot) {
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    if s.flags.load(Ordering::Acquire) & AUTO != 0 {
        locked(s, || {
            if s.flags.fetch_and(!SIGNALLED, Ordering::AcqRel) & SIGNALLED != 0 {
                s.raw().take_byte();
            }
        });
        return;
    }
    s.raw().reset();
}

fn take_slot(s: &Slot) -> bool {
    let raw = s.raw();
    if s.flags.load(Ordering::Acquire) & AUTO == 0 {
        return raw.wait(0);
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        raw.take()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        locked(s, || {
            let was = s.flags.fetch_and(!SIGNALLED, Ordering::AcqRel) & SIGNALLED != 0;
            if was {
                raw.take_byte();
            }
            was
        })
    }
}

/// Creates an event (`manual_reset`, `initial_state` as `CreateEventW`'s
/// flags): its handle (for the `Event` parameter of `IcmpSendEcho2`,
/// `IcmpSendEcho2Ex`, `Icmp6SendEcho2`), or the Win32 error:
/// `ERROR_TOO_MANY_OPEN_FILES` when the process or the system has no
/// descriptor left (`EMFILE`, `ENFILE`), `ERROR_NOT_ENOUGH_MEMORY` when the
/// kernel has no memory for one.
pub(crate) fn create(manual_reset: bool, initial_state: bool) -> Result<HANDLE, u32> {
    let mut raw = Raw::new_or_errno().map_err(|e| match e {
        libc::EMFILE | libc::ENFILE => ERROR_TOO_MANY_OPEN_FILES,
        e => create_error(e),
    })?;
    for _ in 0..8 {
        let s = match slot_or_map(raw.rfd as usize) {
            Ok(s) => s,
            Err(e) => {
                raw.close();
                return Err(e);
            }
        };
        if let Some(generation) = claim(s, raw, !manual_reset) {
            let id = Id {
                index: raw.rfd as u32,
                generation,
            };
            if initial_state {
                slot_set(s);
            }
            return Ok(handle_of(id));
        }
        // The slot is busy: move the read descriptor to another number.
        // SAFETY: our own descriptor.
        let moved = unsafe { libc::fcntl(raw.rfd, libc::F_DUPFD_CLOEXEC, 0) };
        if moved < 0 {
            let e = errno();
            raw.close();
            return Err(match e {
                libc::EMFILE | libc::ENFILE => ERROR_TOO_MANY_OPEN_FILES,
                e => create_error(e),
            });
        }
        let old = raw.rfd;
        raw.rfd = moved;
        if raw.wfd == old {
            raw.wfd = moved;
        }
        // SAFETY: our own descriptor, replaced by `moved`.
        unsafe { libc::close(old) };
    }
    raw.close();
    Err(crate::ipexport::ERROR_GEN_FAILURE)
}

/// Signals the event; `false` for an unknown handle.
pub(crate) fn set(h: HANDLE) -> bool {
    EventRef::new(h).map(|r| r.set()).is_some()
}

/// Unsignals the event; `false` for an unknown handle.
pub(crate) fn reset(h: HANDLE) -> bool {
    EventRef::new(h).map(|r| r.reset()).is_some()
}

/// Waits until the event is signalled (`true`) or `timeout_ms` elapsed
/// (`false`; `u32::MAX` = no limit). Resets an auto-reset event (the
/// satisfied wait), not a manual-reset one. `false` at once for an unknown
/// handle.
pub(crate) fn wait(h: HANDLE, timeout_ms: u32) -> bool {
    EventRef::new(h).is_some_and(|r| r.wait(timeout_ms))
}

/// Closes the event; `false` for an unknown (or already closed) handle.
/// Requests still holding it signal it first; its descriptors are closed
/// after the last of them.
pub(crate) fn close(h: HANDLE) -> bool {
    id_of(h).is_some_and(|(s, id)| {
        let ok = mark_closed_slot(s, id.generation);
        if ok {
            release_slot(s);
        }
        ok
    })
}

/// The descriptor that is readable while the event is signalled, or -1 for
/// an unknown handle. Valid until [`close`]; do not read or close it.
pub(crate) fn fd(h: HANDLE) -> libc::c_int {
    EventRef::new(h).map_or(-1, |r| r.rfd())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "makes syscalls (eventfd, poll)")]
    fn manual_reset_and_foreign_handles() {
        let h = create(true, false).unwrap();
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
        let h2 = create(true, false).unwrap();
        assert_ne!(h2, h);
        assert!(!set(h));
        assert!(close(h2));
    }
}
