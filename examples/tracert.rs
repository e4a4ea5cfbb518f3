//! `tracert`: a small clone of Windows `tracert.exe` on top of the raw
//! bindings: echo requests with TTL 1, 2, 3, ... until the target answers.
//!
//! ```text
//! tracert [-d] [-h maximum_hops] [-w timeout_ms] [-4|-6] target_name
//! ```
//!
//! Output and options follow `tracert.exe` (see "tracert" in the Windows
//! Commands reference on Microsoft Learn): three probes per hop, each shown
//! as its round-trip time (`<1 ms`, `5 ms`) or `*` when it timed out, then
//! the address of the node that answered, or `Request timed out.` when no
//! probe of the hop was answered:
//!
//! ```text
//! Tracing route to 203.0.113.2 over a maximum of 30 hops
//!
//!   1    <1 ms    <1 ms    <1 ms  192.0.2.254
//!   2    <1 ms    <1 ms    <1 ms  198.51.100.2
//!   3    <1 ms    <1 ms    <1 ms  203.0.113.2
//!
//! Trace complete.
//! ```
//!
//! A router's `IP_TTL_EXPIRED_TRANSIT` reply (an ICMP "time exceeded") names
//! the hop in its `Address`; the target's `IP_SUCCESS` reply ends the trace.
//! Exit code 0 when the target answered, 1 otherwise (maximum hops reached,
//! an ICMP error such as "Destination host unreachable." ended the trace, or
//! nothing could be sent), 2 for bad arguments.
//!
//! Deliberate differences from `tracert.exe`:
//! - no reverse DNS lookups: addresses are always shown as numbers, as with
//!   `-d` (which is accepted); `-j`, `-R` and `-S` are not supported;
//! - the timeout is bounded (1 to 60000 ms), and so is the whole trace
//!   (at most `maximum_hops` × 3 probes of `timeout_ms` each);
//! - an ICMP error other than "TTL expired in transit" (e.g. unreachable)
//!   ends the trace after its hop's line, which shows the probe times and
//!   `<address>  reports: <status text>`;
//! - IPv6 is sent with `Icmp6SendEcho2` and read with the crate's helper, not
//!   `Icmp6ParseReplies` (Wine 8.0 does not export it).
//!
//! Where it runs: as `examples/ping.rs` — on Windows over `iphlpapi.dll`, on
//! Linux, macOS and FreeBSD natively over the crate's Unix backend (on Linux
//! the "time exceeded" of each router arrives through `IP_RECVERR`), and the
//! Windows build under Wine (`.ci/wine`). It needs the same ICMP permission
//! as `ping` (root, `CAP_NET_RAW`, or on Linux a group in
//! `net.ipv4.ping_group_range`); without it, it stops at the first probe
//! with `ERROR_ACCESS_DENIED` and exit code 1.

use std::net::{IpAddr, ToSocketAddrs};
use std::process::ExitCode;

const USAGE: &str = "\
Usage: tracert [-d] [-h maximum_hops] [-w timeout] [-4 | -6] target_name

Options (also accepted with '/' instead of '-'):
    -d                 Do not resolve addresses to hostnames (always the case).
    -h maximum_hops    Maximum number of hops to search for target
                       (1 to 255; default 30).
    -w timeout         Wait timeout milliseconds for each reply
                       (1 to 60000; default 4000).
    -4                 Force using IPv4.
    -6                 Force using IPv6.
    -?                 Show this help.";

/// The default `-h`, as `tracert.exe`.
const DEFAULT_MAX_HOPS: u8 = 30;
/// The default `-w`, as `tracert.exe`.
const DEFAULT_TIMEOUT_MS: u32 = 4000;
/// The largest `-w`.
const MAX_TIMEOUT_MS: u32 = 60_000;
/// Probes per hop, as `tracert.exe`.
const PROBES: usize = 3;
/// Bytes of data in each echo request.
const REQUEST_SIZE: u16 = 32;

/// The parsed command line.
#[derive(Debug)]
#[cfg_attr(
    not(any(
        windows,
        target_os = "linux",
        target_os = "macos",
        target_os = "freebsd"
    )),
    allow(dead_code)
)]
struct Options {
    max_hops: u8,
    timeout_ms: u32,
    family: Option<Family>,
    host: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

/// What to do after parsing.
enum Command {
    Help,
    Trace(Options),
}

/// Parses a numeric option value in `min..=max`.
fn number<T>(flag: &str, value: Option<String>, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let value = value.ok_or_else(|| format!("Value must be supplied for option {flag}."))?;
    match value.parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(format!(
            "Bad value for option {flag}, valid range is from {min} to {max} (got {value:?})."
        )),
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut opts = Options {
        max_hops: DEFAULT_MAX_HOPS,
        timeout_ms: DEFAULT_TIMEOUT_MS,
        family: None,
        host: String::new(),
    };
    let mut host = None;
    while let Some(arg) = args.next() {
        let flag = match arg.strip_prefix('-').or_else(|| arg.strip_prefix('/')) {
            Some(f) if !f.is_empty() => f.to_ascii_lowercase(),
            _ => {
                if let Some(first) = &host {
                    return Err(format!(
                        "Only one target may be given ({first:?}, {arg:?})."
                    ));
                }
                host = Some(arg);
                continue;
            }
        };
        match flag.as_str() {
            // -h is "maximum hops" in tracert.exe, not help.
            "?" | "-help" => return Ok(Command::Help),
            "d" => {}
            "h" => opts.max_hops = number("-h", args.next(), 1, 255)?,
            "w" => opts.timeout_ms = number("-w", args.next(), 1, MAX_TIMEOUT_MS)?,
            "4" | "6" => {
                let f = if flag == "4" { Family::V4 } else { Family::V6 };
                if opts.family.is_some_and(|g| g != f) {
                    return Err("Options -4 and -6 cannot be used together.".into());
                }
                opts.family = Some(f);
            }
            "j" | "r" | "s" => {
                return Err(format!("Option {arg} is not supported by this example."));
            }
            _ => return Err(format!("Bad option {arg}.")),
        }
    }
    opts.host = host.ok_or("A target name or IP address must be specified.")?;
    Ok(Command::Trace(opts))
}

/// Resolves `host` (an IP literal, or a name through the system resolver) to
/// an address of the requested family. Returns the address and its scope id
/// (IPv6 link-local zones).
fn resolve(host: &str, family: Option<Family>) -> Option<(IpAddr, u32)> {
    let wanted = |ip: &IpAddr| match family {
        None => true,
        Some(Family::V4) => ip.is_ipv4(),
        Some(Family::V6) => ip.is_ipv6(),
    };
    // An IP literal is used as is, never looked up.
    if let Ok(ip) = host.parse::<IpAddr>() {
        return wanted(&ip).then_some((ip, 0));
    }
    let addrs: Vec<_> = (host, 0).to_socket_addrs().ok()?.collect();
    // Without -4/-6, prefer IPv4 when the name has both.
    let pick = |want_v4: bool| {
        addrs
            .iter()
            .find(|a| a.is_ipv4() == want_v4 && wanted(&a.ip()))
    };
    let addr = pick(true).or_else(|| pick(false))?;
    let scope = match addr {
        std::net::SocketAddr::V6(a) => a.scope_id(),
        std::net::SocketAddr::V4(_) => 0,
    };
    Some((addr.ip(), scope))
}

/// The result of one probe.
#[cfg_attr(
    not(any(
        windows,
        target_os = "linux",
        target_os = "macos",
        target_os = "freebsd"
    )),
    allow(dead_code)
)]
#[derive(Clone, Copy, Debug)]
enum Probe {
    /// A reply of the API from `from`: the target's echo reply
    /// (`IP_SUCCESS`), a router's `IP_TTL_EXPIRED_TRANSIT`, or another ICMP
    /// error status.
    Reply {
        from: IpAddr,
        status: u32,
        rtt_ms: u32,
    },
    /// No reply within the timeout.
    TimedOut,
    /// The send itself failed: an `IP_STATUS` or a Win32 error code.
    Failed(u32),
}

/// The description of an `IP_STATUS` or Win32 error code.
fn status_text(code: u32) -> String {
    match icmp_sys::helper::status_description(code) {
        Some(text) if code != 0 => text.into(),
        _ => format!("Error code {code}."),
    }
}

/// One probe's column, 9 characters wide as in `tracert.exe`:
/// `    <1 ms`, `     5 ms`, `     *   `.
fn probe_column(probe: &Probe) -> String {
    match *probe {
        // The API truncates to whole milliseconds: 0 means "< 1 ms".
        Probe::Reply { rtt_ms: 0, .. } => format!("{:>6} ms", "<1"),
        Probe::Reply { rtt_ms, .. } => format!("{rtt_ms:>6} ms"),
        Probe::TimedOut | Probe::Failed(_) => format!("{:>6}   ", "*"),
    }
}

/// How a hop ended the trace, if it did.
#[derive(Debug, PartialEq, Eq)]
enum HopEnd {
    /// Keep going: TTL expired at a router, or no answer.
    Next,
    /// The target answered: trace complete, exit 0.
    Reached,
    /// An ICMP error other than "TTL expired in transit", or a failed send:
    /// trace complete, exit 1.
    Stopped,
}

/// Formats one hop's line from its probes and says whether the trace goes
/// on.
fn hop_line(hop: u8, probes: &[Probe]) -> (String, HopEnd) {
    let mut line = format!("{hop:>3}");
    for probe in probes {
        line += &probe_column(probe);
    }
    // The node named is the last one that answered, as tracert.exe.
    let last_reply = probes.iter().rev().find_map(|p| match *p {
        Probe::Reply { from, status, .. } => Some((from, status)),
        _ => None,
    });
    let failure = probes.iter().find_map(|p| match *p {
        Probe::Failed(code) => Some(code),
        _ => None,
    });
    // The target answered (IP_SUCCESS): an echo reply, not a hop.
    let reached = probes.iter().find_map(|p| match *p {
        Probe::Reply { from, status, .. } if status == icmp_sys::IP_SUCCESS => Some(from),
        _ => None,
    });
    // An ICMP error that is not a hop on the way (unreachable, ...).
    let error = probes.iter().find_map(|p| match *p {
        Probe::Reply { from, status, .. }
            if status != icmp_sys::IP_SUCCESS && status != icmp_sys::IP_TTL_EXPIRED_TRANSIT =>
        {
            Some((from, status))
        }
        _ => None,
    });
    if let Some(from) = reached {
        line += &format!("  {from}");
        (line, HopEnd::Reached)
    } else if let Some((from, status)) = error {
        line += &format!("  {from}  reports: {}", status_text(status));
        (line, HopEnd::Stopped)
    } else if let Some(code) = failure {
        line += &format!("  Transmit error: {}", status_text(code));
        (line, HopEnd::Stopped)
    } else if let Some((from, _)) = last_reply {
        line += &format!("  {from}");
        (line, HopEnd::Next)
    } else {
        line += "  Request timed out.";
        (line, HopEnd::Next)
    }
}

/// The bytes sent: `abcdefghijklmnopqrstuvw` repeated, as `ping.exe`.
fn payload(size: u16) -> Vec<u8> {
    (b'a'..=b'w').cycle().take(size.into()).collect()
}

// The ICMP functions exist on Windows (iphlpapi.dll) and, through the crate's
// Unix backend, on Linux, macOS and FreeBSD: the same code runs on all of them.
#[cfg(any(
    windows,
    target_os = "linux",
    target_os = "macos",
    target_os = "freebsd"
))]
mod send {
    use super::{Family, Probe};
    use core::ptr::{null, null_mut};
    use icmp_sys::helper::{self, ReplyBuffer};
    use icmp_sys::{
        HANDLE, INVALID_HANDLE_VALUE, IP_OPTION_INFORMATION, IP_REQ_TIMED_OUT, IP_STATUS_BASE,
        Icmp6CreateFile, Icmp6SendEcho2, IcmpCloseHandle, IcmpCreateFile, IcmpSendEcho,
        MAX_IP_STATUS,
    };
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    /// A buffer big enough for one reply to a request of `REQUEST_SIZE`
    /// bytes, IPv4 or IPv6, including an ICMP error's quoted bytes and reply
    /// options (the helper's sizes leave that room).
    const BUF_SIZE: usize = {
        let v4 = helper::reply_buffer_size(super::REQUEST_SIZE);
        let v6 = helper::reply6_buffer_size(super::REQUEST_SIZE);
        if v4 > v6 { v4 } else { v6 }
    };

    /// An open ICMP handle and its reply buffer.
    pub struct Tracer {
        handle: HANDLE,
        family: Family,
        /// Pitfall avoided: aligned for `ICMP_ECHO_REPLY` (a `Vec<u8>` is
        /// not), and boxed so it never moves between the call and reading the
        /// reply, whose `Data` is an absolute pointer into it.
        buf: Box<ReplyBuffer<BUF_SIZE>>,
    }

    impl Tracer {
        /// Opens an IPv4 (`IcmpCreateFile`) or IPv6 (`Icmp6CreateFile`)
        /// handle. On failure returns the error code.
        pub fn open(family: Family) -> Result<Self, u32> {
            // SAFETY: no preconditions.
            let handle = unsafe {
                match family {
                    Family::V4 => IcmpCreateFile(),
                    Family::V6 => Icmp6CreateFile(),
                }
            };
            // Pitfall avoided: failure is INVALID_HANDLE_VALUE, not null, and
            // such a handle never reaches IcmpCloseHandle (Wine 8.0 crashes).
            if handle == INVALID_HANDLE_VALUE || handle.is_null() {
                return Err(helper::last_error());
            }
            Ok(Self {
                handle,
                family,
                buf: Box::new(ReplyBuffer::new()),
            })
        }

        /// Sends one echo request with TTL (hop limit) `ttl` to `addr` and
        /// waits for the first reply, at most `timeout_ms`.
        pub fn probe(
            &mut self,
            addr: IpAddr,
            scope_id: u32,
            data: &[u8],
            ttl: u8,
            timeout_ms: u32,
        ) -> Probe {
            let size = u16::try_from(data.len()).expect("request size fits RequestSize");
            // The TTL of the request: the whole point of tracert. The other
            // fields are 0 (TOS 0, no flags, no options).
            let options = IP_OPTION_INFORMATION {
                Ttl: ttl,
                ..Default::default()
            };
            // A stale reply of the previous probe must not be read back.
            self.buf.as_bytes_mut().fill(0);
            match (self.family, addr) {
                (Family::V4, IpAddr::V4(ip)) => self.probe4(ip, data, size, &options, timeout_ms),
                (Family::V6, IpAddr::V6(ip)) => {
                    self.probe6(ip, scope_id, data, size, &options, timeout_ms)
                }
                _ => unreachable!("the handle was opened for the address's family"),
            }
        }

        fn probe4(
            &mut self,
            ip: Ipv4Addr,
            data: &[u8],
            size: u16,
            options: &IP_OPTION_INFORMATION,
            timeout_ms: u32,
        ) -> Probe {
            let reply_size = helper::reply_buffer_size(size);
            // SAFETY: the handle is open; `data` holds `size` bytes; the
            // buffer is aligned and at least `reply_size` bytes; `options`
            // points to a live IP_OPTION_INFORMATION. The call is
            // synchronous: nothing is used after it returns.
            let count = unsafe {
                IcmpSendEcho(
                    self.handle,
                    // Pitfall avoided: network byte order as laid out in
                    // memory; `u32::from(ip)` would be reversed on x86.
                    helper::ipaddr(ip),
                    data.as_ptr().cast(),
                    size,
                    options,
                    self.buf.as_mut_ptr(),
                    reply_size as u32,
                    timeout_ms,
                )
            };
            // Read the error first: any later call may overwrite it.
            let error = if count == 0 { helper::last_error() } else { 0 };
            let bytes = &self.buf.as_bytes()[..reply_size];
            let first = helper::Replies::new(bytes, count.max(1))
                .ok()
                .and_then(|r| r.get(0));
            if count == 0 {
                if error == IP_REQ_TIMED_OUT {
                    return Probe::TimedOut;
                }
                // Some Windows versions are reported to return 0 for an ICMP
                // error (TTL expired included), with the status in
                // GetLastError and reply[0] filled: use it when it agrees.
                if is_icmp_error(error)
                    && let Some(Ok(reply)) = first
                    && reply.status() == error
                    && !reply.address().is_unspecified()
                {
                    return Probe::Reply {
                        from: reply.address().into(),
                        status: error,
                        rtt_ms: reply.round_trip_time(),
                    };
                }
                return Probe::Failed(error);
            }
            // Pitfall avoided: a count of 1 is not an echo reply by itself:
            // a router's "TTL expired in transit" is one reply whose Status
            // says so and whose Address is the router. Read it through the
            // helper, which checks every pointer lies inside the buffer.
            match first {
                Some(Ok(reply)) => Probe::Reply {
                    from: reply.address().into(),
                    status: reply.status(),
                    rtt_ms: reply.round_trip_time(),
                },
                Some(Err(e)) => {
                    eprintln!("tracert: unreadable reply: {e}");
                    Probe::Failed(icmp_sys::IP_GENERAL_FAILURE)
                }
                None => unreachable!("count >= 1"),
            }
        }

        fn probe6(
            &mut self,
            ip: Ipv6Addr,
            scope_id: u32,
            data: &[u8],
            size: u16,
            options: &IP_OPTION_INFORMATION,
            timeout_ms: u32,
        ) -> Probe {
            let reply_size = helper::reply6_buffer_size(size);
            // Pitfall avoided: Windows SOCKADDR_IN6 (family 23 on every host
            // OS); the unspecified source lets the stack choose.
            let source = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
            let destination = helper::sockaddr_in6(ip, scope_id);
            // SAFETY: as in `probe4`; no Event and no ApcRoutine make the
            // call synchronous, so nothing is used after it returns.
            let count = unsafe {
                Icmp6SendEcho2(
                    self.handle,
                    null_mut(),
                    None,
                    null(),
                    &source,
                    &destination,
                    data.as_ptr().cast(),
                    size,
                    options,
                    self.buf.as_mut_ptr(),
                    reply_size as u32,
                    timeout_ms,
                )
            };
            let error = if count == 0 { helper::last_error() } else { 0 };
            // Read with the helper, not Icmp6ParseReplies (absent on Wine 8.0).
            let reply = match helper::Reply6::new(&self.buf.as_bytes()[..reply_size], size) {
                Ok(reply) => reply,
                Err(e) => {
                    eprintln!("tracert: unreadable reply: {e}");
                    return Probe::Failed(icmp_sys::IP_GENERAL_FAILURE);
                }
            };
            if count == 0 {
                if error == IP_REQ_TIMED_OUT {
                    return Probe::TimedOut;
                }
                if is_icmp_error(error)
                    && reply.status() == error
                    && !reply.address().is_unspecified()
                {
                    return Probe::Reply {
                        from: reply.address().into(),
                        status: error,
                        rtt_ms: reply.round_trip_time(),
                    };
                }
                return Probe::Failed(error);
            }
            // IP_HOP_LIMIT_EXCEEDED is IP_TTL_EXPIRED_TRANSIT (11013).
            Probe::Reply {
                from: reply.address().into(),
                status: reply.status(),
                rtt_ms: reply.round_trip_time(),
            }
        }
    }

    /// Whether `code` is an `IP_STATUS` an ICMP error message produces (not a
    /// timeout, a general failure, or a Win32 error code).
    fn is_icmp_error(code: u32) -> bool {
        code > IP_STATUS_BASE && code < MAX_IP_STATUS && code != IP_REQ_TIMED_OUT
    }

    impl Drop for Tracer {
        fn drop(&mut self) {
            // SAFETY: the handle came from Icmp[6]CreateFile (checked in
            // `open`) and is closed once, with IcmpCloseHandle.
            unsafe { IcmpCloseHandle(self.handle) };
        }
    }
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Trace(opts)) => opts,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("tracert: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some((addr, scope_id)) = resolve(&opts.host, opts.family) else {
        println!("Unable to resolve target system name {}.", opts.host);
        return ExitCode::from(1);
    };
    run(&opts, addr, scope_id)
}

/// Traces the route and prints as `tracert.exe` does.
#[cfg(any(
    windows,
    target_os = "linux",
    target_os = "macos",
    target_os = "freebsd"
))]
fn run(opts: &Options, addr: IpAddr, scope_id: u32) -> ExitCode {
    let family = if addr.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    };
    let mut tracer = match send::Tracer::open(family) {
        Ok(t) => t,
        Err(code) => {
            let function = match family {
                Family::V4 => "IcmpCreateFile",
                Family::V6 => "Icmp6CreateFile",
            };
            eprintln!("tracert: {function} failed with error {code}.");
            if code == icmp_sys::ERROR_CALL_NOT_IMPLEMENTED {
                eprintln!("tracert: IPv6 echo is not implemented here (Wine 8.0 lacks it).");
            }
            return ExitCode::from(1);
        }
    };
    println!();
    if opts.host.parse::<IpAddr>().is_ok() {
        println!(
            "Tracing route to {addr} over a maximum of {} hops",
            opts.max_hops
        );
    } else {
        println!("Tracing route to {} [{addr}]", opts.host);
        println!("over a maximum of {} hops:", opts.max_hops);
    }
    println!();
    let data = payload(REQUEST_SIZE);
    let mut end = HopEnd::Next;
    // Bounded: at most 255 hops of PROBES probes of at most 60 s each.
    for ttl in 1..=opts.max_hops {
        let mut probes = [Probe::TimedOut; PROBES];
        for probe in &mut probes {
            *probe = tracer.probe(addr, scope_id, &data, ttl, opts.timeout_ms);
            // Unix backend: no permission for any ICMP socket. Every further
            // probe would fail the same way: say so and stop.
            #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
            if matches!(probe, Probe::Failed(icmp_sys::ERROR_ACCESS_DENIED)) {
                eprintln!(
                    "tracert: no permission to send ICMP echo requests (ERROR_ACCESS_DENIED, \
                     error 5): run as root, with CAP_NET_RAW, or (Linux) with a group in \
                     net.ipv4.ping_group_range; `cargo run --example ping` explains more."
                );
                return ExitCode::from(1);
            }
        }
        let (line, hop_end) = hop_line(ttl, &probes);
        println!("{line}");
        end = hop_end;
        if end != HopEnd::Next {
            break;
        }
    }
    println!();
    println!("Trace complete.");
    if end == HopEnd::Reached {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Other OSes: icmp-sys has no ICMP functions there.
#[cfg(not(any(
    windows,
    target_os = "linux",
    target_os = "macos",
    target_os = "freebsd"
)))]
fn run(opts: &Options, addr: IpAddr, _scope_id: u32) -> ExitCode {
    // Keep the shared code "used" so the build stays warning-free.
    let _ = (hop_line, payload, PROBES);
    eprintln!(
        "tracert: cannot trace {addr} ({}): icmp-sys has no ICMP backend for {} \
         (Windows, Linux, macOS and FreeBSD only).",
        opts.host,
        std::env::consts::OS
    );
    ExitCode::from(2)
}
