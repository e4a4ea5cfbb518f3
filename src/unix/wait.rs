//! Registered waits on Unix: `RegisterWaitForSingleObject` /
//! `UnregisterWaitEx` of this backend (`helper::Event::register_wait`).
//!
//! **One waiter thread** per process (started on first use, never a thread
//! per wait) polls the descriptors of every registered event, plus its own
//! wake primitive, with the earliest deadline of their timeouts, and runs
//! the callbacks **on itself, one at a time**, outside the table's lock:
//! `callback(context, 0)` when the event is signalled (an auto-reset event
//! is reset by it: [`event::EventRef::take`](super::event::EventRef::take), so one set is one callback
//! and no other waiter sees it), `callback(context, 1)` when the timeout
//! elapsed first. A `once` wait is then over; another re-arms, its timeout
//! restarting after each callback (a manual-reset event that stays set
//! fires again and again, as on Windows).
//!
//! The table of waits grows on demand (`mmap`, moved only under its lock;
//! the waiter thread polls a copy made under the lock). A wait holds a
//! reference to its event ([`event::EventRef`](super::event::EventRef)): the event's descriptors
//! stay open while it is registered, even if the `Event` is dropped, so
//! the waiter never polls or reads a descriptor number that was closed and
//! reused. A registration that is never unregistered (its
//! `RegisteredWait` forgotten) keeps that reference for the life of the
//! process: it leaks, and touches nothing else
//! (`tests/helper.rs`, `register_wait_forgotten_then_event_dropped_touches_nothing_reused`).
//!
//! **Unregistering** ([`unregister`]) waits until a running callback of
//! that wait returned (`UnregisterWaitEx(h, INVALID_HANDLE_VALUE)`), except
//! on the waiter thread itself — inside a callback — where it returns at
//! once (no callback but the running one can be running there, and the
//! waiter re-checks the wait's generation after each callback): dropping a
//! registration inside its own callback does not deadlock.
//!
//! **fork**: a child has no waiter thread and no registered wait (its
//! copies of the parent's registrations are stale: dropping them does
//! nothing); a registration in the child starts its own waiter thread.
//!
//! Layer: beside `apc` (neither uses the other); may use: `event`, `sock`.

use super::event::{EventRef, Raw, map_anon};
use crate::ipexport::{ERROR_INVALID_HANDLE, ERROR_NOT_ENOUGH_MEMORY, HANDLE};
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::mem::size_of;
use core::ptr;
use core::sync::atomic::{AtomicU8, Ordering};

/// `WAITORTIMERCALLBACK`.
pub(crate) type Callback = unsafe extern "system" fn(*mut c_void, u8);

/// A registration: its slot and generation.
#[derive(Debug)]
pub(crate) struct Registration {
    index: u32,
    generation: u32,
}

/// One wait of the table.
struct Wait {
    /// Bumped when the slot is freed: a stale [`Registration`] is ignored.
    generation: u32,
    /// Registered and waiting (not freed, not a finished once-wait).
    armed: bool,
    /// The slot is in use (armed or a finished once-wait not yet dropped).
    used: bool,
    once: bool,
    event: Option<EventRef>,
    callback: Option<Callback>,
    context: *mut c_void,
    timeout_ms: u32,
    /// `now_ns` deadline of the timeout; `u64::MAX`: none.
    deadline: u64,
    /// Free list link: next free index + 1, 0 = end.
    next_free: u32,
}

/// The table and the waiter thread's state, behind `LOCK`.
struct Table {
    waits: *mut Wait,
    cap: usize,
    /// First free index + 1; 0 = none (grow).
    free: u32,
    /// The waiter thread runs.
    started: bool,
    thread: libc::pthread_t,
    /// Wakes the waiter thread to rebuild its poll set.
    wake: Raw,
    /// The wait whose callback runs (index + 1, generation), 0 = none.
    running: (u32, u32),
}

struct Shared {
    lock: UnsafeCell<libc::pthread_mutex_t>,
    /// Signalled when a callback returned.
    done: UnsafeCell<libc::pthread_cond_t>,
    table: UnsafeCell<Table>,
}

// SAFETY: `table` is accessed only with `lock` held (or in a fork child,
// single-threaded); the mutex and condition variable are thread-safe.
unsafe impl Sync for Shared {}

static SHARED: Shared = Shared {
    lock: UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER),
    done: UnsafeCell::new(libc::PTHREAD_COND_INITIALIZER),
    table: UnsafeCell::new(Table {
        waits: ptr::null_mut(),
        cap: 0,
        free: 0,
        started: false,
        // SAFETY: pthread_t is an integer or pointer type; zero = none.
        thread: unsafe { core::mem::zeroed() },
        wake: Raw { rfd: -1, wfd: -1 },
        running: (0, 0),
    }),
};

/// The fork handlers' registration: 0 none, 1 under way, 2 done.
static ATFORK: AtomicU8 = AtomicU8::new(0);

/// Registers the fork handlers once, before the table's lock is first
/// taken and before any waiter state (wake primitive, thread) exists, so a
/// fork on another thread can never copy that state, or the lock held,
/// into a child without the child handler resetting them (issue 14 item
/// 5). A thread that finds the registration under way waits for it.
fn fork_handlers() {
    if ATFORK.load(Ordering::Acquire) == 2 {
        return;
    }
    match ATFORK.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            // SAFETY: plain extern "C" handlers.
            unsafe {
                libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child))
            };
            ATFORK.store(2, Ordering::Release);
        }
        Err(_) => {
            // Bounded by the other thread's pthread_atfork call.
            while ATFORK.load(Ordering::Acquire) != 2 {
                // SAFETY: no preconditions.
                unsafe { libc::sched_yield() };
            }
        }
    }
}

/// The table, locked until the guard drops.
struct Guard;

impl Guard {
    fn lock() -> Guard {
        // SAFETY: a statically initialised mutex.
        unsafe { libc::pthread_mutex_lock(SHARED.lock.get()) };
        Guard
    }

    #[allow(clippy::mut_from_ref)]
    fn table(&self) -> &mut Table {
        // SAFETY: the lock is held for the guard's life; one `&mut` at a
        // time (callers never hold two).
        unsafe { &mut *SHARED.table.get() }
    }

    /// Waits on `done`, releasing the lock meanwhile.
    fn wait_done(&self) {
        // SAFETY: the lock is held by this thread.
        unsafe { libc::pthread_cond_wait(SHARED.done.get(), SHARED.lock.get()) };
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: held by this thread.
        unsafe { libc::pthread_mutex_unlock(SHARED.lock.get()) };
    }
}

impl Table {
    fn wait(&mut self, i: u32) -> &mut Wait {
        debug_assert!((i as usize) < self.cap);
        // SAFETY: i < cap: an initialised element of the table.
        unsafe { &mut *self.waits.add(i as usize) }
    }

    /// Doubles the table (at least 64 waits); `false` when out of memory.
    fn grow(&mut self) -> bool {
        let cap = (self.cap * 2).max(64);
        let Some(new) = map_anon(cap * size_of::<Wait>()).map(|p| p.cast::<Wait>()) else {
            return false;
        };
        // SAFETY: the old table's `cap` elements move (bitwise) into the
        // new one, which is larger; the old mapping is then unmapped
        // without dropping them. The rest are initialised free slots.
        unsafe {
            if self.cap > 0 {
                ptr::copy_nonoverlapping(self.waits, new, self.cap);
                libc::munmap(self.waits.cast(), self.cap * size_of::<Wait>());
            }
            for i in self.cap..cap {
                new.add(i).write(Wait {
                    generation: 0,
                    armed: false,
                    used: false,
                    once: false,
                    event: None,
                    callback: None,
                    context: ptr::null_mut(),
                    timeout_ms: 0,
                    deadline: u64::MAX,
                    next_free: if i + 1 < cap {
                        (i + 2) as u32
                    } else {
                        self.free
                    },
                });
            }
        }
        self.free = self.cap as u32 + 1;
        self.waits = new;
        self.cap = cap;
        true
    }
}

fn deadline_of(timeout_ms: u32) -> u64 {
    if timeout_ms == u32::MAX {
        u64::MAX
    } else {
        super::sock::now_ns().saturating_add(u64::from(timeout_ms) * 1_000_000)
    }
}

/// Registers `callback(context, timed_out)` for the event `h`.
pub(crate) fn register(
    h: HANDLE,
    callback: Callback,
    context: *mut c_void,
    timeout_ms: u32,
    once: bool,
) -> Result<Registration, u32> {
    let event = EventRef::new(h).ok_or(ERROR_INVALID_HANDLE)?;
    fork_handlers();
    let g = Guard::lock();
    let t = g.table();
    if !t.started {
        start(t)?;
    }
    if t.free == 0 && !t.grow() {
        return Err(ERROR_NOT_ENOUGH_MEMORY);
    }
    let i = t.free - 1;
    let w = t.wait(i);
    let next = w.next_free;
    w.used = true;
    w.armed = true;
    w.once = once;
    w.event = Some(event);
    w.callback = Some(callback);
    w.context = context;
    w.timeout_ms = timeout_ms;
    w.deadline = deadline_of(timeout_ms);
    let generation = w.generation;
    t.free = next;
    t.wake.set();
    Ok(Registration {
        index: i,
        generation,
    })
}

/// Unregisters; waits for its running callback unless called from the
/// waiter thread (inside a callback).
pub(crate) fn unregister(r: &Registration) {
    let g = Guard::lock();
    // SAFETY: pthread_self has no preconditions; `thread` is read under
    // the lock.
    let on_waiter = {
        let t = g.table();
        t.started && unsafe { libc::pthread_equal(libc::pthread_self(), t.thread) } != 0
    };
    if !on_waiter {
        while g.table().running == (r.index + 1, r.generation) {
            g.wait_done();
        }
    }
    let t = g.table();
    if (r.index as usize) >= t.cap {
        return;
    }
    let free = t.free;
    let w = t.wait(r.index);
    if !w.used || w.generation != r.generation {
        return; // stale (e.g. a fork child's copy)
    }
    w.used = false;
    w.armed = false;
    w.generation = w.generation.wrapping_add(1);
    w.callback = None;
    w.context = ptr::null_mut();
    let event = w.event.take();
    w.next_free = free;
    t.free = r.index + 1;
    t.wake.set();
    drop(g);
    // Releases the event's reference (may close its descriptors): outside
    // the lock.
    drop(event);
}

/// Starts the waiter thread (the lock held).
fn start(t: &mut Table) -> Result<(), u32> {
    // The fork handlers are in place (`register` called `fork_handlers`
    // before taking the lock).
    t.wake = Raw::new()?;
    // SAFETY: attr initialised before use and destroyed after; the routine
    // takes no argument.
    let rc = unsafe {
        let mut attr: libc::pthread_attr_t = core::mem::zeroed();
        libc::pthread_attr_init(&mut attr);
        libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        let rc = libc::pthread_create(&mut t.thread, &attr, waiter, ptr::null_mut());
        libc::pthread_attr_destroy(&mut attr);
        rc
    };
    if rc != 0 {
        t.wake.close();
        t.wake = Raw { rfd: -1, wfd: -1 };
        return Err(ERROR_NOT_ENOUGH_MEMORY);
    }
    t.started = true;
    Ok(())
}

/// The waiter thread's poll set: pollfds and, after them, the wait index
/// and generation of each (the wake primitive last, without one).
struct PollSet {
    fds: *mut libc::pollfd,
    ids: *mut (u32, u32),
    cap: usize,
}

impl PollSet {
    fn ensure(&mut self, n: usize) -> bool {
        if n <= self.cap {
            return true;
        }
        let cap = n.next_power_of_two().max(64);
        let (Some(f), Some(i)) = (
            map_anon(cap * size_of::<libc::pollfd>()),
            map_anon(cap * size_of::<(u32, u32)>()),
        ) else {
            return false;
        };
        if self.cap > 0 {
            // SAFETY: our own mappings of `cap` elements.
            unsafe {
                libc::munmap(self.fds.cast(), self.cap * size_of::<libc::pollfd>());
                libc::munmap(self.ids.cast(), self.cap * size_of::<(u32, u32)>());
            }
        }
        self.fds = f.cast();
        self.ids = i.cast();
        self.cap = cap;
        true
    }
}

extern "C" fn waiter(_: *mut c_void) -> *mut c_void {
    let mut set = PollSet {
        fds: ptr::null_mut(),
        ids: ptr::null_mut(),
        cap: 0,
    };
    loop {
        // Build the poll set under the lock.
        let (n, timeout, wake) = {
            let g = Guard::lock();
            let t = g.table();
            if !set.ensure(t.cap + 1) {
                drop(g);
                // Out of memory for the set: retry later.
                // SAFETY: plain usleep.
                unsafe { libc::usleep(10_000) };
                continue;
            }
            let mut n = 0;
            let mut earliest = u64::MAX;
            for i in 0..t.cap as u32 {
                let w = t.wait(i);
                if !w.armed {
                    continue;
                }
                let fd = w.event.as_ref().map_or(-1, EventRef::rfd);
                // SAFETY: n < cap (at most t.cap armed waits + the wake).
                unsafe {
                    set.fds.add(n).write(libc::pollfd {
                        fd,
                        events: libc::POLLIN,
                        revents: 0,
                    });
                    set.ids.add(n).write((i, w.generation));
                }
                earliest = earliest.min(w.deadline);
                n += 1;
            }
            // SAFETY: n < cap.
            unsafe {
                set.fds.add(n).write(libc::pollfd {
                    fd: t.wake.rfd,
                    events: libc::POLLIN,
                    revents: 0,
                })
            };
            let timeout = if earliest == u64::MAX {
                -1
            } else {
                earliest
                    .saturating_sub(super::sock::now_ns())
                    .div_ceil(1_000_000)
                    .min(libc::c_int::MAX as u64) as libc::c_int
            };
            (n, timeout, t.wake)
        };
        // SAFETY: n + 1 initialised pollfds of our own buffer.
        unsafe { libc::poll(set.fds, (n + 1) as libc::nfds_t, timeout) };
        wake.reset();
        // Run what fired, one callback at a time, outside the lock.
        for k in 0..n {
            // SAFETY: k < n: written above.
            let ((i, generation), revents) =
                unsafe { (*set.ids.add(k), (*set.fds.add(k)).revents) };
            let g = Guard::lock();
            let t = g.table();
            let w = t.wait(i);
            if !w.armed || w.generation != generation {
                continue; // unregistered meanwhile
            }
            let signalled = revents != 0 && w.event.as_ref().is_some_and(EventRef::take);
            let timed_out = !signalled && w.deadline <= super::sock::now_ns();
            if !signalled && !timed_out {
                continue;
            }
            if w.once {
                w.armed = false;
            }
            let (Some(cb), ctx) = (w.callback, w.context) else {
                continue;
            };
            t.running = (i + 1, generation);
            drop(g);
            // SAFETY: the registrant's contract (`Event::register_wait`):
            // `context` is valid for `callback` until the registration is
            // dropped, which waits for this call to return.
            unsafe { cb(ctx, u8::from(timed_out)) };
            let g = Guard::lock();
            let t = g.table();
            t.running = (0, 0);
            // SAFETY: a statically initialised condition variable.
            unsafe { libc::pthread_cond_broadcast(SHARED.done.get()) };
            let w = t.wait(i);
            if w.armed && w.generation == generation {
                // Not once, still registered: the timeout restarts.
                w.deadline = deadline_of(w.timeout_ms);
            }
        }
    }
}

extern "C" fn fork_prepare() {
    // SAFETY: a statically initialised mutex; unlocked by the handlers
    // below in both processes.
    unsafe { libc::pthread_mutex_lock(SHARED.lock.get()) };
}

extern "C" fn fork_parent() {
    // SAFETY: locked by fork_prepare on this thread.
    unsafe { libc::pthread_mutex_unlock(SHARED.lock.get()) };
}

extern "C" fn fork_child() {
    // SAFETY: the child is single-threaded; the lock was taken by
    // fork_prepare on this (the forking) thread, so it is ours to reset.
    unsafe {
        let t = &mut *SHARED.table.get();
        for i in 0..t.cap as u32 {
            let w = t.wait(i);
            // The parent's waits: stale here (no waiter thread); the
            // child's copies of their event references are released.
            drop(w.event.take());
            w.armed = false;
            w.used = false;
            w.generation = w.generation.wrapping_add(1);
        }
        if t.started {
            t.wake.close();
        }
        t.wake = Raw { rfd: -1, wfd: -1 };
        t.started = false;
        t.running = (0, 0);
        // Rebuild the free list.
        t.free = 0;
        for i in (0..t.cap as u32).rev() {
            let free = t.free;
            t.wait(i).next_free = free;
            t.free = i + 1;
        }
        ptr::write(SHARED.lock.get(), libc::PTHREAD_MUTEX_INITIALIZER);
        ptr::write(SHARED.done.get(), libc::PTHREAD_COND_INITIALIZER);
    }
}
