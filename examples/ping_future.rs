//! `ping_future`: many concurrent pings, each awaited as a [`Future`], with
//! no async runtime and no dependency but the standard library: the model
//! of waking a future from a registered wait (`helper::Event::register_wait`,
//! `RegisterWaitForSingleObject` on Windows).
//!
//! ```text
//! ping_future [-w timeout_ms] [address...]
//! ```
//!
//! Pings every IPv4 address given (default: the 64 loopback addresses
//! 127.0.0.1 to 127.0.0.64) at once, one asynchronous request each, and
//! prints one line per address in the order given (`127.0.0.1: bytes=32
//! time<1ms`, `127.0.0.5: Request timed out.`, or the status text of an ICMP
//! error or a failed send), then `N of M answered.`. Exit code 0 when at
//! least one echo reply arrived, 1 otherwise, 2 for bad arguments.
//!
//! How (each step names the pitfall it avoids where it happens):
//! - [`Echo`] is the future of one request: an `IcmpSendEcho2` with its own
//!   event, which the API signals when the request completes (reply,
//!   error or its own timeout). The reply buffer, the event and the ICMP
//!   handle stay in place until then (the buffer is boxed: the future may
//!   move).
//! - `register_wait` asks the system (Windows' thread pool; the Unix
//!   backend's completion thread) to call [`on_completed`] when the event
//!   is signalled. The callback's context is the future's boxed [`Signal`]:
//!   it marks the request done and wakes the [`Waker`] that the last `poll`
//!   stored. The `RegisteredWait` is dropped (unregistered, waiting for a
//!   callback that is running) before the `Signal` is freed and before the
//!   event is closed, exactly once: see [`Echo`]'s `Drop`.
//! - Each send also names an `ApcRoutine`, a no-op: Wine (8.0 and 10.0)
//!   given an `Event` and no `ApcRoutine` frees the request's
//!   `IO_STATUS_BLOCK` (a 32-byte heap block of its own) at the call and
//!   writes it when the request completes, corrupting whatever was allocated
//!   there meanwhile (measured: most 32-byte blocks allocated right after the
//!   sends; here the futures' wakers and the registered waits' records, a
//!   crash in a thread-pool callback). With an `ApcRoutine` Wine keeps the
//!   block until the APC has run (README pitfall 14). Windows and the Unix
//!   backend never run an APC given next to an `Event`: the no-op is
//!   harmless there.
//! - [`run_all`] is the executor: it polls each future once, then only the
//!   ones whose waker was called, sleeping in between in an alertable wait
//!   on an auto-reset event the wakers set (`helper::wait_alertable`: no busy
//!   polling, and the sends' APCs run there), and bounds every wait.
//!
//! One code path on Windows, under Wine, and natively on Linux, macOS and
//! FreeBSD over the crate's Unix backend.

use std::process::ExitCode;

const USAGE: &str = "\
Usage: ping_future [-w timeout] [address...]

Options:
    -w timeout     Timeout in milliseconds to wait for each reply (1-60000, default 1000).
    address        IPv4 addresses to ping at once (default: 127.0.0.1 to 127.0.0.64).";

/// The command line: the timeout and the addresses.
#[cfg_attr(not(icmp_api), allow(dead_code))]
struct Options {
    timeout_ms: u32,
    addrs: Vec<std::net::Ipv4Addr>,
}

/// Parses the arguments; `Ok(None)` for the help.
fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let mut timeout_ms = 1000;
    let mut addrs = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-?" | "-h" | "/?" => return Ok(None),
            "-w" => {
                let v = it
                    .next()
                    .ok_or_else(|| "Value must be supplied for option -w.".to_string())?;
                timeout_ms = v
                    .parse()
                    .ok()
                    .filter(|ms| (1..=60_000).contains(ms))
                    .ok_or_else(|| {
                        format!("Bad value for option -w, valid range is from 1 to 60000: {v}")
                    })?;
            }
            a if a.starts_with('-') => return Err(format!("Bad option {a}.")),
            a => addrs.push(
                a.parse()
                    .map_err(|_| format!("Bad address {a}: IPv4 addresses only."))?,
            ),
        }
    }
    if addrs.is_empty() {
        addrs = (1..=64)
            .map(|i| std::net::Ipv4Addr::new(127, 0, 0, i))
            .collect();
    }
    if addrs.len() > 256 {
        return Err(format!(
            "Too many addresses ({}): at most 256 per run.",
            addrs.len()
        ));
    }
    Ok(Some(Options { timeout_ms, addrs }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args) {
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Ok(Some(options)) => run(&options),
    }
}

#[cfg(not(icmp_api))]
fn run(_: &Options) -> ExitCode {
    eprintln!("ping_future: icmp-sys has ICMP functions only on Windows, Linux, macOS and FreeBSD");
    ExitCode::FAILURE
}

#[cfg(icmp_api)]
fn run(options: &Options) -> ExitCode {
    use icmp::{Echo, Outcome, run_all};
    use icmp_sys::helper::IcmpHandle;
    use std::future::Future;
    use std::pin::Pin;

    let icmp = match IcmpHandle::open_v4() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("ping_future: IcmpCreateFile failed with error {e}.");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Pinging {} hosts at once, each awaited as a future:",
        options.addrs.len()
    );
    // One future per address, all in flight together.
    let futures: Vec<Pin<Box<dyn Future<Output = Outcome> + '_>>> = options
        .addrs
        .iter()
        .map(|&addr| {
            Box::pin(Echo::new(&icmp, addr, options.timeout_ms))
                as Pin<Box<dyn Future<Output = Outcome> + '_>>
        })
        .collect();
    // Bound: every request completes within its timeout, and the registered
    // wait's own timeout ends a future whose event never comes.
    let limit =
        std::time::Duration::from_millis(u64::from(options.timeout_ms)) * 2 + icmp::GRACE * 2;
    let Some(outcomes) = run_all(futures, limit) else {
        eprintln!("ping_future: requests still pending after {limit:?}: stopped");
        // Exit without freeing what the pending requests may still write.
        std::process::exit(1);
    };
    let mut answered = 0;
    let mut denied = false;
    for (addr, outcome) in options.addrs.iter().zip(&outcomes) {
        match *outcome {
            Outcome::Reply {
                status,
                rtt_ms,
                bytes,
            } if status == icmp_sys::IP_SUCCESS => {
                answered += 1;
                let time = if rtt_ms == 0 {
                    "<1ms".to_string()
                } else {
                    format!("={rtt_ms}ms")
                };
                println!("{addr}: bytes={bytes} time{time}");
            }
            Outcome::Reply { status, .. } => println!("{addr}: {}", icmp::status_text(status)),
            Outcome::NoReply(icmp_sys::IP_REQ_TIMED_OUT) => println!("{addr}: Request timed out."),
            Outcome::NoReply(status) => println!("{addr}: {}", icmp::status_text(status)),
            Outcome::Failed(code) => {
                denied |= code == icmp_sys::ERROR_ACCESS_DENIED;
                println!("{addr}: transmit failed. {}", icmp::status_text(code));
            }
            Outcome::Stuck => println!("{addr}: no completion within the grace period."),
        }
    }
    println!("{answered} of {} answered.", options.addrs.len());
    if denied {
        eprintln!(
            "ping_future: no permission to send ICMP echo requests (error 5): run it as root, \
             or on Linux allow ping sockets: sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\""
        );
    }
    if answered > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(icmp_api)]
mod icmp {
    use core::ffi::c_void;
    use core::pin::Pin;
    use core::ptr::null;
    use core::sync::atomic::{AtomicBool, Ordering};
    use core::task::{Context, Poll, Waker};
    use icmp_sys::helper::{self, Event, IcmpHandle, RegisteredWait, ReplyBuffer};
    use icmp_sys::{
        ERROR_IO_PENDING, IO_STATUS_BLOCK, IP_REQ_TIMED_OUT, IcmpParseReplies, IcmpSendEcho2,
    };
    use std::future::Future;
    use std::net::Ipv4Addr;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::task::Wake;
    use std::time::{Duration, Instant};

    /// The bytes each request sends (32, as `ping.exe`).
    const DATA: &[u8; 32] = b"abcdefghijklmnopqrstuvwabcdefghi";
    /// A reply buffer for one reply to [`DATA`], asynchronous sends (room for
    /// the `IO_STATUS_BLOCK` too).
    const BUF: usize = helper::reply_buffer_size_async(DATA.len() as u16);
    /// How long after its own timeout a request may take to complete before
    /// the registered wait's timeout gives up on it.
    pub const GRACE: Duration = Duration::from_secs(5);

    /// The result of one request.
    #[derive(Clone, Copy, Debug)]
    pub enum Outcome {
        /// One reply: the echo reply (`IP_SUCCESS`) or an ICMP error's status.
        Reply {
            status: u32,
            rtt_ms: u32,
            bytes: usize,
        },
        /// The request completed without a reply: its status
        /// (`IP_REQ_TIMED_OUT` for a timeout).
        NoReply(u32),
        /// The send failed: an `IP_STATUS` or a Win32 error code.
        Failed(u32),
        /// The event did not come within the timeout and [`GRACE`].
        Stuck,
    }

    /// The description of a status or error code.
    pub fn status_text(code: u32) -> String {
        match helper::status_description(code) {
            Some(text) if code != 0 => text.into(),
            _ => format!("Error code {code}."),
        }
    }

    /// What the callback and `poll` share: at a fixed heap address for the
    /// whole registration (the callback's context pointer points here).
    struct Signal {
        done: AtomicBool,
        timed_out: AtomicBool,
        waker: Mutex<Option<Waker>>,
    }

    /// The registered wait's callback (`WAITORTIMERCALLBACK`): runs on a
    /// system thread when the event is signalled (`timed_out` 0) or the
    /// wait's timeout passed (1). It only records and wakes: the reply
    /// buffer is read by `poll`, on the executor's thread.
    unsafe extern "system" fn on_completed(context: *mut c_void, timed_out: u8) {
        // SAFETY: the context is the `Signal` of a live `Echo`: `Echo`
        // unregisters the wait (waiting for this callback if it runs)
        // before freeing the `Signal`.
        let signal = unsafe { &*context.cast::<Signal>() };
        signal.timed_out.store(timed_out != 0, Ordering::Relaxed);
        signal.done.store(true, Ordering::Release);
        // No panic may leave an extern "system" function: a poisoned lock
        // is still a lock here.
        let waker = signal
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The `ApcRoutine` of every send: nothing to do (the event and its
    /// registered wait report the completion). It exists for Wine, which
    /// keeps the request's `IO_STATUS_BLOCK` alive only when an APC is given
    /// (see the module docs); it runs in the executor's alertable wait.
    unsafe extern "system" fn keep_io_status(_: *mut c_void, _: *mut IO_STATUS_BLOCK, _: u32) {}

    /// The future of one echo request to `addr`.
    pub struct Echo<'a> {
        icmp: &'a IcmpHandle,
        addr: Ipv4Addr,
        timeout_ms: u32,
        state: State,
    }

    /// Where an [`Echo`] is.
    enum State {
        /// Not sent yet: the first `poll` sends.
        Start,
        /// Sent and pending: what must stay in place until it completes.
        /// Field order is drop order, but `Echo`'s `Drop` does it explicitly.
        Pending {
            wait: Option<RegisteredWait>,
            signal: Box<Signal>,
            event: Event,
            buf: Box<ReplyBuffer<BUF>>,
        },
        /// Finished (the outcome was returned).
        Done,
    }

    impl<'a> Echo<'a> {
        /// A request to `addr`, sent at the first `poll`.
        pub fn new(icmp: &'a IcmpHandle, addr: Ipv4Addr, timeout_ms: u32) -> Self {
            Self {
                icmp,
                addr,
                timeout_ms,
                state: State::Start,
            }
        }

        /// Sends the request; `Err(outcome)` when it did not start.
        fn start(&mut self) -> Result<State, Outcome> {
            // One event per request (manual reset: it stays signalled once
            // the request completed, so registering after the send cannot
            // miss it).
            let event = Event::new().map_err(Outcome::Failed)?;
            let mut buf = Box::new(ReplyBuffer::<BUF>::new());
            // SAFETY: data is read during the call; the buffer, the event and
            // the handle stay alive until the request completed (the state
            // owns the first two, `'a` the handle; `Drop` waits).
            let n = unsafe {
                IcmpSendEcho2(
                    self.icmp.as_raw(),
                    event.handle(),
                    Some(keep_io_status),
                    null(),
                    helper::ipaddr(self.addr),
                    DATA.as_ptr().cast(),
                    DATA.len() as u16,
                    null(),
                    buf.as_mut_ptr(),
                    buf.size(),
                    self.timeout_ms,
                )
            };
            // Pitfall avoided: an asynchronous send always returns 0;
            // ERROR_IO_PENDING means "started", anything else failed.
            let error = helper::last_error();
            if n != 0 || error != ERROR_IO_PENDING {
                return Err(Outcome::Failed(if n != 0 { 0 } else { error }));
            }
            let signal = Box::new(Signal {
                done: AtomicBool::new(false),
                timed_out: AtomicBool::new(false),
                waker: Mutex::new(None),
            });
            let context = (&*signal as *const Signal).cast_mut().cast::<c_void>();
            // Once: the event fires one callback. The wait's own timeout
            // bounds it: the request's timeout plus a grace period.
            let limit = self.timeout_ms.saturating_add(GRACE.as_millis() as u32);
            // SAFETY: the context (`signal`) outlives the registration: the
            // `RegisteredWait` is dropped first (see `Drop`).
            let wait = match unsafe { event.register_wait(on_completed, context, limit, true) } {
                Ok(w) => Some(w),
                // No callback: fall back to waiting for the event here
                // (the request is in flight: its buffer must stay).
                Err(_) => {
                    event.wait(limit);
                    signal.done.store(true, Ordering::Release);
                    None
                }
            };
            Ok(State::Pending {
                wait,
                signal,
                event,
                buf,
            })
        }
    }

    impl Future for Echo<'_> {
        type Output = Outcome;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
            let this = self.get_mut();
            if let State::Start = this.state {
                match this.start() {
                    Ok(pending) => this.state = pending,
                    Err(outcome) => {
                        this.state = State::Done;
                        return Poll::Ready(outcome);
                    }
                }
            }
            let State::Pending { signal, .. } = &this.state else {
                panic!("Echo polled after it completed");
            };
            if !signal.done.load(Ordering::Acquire) {
                // Store the waker, then check again: a callback that ran
                // between the check and the store found no waker to wake.
                *signal.waker.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(cx.waker().clone());
                if !signal.done.load(Ordering::Acquire) {
                    return Poll::Pending;
                }
            }
            let State::Pending {
                wait,
                signal,
                event,
                mut buf,
            } = core::mem::replace(&mut this.state, State::Done)
            else {
                unreachable!()
            };
            // Unregister before anything is freed (here: nothing runs any
            // more, the callback has finished or never will).
            drop(wait);
            if signal.timed_out.load(Ordering::Relaxed) && !event.wait(0) {
                // The request did not complete within its timeout and the
                // grace period: keep its buffer and event for good.
                core::mem::forget(buf);
                core::mem::forget(event);
                return Poll::Ready(Outcome::Stuck);
            }
            // SAFETY: the completed request's buffer and its size.
            let count = unsafe { IcmpParseReplies(buf.as_mut_ptr(), buf.size()) };
            if count == 0 {
                // No reply: IcmpParseReplies set the last error to the
                // status (IP_REQ_TIMED_OUT for a timeout).
                let status = helper::last_error();
                return Poll::Ready(Outcome::NoReply(if status == 0 {
                    IP_REQ_TIMED_OUT
                } else {
                    status
                }));
            }
            let outcome = match buf.replies(count).map(|mut r| r.next()) {
                Ok(Some(Ok(reply))) => Outcome::Reply {
                    status: reply.status(),
                    rtt_ms: reply.round_trip_time(),
                    bytes: reply.data.len(),
                },
                _ => Outcome::Failed(icmp_sys::IP_GENERAL_FAILURE),
            };
            drop(buf);
            Poll::Ready(outcome)
        }
    }

    impl Drop for Echo<'_> {
        /// A future dropped while its request is in flight (cancelled): the
        /// request may still write its buffer and signal its event. The
        /// order avoids the classic mistakes (use after free; a second
        /// unregister, which Wine's thread pool turns into an assertion):
        /// 1. unregister, once (dropping the `RegisteredWait`: it waits for
        ///    a callback that is running), so nothing uses `signal` any more;
        /// 2. wait (bounded) for the request to complete, so nothing writes
        ///    `buf` or signals `event` any more;
        /// 3. free them. A request that never completes keeps its buffer and
        ///    event for good (leaked, not freed under the API).
        fn drop(&mut self) {
            if let State::Pending {
                wait,
                signal,
                event,
                buf,
            } = core::mem::replace(&mut self.state, State::Done)
            {
                drop(wait);
                drop(signal);
                let limit = self.timeout_ms.saturating_add(GRACE.as_millis() as u32);
                if !event.wait(limit) {
                    core::mem::forget(buf);
                    core::mem::forget(event);
                }
            }
        }
    }

    /// The executor's ready queue: the indices of the futures whose waker
    /// was called, and the auto-reset event `run_all` sleeps on.
    struct Ready {
        queue: Mutex<Vec<usize>>,
        wake: Event,
    }

    /// The waker of future `index`: queues it and wakes the executor.
    struct TaskWaker {
        ready: Arc<Ready>,
        index: usize,
    }

    impl Wake for TaskWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.ready
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(self.index);
            self.ready.wake.set();
        }
    }

    /// Runs every future to completion on this thread; their outputs in
    /// order, or `None` when some were still pending after `limit` (or no
    /// event could be made).
    pub fn run_all<T>(
        mut futures: Vec<Pin<Box<dyn Future<Output = T> + '_>>>,
        limit: Duration,
    ) -> Option<Vec<T>> {
        let n = futures.len();
        let ready = Arc::new(Ready {
            queue: Mutex::new((0..n).collect()),
            // Auto reset: a set between two waits is not lost, and one wait
            // consumes it.
            wake: Event::create(false, false).ok()?,
        });
        let wakers: Vec<Waker> = (0..n)
            .map(|index| {
                Waker::from(Arc::new(TaskWaker {
                    ready: Arc::clone(&ready),
                    index,
                }))
            })
            .collect();
        let mut outputs: Vec<Option<T>> = (0..n).map(|_| None).collect();
        let mut left = n;
        let deadline = Instant::now() + limit;
        while left > 0 {
            let batch =
                core::mem::take(&mut *ready.queue.lock().unwrap_or_else(PoisonError::into_inner));
            if batch.is_empty() {
                let now = Instant::now();
                if now >= deadline {
                    return None;
                }
                // Alertable: the sends' APCs run here. A waker's set comes
                // after its push, so nothing queued is slept through.
                let ms = (deadline - now)
                    .as_millis()
                    .clamp(1, u128::from(u32::MAX - 1));
                helper::wait_alertable(&ready.wake, ms as u32);
                continue;
            }
            for index in batch {
                if outputs[index].is_some() {
                    continue; // woken again after it finished
                }
                let mut cx = Context::from_waker(&wakers[index]);
                if let Poll::Ready(v) = futures[index].as_mut().poll(&mut cx) {
                    outputs[index] = Some(v);
                    left -= 1;
                }
            }
        }
        Some(outputs.into_iter().map(Option::unwrap).collect())
    }
}
