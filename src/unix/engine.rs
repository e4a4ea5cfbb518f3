//! The request engine of asynchronous sends: one completion thread per
//! process over a few shared sockets.
//!
//! - **Sockets**: one per address family and kind (ping socket / raw
//!   socket) and network namespace (Linux: the sending thread's, as a
//!   synchronous send would use; at most [`MAX_SOCKETS`]), opened on first
//!   use by the sending thread, non-blocking, shared by every request in
//!   flight. Replies and errors are demultiplexed by (identifier,
//!   sequence): a ping socket's identifier is the kernel's (one per socket),
//!   a raw socket's is the process's own; the sequence (one process-wide
//!   space of 65 536, handed out in cycle order) names the request's record
//!   through a table. The record then checks the message fully (source,
//!   quoted destination, echoed data) with the same classification as the
//!   synchronous path. **Reuse bound** (issue 14, item 4): a sequence is
//!   not handed out again while a request holds it, nor until its last
//!   request has been completed for its timeout (counted up to
//!   [`HOLD_MAX_MS`]) plus [`HOLD_MARGIN_MS`]: an answer to it that arrives
//!   within that time can only be dropped, never taken for a newer request.
//!   Only when every free sequence is still held (more than 49 152 requests
//!   completed within their hold times) is the one held longest reused
//!   early.
//! - **Sockets in use** (item 6): a shared socket with no request in flight
//!   for [`IDLE_MS`] is closed by the completion thread (releasing its
//!   network namespace); when all [`MAX_SOCKETS`] are open, a send from a
//!   new namespace takes the place of one with no request in flight (the
//!   limit counts sockets in use); the socket it replaces is closed by the
//!   completion thread, never under its poll.
//!   Per-request TTL, TOS, DF and IP options are socket options, set right
//!   before the request's `sendmsg` under that socket's own lock held
//!   exclusively, and only when they differ from the socket's current ones
//!   (requests with the current options — the default — send under it held
//!   shared: see `Sender`); the source address goes in
//!   an `IP_PKTINFO` / `IPV6_PKTINFO` control message (Linux; ignored on
//!   macOS/FreeBSD).
//! - **One completion thread** (`pthread_create`, started on first use,
//!   all signals blocked) polls the sockets and a wake primitive, with the
//!   earliest deadline (an indexed binary heap) as its timeout. It writes
//!   the reply buffer (the synchronous path's writer), fills the
//!   `IO_STATUS_BLOCK`, signals the event, queues the APC to the issuing
//!   thread. Never a thread per request.
//! - **Decided by arrival** (issue 14, item 2): the shared sockets stamp
//!   what they receive with its arrival time (`SO_TIMESTAMPNS`; elsewhere
//!   `SO_TIMESTAMP`). Each round of the completion thread notes its start,
//!   then reads every socket open at that time (one opened meanwhile
//!   included) until it is empty or a message arrived after the start, and
//!   only then expires the requests whose deadline is at or before the
//!   start. An answer decides its request if it arrived by the request's
//!   deadline or by the request's first check (the first drain of its
//!   socket in a round that started after it entered the deadline heap, its
//!   `sendmsg` returned), however late the thread reads it; a later one does
//!   not (the request times out, as on Windows). A deadline is never
//!   earlier than 20 ms after the request entered the heap
//!   (`FIRST_CHECK_NS`: loaded kernels deliver loopback answers up to
//!   milliseconds late at bursts), so timeout 0 keeps its meaning: a
//!   loopback reply wins, as for a synchronous send. The round trip is
//!   measured to the arrival.
//! - **Locks**: the engine lock is a `pthread` mutex (waiters park, no
//!   yield storms), never held across a syscall on the send path: the
//!   record is made under it, the event reset and the `sendmsg` happen
//!   outside it, the record enters the heap under it after the send (an
//!   answer matched before that is kept in the record and completed by the
//!   sender). One-time work stays under it: starting the thread, opening a
//!   shared socket.
//! - **Quick answers** (Linux): after its `sendmsg` returned, the sender of
//!   a request sent while no other waits for its answer reads what its
//!   socket already holds (a loopback answer is there) if no
//!   other thread is reading it (`reading`), so a sequential async echo
//!   completes without two thread wake-ups; the completion thread skips a
//!   socket a sender is reading and expires nothing in that round, and
//!   while no request waits in the heap it polls its wake alone (so such an
//!   answer does not wake it either) and expires nothing in that round.
//! - **Bounded**: [`MAX_IN_FLIGHT`] requests in flight per process; the next
//!   send fails at once with `ERROR_NOT_ENOUGH_MEMORY`. Storage is `mmap`ed
//!   once (no heap, no `alloc`); a request's data up to [`INLINE`] bytes is
//!   copied into its record, larger data (up to 65 535 bytes) into a buffer
//!   of the size-classed `pool` (reused: no `mmap`/`munmap` per request).
//! - **fork** (item 5): a child does not inherit the engine:
//!   `pthread_atfork` handlers, registered before the engine creates
//!   anything, reset it in the child: the parent's requests never complete
//!   there (their buffers are the parent's), their records are freed, the
//!   event references they held released (an event the child closes, or
//!   has closed, has its descriptors closed), their payload buffers given
//!   back, the shared sockets and the wake primitive closed; the child's
//!   first async send starts a new completion thread. (The APC queues reset
//!   themselves: `apc` registers its own handler before its first queue.)
//! - **Never stuck** (item 5): the completion thread polls only the open
//!   sockets and its wake primitive (at most 17 descriptors, all open, so
//!   never more than `RLIMIT_NOFILE`); if `poll` fails all the same (a limit
//!   lowered below what is open), it never spins: it sleeps (1 ms, doubling
//!   up to 64 ms, never past the next deadline) and reads every socket
//!   without waiting, so requests still complete. A send that cannot get a
//!   descriptor (`EMFILE`, `ENFILE`) fails at once with
//!   `ERROR_NOT_ENOUGH_MEMORY`.
//!
//! Layer: the asynchronous path (beside `cache`, never using it); may use:
//! `apc`, `event`, `sock`, `reply`.

use super::apc::{Records, ThreadRef};
use super::event::{EventRef, Raw, map_anon};
use super::reply::{self, Expect, Outcome};
use super::sock::{self, Desc, Fd, Kind, NO_SOCKET, Request, Shared, SocketMode};
use crate::ipexport::*;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::mem::{MaybeUninit, size_of, zeroed};
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU32, Ordering};
use libc::c_int;

const INDEX_BITS: u32 = 14;
/// The most asynchronous requests in flight at once per process.
pub(crate) const MAX_IN_FLIGHT: usize = 1 << INDEX_BITS;
/// Request data up to this size is kept in the request's record.
pub(crate) const INLINE: usize = 128;

/// The sequences of the process's async requests (one 16-bit space).
const SEQS: usize = 1 << 16;
/// A completed request's sequence is held for its timeout, counted up to
/// this many milliseconds, ...
pub(crate) const HOLD_MAX_MS: u64 = 60_000;
/// ... plus this margin, before it is handed out again.
pub(crate) const HOLD_MARGIN_MS: u64 = 1_000;
/// A shared socket with no request in flight for this long is closed.
pub(crate) const IDLE_MS: u64 = 5_000;

// ---------------------------------------------------------------------------
// Lock
// ---------------------------------------------------------------------------

/// A `pthread` mutex: a waiter parks in the kernel (futex) instead of
/// spinning or yielding; critical sections are short and make no syscall
/// (no `sendmsg`, `setsockopt`, `read`/`write` of a wake or event under it);
/// held across `fork` by the forking thread (prepare handler), released in
/// both parent and child.
struct Mutex(UnsafeCell<libc::pthread_mutex_t>);

// SAFETY: a pthread mutex is made to be shared between threads.
unsafe impl Sync for Mutex {}

impl Mutex {
    const fn new() -> Self {
        Mutex(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER))
    }

    fn lock(&'static self) -> Guard {
        // SAFETY: an initialised mutex; not recursive (no caller locks twice).
        unsafe { libc::pthread_mutex_lock(self.0.get()) };
        Guard(self)
    }
}

struct Guard(&'static Mutex);

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: locked by this thread (`Mutex::lock`).
        unsafe { libc::pthread_mutex_unlock(self.0.0.get()) };
    }
}

/// The engine lock: records, free list, deadline heap, socket table.
static LOCK: Mutex = Mutex::new();

// ---------------------------------------------------------------------------
// Payload pool
// ---------------------------------------------------------------------------

/// The request data of records over [`INLINE`] bytes: size-classed buffers
/// (256 B, 512 B, … 64 KiB), reused, so an async echo of any size up to
/// 65 500 bytes makes no `mmap`/`munmap` and no heap allocation once the
/// pool holds what the process keeps in flight.
///
/// Classes below 4 KiB are carved from 64 KiB mappings and kept for the
/// process's life (at most as many as were in flight at once: ≤ 16 384 ×
/// 3.75 KiB); classes of 4 KiB and more are one mapping each, kept while the
/// idle ones total at most [`pool::IDLE_LIMIT`], unmapped past it. Free
/// buffers are linked through their first word; the pool's own mutex is
/// held only to push or pop (mappings are made and unmapped outside it).
mod pool {
    use super::{Mutex, map};
    use core::cell::UnsafeCell;
    use core::ptr;

    const MIN_SHIFT: u32 = 8;
    const CLASSES: usize = 9; // 256 B ..= 64 KiB
    /// Classes from this one on are one mapping per buffer.
    const FIRST_LARGE: usize = 4; // 4 KiB
    const CHUNK: usize = 64 * 1024;
    /// The most idle bytes of the large classes kept for reuse.
    pub(super) const IDLE_LIMIT: usize = 32 << 20;

    struct Free {
        heads: [*mut u8; CLASSES],
        idle_large: usize,
    }

    struct Pool(UnsafeCell<Free>);
    // SAFETY: every access holds LOCK below (or is a fork child's single
    // thread).
    unsafe impl Sync for Pool {}

    static LOCK: Mutex = Mutex::new();
    static POOL: Pool = Pool(UnsafeCell::new(Free {
        heads: [ptr::null_mut(); CLASSES],
        idle_large: 0,
    }));

    /// A class's buffer size.
    const fn size(class: usize) -> usize {
        1 << (MIN_SHIFT as usize + class)
    }

    /// The class of `len` bytes (1 ..= 65 536).
    fn class_of(len: usize) -> usize {
        let bits = usize::BITS - (len.max(1) - 1).leading_zeros();
        bits.saturating_sub(MIN_SHIFT) as usize
    }

    fn pop(class: usize) -> Option<*mut u8> {
        let _g = LOCK.lock();
        // SAFETY: under the pool lock.
        let f = unsafe { &mut *POOL.0.get() };
        let p = f.heads[class];
        if p.is_null() {
            return None;
        }
        // SAFETY: a free buffer of this class: its first word links the next.
        f.heads[class] = unsafe { p.cast::<*mut u8>().read() };
        if class >= FIRST_LARGE {
            f.idle_large -= size(class);
        }
        Some(p)
    }

    /// Links a chain `first ..= last` (linked through their first words)
    /// into a class's free list.
    fn push_chain(class: usize, first: *mut u8, last: *mut u8, bytes: usize) {
        let _g = LOCK.lock();
        // SAFETY: under the pool lock; the chain is the caller's.
        let f = unsafe { &mut *POOL.0.get() };
        // SAFETY: last is a buffer of the chain, at least a word long.
        unsafe { last.cast::<*mut u8>().write(f.heads[class]) };
        f.heads[class] = first;
        if class >= FIRST_LARGE {
            f.idle_large += bytes;
        }
    }

    /// A buffer for `len` bytes (129 ..= 65 536): (buffer, class).
    pub(super) fn take(len: usize) -> Option<(*mut u8, u8)> {
        let class = class_of(len);
        debug_assert!(class < CLASSES && size(class) >= len);
        if let Some(p) = pop(class) {
            return Some((p, class as u8));
        }
        let n = if class >= FIRST_LARGE {
            1
        } else {
            CHUNK / size(class)
        };
        let base = map(size(class) * n)?;
        if n > 1 {
            // Keep the first, link the rest.
            for k in 1..n - 1 {
                // SAFETY: inside the fresh mapping; word-aligned offsets.
                unsafe {
                    base.add(k * size(class))
                        .cast::<*mut u8>()
                        .write(base.add((k + 1) * size(class)))
                };
            }
            // SAFETY: inside the fresh mapping.
            let (first, last) = unsafe { (base.add(size(class)), base.add((n - 1) * size(class))) };
            push_chain(class, first, last, 0);
        }
        Some((base, class as u8))
    }

    /// Gives back a buffer from [`take`].
    pub(super) fn give(p: *mut u8, class: u8) {
        let class = usize::from(class);
        if class >= FIRST_LARGE {
            let _g = LOCK.lock();
            // SAFETY: under the pool lock.
            let f = unsafe { &mut *POOL.0.get() };
            if f.idle_large + size(class) > IDLE_LIMIT {
                drop(_g);
                // SAFETY: a mapping of size(class) bytes made by take.
                unsafe { libc::munmap(p.cast(), size(class)) };
                return;
            }
        }
        push_chain(class, p, p, size(class));
    }

    /// In a fork child: the pool lock may be held by a thread that does not
    /// exist here (the free lists themselves are whole: pushes and pops
    /// finish under the lock).
    pub(super) fn after_fork_child() {
        // SAFETY: single-threaded here; re-initialises the lock.
        unsafe { *LOCK.0.get() = libc::PTHREAD_MUTEX_INITIALIZER };
    }

    #[cfg(all(test, any(target_os = "linux", target_os = "android")))]
    pub(super) fn class_of_for_test(len: usize) -> (usize, usize) {
        let c = class_of(len);
        (c, size(c))
    }
}

// ---------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------

const FREE: u32 = 0;
/// Sent, waiting: in the deadline heap, matchable by the completion thread.
const ACTIVE: u32 = 1;
/// Taken for completion (or completed, APC queued): owned by its completer.
const DONE: u32 = 2;

/// `Rec::heap_pos` of a record not (yet) in the deadline heap.
const NOT_IN_HEAP: usize = usize::MAX;

/// How a request reports completion.
pub(crate) struct Notify {
    /// The event to signal.
    pub(crate) event: Option<EventRef>,
    /// The APC routine, its context, and the issuing thread.
    pub(crate) apc: PIO_APC_ROUTINE,
    pub(crate) ctx: *mut c_void,
    pub(crate) thread: Option<ThreadRef>,
}

struct Rec {
    sock: usize,
    /// The serial of the socket it was sent on (a slot's socket may be
    /// replaced).
    serial: u32,
    v6: bool,
    ident: Option<u16>,
    seq: u16,
    dst: [u8; 16],
    scope_id: u32,
    t0: u64,
    deadline: u64,
    /// How long its sequence is held after completion (ns).
    hold: u64,
    /// Its position in the deadline heap; [`NOT_IN_HEAP`] until its send
    /// returned.
    heap_pos: usize,
    /// When it entered the deadline heap, its `sendmsg` returned
    /// (`u64::MAX` until then).
    sent_at: u64,
    /// What the completion thread matched before the send returned (set
    /// under the engine lock while the sender may read the record: a Cell).
    early: core::cell::Cell<Option<Outcome>>,
    payload_len: usize,
    /// Its data when over [`INLINE`] bytes: a [`pool`] buffer and its class.
    mapped: *mut u8,
    class: u8,
    inline: [u8; INLINE],
    reply: *mut u8,
    reply_size: usize,
    notify: Notify,
    iosb: IO_STATUS_BLOCK,
    /// The `IO_STATUS_BLOCK`'s `Status` at completion (0; a refused
    /// request's, see [`submit`]).
    ntstatus: NTSTATUS,
}

impl Rec {
    fn payload(&self) -> &[u8] {
        if self.mapped.is_null() {
            &self.inline[..self.payload_len]
        } else {
            // SAFETY: a mapping of payload_len bytes owned by the record.
            unsafe { core::slice::from_raw_parts(self.mapped, self.payload_len) }
        }
    }
}

struct Slot {
    state: AtomicU32,
    /// The APC queue link (see `apc`): next record + 1, 0 = end.
    link: AtomicU32,
    rec: UnsafeCell<MaybeUninit<Rec>>,
}

/// The records, mapped once; stable for the process's life.
static SLOTS: AtomicPtr<Slot> = AtomicPtr::new(ptr::null_mut());

fn slot(i: u32) -> &'static Slot {
    let base = SLOTS.load(Ordering::Acquire);
    debug_assert!(!base.is_null() && (i as usize) < MAX_IN_FLIGHT);
    // SAFETY: the mapping holds MAX_IN_FLIGHT slots and is never unmapped;
    // all-zero bytes are a valid Slot (atomics, MaybeUninit).
    unsafe { &*base.add(i as usize) }
}

/// The record of a slot.
///
/// # Safety
/// The caller holds the engine lock with the slot ACTIVE (read only), or
/// owns the slot (DONE, taken by the caller; or FREE under the lock).
#[allow(clippy::mut_from_ref)]
unsafe fn rec(i: u32) -> &'static mut Rec {
    // SAFETY: per the contract; initialised at submit before ACTIVE.
    unsafe { (*slot(i).rec.get()).assume_init_mut() }
}

/// A shared view of a record.
///
/// # Safety
/// The caller holds the engine lock with the slot ACTIVE, or owns the slot.
unsafe fn rec_ref(i: u32) -> &'static Rec {
    // SAFETY: per the contract; initialised at submit before ACTIVE.
    unsafe { (*slot(i).rec.get()).assume_init_ref() }
}

/// The engine's records as the APC queues see them.
static APC_RECORDS: Records = Records {
    link: apc_link,
    set_link: set_apc_link,
    run: run_apc,
    discard: discard_apc,
};

fn apc_link(i: u32) -> u32 {
    slot(i).link.load(Ordering::Acquire)
}

fn set_apc_link(i: u32, next: u32) {
    slot(i).link.store(next, Ordering::Release);
}

// ---------------------------------------------------------------------------
// Shared sockets
// ---------------------------------------------------------------------------

/// The most shared sockets open at once: one per family and kind (4) in
/// each network namespace the process sends from asynchronously. A socket
/// with no request in flight makes room for another (and is closed after
/// [`IDLE_MS`] anyway); past 16 sockets with requests in flight, an async
/// send from yet another namespace fails at once with
/// `ERROR_NOT_ENOUGH_MEMORY`.
pub(crate) const MAX_SOCKETS: usize = 16;

/// The network namespace of the calling thread (Linux: the inode of
/// `/proc/thread-self/ns/net`; 0 if unknown, and on other systems).
///
/// Read at every send (a thread may change namespace between sends), with
/// `readlink` of the thread's own `ns/net` link held open (`ns_link`):
/// a `stat` of the path made the kernel walk `/proc/thread-self` and
/// allocate a dentry and inode each time (~1/4 of `examples/ping_many`'s
/// CPU). The link names the thread's current namespace when it is read.
fn current_netns() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if let Some(ino) = ns_link::read() {
            return ino;
        }
        // SAFETY: all-zero is a valid stat.
        let mut st: libc::stat = unsafe { zeroed() };
        // SAFETY: st is a valid out-pointer; the path is NUL-terminated.
        if unsafe { libc::stat(c"/proc/thread-self/ns/net".as_ptr(), &mut st) } == 0 {
            return st.st_ino;
        }
    }
    0
}

/// Each thread's `/proc/thread-self/ns/net` link itself (`O_PATH |
/// O_NOFOLLOW`), opened on its first asynchronous send, closed at its exit
/// (a `pthread` key's destructor); `readlinkat(fd, "")` gives
/// `net:[<inode>]` of the thread's namespace at that moment. A `fork` child
/// reopens its own (the inherited descriptor names the parent's thread): a
/// fork count, bumped by a `pthread_atfork` child handler, tells.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod ns_link {
    use core::ffi::c_void;
    use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
    use libc::c_int;

    struct Link {
        fd: c_int,
        forks: u32,
    }

    /// The key + 1 (0: not created yet).
    static KEY: AtomicUsize = AtomicUsize::new(0);
    static FORKS: AtomicU32 = AtomicU32::new(0);

    extern "C" fn bump() {
        FORKS.fetch_add(1, Ordering::Relaxed);
    }

    extern "C" fn destroy(p: *mut c_void) {
        let l = p.cast::<Link>();
        // SAFETY: a Link malloc'ed by `read`, ours alone (its thread exits).
        unsafe {
            if (*l).fd >= 0 {
                libc::close((*l).fd);
            }
            libc::free(p);
        }
    }

    fn key() -> Option<libc::pthread_key_t> {
        if let Some(k) = KEY.load(Ordering::Acquire).checked_sub(1) {
            return Some(k as libc::pthread_key_t);
        }
        let mut k: libc::pthread_key_t = 0;
        // SAFETY: k is a valid out-pointer; destroy frees what read made.
        if unsafe { libc::pthread_key_create(&mut k, Some(destroy)) } != 0 {
            return None;
        }
        match KEY.compare_exchange(0, k as usize + 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                // SAFETY: a handler that only bumps an atomic.
                unsafe { libc::pthread_atfork(None, None, Some(bump)) };
                Some(k)
            }
            Err(won) => {
                // SAFETY: our unused key.
                unsafe { libc::pthread_key_delete(k) };
                Some((won - 1) as libc::pthread_key_t)
            }
        }
    }

    /// The calling thread's open link, if it can be had.
    fn fd() -> Option<c_int> {
        let k = key()?;
        // SAFETY: a valid key.
        let mut l = unsafe { libc::pthread_getspecific(k) }.cast::<Link>();
        if l.is_null() {
            // SAFETY: plain allocation, checked.
            l = unsafe { libc::malloc(core::mem::size_of::<Link>()) }.cast();
            if l.is_null() {
                return None;
            }
            // SAFETY: a fresh allocation of a Link.
            unsafe { l.write(Link { fd: -1, forks: 0 }) };
            // SAFETY: a valid key; l is this thread's.
            if unsafe { libc::pthread_setspecific(k, l.cast()) } != 0 {
                // SAFETY: ours, never published.
                unsafe { libc::free(l.cast()) };
                return None;
            }
        }
        let forks = FORKS.load(Ordering::Relaxed);
        // SAFETY: this thread's Link (only it and its exit touch it).
        let l = unsafe { &mut *l };
        if l.fd >= 0 && l.forks != forks {
            // Inherited through fork: it names the parent's thread.
            // SAFETY: our descriptor (the child's copy).
            unsafe { libc::close(l.fd) };
            l.fd = -1;
        }
        if l.fd < 0 {
            // SAFETY: a NUL-terminated path.
            l.fd = unsafe {
                libc::open(
                    c"/proc/thread-self/ns/net".as_ptr(),
                    libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                )
            };
            l.forks = forks;
        }
        (l.fd >= 0).then_some(l.fd)
    }

    /// The inode of the calling thread's network namespace, read now.
    pub(super) fn read() -> Option<u64> {
        let fd = fd()?;
        let mut buf = [0u8; 64];
        // SAFETY: buf is writable for its length; "" with an O_PATH link
        // descriptor reads that link (Linux >= 2.6.39).
        let n = unsafe { libc::readlinkat(fd, c"".as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        let text = buf.get(..usize::try_from(n).ok()?)?;
        parse(text)
    }

    /// `net:[<inode>]` -> inode.
    pub(super) fn parse(text: &[u8]) -> Option<u64> {
        let digits = text.strip_prefix(b"net:[")?.strip_suffix(b"]")?;
        if digits.is_empty() || digits.len() > 20 {
            return None;
        }
        digits.iter().try_fold(0u64, |v, &d| {
            d.is_ascii_digit()
                .then(|| v.checked_mul(10)?.checked_add(u64::from(d - b'0')))?
        })
    }
}

struct State {
    ready: bool,
    socks: [Shared; MAX_SOCKETS],
    wake: Raw,
    /// Free record indices (a stack) and its length.
    free: *mut u32,
    nfree: usize,
    /// The deadline heap (record indices) and its length.
    heap: *mut u32,
    nheap: usize,
    /// The deadline the completion thread is sleeping until.
    wait_until: u64,
    /// The identifier of raw-socket requests.
    raw_ident: u16,
    /// The completion thread's current and previous round starts (see
    /// `Round`), for senders that read their own quick answer.
    round: (u64, u64),
    /// Per shared socket: requests in flight on it (counted from the making
    /// of their record to their `take`, so a socket a sender may still be
    /// sending on or reading is never closed or replaced), when it last had
    /// one (ns), its serial (bumped whenever the slot gets a new socket).
    inflight: [u32; MAX_SOCKETS],
    last_used: [u64; MAX_SOCKETS],
    serial: [u32; MAX_SOCKETS],
    next_serial: u32,
    /// Sockets taken out of their slot while the completion thread may be
    /// polling them: it closes them (never a descriptor number reused under
    /// its poll).
    retired: [c_int; MAX_SOCKETS],
    nretired: usize,
    /// The next sequence to try, and per sequence: the record holding it
    /// (index + 1; 0 = none) and when it may be handed out again (ns).
    next_seq: u16,
    owner: *mut u32,
    free_at: *mut u64,
}

struct Global(UnsafeCell<State>);
// SAFETY: every access holds LOCK (or is the fork child's single thread).
unsafe impl Sync for Global {}

static STATE: Global = Global(UnsafeCell::new(State {
    ready: false,
    socks: [NO_SOCKET; MAX_SOCKETS],
    wake: Raw { rfd: -1, wfd: -1 },
    free: ptr::null_mut(),
    nfree: 0,
    heap: ptr::null_mut(),
    nheap: 0,
    wait_until: u64::MAX,
    raw_ident: 0,
    round: (0, 0),
    inflight: [0; MAX_SOCKETS],
    last_used: [0; MAX_SOCKETS],
    serial: [0; MAX_SOCKETS],
    next_serial: 0,
    retired: [-1; MAX_SOCKETS],
    nretired: 0,
    next_seq: 0,
    owner: ptr::null_mut(),
    free_at: ptr::null_mut(),
}));

/// The state, under the lock.
#[allow(clippy::mut_from_ref)]
fn state(_g: &Guard) -> &mut State {
    // SAFETY: the guard proves the lock is held; one &mut at a time per
    // critical section (callers do not keep it across unlock).
    unsafe { &mut *STATE.0.get() }
}

/// An anonymous private mapping of `bytes` (zeroed, page aligned), as bytes.
fn map(bytes: usize) -> Option<*mut u8> {
    map_anon(bytes).map(|p| p.cast())
}

// ---------------------------------------------------------------------------
// Deadline heap (indexed: a record knows its position)
// ---------------------------------------------------------------------------

impl State {
    fn heap_at(&self, pos: usize) -> u32 {
        // SAFETY: pos < nheap <= MAX_IN_FLIGHT.
        unsafe { *self.heap.add(pos) }
    }

    fn heap_put(&mut self, pos: usize, i: u32) {
        // SAFETY: pos < MAX_IN_FLIGHT; records in the heap are ACTIVE,
        // accessed under the lock.
        unsafe {
            *self.heap.add(pos) = i;
            rec(i).heap_pos = pos;
        }
    }

    fn key(&self, pos: usize) -> u64 {
        // SAFETY: an ACTIVE record, under the lock.
        unsafe { rec(self.heap_at(pos)).deadline }
    }

    fn sift_up(&mut self, mut pos: usize) {
        let i = self.heap_at(pos);
        // SAFETY: as in key.
        let k = unsafe { rec(i).deadline };
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if self.key(parent) <= k {
                break;
            }
            let p = self.heap_at(parent);
            self.heap_put(pos, p);
            pos = parent;
        }
        self.heap_put(pos, i);
    }

    fn sift_down(&mut self, mut pos: usize) {
        let i = self.heap_at(pos);
        // SAFETY: as in key.
        let k = unsafe { rec(i).deadline };
        loop {
            let l = 2 * pos + 1;
            if l >= self.nheap {
                break;
            }
            let r = l + 1;
            let c = if r < self.nheap && self.key(r) < self.key(l) {
                r
            } else {
                l
            };
            if self.key(c) >= k {
                break;
            }
            let ci = self.heap_at(c);
            self.heap_put(pos, ci);
            pos = c;
        }
        self.heap_put(pos, i);
    }

    fn heap_push(&mut self, i: u32) {
        let pos = self.nheap;
        self.nheap += 1;
        self.heap_put(pos, i);
        self.sift_up(pos);
    }

    fn heap_remove(&mut self, i: u32) {
        // SAFETY: an ACTIVE record, under the lock.
        let pos = unsafe { rec(i).heap_pos };
        self.nheap -= 1;
        if pos != self.nheap {
            let last = self.heap_at(self.nheap);
            self.heap_put(pos, last);
            self.sift_down(pos);
            self.sift_up(pos);
        }
    }

    /// Takes an ACTIVE record for completion: out of the heap (if its send
    /// had returned), DONE; its sequence held (see the module docs), its
    /// socket one request less busy.
    fn take(&mut self, i: u32) {
        // SAFETY: an ACTIVE record, under the lock.
        if unsafe { rec(i).heap_pos } != NOT_IN_HEAP {
            self.heap_remove(i);
        }
        // SAFETY: as above (DONE only below).
        let (seq, hold, sidx) = unsafe {
            let r = rec_ref(i);
            (usize::from(r.seq), r.hold, r.sock)
        };
        let now = sock::now_ns();
        // SAFETY: seq < SEQS, the tables' length.
        unsafe {
            *self.owner.add(seq) = 0;
            *self.free_at.add(seq) = now.saturating_add(hold);
        }
        self.inflight[sidx] -= 1;
        self.last_used[sidx] = now;
        slot(i).state.store(DONE, Ordering::Release);
    }

    /// A sequence for a new request: the next one in cycle order that no
    /// request holds and whose hold has ended; if every free one is still
    /// held, the free one that comes first in cycle order (held longest).
    /// Always found: at most 16 384 of the 65 536 are in flight.
    fn alloc_seq(&mut self, now: u64) -> u16 {
        let mut early = None;
        for n in 0..SEQS {
            let seq = self.next_seq;
            self.next_seq = seq.wrapping_add(1);
            let k = usize::from(seq);
            // SAFETY: k < SEQS.
            let (owner, free_at) = unsafe { (*self.owner.add(k), *self.free_at.add(k)) };
            if owner != 0 {
                continue;
            }
            if free_at <= now {
                return seq;
            }
            early.get_or_insert(seq);
            if n >= 64 {
                break;
            }
        }
        let seq = early.expect("a sequence no request holds");
        self.next_seq = seq.wrapping_add(1);
        seq
    }

    /// The record holding `seq`, if any.
    fn owner_of(&self, seq: u16) -> Option<u32> {
        // SAFETY: seq < SEQS.
        let o = unsafe { *self.owner.add(usize::from(seq)) };
        o.checked_sub(1)
    }
}

// ---------------------------------------------------------------------------
// Start, fork
// ---------------------------------------------------------------------------

/// [`register_fork_handlers`]' progress: not yet, under way, done.
static ATFORK: AtomicU8 = AtomicU8::new(ATFORK_NONE);
const ATFORK_NONE: u8 = 0;
const ATFORK_REGISTERING: u8 = 1;
const ATFORK_DONE: u8 = 2;

extern "C" fn fork_prepare() {
    core::mem::forget(LOCK.lock());
}

extern "C" fn fork_parent() {
    // SAFETY: locked by this thread in fork_prepare.
    unsafe { libc::pthread_mutex_unlock(LOCK.0.get()) };
}

extern "C" fn fork_child() {
    // Single-threaded here: the parent's completion thread does not exist.
    // SAFETY: no other thread can touch the state.
    let st = unsafe { &mut *STATE.0.get() };
    if st.ready {
        for s in &mut st.socks {
            if s.fd >= 0 {
                // SAFETY: our descriptor (a copy of the parent's).
                unsafe { libc::close(s.fd) };
            }
            *s = NO_SOCKET;
        }
        close_retired(st);
        st.wake.close();
        st.inflight = [0; MAX_SOCKETS];
        st.ready = false;
    }
    for c in &SENDERS {
        // SAFETY: single-threaded here: no sender holds it any more (a
        // parent's thread that held it does not exist here).
        unsafe {
            *c.lock.get() = libc::PTHREAD_RWLOCK_INITIALIZER;
            *c.shared.get() = NO_SOCKET;
        }
    }
    for m in &ERRQ {
        // SAFETY: single-threaded here; re-initialises the lock a thread
        // that does not exist here may have held.
        unsafe { *m.0.get() = libc::PTHREAD_MUTEX_INITIALIZER };
    }
    pool::after_fork_child();
    reading::after_fork_child();
    release_records(st);
    // SAFETY: locked by this (the forking) thread in fork_prepare.
    unsafe { libc::pthread_mutex_unlock(LOCK.0.get()) };
}

/// In a fork child: frees every record the parent had in use — its event
/// reference released (so an event the child closes has its descriptors
/// closed), its payload buffer given back to the pool, its APC thread
/// reference forgotten (`apc`'s own fork handler clears every thread
/// record). The parent's requests never complete here; their buffers are
/// the parent's, never touched. Touches the records' pages only when some
/// were in use.
fn release_records(st: &mut State) {
    if SLOTS.load(Ordering::Acquire).is_null() || st.nfree == MAX_IN_FLIGHT {
        return;
    }
    for i in 0..MAX_IN_FLIGHT as u32 {
        let s = slot(i);
        if s.state.load(Ordering::Relaxed) == FREE {
            continue;
        }
        // SAFETY: a used record, and this is the child's only thread.
        let r = unsafe { rec(i) };
        drop(r.notify.event.take());
        core::mem::forget(r.notify.thread.take());
        if !r.mapped.is_null() {
            pool::give(r.mapped, r.class);
            r.mapped = ptr::null_mut();
        }
        // SAFETY: r.seq < SEQS.
        unsafe { *st.owner.add(usize::from(r.seq)) = 0 };
        s.state.store(FREE, Ordering::Relaxed);
        s.link.store(0, Ordering::Relaxed);
    }
    for k in 0..MAX_IN_FLIGHT {
        // SAFETY: k < MAX_IN_FLIGHT; lowest indices on top.
        unsafe { *st.free.add(k) = (MAX_IN_FLIGHT - 1 - k) as u32 };
    }
    st.nfree = MAX_IN_FLIGHT;
    st.nheap = 0;
}

/// Closes the sockets taken out of their slots (the completion thread
/// between its polls, or a fork child).
fn close_retired(st: &mut State) {
    for fd in &mut st.retired[..st.nretired] {
        // SAFETY: a shared socket no slot holds any more.
        unsafe { libc::close(*fd) };
        *fd = -1;
    }
    st.nretired = 0;
}

/// Registers the engine's fork handlers once, before anything a child
/// would inherit. Called **without** the engine lock: `pthread_atfork`
/// waits for a `fork` running in another thread (libcs hold their handler
/// list across the fork), and a fork completing while this thread held the
/// lock would leave the child's lock held by a thread it does not have.
/// Another thread finding the registration under way waits for it (a
/// yield loop, as long as a fork in progress), so no thread starts the
/// engine before the handlers are in place.
fn register_fork_handlers() {
    if ATFORK.load(Ordering::Acquire) == ATFORK_DONE {
        return;
    }
    match ATFORK.compare_exchange(
        ATFORK_NONE,
        ATFORK_REGISTERING,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => {
            // SAFETY: plain extern "C" handlers.
            unsafe {
                libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child))
            };
            ATFORK.store(ATFORK_DONE, Ordering::Release);
        }
        Err(_) => {
            while ATFORK.load(Ordering::Acquire) != ATFORK_DONE {
                // SAFETY: no preconditions.
                unsafe { libc::sched_yield() };
            }
        }
    }
}

/// Starts the engine on first use (mappings, wake primitive, completion
/// thread), under the lock.
fn start(st: &mut State) -> Result<(), u32> {
    if st.ready {
        return Ok(());
    }
    // The fork handlers are in place (`register_fork_handlers`, before the
    // lock was taken): a child of any fork from here on runs them.
    debug_assert_eq!(ATFORK.load(Ordering::Acquire), ATFORK_DONE);
    if SLOTS.load(Ordering::Acquire).is_null() {
        let recs = map(MAX_IN_FLIGHT * size_of::<Slot>()).ok_or(ERROR_NOT_ENOUGH_MEMORY)?;
        let lists = map(2 * MAX_IN_FLIGHT * size_of::<u32>()).ok_or(ERROR_NOT_ENOUGH_MEMORY)?;
        // Zero-filled: no sequence held, none in hold (pages touched only
        // as sequences are used).
        let owner = map(SEQS * size_of::<u32>()).ok_or(ERROR_NOT_ENOUGH_MEMORY)?;
        let free_at = map(SEQS * size_of::<u64>()).ok_or(ERROR_NOT_ENOUGH_MEMORY)?;
        st.free = lists.cast();
        // SAFETY: the second half of the mapping.
        st.heap = unsafe { st.free.add(MAX_IN_FLIGHT) };
        st.owner = owner.cast();
        st.free_at = free_at.cast();
        for k in 0..MAX_IN_FLIGHT {
            // SAFETY: k < MAX_IN_FLIGHT; lowest indices on top.
            unsafe { *st.free.add(k) = (MAX_IN_FLIGHT - 1 - k) as u32 };
        }
        st.nfree = MAX_IN_FLIGHT;
        st.nheap = 0;
        SLOTS.store(recs.cast(), Ordering::Release);
    }
    // (A fork child restarting: `release_records` freed the parent's.)
    st.wait_until = u64::MAX;
    // SAFETY: getpid has no preconditions.
    st.raw_ident = sock::raw_ident();
    st.wake = Raw::new()?;
    // SAFETY: attr initialised before use, destroyed after; the thread
    // routine takes no argument.
    unsafe {
        let mut attr: libc::pthread_attr_t = zeroed();
        libc::pthread_attr_init(&mut attr);
        libc::pthread_attr_setstacksize(&mut attr, 512 * 1024);
        libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        let mut t: libc::pthread_t = zeroed();
        let rc = libc::pthread_create(&mut t, &attr, completion_thread, ptr::null_mut());
        libc::pthread_attr_destroy(&mut attr);
        if rc != 0 {
            st.wake.close();
            return Err(ERROR_NOT_ENOUGH_MEMORY);
        }
        // Named from here too (one-time): the thread may not run for a
        // while — on loopback its senders read their own answers — and its
        // name is how tools and tests find it.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        libc::pthread_setname_np(t, THREAD_NAME.as_ptr());
    }
    st.ready = true;
    Ok(())
}

// ---------------------------------------------------------------------------
// Sockets
// ---------------------------------------------------------------------------

/// The shared socket for a request on handle `d` from network namespace
/// `ns` (opened if needed, by the calling thread, so in its namespace; the
/// kind per the handle's mode, as the synchronous path chooses), or the
/// Win32 error.
fn socket_for(st: &mut State, d: &Desc, ns: u64) -> Result<usize, u32> {
    let find = |st: &State, kind| {
        st.socks
            .iter()
            .position(|s| s.fd >= 0 && s.ns == ns && s.v6 == d.v6 && s.kind == kind)
    };
    let kind = match d.mode {
        SocketMode::Datagram => Kind::Dgram,
        SocketMode::Raw => Kind::Raw,
        SocketMode::Auto => match (find(st, Kind::Dgram), find(st, Kind::Raw)) {
            (Some(i), _) | (None, Some(i)) => return Ok(i),
            (None, None) => {
                // The synchronous path's choice (and fallback memory).
                let (fd, kind) = sock::open_for(d)?;
                drop(fd);
                kind
            }
        },
    };
    if let Some(i) = find(st, kind) {
        return Ok(i);
    }
    // A free slot, else one whose socket has no request in flight (that
    // socket retired: the completion thread closes it).
    let i = match st.socks.iter().position(|s| s.fd < 0) {
        Some(i) => i,
        None => (0..MAX_SOCKETS)
            .find(|&k| st.inflight[k] == 0 && st.nretired < MAX_SOCKETS)
            .ok_or(ERROR_NOT_ENOUGH_MEMORY)?,
    };
    let mut s = sock::open_shared(d.v6, kind, st.raw_ident).map_err(sock::socket_error)?;
    s.ns = ns;
    // Arrival times decide between an answer and a timeout.
    let f = Fd(s.fd);
    sock::enable_timestamps(&f);
    core::mem::forget(f); // the socket is the table's
    if st.socks[i].fd >= 0 {
        st.retired[st.nretired] = st.socks[i].fd;
        st.nretired += 1;
    }
    // SAFETY: a slot no sender names (a free one, or one with no request
    // in flight: its senders' records were taken after their send and
    // their own read returned); published by the store below, under the
    // engine lock.
    unsafe { *SENDERS[i].shared.get() = s };
    st.socks[i] = s;
    st.next_serial = st.next_serial.wrapping_add(1);
    st.serial[i] = st.next_serial;
    st.inflight[i] = 0;
    st.last_used[i] = sock::now_ns();
    st.wake.set(); // the completion thread polls the new socket
    Ok(i)
}

// ---------------------------------------------------------------------------
// Submit
// ---------------------------------------------------------------------------

/// What a sender needs of a shared socket outside the engine lock: the
/// socket and the options it currently sends with, under the socket's own
/// read-write lock — held shared across `sendmsg` by requests that send
/// with the socket's current options (the common case: they never wait on
/// each other nor on the engine), exclusively by a request that must change
/// them first (`setsockopt`, then its `sendmsg`, so that no other packet
/// goes out with its options). Set up by `socket_for` under the engine lock
/// before the socket's index is published; a socket is closed or replaced
/// only while no request is in flight on it, so never under a sender (a
/// `fork` child resets every cell).
struct Sender {
    lock: UnsafeCell<libc::pthread_rwlock_t>,
    shared: UnsafeCell<Shared>,
}

// SAFETY: `shared` is written only under `lock` held exclusively (or before
// the socket is published, or in a fork child's single thread).
unsafe impl Sync for Sender {}

static SENDERS: [Sender; MAX_SOCKETS] = [const {
    Sender {
        lock: UnsafeCell::new(libc::PTHREAD_RWLOCK_INITIALIZER),
        shared: UnsafeCell::new(NO_SOCKET),
    }
}; MAX_SOCKETS];

/// Who reads a shared socket: the completion thread (a round's drain) or
/// a sender reading its own quick answer (`read_own`), never both at once —
/// so a message read is always handled before the completion thread expires
/// anything (it skips a socket a sender is reading, and expires nothing in
/// that round).
mod reading {
    use super::MAX_SOCKETS;
    use core::sync::atomic::{AtomicBool, Ordering};

    static READING: [AtomicBool; MAX_SOCKETS] = [const { AtomicBool::new(false) }; MAX_SOCKETS];

    /// Starts reading socket `sidx`, unless another thread is.
    pub(super) fn begin(sidx: usize) -> bool {
        READING[sidx]
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    pub(super) fn end(sidx: usize) {
        READING[sidx].store(false, Ordering::Release);
    }

    /// In a fork child: nobody reads.
    pub(super) fn after_fork_child() {
        for r in &READING {
            r.store(false, Ordering::Relaxed);
        }
    }
}

/// After its `sendmsg` returned, the sender of a request sent while no other
/// waits for its answer (sequential use) reads what its socket already holds — a loopback answer
/// is there by then — so that a quick answer completes without a round trip
/// through the completion thread (two thread wake-ups); with more in flight
/// the completion thread reads in batches, cheaper per answer. Only while
/// no other thread reads the socket; at most a
/// few messages, each peeked first into a 4 KiB stack buffer and taken only
/// if it fits and is about its own request (anything else is left to the
/// completion thread); stops at its own answer. Linux (`MSG_PEEK` of ping and raw sockets).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_own(sidx: SockId, fd: c_int, v6: bool, kind: Kind, own: u32, key: (u16, u16)) {
    if !reading::begin(sidx.index) {
        return;
    }
    let (check, prev) = {
        let g = LOCK.lock();
        state(&g).round
    };
    let kernel_ident = sock::kernel_ident(kind);
    let f = Fd(fd);
    let mut rx = MaybeUninit::<[u8; 4096]>::uninit();
    for _ in 0..4 {
        let m = match sock::receive(&f, &mut rx, libc::MSG_PEEK | libc::MSG_DONTWAIT) {
            Ok(m) if !m.truncated => m,
            _ => break,
        };
        let now = sock::now_ns();
        let round = Round {
            now,
            real: sock::realtime_ns(),
            check,
            prev,
        };
        let arrival = round.arrival(m.arrival);
        // SAFETY: the kernel initialised the first m.len bytes.
        let pkt = unsafe { core::slice::from_raw_parts(rx.as_ptr().cast::<u8>(), m.len) };
        // Only its own request's messages: another's is left in place for
        // the completion thread (its rounds decide by arrival, and only
        // they know which requests were checked when).
        let Some(got) = key_of(pkt, v6, kernel_ident)
            .filter(|&(id, seq)| seq == key.1 && (kernel_ident || id == key.0))
        else {
            break;
        };
        let taken = handle(sidx, v6, kernel_ident, &m, pkt, got, arrival, &round);
        // Drop the peeked message (ours alone: nobody else reads).
        // SAFETY: a zero-length receive that discards the head message.
        unsafe { libc::recv(fd, ptr::null_mut(), 0, libc::MSG_DONTWAIT | libc::MSG_TRUNC) };
        if taken == Some(own) {
            break;
        }
    }
    core::mem::forget(f); // borrowed descriptor
    reading::end(sidx.index);
}

/// The (identifier, sequence) a received message is about: of the echo
/// reply, or of the echo an ICMP error quotes. Raw IPv4 sockets deliver the
/// IP header first; ping sockets and IPv6 give the ICMP message alone.
fn key_of(pkt: &[u8], v6: bool, kernel_ident: bool) -> Option<(u16, u16)> {
    let icmp = if v6 || kernel_ident {
        Some(pkt)
    } else {
        reply::split_ipv4(pkt).map(|p| p.payload)
    };
    icmp.and_then(|icmp| reply::echo_key(icmp, v6))
}

/// Handles one received message about `key` ([`key_of`]): matches it to
/// its request and completes that (or keeps it as the request's early
/// answer): the record's index.
#[allow(clippy::too_many_arguments)]
fn handle(
    sidx: SockId,
    v6: bool,
    kernel_ident: bool,
    m: &sock::Received,
    pkt: &[u8],
    key: (u16, u16),
    arrival: u64,
    round: &Round,
) -> Option<u32> {
    match match_and_take(sidx, key, |r, e| {
        if !round.decides(r, arrival) {
            return None;
        }
        let (c, h) = sock::classify(pkt, m, v6, kernel_ident, e)?;
        sock::outcome(c, &h, rtt_ms(r, arrival))
    }) {
        Matched::Taken(i, outcome) => {
            complete(i, outcome);
            Some(i)
        }
        Matched::Kept(i) => Some(i),
        Matched::None => None,
    }
}

/// Sends a request on shared socket `sidx` with its options (see
/// [`Sender`]): the engine lock is not held.
fn send_on(sidx: usize, req: &Request<'_>, ident: u16, seq: u16) -> Result<(), IP_STATUS> {
    let c = &SENDERS[sidx];
    let lock = c.lock.get();
    // SAFETY: an initialised rwlock; shared access to `shared` under it.
    unsafe {
        libc::pthread_rwlock_rdlock(lock);
        let s = &*c.shared.get();
        if sock::options_current(s, req) {
            let sent = send_now(sidx, s, req, ident, seq);
            libc::pthread_rwlock_unlock(lock);
            return sent;
        }
        libc::pthread_rwlock_unlock(lock);
    }
    // SAFETY: as above; exclusive access to `shared` under the write lock.
    unsafe {
        libc::pthread_rwlock_wrlock(lock);
        let s = &mut *c.shared.get();
        let sent = sock::apply_options(s, req).and_then(|()| send_now(sidx, s, req, ident, seq));
        libc::pthread_rwlock_unlock(lock);
        sent
    }
}

/// One `sendmsg` of the echo on a shared socket, or its `IP_STATUS`.
///
/// An earlier request's pending ICMP error never fails this one: Linux
/// reports `IP_RECVERR`'s pending socket error at the next send, without
/// sending, and sets it again from the error queue's next entry each time
/// the completion thread dequeues one. A send that fails with an errno such
/// an error could give is retried ([`sock::resend_past_pending`]) with
/// the socket's error queue held ([`ERRQ`]: the completion thread does not
/// dequeue meanwhile, so only an error arriving in the microseconds between
/// the clear and the send can fail the retry). A failure that repeats is the request's own: the kernel
/// decides a route's unreachable / prohibit and a too-big DF packet before
/// it looks at the pending error. (The lock is taken only after such a
/// failure: the send path holds no lock across a syscall otherwise.)
fn send_now(
    sidx: usize,
    s: &Shared,
    req: &Request<'_>,
    ident: u16,
    seq: u16,
) -> Result<(), IP_STATUS> {
    let mut sent = sock::send_echo(s.fd, s.kind, req, ident, seq, true);
    if matches!(sent, Err(e) if sock::pending_error(e)) {
        let _q = ERRQ[sidx].lock();
        sent = sock::resend_past_pending(s.fd, s.kind, req, ident, seq, true, sent);
    }
    sent.map_err(|e| match e {
        // The shared socket's send buffer is full (non-blocking).
        libc::EAGAIN => IP_NO_RESOURCES,
        e => sock::map_send_errno(e, req),
    })
}

/// Per shared socket: held by the completion thread while it dequeues from
/// the socket's error queue, and by a sender retrying past a pending error
/// ([`send_now`]).
static ERRQ: [Mutex; MAX_SOCKETS] = [const { Mutex::new() }; MAX_SOCKETS];

/// Starts an asynchronous request on handle `d`: `Ok` once it is on its way
/// (its completion will write `reply`, fill its `IO_STATUS_BLOCK`, signal /
/// queue `notify`), or the Win32 error when it cannot start (nothing
/// written, nothing signalled). The request's data is copied here.
/// `refused`: the request is not sent but completes at once with this
/// `IP_STATUS` (and this `NTSTATUS` in its `IO_STATUS_BLOCK`), as Windows
/// completes a request its stack refuses after the call.
///
/// No lock is held across a syscall: the record is made under the engine
/// lock (matchable from then on), the event reset and the `sendmsg` happen
/// outside it, and the record enters the deadline heap under the lock once
/// its send returned (so nothing expires before its send, and a request's
/// deadline is never earlier than that). An answer matched before then is
/// kept in the record and completed here, by the sender.
///
/// # Safety
/// `reply` is writable for `reply_size` bytes until the completion.
pub(crate) unsafe fn submit(
    d: &Desc,
    r: &Request<'_>,
    reply: *mut u8,
    reply_size: usize,
    notify: Notify,
    refused: Option<(IP_STATUS, NTSTATUS)>,
) -> Result<(), u32> {
    // macOS, iOS, FreeBSD: an IPv4 source cannot travel with the packet on
    // the shared socket (sock::async_source_refused): fail at the call.
    if sock::async_source_refused(sock::Kernel::HOST, r) {
        return Err(ERROR_NOT_SUPPORTED);
    }
    // A large request's data: a pool buffer, filled outside the lock.
    let (mapped, class) = if r.payload.len() > INLINE {
        let (p, class) = pool::take(r.payload.len()).ok_or(ERROR_NOT_ENOUGH_MEMORY)?;
        // SAFETY: a pool buffer of at least payload.len() bytes.
        unsafe { ptr::copy_nonoverlapping(r.payload.as_ptr(), p, r.payload.len()) };
        (p, class)
    } else {
        (ptr::null_mut(), 0)
    };
    let ns = current_netns();
    register_fork_handlers();
    let g = LOCK.lock();
    let st = state(&g);
    let started = start(st).and_then(|()| socket_for(st, d, ns));
    let sidx = match started {
        Ok(i) if st.nfree > 0 => i,
        other => {
            drop(g);
            if !mapped.is_null() {
                pool::give(mapped, class);
            }
            return Err(other.err().unwrap_or(ERROR_NOT_ENOUGH_MEMORY));
        }
    };
    st.nfree -= 1;
    // No other request waiting for its answer (sequential use; the
    // previous one may still be finishing its completion): its sender reads
    // its quick answer itself (see `read_own`).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let solo = st.nheap == 0;
    // SAFETY: nfree < MAX_IN_FLIGHT.
    let i = unsafe { *st.free.add(st.nfree) };
    let s = slot(i);
    let t0 = sock::now_ns();
    let seq = st.alloc_seq(t0);
    // SAFETY: seq < SEQS.
    unsafe { *st.owner.add(usize::from(seq)) = i + 1 };
    // The socket is busy from here to the record's `take` (never closed or
    // replaced under this sender).
    st.inflight[sidx] += 1;
    st.last_used[sidx] = t0;
    let kind = st.socks[sidx].kind;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let (sfd, sv6) = (st.socks[sidx].fd, st.socks[sidx].v6);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let sid = SockId {
        index: sidx,
        serial: st.serial[sidx],
    };
    let ident = (!sock::kernel_ident(kind)).then_some(st.raw_ident);
    let hold = (u64::from(r.timeout_ms).min(HOLD_MAX_MS) + HOLD_MARGIN_MS) * 1_000_000;
    let mut record = Rec {
        sock: sidx,
        serial: st.serial[sidx],
        v6: r.v6,
        ident,
        seq,
        dst: r.dst,
        scope_id: r.scope_id,
        t0,
        deadline: t0.saturating_add(u64::from(r.timeout_ms) * 1_000_000),
        hold,
        heap_pos: NOT_IN_HEAP,
        sent_at: u64::MAX,
        early: core::cell::Cell::new(None),
        payload_len: r.payload.len(),
        mapped,
        class,
        inline: [0; INLINE],
        reply,
        reply_size,
        notify,
        iosb: IO_STATUS_BLOCK::default(),
        ntstatus: refused.map_or(0, |(_, nt)| nt),
    };
    if mapped.is_null() {
        record.inline[..r.payload.len()].copy_from_slice(r.payload);
    }
    // SAFETY: a free record, under the lock.
    unsafe { (*s.rec.get()).write(record) };
    s.link.store(0, Ordering::Relaxed);
    s.state.store(ACTIVE, Ordering::Release);
    drop(g);
    // Until this sender puts it in the heap, only it completes the record
    // (the completion thread keeps what it matches in `early`; nothing
    // expires it), so the record and its data stay as written.
    // SAFETY: ACTIVE, not in the heap: read only here, written only under
    // the engine lock in fields read below under it (`early`).
    let copy = unsafe { &*(*s.rec.get()).as_ptr() };
    // The request starts: its event is unsignalled until it completes (as
    // Windows and Wine do, even if the caller left it signalled).
    if let Some(e) = &copy.notify.event {
        e.reset();
    }
    // Send from the copy (the caller's buffers may overlap the reply).
    let req = Request {
        payload: copy.payload(),
        ..*r
    };
    let sent = match refused {
        Some((status, _)) => Err(status),
        None => send_on(sidx, &req, ident.unwrap_or(0), seq),
    };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if sent.is_ok() && solo {
        read_own(sid, sfd, sv6, kind, i, (ident.unwrap_or(0), seq));
    }
    let g = LOCK.lock();
    let st = state(&g);
    // When it enters the heap (its send has returned): what the completion
    // thread's rounds count its first check from.
    let sent_at = sock::now_ns();
    // SAFETY: ACTIVE (only this sender takes it now), under the lock.
    let rec = unsafe { rec(i) };
    let outcome = match sent {
        Ok(()) => match rec.early.take() {
            // Answered during the send (loopback).
            Some(o) => o,
            None => {
                rec.sent_at = sent_at;
                rec.deadline = rec.deadline.max(sent_at.saturating_add(FIRST_CHECK_NS));
                let deadline = rec.deadline;
                st.heap_push(i);
                // The completion thread sleeps past this deadline: wake it
                // (once: later sends see the deadline it will wake for),
                // after the unlock (no write(2) under the lock).
                // (Not while it is awake: it reads the heap again before
                // it sleeps.)
                let wake = (deadline < st.wait_until && SLEEPING.load(Ordering::Acquire))
                    .then_some(st.wake);
                if wake.is_some() {
                    st.wait_until = deadline;
                }
                drop(g);
                if let Some(w) = wake {
                    w.set();
                }
                return Ok(());
            }
        },
        // On its way from the caller's view: completes with the status.
        Err(status) => Outcome::Fail(status),
    };
    st.take(i);
    drop(g);
    complete(i, outcome);
    Ok(())
}

// ---------------------------------------------------------------------------
// Completion
// ---------------------------------------------------------------------------

/// Completes a taken (DONE) record: writes its reply buffer as the
/// synchronous path does, with the count for `IcmpParseReplies` (1, in
/// `Reserved`) on success; fills its `IO_STATUS_BLOCK` ({0, bytes}; a
/// refused request's `NTSTATUS`); then
/// signals the event and queues the APC (or frees the record).
fn complete(i: u32, outcome: Outcome) {
    // SAFETY: DONE, owned by the caller.
    let r = unsafe { rec(i) };
    // SAFETY: the caller of the send keeps the buffer until completion.
    let mut out = unsafe { reply::OutBuf::from_raw(r.reply, r.reply_size) };
    let head = if r.v6 {
        size_of::<ICMPV6_ECHO_REPLY>()
    } else {
        size_of::<ICMP_ECHO_REPLY>()
    };
    let info = match reply::write_result(&mut out, r.v6, outcome, r.scope_id, r.payload().into()) {
        Ok(n) => {
            if !r.v6 {
                // The count IcmpParseReplies reads (and clears): Reserved.
                let one = 1u16.to_ne_bytes();
                out.write(core::mem::offset_of!(ICMP_ECHO_REPLY, Reserved), &one);
            }
            n
        }
        Err(code) => {
            if code < IP_STATUS_BASE {
                reply::write_status(&mut out, r.v6, code);
            }
            head.min(r.reply_size)
        }
    };
    r.iosb = IO_STATUS_BLOCK {
        Anonymous: IO_STATUS_BLOCK_0 { Status: r.ntstatus },
        Information: info,
    };
    if !r.mapped.is_null() {
        pool::give(r.mapped, r.class);
        r.mapped = ptr::null_mut();
        r.payload_len = 0;
    }
    if let Some(e) = r.notify.event.take() {
        e.signal();
    }
    match (r.notify.apc, r.notify.thread.take()) {
        (Some(_), Some(t)) => t.queue(&APC_RECORDS, i),
        _ => free(i),
    }
}

fn free(i: u32) {
    let s = slot(i);
    let g = LOCK.lock();
    let st = state(&g);
    s.state.store(FREE, Ordering::Release);
    // SAFETY: nfree < MAX_IN_FLIGHT (this record was not in the list).
    unsafe { *st.free.add(st.nfree) = i };
    st.nfree += 1;
}

/// Runs the APC of a completed record on the calling (issuing) thread, and
/// frees the record first (the routine may send again).
fn run_apc(i: u32) {
    // SAFETY: DONE, queued to this thread, taken off its queue by it.
    let r = unsafe { rec(i) };
    let (routine, ctx, mut iosb) = (r.notify.apc, r.notify.ctx, r.iosb);
    free(i);
    if let Some(f) = routine {
        // SAFETY: the caller's routine with its context, as on Windows; the
        // IO_STATUS_BLOCK is valid during the call.
        unsafe { f(ctx, &mut iosb, 0) };
    }
}

/// Frees a completed record whose APC will not run (its thread exited).
fn discard_apc(i: u32) {
    free(i);
}

// ---------------------------------------------------------------------------
// The completion thread
// ---------------------------------------------------------------------------

/// The name of the completion thread (Linux: `/proc/<pid>/task/*/comm`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const THREAD_NAME: &core::ffi::CStr = c"icmp-sys-async";

extern "C" fn completion_thread(_: *mut c_void) -> *mut c_void {
    // SAFETY: names this thread (≤ 15 bytes + NUL, as Linux requires).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    unsafe {
        libc::pthread_setname_np(libc::pthread_self(), THREAD_NAME.as_ptr());
    }
    // SAFETY: a full signal mask for this thread only.
    unsafe {
        let mut all: libc::sigset_t = zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, ptr::null_mut());
    }
    let mut rx = MaybeUninit::<[u8; sock::RX_LEN]>::uninit();
    let mut prev = 0u64;
    let mut busy = false;
    // After failed polls: how long the last sleep instead was (ms).
    let mut backoff: u64 = 0;
    loop {
        let soon = busy;
        busy = false;
        // The round starts now: what arrived before `round.now` makes its
        // socket readable before the poll below returns, and is read (each
        // socket until it is empty or until a message that arrived after
        // the round's start: a flood cannot hold the round) before anything
        // expires with `round.now`. A socket opened after the snapshot
        // below has only requests sent after `round.now`: none expires in
        // this round.
        let now = sock::now_ns();
        let round = Round {
            now,
            real: sock::realtime_ns(),
            check: now,
            prev,
        };
        // What to poll — the wake primitive and the open sockets only (so
        // never more than RLIMIT_NOFILE entries) — until the earliest
        // deadline or the next idle socket's closing.
        let mut pfds = [libc::pollfd {
            fd: -1,
            events: libc::POLLIN,
            revents: 0,
        }; 1 + MAX_SOCKETS];
        let mut what = [(
            SockId {
                index: 0,
                serial: 0,
            },
            false,
            Kind::Dgram,
        ); MAX_SOCKETS];
        let mut nsocks = 0;
        let unpolled;
        let (wake, timeout) = {
            let g = LOCK.lock();
            let st = state(&g);
            // Not polling now: closing is safe (see `close_idle`).
            close_retired(st);
            let idle = close_idle(st, round.now);
            let next = if st.nheap > 0 { st.key(0) } else { u64::MAX };
            st.wait_until = next;
            SLEEPING.store(true, Ordering::Release);
            st.round = (round.check, round.prev);
            pfds[0].fd = st.wake.rfd;
            // Nothing waits for an answer: poll the wake alone (a sender
            // reads its own quick answer; one that does not get it puts its
            // request in the heap and wakes this thread, whose next round
            // polls the sockets — what arrived meanwhile is still there).
            // So a sequential echo's answer does not also wake this thread.
            unpolled = st.nheap == 0;
            for (k, s) in st.socks.iter().enumerate() {
                if s.fd < 0 || unpolled {
                    continue;
                }
                pfds[1 + nsocks].fd = s.fd;
                let id = SockId {
                    index: k,
                    serial: st.serial[k],
                };
                what[nsocks] = (id, s.v6, s.kind);
                nsocks += 1;
            }
            let until = next.min(idle);
            let timeout = if until == u64::MAX {
                -1
            } else {
                until
                    .saturating_sub(round.now)
                    .div_ceil(1_000_000)
                    .min(i32::MAX as u64) as c_int
            };
            // A socket a sender was reading last round: look again soon.
            let timeout = if soon { timeout.clamp(0, 1) } else { timeout };
            (st.wake, timeout)
        };
        let set = &mut pfds[..1 + nsocks];
        // SAFETY: valid pollfds of open descriptors.
        let n = unsafe { libc::poll(set.as_mut_ptr(), set.len() as libc::nfds_t, timeout) };
        // Awake: senders need not wake it until it sleeps again.
        SLEEPING.store(false, Ordering::Release);
        let blind = n < 0 && sock::errno() != libc::EINTR;
        if blind {
            // Cannot wait on the set (a descriptor limit lowered below what
            // is open: EINVAL; ENOMEM): never spin. Sleep a little (1 ms,
            // doubling up to 64 ms while it lasts; never past the timeout),
            // then read every socket without waiting.
            backoff = (backoff * 2).clamp(1, 64);
            sleep_ms(if timeout < 0 {
                backoff
            } else {
                backoff.min(timeout as u64)
            });
            for p in set.iter_mut() {
                p.revents = libc::POLLIN | libc::POLLERR;
            }
        } else {
            backoff = 0;
        }
        if n > 0 || blind {
            if set[0].revents != 0 {
                // Outside the lock (a read(2)): a wake consumed here is
                // never lost, the next round reads the heap again.
                wake.reset();
            }
            for (k, p) in set[1..].iter().enumerate() {
                if p.revents == 0 {
                    continue;
                }
                let (id, v6, kind) = what[k];
                if !reading::begin(id.index) {
                    // A sender is reading it (its own quick answer): what
                    // it reads it completes; what it leaves is read here in
                    // a later round, before anything expires.
                    busy = true;
                    continue;
                }
                #[cfg(any(target_os = "linux", target_os = "android"))]
                if p.revents & libc::POLLERR != 0 {
                    read_errqueue(id, p.fd, v6, &round, &mut rx);
                }
                if p.revents & libc::POLLIN != 0 {
                    read_socket(id, p.fd, v6, kind, &round, &mut rx);
                }
                reading::end(id.index);
            }
        }
        if busy || unpolled {
            // Not every socket was read (a sender was reading one, or the
            // sockets were not polled: a request put in the heap during
            // this round may have its answer unread): expire nothing this
            // round (and its requests' first check is still to come:
            // `prev` stays).
            continue;
        }
        expire(round.now);
        prev = round.now;
        if n > 0 && pfds[1..].iter().any(|p| p.revents != 0) {
            // Answers came one by one (a sender sending a burst: each of
            // its loopback answers wakes this thread): let more gather
            // before the next round, so that a burst costs a few wake-ups,
            // not one per answer. Arrival stamps keep deadlines and round
            // trips exact; a completion is signalled at most this late.
            let ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: COALESCE_NS,
            };
            // SAFETY: a valid timespec; an early return (signal) is fine.
            unsafe { libc::nanosleep(&ts, ptr::null_mut()) };
        }
    }
}

/// The earliest deadline of a request after it entered the heap (its
/// `sendmsg` had returned): a timeout below it (0 included) waits this
/// long. Timeout 0 means "the answer there at the first check", and a
/// loopback answer normally is there when `sendmsg` returns; but at a burst
/// on a loaded machine the kernel hands loopback delivery to its softirq
/// thread (`ksoftirqd`), and the answer comes milliseconds later (measured
/// up to 8 ms at tests/soak.rs's start, where 1 run in 8 then saw timeout-0
/// loopback echoes time out with a floor of 2 ms). Windows' own timer tick
/// is 15.6 ms.
const FIRST_CHECK_NS: u64 = 20_000_000;

/// How long the completion thread lets answers gather after a round that
/// read some (see the end of `completion_thread`).
const COALESCE_NS: libc::c_long = 50_000;

/// Whether the completion thread sleeps (from its round's look at the heap,
/// under the engine lock, until its `poll` returned): only then does a
/// sender with an earlier deadline write its wake.
static SLEEPING: AtomicBool = AtomicBool::new(false);

/// Sleeps `ms` milliseconds (the completion thread's backoff).
fn sleep_ms(ms: u64) {
    let ts = libc::timespec {
        tv_sec: (ms / 1000) as libc::time_t,
        tv_nsec: ((ms % 1000) * 1_000_000) as _,
    };
    // SAFETY: a valid timespec; an early wake-up is harmless.
    unsafe { libc::nanosleep(&ts, ptr::null_mut()) };
}

/// A shared socket as a reader saw it: its slot and serial.
#[derive(Clone, Copy)]
struct SockId {
    index: usize,
    serial: u32,
}

/// Closes the shared sockets with no request in flight for [`IDLE_MS`]
/// (the completion thread, between its polls: no other thread polls it,
/// and no sender sends on or reads a socket with nothing in flight);
/// returns when the next one would be due (`u64::MAX`: none).
fn close_idle(st: &mut State, now: u64) -> u64 {
    let idle = IDLE_MS * 1_000_000;
    let mut next = u64::MAX;
    for k in 0..MAX_SOCKETS {
        if st.socks[k].fd < 0 || st.inflight[k] != 0 {
            continue;
        }
        let due = st.last_used[k].saturating_add(idle);
        if due <= now {
            // SAFETY: the shared socket, no request on it (see above).
            unsafe { libc::close(st.socks[k].fd) };
            st.socks[k] = NO_SOCKET;
        } else {
            next = next.min(due);
        }
    }
    next
}

/// One round of the completion thread: its start on the monotonic clock
/// (`now`) and on the realtime clock (`real`, the clock of the kernel's
/// arrival stamps), and the previous round's start (`prev`).
struct Round {
    now: u64,
    real: u64,
    /// The start of the completion thread's current round (`now` for the
    /// completion thread itself) and of its previous one.
    check: u64,
    prev: u64,
}

impl Round {
    /// A message's arrival on the monotonic clock (its kernel stamp, or
    /// the round's start without one).
    fn arrival(&self, stamp: Option<u64>) -> u64 {
        match stamp {
            Some(t) if t <= self.real => self.now.saturating_sub(self.real - t),
            Some(t) => self.now.saturating_add(t - self.real),
            None => self.now,
        }
    }

    /// Whether an answer that arrived at `arrival` decides request `r`:
    /// it arrived by the request's deadline (never earlier than its entry
    /// into the deadline heap, after its `sendmsg` returned), or by the
    /// request's first check — the first drain of its socket in a round
    /// that started after that entry (`check`: this drain's start; timeout
    /// 0's meaning: what is there when the request is first checked, as
    /// for a synchronous send). A later answer is not taken: the request
    /// times out.
    fn decides(&self, r: &Rec, arrival: u64) -> bool {
        arrival <= r.deadline
            // Not yet checked: its first check is a later round.
            || r.sent_at > self.check
            || (r.sent_at > self.prev && arrival <= self.check)
    }
}

/// Completes every request whose deadline is at or before `now` (the
/// round's start: every answer that arrived before it has been read) with
/// `IP_REQ_TIMED_OUT`, in batches (the lock is not held while completing).
fn expire(now: u64) {
    loop {
        let mut expired = [0u32; 256];
        let mut nexp = 0;
        {
            let g = LOCK.lock();
            let st = state(&g);
            while st.nheap > 0 && nexp < expired.len() {
                let i = st.heap_at(0);
                if st.key(0) > now {
                    break;
                }
                st.take(i);
                expired[nexp] = i;
                nexp += 1;
            }
        }
        for &i in &expired[..nexp] {
            complete(i, Outcome::Fail(IP_REQ_TIMED_OUT));
        }
        if nexp < expired.len() {
            return;
        }
    }
}

/// The ACTIVE record that (identifier, sequence) on socket `sidx` names, if
/// any, with its expectation checked by `check`; taken for completion when
/// `check` gives an outcome — or, while its sender is still in `sendmsg`,
/// kept in the record for the sender to complete.
fn match_and_take(
    sock: SockId,
    key: (u16, u16),
    check: impl FnOnce(&Rec, &Expect<'_>) -> Option<Outcome>,
) -> Matched {
    let (id, seq) = key;
    let g = LOCK.lock();
    let st = state(&g);
    let Some(i) = st.owner_of(seq) else {
        return Matched::None;
    };
    let s = slot(i);
    if s.state.load(Ordering::Acquire) != ACTIVE {
        return Matched::None;
    }
    // SAFETY: ACTIVE under the lock (its sender may read it too).
    let r = unsafe { rec_ref(i) };
    if r.sock != sock.index
        || r.serial != sock.serial
        || r.seq != seq
        || r.ident.is_some_and(|own| own != id)
    {
        return Matched::None;
    }
    let dst_len = if r.v6 { 16 } else { 4 };
    let e = Expect {
        dst: &r.dst[..dst_len],
        id: r.ident,
        seq: r.seq,
        payload: r.payload(),
    };
    let Some(outcome) = check(r, &e) else {
        return Matched::None;
    };
    if r.sent_at == u64::MAX {
        // Its sender completes it when its send returns (the first answer).
        if r.early.get().is_none() {
            r.early.set(Some(outcome));
        }
        return Matched::Kept(i);
    }
    st.take(i);
    Matched::Taken(i, outcome)
}

/// What [`match_and_take`] found.
enum Matched {
    /// Nothing (no request holds the key, or the message is not its answer).
    None,
    /// Record `i`'s answer, taken for completion by the caller.
    Taken(u32, Outcome),
    /// Record `i`'s answer, kept for its sender (still in `sendmsg`).
    Kept(u32),
}

/// The most messages read from one socket in one round without an arrival
/// stamp later than the drain's start (a guard: with stamps, a flood ends
/// the drain at its first message that arrived after the drain began).
const READS_PER_ROUND: usize = 4 * MAX_IN_FLIGHT;

/// Reads what a shared socket received before the round began.
fn read_socket<const N: usize>(
    sidx: SockId,
    fd: c_int,
    v6: bool,
    kind: Kind,
    round: &Round,
    rx: &mut MaybeUninit<[u8; N]>,
) {
    let kernel_ident = sock::kernel_ident(kind);
    let f = Fd(fd);
    // Everything that arrived before now is read (a fortiori what arrived
    // before the round's start); the first message that arrived later ends
    // the drain (a flood cannot hold the round).
    let stop = sock::now_ns();
    // This socket is checked now: what is there decides a request whose
    // first check this is.
    let round = &Round {
        check: stop,
        ..*round
    };
    for _ in 0..READS_PER_ROUND {
        let m = match sock::receive(&f, rx, libc::MSG_DONTWAIT) {
            Ok(m) => m,
            Err(e) if e == libc::EAGAIN || e == libc::EWOULDBLOCK => break,
            Err(libc::EINTR) => continue,
            Err(_) => {
                // Linux reports ICMP errors as recv errnos too.
                #[cfg(any(target_os = "linux", target_os = "android"))]
                read_errqueue(sidx, fd, v6, round, rx);
                continue;
            }
        };
        let arrival = round.arrival(m.arrival);
        let last = arrival > stop;
        if !m.truncated {
            // SAFETY: the kernel initialised the first m.len bytes.
            let pkt = unsafe { core::slice::from_raw_parts(rx.as_ptr().cast::<u8>(), m.len) };
            if let Some(key) = key_of(pkt, v6, kernel_ident) {
                handle(sidx, v6, kernel_ident, &m, pkt, key, arrival, round);
            }
        }
        if last {
            break;
        }
    }
    core::mem::forget(f); // borrowed descriptor
}

/// A request's round trip: from its start to its answer's arrival, ms.
fn rtt_ms(r: &Rec, arrival: u64) -> u32 {
    (arrival.saturating_sub(r.t0) / 1_000_000).min(u64::from(u32::MAX)) as u32
}

/// Reads what a shared ping socket's error queue received before the
/// round began.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_errqueue<const N: usize>(
    sidx: SockId,
    fd: c_int,
    v6: bool,
    round: &Round,
    rx: &mut MaybeUninit<[u8; N]>,
) {
    let f = Fd(fd);
    let stop = sock::now_ns();
    let round = &Round {
        check: stop,
        ..*round
    };
    for _ in 0..READS_PER_ROUND {
        // Each dequeue sets the socket's pending error again from the next
        // entry: never while a sender retries past it (`send_now`).
        let got = {
            let _q = ERRQ[sidx.index].lock();
            sock::receive(&f, rx, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT)
        };
        let Ok(m) = got else {
            break;
        };
        let arrival = round.arrival(m.arrival);
        // SAFETY: the kernel initialised the first m.len bytes.
        let quoted = unsafe { core::slice::from_raw_parts(rx.as_ptr().cast::<u8>(), m.len) };
        if m.queued.is_some() && quoted.len() >= 8 {
            let key = (
                u16::from_be_bytes([quoted[4], quoted[5]]),
                u16::from_be_bytes([quoted[6], quoted[7]]),
            );
            let taken = match_and_take(sidx, key, |r, e| {
                if !round.decides(r, arrival) {
                    return None;
                }
                sock::queued_outcome(&m, quoted, v6, e, rtt_ms(r, arrival))
            });
            if let Matched::Taken(i, outcome) = taken {
                complete(i, outcome);
            }
        }
        if arrival > stop {
            break;
        }
    }
    core::mem::forget(f); // borrowed descriptor
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    fn stat_netns() -> u64 {
        // SAFETY: all-zero is a valid stat.
        let mut st: libc::stat = unsafe { zeroed() };
        // SAFETY: st is a valid out-pointer; the path is NUL-terminated.
        let rc = unsafe { libc::stat(c"/proc/thread-self/ns/net".as_ptr(), &mut st) };
        assert_eq!(rc, 0, "stat /proc/thread-self/ns/net");
        st.st_ino
    }

    /// Every size over INLINE up to 65 536 has a class that holds it, the
    /// smallest power of two from 256 on.
    #[test]
    fn pool_classes_fit() {
        for (len, size) in [
            (INLINE + 1, 256),
            (256, 256),
            (257, 512),
            (4096, 4096),
            (4097, 8192),
            (65_500, 65_536),
            (65_536, 65_536),
        ] {
            assert_eq!(pool::class_of_for_test(len).1, size, "{len} bytes");
        }
    }

    /// A buffer given back is taken again (no new mapping per request).
    #[test]
    #[cfg_attr(miri, ignore = "makes syscalls (mmap)")]
    fn pool_reuses_buffers() {
        for len in [300, 3000, 40_000] {
            let (a, class) = pool::take(len).expect("pool buffer");
            // SAFETY: a buffer of at least len bytes.
            unsafe { ptr::write_bytes(a, 0x5a, len) };
            pool::give(a, class);
            let (b, class2) = pool::take(len).expect("pool buffer");
            assert_eq!((b, class2), (a, class), "{len} bytes: not reused");
            pool::give(b, class2);
        }
    }

    #[test]
    fn ns_link_parses_only_its_format() {
        assert_eq!(ns_link::parse(b"net:[4026531840]"), Some(4026531840));
        for bad in [
            &b"net:[]"[..],
            b"net:[12a]",
            b"mnt:[1]",
            b"net:[1",
            b"net:[99999999999999999999999]",
            b"",
        ] {
            assert_eq!(ns_link::parse(bad), None, "{bad:?}");
        }
    }

    /// The held link reads the thread's namespace at each call: the same
    /// inode as a fresh `stat`, also after the thread changed namespace.
    #[test]
    #[cfg_attr(miri, ignore = "makes syscalls (open, readlinkat, unshare)")]
    fn netns_follows_the_thread() {
        assert_eq!(ns_link::read(), Some(stat_netns()));
        assert_eq!(current_netns(), stat_netns());
        let t = std::thread::spawn(|| {
            let before = current_netns();
            assert_eq!(before, stat_netns());
            // SAFETY: affects only this thread.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return None;
            }
            let after = current_netns();
            assert_eq!(after, stat_netns(), "the link read the old namespace");
            Some((before, after))
        });
        match t.join().expect("namespace thread") {
            Some((before, after)) => assert_ne!(before, after),
            None => {
                // unshare needs CAP_SYS_ADMIN: in CI's strict mode (root)
                // it must run.
                assert!(
                    std::env::var("ICMP_SYS_STRICT").as_deref() != Ok("1")
                        // SAFETY: no preconditions.
                        || unsafe { libc::geteuid() } != 0,
                    "unshare(CLONE_NEWNET) refused as root"
                );
                std::eprintln!(
                    "netns_follows_the_thread: SKIPPED the namespace change: unshare refused (not root)"
                );
            }
        }
    }
}
