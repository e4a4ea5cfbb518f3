//! `ping_many`: pings many hosts at once from **one thread** with
//! asynchronous echo requests, and the model of correct asynchronous use of
//! the raw bindings.
//!
//! ```text
//! ping_many [-n count] [-l size] [-w timeout_ms] [-4|-6] target...
//! ```
//!
//! Targets are IP addresses, host names, and IPv4 ranges in CIDR notation
//! (`127.0.0.0/22`: every address of the block, 1024 here, network and
//! broadcast addresses included); each address is pinged once per round, in
//! the order given, duplicates dropped. Output: `Pinging N hosts with S bytes
//! of data:`, then one line per host in that order (`127.0.0.1: 2 of 2
//! received, time min/avg/max = 0/0/1 ms`, or `203.0.113.3: 0 of 2 received
//! (Request timed out.)` with the last failure's `ping.exe` text), then the
//! statistics. Exit code 0 when at least one echo reply arrived, 1 otherwise,
//! 2 for bad arguments — as `ping`.
//!
//! How (each step names the pitfall it avoids where it happens):
//! - every request is an `IcmpSendEcho2` (IPv4) or `Icmp6SendEcho2` (IPv6)
//!   with an `ApcRoutine` and no `Event`: the call returns 0 with
//!   `ERROR_IO_PENDING`; the reply buffer stays in place (boxed) and the
//!   handle open until the request completed;
//! - the APC runs on this thread only, during
//!   `icmp_sys::helper::sleep_alertable` (`SleepEx(ms, TRUE)` on Windows, the
//!   Unix backend's own alertable wait elsewhere); it only records the
//!   `IO_STATUS_BLOCK`; the buffer is read after the wait, with
//!   `IcmpParseReplies` (destructive: once) and the crate's bounds-checked
//!   helper;
//! - at most [`MAX_IN_FLIGHT`] requests are in flight: Wine 8.0 serves 256
//!   echoes at a time per Wine session (shared by all its processes) and
//!   completes the 257th at once with
//!   `STATUS_NO_MEMORY` (its reply buffer untouched) although the send said
//!   `ERROR_IO_PENDING`. A request that fails for lack of resources (that
//!   status, or a send refused with `ERROR_NOT_ENOUGH_MEMORY` /
//!   `IP_NO_RESOURCES`) shrinks the window to what is in flight and is sent
//!   again later (at most [`MAX_ATTEMPTS`] times);
//! - every wait is bounded: the request's own timeout completes it; a request
//!   not completed [`GRACE`] after its timeout stops the program (exit 1)
//!   without freeing its buffer.
//!
//! Rounds (`-n`): one echo to every host per round; a round starts when the
//! previous one has completed, and at least a second after it started (as
//! `ping.exe` spaces its requests).
//!
//! Where it runs: on Windows over `iphlpapi.dll`, under Wine (`.ci/wine`),
//! and natively on Linux, macOS and FreeBSD over the crate's Unix backend,
//! with the very same calls. IPv6: not under Wine 8.0 (no IPv6 echo: its
//! hosts fail with error 120). Needs the crate's `alloc` feature
//! (`cargo run --features alloc --example ping_many -- 127.0.0.0/24`).

mod common;

use common::{Args, Command, Family, Outcome, status_text};
use icmp_sys::IP_SUCCESS;
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

const USAGE: &str = "\
Usage: ping_many [-n count] [-l size] [-w timeout] [-4 | -6] target...

Pings every target at once from one thread with asynchronous echo requests
(at most 256 in flight), then prints a line per host and the statistics.

Targets: IP addresses, host names, and IPv4 ranges in CIDR notation
(127.0.0.0/22: every address of the block). At most 65536 addresses.

Options (also accepted with '/' instead of '-'):
    -n count       Echo requests per target, one round a second
                   (1 to 100; default 1).
    -l size        Send buffer size in bytes (0 to 65500; default 32).
    -w timeout     Timeout in milliseconds to wait for each reply
                   (1 to 60000; default 1000).
    -4             Force using IPv4.
    -6             Force using IPv6.
    -h, -?         Show this help.";

/// The largest `-n`.
const MAX_COUNT: u32 = 100;
/// The largest `-l`, as `ping.exe`.
const MAX_SIZE: u16 = 65500;
/// The largest `-w`.
const MAX_TIMEOUT_MS: u32 = 60_000;
/// The most addresses one run pings (a /16).
const MAX_TARGETS: usize = 65536;
/// The most requests in flight at once: Wine 8.0's limit per session (the
/// 257th completes at once with `STATUS_NO_MEMORY`, measured with
/// `.ci/wine`); kept on every OS.
const MAX_IN_FLIGHT: usize = 256;
/// How often a request that failed for lack of resources is sent.
const MAX_ATTEMPTS: u32 = 5;
/// How long after its timeout a request may take to complete before the
/// program gives up on it.
const GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The parsed command line.
#[derive(Debug)]
#[cfg_attr(not(icmp_api), allow(dead_code))]
struct Options {
    count: u32,
    size: u16,
    timeout_ms: u32,
    family: Option<Family>,
    targets: Vec<String>,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Command<Options>, String> {
    let mut opts = Options {
        count: 1,
        size: 32,
        timeout_ms: 1000,
        family: None,
        targets: Vec::new(),
    };
    let mut args = Args::new_many(args, "target");
    while let Some((flag, arg)) = args.next_flag()? {
        match flag.as_str() {
            "h" | "?" | "-help" => return Ok(Command::Help),
            "n" => opts.count = args.number("-n", 1, MAX_COUNT)?,
            "l" => opts.size = args.number("-l", 0, MAX_SIZE)?,
            "w" => opts.timeout_ms = args.number("-w", 1, MAX_TIMEOUT_MS)?,
            _ => return Err(format!("Bad option {arg}.")),
        }
    }
    (opts.family, opts.targets) =
        args.finish_many("At least one IP address, host name or range must be specified.")?;
    // Ranges are checked here (a bad one is a bad argument); names are
    // resolved later.
    let mut total = 0usize;
    for target in &opts.targets {
        total += match parse_range(target)? {
            Some((_, len)) => len,
            None => 1,
        };
    }
    if total > MAX_TARGETS {
        return Err(format!(
            "Too many addresses ({total}): at most {MAX_TARGETS} per run."
        ));
    }
    Ok(Command::Run(opts))
}

/// An IPv4 range `a.b.c.d/len`: its first address and its size; `None` when
/// `target` is no range (no `/`). The host bits of the address are ignored,
/// as ranges are usually written (`127.0.0.1/22` is `127.0.0.0/22`).
fn parse_range(target: &str) -> Result<Option<(Ipv4Addr, usize)>, String> {
    let Some((addr, len)) = target.split_once('/') else {
        return Ok(None);
    };
    let bad = |why: &str| format!("Bad range {target}: {why}.");
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| bad("ranges are IPv4 addresses in CIDR notation"))?;
    let len: u32 = len
        .parse()
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(|| bad("the prefix length is 0 to 32"))?;
    if len < 16 {
        return Err(bad("at most 65536 addresses, prefix /16 or longer"));
    }
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    let first = Ipv4Addr::from(u32::from(addr) & mask);
    Ok(Some((first, 1usize << (32 - len))))
}

/// The addresses of the targets (ranges expanded, names resolved with the
/// family asked for), duplicates dropped, in order; prints the names that
/// were not found.
fn addresses(opts: &Options) -> Vec<(IpAddr, u32)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for target in &opts.targets {
        let found: Vec<(IpAddr, u32)> = match parse_range(target) {
            Ok(Some((first, len))) if opts.family != Some(Family::V6) => (0..len as u32)
                .map(|i| (IpAddr::V4(Ipv4Addr::from(u32::from(first) + i)), 0))
                .collect(),
            Ok(Some(_)) => Vec::new(), // an IPv4 range with -6
            _ => common::resolve(target, opts.family).into_iter().collect(),
        };
        if found.is_empty() {
            println!(
                "Ping request could not find host {target}. Please check the name and try again."
            );
        }
        for (addr, scope) in found {
            if seen.insert(addr) {
                out.push((addr, scope));
            }
        }
    }
    out
}

/// The text of a failed echo, as `ping.exe` prints it.
fn failure_text(outcome: &Outcome) -> String {
    match *outcome {
        Outcome::Reply { from, status, .. } => {
            format!("Reply from {from}: {}", status_text(status))
        }
        Outcome::TimedOut => "Request timed out.".into(),
        Outcome::Failed(code) => format!("PING: transmit failed. {}", status_text(code)),
    }
}

/// The round-trip time of an echo reply; `None` for anything else (an ICMP
/// error report is a reply of the API, not an echo reply).
fn echo_rtt(outcome: &Outcome) -> Option<u32> {
    match *outcome {
        Outcome::Reply {
            status: IP_SUCCESS,
            rtt_ms,
            ..
        } => Some(rtt_ms),
        _ => None,
    }
}

/// Prints the line of one host.
fn print_host(addr: IpAddr, outcomes: &[Outcome]) {
    let rtts: Vec<u32> = outcomes.iter().filter_map(echo_rtt).collect();
    let mut line = format!("{addr}: {} of {} received", rtts.len(), outcomes.len());
    if !rtts.is_empty() {
        let min = rtts.iter().min().copied().unwrap_or(0);
        let max = rtts.iter().max().copied().unwrap_or(0);
        let avg = rtts.iter().map(|&r| u64::from(r)).sum::<u64>() / rtts.len() as u64;
        line += &format!(", time min/avg/max = {min}/{avg}/{max} ms");
    }
    if let Some(failed) = outcomes.iter().rev().find(|o| echo_rtt(o).is_none()) {
        let text = failure_text(failed);
        if rtts.is_empty() {
            line += &format!(" ({text})");
        } else {
            line += &format!(" (lost: {text})");
        }
    }
    println!("{line}");
}

/// Prints the statistics; returns whether any echo reply arrived.
fn print_statistics(results: &[(IpAddr, Vec<Outcome>)]) -> bool {
    let hosts = results.len();
    let answered = results
        .iter()
        .filter(|(_, o)| o.iter().any(|o| echo_rtt(o).is_some()))
        .count();
    let sent: usize = results.iter().map(|(_, o)| o.len()).sum();
    let received: usize = results
        .iter()
        .map(|(_, o)| o.iter().filter(|o| echo_rtt(o).is_some()).count())
        .sum();
    let lost = sent - received;
    println!();
    println!("Ping statistics for {hosts} hosts:");
    println!(
        "    Hosts: Answered = {answered}, Not answered = {},",
        hosts - answered
    );
    println!(
        "    Packets: Sent = {sent}, Received = {received}, Lost = {lost} ({}% loss),",
        lost * 100 / sent.max(1)
    );
    received > 0
}

fn main() -> ExitCode {
    let opts = match common::options("ping_many", USAGE, parse_args(std::env::args().skip(1))) {
        Ok(opts) => opts,
        Err(code) => return code,
    };
    let targets = addresses(&opts);
    if targets.is_empty() {
        return ExitCode::from(1);
    }
    println!();
    println!(
        "Pinging {} hosts with {} bytes of data:",
        targets.len(),
        opts.size
    );
    let Some(outcomes) = run(&opts, &targets) else {
        return ExitCode::from(1);
    };
    let results: Vec<(IpAddr, Vec<Outcome>)> = targets.iter().map(|t| t.0).zip(outcomes).collect();
    for (addr, outcomes) in &results {
        print_host(*addr, outcomes);
    }
    #[cfg(unix)]
    if results.iter().any(|(_, o)| {
        o.iter()
            .any(|o| matches!(o, Outcome::Failed(icmp_sys::ERROR_ACCESS_DENIED)))
    }) {
        common::print_permission_help("ping_many");
    }
    if print_statistics(&results) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Other OSes: icmp-sys has no ICMP functions there.
#[cfg(not(icmp_api))]
fn run(_opts: &Options, _targets: &[(IpAddr, u32)]) -> Option<Vec<Vec<Outcome>>> {
    eprintln!(
        "ping_many: icmp-sys has no ICMP backend for {} (Windows, Linux, macOS and FreeBSD only).",
        std::env::consts::OS
    );
    None
}

/// Sends `opts.count` rounds of echoes to every target and returns each
/// target's outcomes, in order; `None` when a request never completed.
#[cfg(icmp_api)]
fn run(opts: &Options, targets: &[(IpAddr, u32)]) -> Option<Vec<Vec<Outcome>>> {
    let mut pinger = many::Pinger::new(opts.size, opts.timeout_ms);
    let mut outcomes = vec![Vec::new(); targets.len()];
    for round in 0..opts.count {
        let started = std::time::Instant::now();
        pinger.round(targets, &mut outcomes)?;
        // No permission to send ICMP: every further round would fail the
        // same way (the permission help follows the statistics).
        if pinger.denied() {
            break;
        }
        // ping.exe spaces the requests to a host by a second; none after
        // the last round. Alertable, though nothing is in flight now.
        if round + 1 < opts.count {
            let left = std::time::Duration::from_secs(1).saturating_sub(started.elapsed());
            icmp_sys::helper::sleep_alertable(left.as_millis() as u32);
        }
    }
    Some(outcomes)
}

/// The asynchronous engine: requests in flight, their APC, their completion.
#[cfg(icmp_api)]
mod many {
    use super::common::send::{First, open_handle, outcome};
    use super::{Family, GRACE, MAX_ATTEMPTS, MAX_IN_FLIGHT, Outcome};
    use core::cell::Cell;
    use core::ffi::c_void;
    use core::ptr::{null, null_mut};
    use icmp_sys::helper::{self, IcmpHandle, ReplyBufferVec};
    use icmp_sys::{
        ERROR_ACCESS_DENIED, ERROR_IO_PENDING, ERROR_NOT_ENOUGH_MEMORY, HANDLE, IO_STATUS_BLOCK,
        IP_GENERAL_FAILURE, IP_NO_RESOURCES, IP_REQ_TIMED_OUT, Icmp6SendEcho2, IcmpParseReplies,
        IcmpSendEcho2,
    };
    use std::collections::VecDeque;
    use std::net::{IpAddr, Ipv6Addr};
    use std::time::Instant;

    /// `STATUS_NO_MEMORY`: how Wine 8.0 completes a request past its 256
    /// in flight (the NTSTATUS in the APC's `IO_STATUS_BLOCK`).
    const STATUS_NO_MEMORY: i32 = 0xC000_0017_u32 as i32;

    /// One request in flight. Boxed: the APC writes `done` through the
    /// pointer given as `ApcContext` at the send, so the slot must not move
    /// until the APC ran (a `Vec<Box<Slot>>` may reallocate, the boxes'
    /// contents do not move). The API writes into `buf`'s heap allocation,
    /// which never moves.
    struct Slot {
        /// Index of the target.
        target: usize,
        /// How often this echo was sent (resource failures are retried).
        attempt: u32,
        /// When the request is given up (its timeout + GRACE).
        deadline: Instant,
        buf: ReplyBufferVec,
        /// The `IO_STATUS_BLOCK` the APC saw: (Status, Information).
        done: Cell<Option<(i32, usize)>>,
    }

    /// The APC routine: runs on the issuing thread, in `sleep_alertable`.
    /// It only records the status block; everything else happens after
    /// the wait (an APC should do little and never wait alertably itself).
    unsafe extern "system" fn completed(ctx: *mut c_void, iosb: *mut IO_STATUS_BLOCK, _: u32) {
        // SAFETY: ctx is the Slot given as ApcContext, alive until its APC
        // ran (the engine never drops an incomplete slot); iosb is valid
        // during the call.
        let (slot, iosb) = unsafe { (&*(ctx as *const Slot), &*iosb) };
        // SAFETY: Status is the NTSTATUS view of the union.
        slot.done
            .set(Some((unsafe { iosb.Anonymous.Status }, iosb.Information)));
    }

    /// An ICMP handle of one family, opened on first use; `Failed` keeps the
    /// error of a failed open (each request of that family fails with it).
    enum Handle {
        Unopened,
        /// Closed (`IcmpCloseHandle`) when dropped: only once nothing is in
        /// flight on it.
        Open(IcmpHandle),
        Failed(u32),
    }

    /// The open handles, the request payload, and the requests in flight.
    pub struct Pinger {
        v4: Handle,
        v6: Handle,
        data: Vec<u8>,
        size: u16,
        timeout_ms: u32,
        window: usize,
        /// Boxed: the APC writes `done` through the pointer given at the
        /// send, so a slot must not move while in flight (the `Vec` may
        /// reallocate; the boxes' contents do not move).
        #[allow(clippy::vec_box, reason = "the slots' addresses must not change")]
        in_flight: Vec<Box<Slot>>,
        /// No permission to send ICMP: every further request would fail too.
        denied: bool,
    }

    impl Pinger {
        pub fn new(size: u16, timeout_ms: u32) -> Self {
            Self {
                v4: Handle::Unopened,
                v6: Handle::Unopened,
                data: super::common::payload(size),
                size,
                timeout_ms,
                window: MAX_IN_FLIGHT,
                in_flight: Vec::new(),
                denied: false,
            }
        }

        /// Leaks the requests in flight and, if there are any, the handles:
        /// a request may still write into its buffer and queue its APC, so
        /// neither its slot nor its handle may be freed.
        fn leak_in_flight(&mut self) {
            if !self.in_flight.is_empty() {
                core::mem::forget(core::mem::take(&mut self.in_flight));
                core::mem::forget(core::mem::replace(&mut self.v4, Handle::Unopened));
                core::mem::forget(core::mem::replace(&mut self.v6, Handle::Unopened));
            }
        }

        /// Whether a send failed with `ERROR_ACCESS_DENIED` (no permission to
        /// send ICMP; the rest of the round was not sent).
        pub fn denied(&self) -> bool {
            self.denied
        }

        /// The open handle for `addr`'s family, or the error of its open.
        fn handle(&mut self, addr: IpAddr) -> Result<HANDLE, u32> {
            let (slot, v6) = match addr {
                IpAddr::V4(_) => (&mut self.v4, false),
                IpAddr::V6(_) => (&mut self.v6, true),
            };
            if let Handle::Unopened = slot {
                let family = if v6 { Family::V6 } else { Family::V4 };
                *slot = match open_handle("ping_many", family) {
                    Ok(h) => Handle::Open(h),
                    Err(code) => Handle::Failed(code),
                };
            }
            match slot {
                Handle::Open(h) => Ok(h.as_raw()),
                Handle::Failed(code) => Err(*code),
                Handle::Unopened => unreachable!("opened above"),
            }
        }

        /// One echo to every target; records each outcome in `outcomes`.
        /// `None` when a request did not complete within its timeout +
        /// GRACE: the program must stop, and must not free what the request
        /// may still write into.
        pub fn round(
            &mut self,
            targets: &[(IpAddr, u32)],
            outcomes: &mut [Vec<Outcome>],
        ) -> Option<()> {
            let mut queue: VecDeque<(usize, u32)> = (0..targets.len()).map(|t| (t, 1)).collect();
            while !queue.is_empty() || !self.in_flight.is_empty() {
                // Start requests while the window has room.
                while self.in_flight.len() < self.window {
                    let Some((target, attempt)) = queue.pop_front() else {
                        break;
                    };
                    if self.denied {
                        outcomes[target].push(Outcome::Failed(ERROR_ACCESS_DENIED));
                        continue;
                    }
                    match self.start(target, targets[target], attempt) {
                        Ok(slot) => self.in_flight.push(slot),
                        Err(code) if is_resource_error(code) && attempt < MAX_ATTEMPTS => {
                            // The platform's limit is lower than the window:
                            // shrink it to what is in flight, retry later.
                            self.window = self.in_flight.len().max(1);
                            queue.push_back((target, attempt + 1));
                            if self.in_flight.is_empty() {
                                break;
                            }
                        }
                        Err(code) => {
                            self.denied |= code == ERROR_ACCESS_DENIED;
                            outcomes[target].push(Outcome::Failed(code));
                        }
                    }
                }
                if self.in_flight.is_empty() {
                    if !queue.is_empty() {
                        // Refused for lack of resources with nothing in flight:
                        // give the system a moment before the retry.
                        helper::sleep_alertable(10);
                    }
                    continue;
                }
                // Pitfall avoided: the APCs run only during an alertable wait
                // of this thread. Returns 192 as soon as one or more ran.
                helper::sleep_alertable(200);
                let now = Instant::now();
                let mut i = 0;
                while i < self.in_flight.len() {
                    if self.in_flight[i].done.get().is_some() {
                        let slot = self.in_flight.swap_remove(i);
                        // Its APC ran: the slot may move now.
                        if let Some(retry) = self.finish(*slot, targets, outcomes) {
                            queue.push_back(retry);
                        }
                    } else if now > self.in_flight[i].deadline {
                        eprintln!(
                            "ping_many: a request to {} did not complete within its timeout \
                             + {GRACE:?}: stopping",
                            targets[self.in_flight[i].target].0
                        );
                        // Its buffer may still be written: never freed, and
                        // no handle is closed; the process exits.
                        self.leak_in_flight();
                        return None;
                    } else {
                        i += 1;
                    }
                }
            }
            Some(())
        }

        /// Sends one asynchronous echo to `addr`; the slot of the request in
        /// flight, or the error of a send that did not start.
        fn start(
            &mut self,
            target: usize,
            (addr, scope_id): (IpAddr, u32),
            attempt: u32,
        ) -> Result<Box<Slot>, u32> {
            let handle = self.handle(addr)?;
            let size = self.size;
            // Pitfall avoided: an aligned buffer (ICMP_ECHO_REPLY is
            // 8-aligned), with room for the reply, an ICMP error, options and
            // the IO_STATUS_BLOCK the documentation adds for async sends.
            let reply_size = match addr {
                IpAddr::V4(_) => helper::reply_buffer_size_async(size),
                IpAddr::V6(_) => helper::reply6_buffer_size(size),
            };
            let mut slot = Box::new(Slot {
                target,
                attempt,
                deadline: Instant::now()
                    + std::time::Duration::from_millis(self.timeout_ms.into())
                    + GRACE,
                buf: ReplyBufferVec::new(reply_size),
                done: Cell::new(None),
            });
            let ctx = &*slot as *const Slot as *const c_void;
            let buf = slot.buf.as_mut_ptr();
            let data = self.data.as_ptr().cast();
            // SAFETY: the handle is open (and stays open until every request
            // completed); `data` holds `size` bytes and is copied at the
            // call; the buffer is aligned, `reply_size` bytes, and stays in
            // place in its box until the APC ran; `ctx` is that box, kept in
            // `in_flight` (or leaked) until then. No options (NULL: the
            // system's TTL), no Event: the APC reports completion.
            let n = unsafe {
                match addr {
                    IpAddr::V4(ip) => IcmpSendEcho2(
                        handle,
                        null_mut(),
                        Some(completed),
                        ctx,
                        // Pitfall avoided: network byte order in memory.
                        helper::ipaddr(ip),
                        data,
                        size,
                        null(),
                        buf,
                        reply_size as u32,
                        self.timeout_ms,
                    ),
                    IpAddr::V6(ip) => {
                        // Windows SOCKADDR_IN6 (family 23 on every OS), copied
                        // at the call.
                        let source = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
                        let destination = helper::sockaddr_in6(ip, scope_id);
                        Icmp6SendEcho2(
                            handle,
                            null_mut(),
                            Some(completed),
                            ctx,
                            &source,
                            &destination,
                            data,
                            size,
                            null(),
                            buf,
                            reply_size as u32,
                            self.timeout_ms,
                        )
                    }
                }
            };
            // Pitfall avoided: an asynchronous send always returns 0; it was
            // started when the last error is ERROR_IO_PENDING (the docs'
            // "returns ERROR_IO_PENDING" is wrong). Anything else: it did not
            // start, no APC will run, the slot can go.
            let error = helper::last_error();
            if n == 0 && error == ERROR_IO_PENDING {
                return Ok(slot);
            }
            Err(if n == 0 { error } else { IP_GENERAL_FAILURE })
        }

        /// Reads a completed request; returns the echo to send again when it
        /// failed for lack of resources.
        fn finish(
            &mut self,
            mut slot: Slot,
            targets: &[(IpAddr, u32)],
            outcomes: &mut [Vec<Outcome>],
        ) -> Option<(usize, u32)> {
            let (status, information) = slot.done.get().expect("completed");
            let target = slot.target;
            if status != 0 {
                // The request ended without writing the buffer (Wine 8.0:
                // STATUS_NO_MEMORY past 256 in flight).
                if status == STATUS_NO_MEMORY && slot.attempt < MAX_ATTEMPTS {
                    self.window = (self.in_flight.len()).max(1);
                    return Some((target, slot.attempt + 1));
                }
                let code = if status == STATUS_NO_MEMORY {
                    IP_NO_RESOURCES
                } else {
                    eprintln!(
                        "ping_many: request to {} completed with NTSTATUS {status:#x}",
                        targets[target].0
                    );
                    IP_GENERAL_FAILURE
                };
                outcomes[target].push(Outcome::Failed(code));
                return None;
            }
            let size = self.size;
            let data = &self.data;
            let result = match targets[target].0 {
                IpAddr::V4(_) => {
                    let len = helper::reply_buffer_size_async(size);
                    // Pitfall avoided: IcmpParseReplies is destructive (call
                    // it once) and gives 0 for a timeout, with the status in
                    // the last error and in reply[0].
                    // SAFETY: the completed request's buffer and its size.
                    let count = unsafe { IcmpParseReplies(slot.buf.as_mut_ptr(), len as u32) };
                    let error = if count == 0 { helper::last_error() } else { 0 };
                    let first = First::v4(&slot.buf.as_bytes()[..len], count);
                    outcome("ping_many", count, error, first, data)
                }
                IpAddr::V6(_) => {
                    // Read with the helper, not Icmp6ParseReplies (Wine 8.0
                    // does not export it); Information 0: nothing written.
                    let len = helper::reply6_buffer_size(size);
                    let first = First::v6(&slot.buf.as_bytes()[..len], size);
                    let status = first.as_ref().map_or(IP_GENERAL_FAILURE, |f| f.status);
                    let (count, error) = match (information, status) {
                        (0, _) => (0, IP_GENERAL_FAILURE),
                        (_, IP_REQ_TIMED_OUT) => (0, IP_REQ_TIMED_OUT),
                        _ => (1, 0),
                    };
                    outcome("ping_many", count, error, first, data)
                }
            };
            outcomes[target].push(result);
            None
        }
    }

    impl Drop for Pinger {
        /// The handles close when dropped, once nothing is in flight. With
        /// requests still in flight (a request that never completed, or a
        /// panic), their buffers may still be written: leak them.
        fn drop(&mut self) {
            self.leak_in_flight();
        }
    }

    /// Whether a send that did not start failed for lack of resources
    /// (worth a retry once fewer requests are in flight).
    fn is_resource_error(code: u32) -> bool {
        code == ERROR_NOT_ENOUGH_MEMORY || code == IP_NO_RESOURCES
    }
}
