//! APCs on Unix: the `ApcRoutine` of an asynchronous send runs **on the
//! thread that issued the send, during an alertable wait** ([`sleep_alertable`],
//! the `SleepEx(ms, TRUE)` of this backend), never on another thread — as
//! on Windows, where code relies on it (no locking between the routine and
//! the issuing thread).
//!
//! Each thread that issues an APC send gets a record in a fixed registry
//! (at most [`MAX_THREADS`] at once; past that an APC send fails at once with
//! `ERROR_NOT_ENOUGH_MEMORY`): a queue of completed requests and a wake
//! primitive. The completion thread pushes a completed request onto its
//! issuer's queue and wakes it; [`sleep_alertable`] runs the queue in
//! completion order. When a thread exits, its queued and later completions
//! are discarded without running their routines (Windows drops a dead
//! thread's APCs too); their reply buffers were still written.
//!
//! A `fork` child forgets every thread record (its own thread included:
//! the wake primitive and queue it inherited are the parent's thread's):
//! the `pthread_atfork` handler is registered before the first record
//! exists, so a fork after an early `sleep_alertable` never leaves a child
//! reading the parent's wake-ups.
//!
//! Layer: below `engine` (the engine's records only through [`Records`]);
//! may use: `event`, `sock`.

use super::event::{self, Id, Slot};
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

/// What a queue needs of the completed requests it holds — the engine's
/// records, named by index — so that this module sits below the engine
/// (the engine uses [`ThreadRef`]; this module never names the engine): each
/// record's queue link and what to do with a record taken off a queue. The
/// engine registers its records ([`register`]) when it starts, before it can
/// queue any.
pub(crate) struct Records {
    /// The queue link of a record: next record + 1, 0 = end.
    pub(crate) link: fn(u32) -> u32,
    /// Sets the queue link of a record.
    pub(crate) set_link: fn(u32, u32),
    /// Runs a record's APC on the calling (issuing) thread and frees it.
    pub(crate) run: fn(u32),
    /// Frees a record whose APC will not run (its thread exited).
    pub(crate) discard: fn(u32),
}

static RECORDS: AtomicPtr<Records> = AtomicPtr::new(core::ptr::null_mut());

/// Keeps the records queues hold (the same at every call).
fn register(records: &'static Records) {
    RECORDS.store(ptr_of(records), Ordering::Release);
}

fn ptr_of(r: &'static Records) -> *mut Records {
    (r as *const Records).cast_mut()
}

/// The registered records: always there once something was queued.
fn records() -> Option<&'static Records> {
    let p = RECORDS.load(Ordering::Acquire);
    // SAFETY: null or a `&'static Records` stored by `register`.
    unsafe { p.as_ref() }
}

/// The most threads with a record at once.
pub(crate) const MAX_THREADS: usize = 1024;

/// `WAIT_IO_COMPLETION`: [`sleep_alertable`] ran at least one APC.
pub(crate) const WAIT_IO_COMPLETION: u32 = 192;

static THREADS: [Slot; MAX_THREADS] = [Slot::EMPTY; MAX_THREADS];
/// Per thread record: the queue of completed requests (engine record index
/// + 1, linked through the engine's records; 0 = empty), newest first.
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_QUEUE: AtomicU32 = AtomicU32::new(0);
static QUEUES: [AtomicU32; MAX_THREADS] = [EMPTY_QUEUE; MAX_THREADS];

/// The pthread key holding the calling thread's record (index + 1), with
/// the destructor that closes it at thread exit. 0 = not created yet.
static KEY: AtomicUsize = AtomicUsize::new(0);
const KEY_CREATING: usize = usize::MAX;

fn key() -> Option<libc::pthread_key_t> {
    loop {
        match KEY.load(Ordering::Acquire) {
            0 => {
                if KEY
                    .compare_exchange(0, KEY_CREATING, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    continue;
                }
                // SAFETY: all-zero is a valid pthread_key_t to be filled.
                let mut k: libc::pthread_key_t = unsafe { core::mem::zeroed() };
                // SAFETY: k is a valid out-pointer; the destructor is an
                // `extern "C" fn(*mut c_void)`.
                if unsafe { libc::pthread_key_create(&mut k, Some(thread_exit)) } != 0 {
                    KEY.store(0, Ordering::Release);
                    return None;
                }
                // The fork handler before the first thread record: a child
                // never shares a thread's wake primitive or queue.
                // SAFETY: a plain extern "C" handler.
                unsafe { libc::pthread_atfork(None, None, Some(fork_child)) };
                // Stored + 1 so that key 0 is distinguishable from "none".
                KEY.store(k as usize + 1, Ordering::Release);
                return Some(k);
            }
            KEY_CREATING => core::hint::spin_loop(),
            v => return Some((v - 1) as libc::pthread_key_t),
        }
    }
}

/// The calling thread's record index, if it has one.
fn current_index() -> Option<u32> {
    let k = key()?;
    // SAFETY: a key we created.
    let v = unsafe { libc::pthread_getspecific(k) } as usize;
    (v != 0).then(|| (v - 1) as u32)
}

/// A reference to a thread's record, held by a request from its send to
/// the queueing of its APC.
#[derive(Debug)]
pub(crate) struct ThreadRef(u32);

impl ThreadRef {
    /// A reference to the calling thread's record (created on first use),
    /// or the Win32 error.
    pub(crate) fn current() -> Result<ThreadRef, u32> {
        let k = key().ok_or(crate::ipexport::ERROR_NOT_ENOUGH_MEMORY)?;
        if let Some(i) = current_index() {
            // Our own record is open while we run: the reference succeeds.
            if event::acquire(&THREADS, own_id(i)) {
                return Ok(ThreadRef(i));
            }
        }
        let id = event::alloc(&THREADS)?;
        QUEUES[id.index as usize].store(0, Ordering::Release);
        // SAFETY: a key we created; the value is an integer tag.
        unsafe { libc::pthread_setspecific(k, (id.index as usize + 1) as *const libc::c_void) };
        if event::acquire(&THREADS, id) {
            Ok(ThreadRef(id.index))
        } else {
            Err(crate::ipexport::ERROR_NOT_ENOUGH_MEMORY)
        }
    }

    /// Queues the completed engine record `rec` to the thread and wakes it;
    /// if the thread has exited, discards it (the routine never runs).
    /// Drops the reference.
    pub(crate) fn queue(self, records: &'static Records, rec: u32) {
        register(records);
        let i = self.0 as usize;
        let q = &QUEUES[i];
        let mut head = q.load(Ordering::Acquire);
        loop {
            (records.set_link)(rec, head);
            match q.compare_exchange_weak(head, rec + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
        if event::is_open(&THREADS, self.0) {
            // Only the push that made the queue non-empty wakes the thread
            // (one write per batch, not per completion): a later push finds
            // the earlier one's entry still queued, so that push's wake is
            // still to come or not yet consumed (`sleep_alertable` resets
            // the wake before it takes the whole queue).
            if head == 0 {
                THREADS[i].raw().set();
            }
        } else {
            // The thread exited (its destructor may have drained before our
            // push): discard what is queued.
            discard(q.swap(0, Ordering::AcqRel));
        }
    }
}

impl Drop for ThreadRef {
    fn drop(&mut self) {
        event::release(&THREADS, self.0);
    }
}

/// The identity of the calling thread's own (open) record.
fn own_id(index: u32) -> Id {
    Id {
        index,
        generation: event::generation(&THREADS, index),
    }
}

/// Frees a chain of queued records without running their routines.
fn discard(mut head: u32) {
    let Some(records) = records().filter(|_| head != 0) else {
        return;
    };
    while head != 0 {
        let rec = head - 1;
        head = (records.link)(rec);
        (records.discard)(rec);
    }
}

/// The pthread key destructor: the thread exits.
extern "C" fn thread_exit(v: *mut libc::c_void) {
    let v = v as usize;
    if v == 0 {
        return;
    }
    let index = (v - 1) as u32;
    let id = own_id(index);
    if event::mark_closed(&THREADS, id) {
        discard(QUEUES[index as usize].swap(0, Ordering::AcqRel));
        event::release(&THREADS, index);
    }
}

/// Runs the calling thread's completed APCs, in completion order: like
/// `SleepEx(timeout_ms, TRUE)`. Returns [`WAIT_IO_COMPLETION`] (192) as soon
/// as at least one ran (at once if some were already queued), 0 when
/// `timeout_ms` elapsed without any (`u32::MAX`: no limit — waits until an
/// APC comes; a thread that never issued an APC send then waits forever).
pub(crate) fn sleep_alertable(timeout_ms: u32) -> u32 {
    let t = match ThreadRef::current() {
        Ok(t) => t,
        Err(_) => {
            // No record possible: nothing can be queued to this thread.
            plain_sleep(timeout_ms);
            return 0;
        }
    };
    let i = t.0 as usize;
    let raw = THREADS[i].raw();
    let deadline = super::sock::now_ns().saturating_add(u64::from(timeout_ms) * 1_000_000);
    loop {
        raw.reset();
        let head = QUEUES[i].swap(0, Ordering::AcqRel);
        if head != 0 {
            run(head);
            return WAIT_IO_COMPLETION;
        }
        let left = if timeout_ms == u32::MAX {
            u32::MAX
        } else {
            let now = super::sock::now_ns();
            if now >= deadline {
                return 0;
            }
            (deadline - now)
                .div_ceil(1_000_000)
                .min(u64::from(u32::MAX - 1)) as u32
        };
        raw.wait(left);
    }
}

/// Waits for the event `h` alertably: `WaitForSingleObjectEx(h, timeout_ms,
/// TRUE)`. The event first: if it is signalled, `WAIT_OBJECT_0` (an
/// auto-reset event is reset; queued APCs stay queued); else this thread's
/// queued APCs run and the result is [`WAIT_IO_COMPLETION`]; else
/// `WAIT_TIMEOUT` once `timeout_ms` elapsed (`u32::MAX`: no limit). The
/// event's descriptor and the thread's wake descriptor are polled together.
/// `WAIT_FAILED` for a handle that is not an open event.
pub(crate) fn wait_alertable(h: crate::ipexport::HANDLE, timeout_ms: u32) -> u32 {
    use crate::ipexport::{WAIT_FAILED, WAIT_OBJECT_0, WAIT_TIMEOUT};
    let Some(ev) = event::EventRef::new(h) else {
        return WAIT_FAILED;
    };
    let Ok(t) = ThreadRef::current() else {
        // No record possible: nothing can be queued to this thread.
        return if ev.wait(timeout_ms) {
            WAIT_OBJECT_0
        } else {
            WAIT_TIMEOUT
        };
    };
    let i = t.0 as usize;
    let wake = THREADS[i].raw();
    let deadline = super::sock::now_ns().saturating_add(u64::from(timeout_ms) * 1_000_000);
    loop {
        if ev.take() {
            return WAIT_OBJECT_0;
        }
        wake.reset();
        let head = QUEUES[i].swap(0, Ordering::AcqRel);
        if head != 0 {
            run(head);
            return WAIT_IO_COMPLETION;
        }
        let left: libc::c_int = if timeout_ms == u32::MAX {
            -1
        } else {
            let now = super::sock::now_ns();
            if now >= deadline {
                return WAIT_TIMEOUT;
            }
            (deadline - now)
                .div_ceil(1_000_000)
                .min(libc::c_int::MAX as u64) as libc::c_int
        };
        let mut fds = [
            libc::pollfd {
                fd: ev.rfd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: wake.rfd,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds; EINTR and the rest loop to the checks.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, left) };
    }
}

/// Runs a chain (newest first) oldest first.
fn run(head: u32) {
    let Some(records) = records() else {
        return;
    };
    // Reverse the chain in place.
    let mut prev = 0;
    let mut cur = head;
    while cur != 0 {
        let next = (records.link)(cur - 1);
        (records.set_link)(cur - 1, prev);
        prev = cur;
        cur = next;
    }
    let mut cur = prev;
    while cur != 0 {
        let next = (records.link)(cur - 1);
        (records.run)(cur - 1);
        cur = next;
    }
}

fn plain_sleep(timeout_ms: u32) {
    if timeout_ms == u32::MAX {
        loop {
            // SAFETY: plain pause(2).
            unsafe { libc::pause() };
        }
    }
    let mut ts = libc::timespec {
        tv_sec: (timeout_ms / 1000) as libc::time_t,
        tv_nsec: ((timeout_ms % 1000) * 1_000_000) as _,
    };
    // SAFETY: valid timespecs; restarted with the remainder after signals.
    while unsafe { libc::nanosleep(&ts, &mut ts) } != 0 {}
}

extern "C" fn fork_child() {
    after_fork_child();
}

/// In a fork child: forget every thread record (the parent's threads do
/// not exist here; their queued completions belong to the parent).
fn after_fork_child() {
    for (s, q) in THREADS.iter().zip(QUEUES.iter()) {
        if event::is_open_any(s) {
            s.raw().close();
        }
        s.clear();
        q.store(0, Ordering::Relaxed);
    }
    if let Some(k) = key() {
        // SAFETY: a key we created.
        unsafe { libc::pthread_setspecific(k, core::ptr::null()) };
    }
}
