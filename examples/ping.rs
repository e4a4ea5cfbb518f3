//! `ping`: a small clone of Windows `ping.exe` on top of the raw bindings, and
//! the model of their correct use.
//!
//! ```text
//! ping [-n count] [-l size] [-i ttl] [-w timeout_ms] [-4|-6] host
//! ```
//!
//! Output and options follow `ping.exe` (see "ping" in the Windows Commands
//! reference on Microsoft Learn): `Reply from 127.0.0.1: bytes=32 time<1ms
//! TTL=64`, `Request timed out.`, the status text of an ICMP error, and the
//! statistics block. Exit code 0 when at least one echo reply arrived, 1
//! otherwise, 2 for bad arguments.
//!
//! Deliberate differences from `ping.exe`:
//! - the count is bounded (1 to 1000) and there is no `-t` (ping forever);
//! - an ICMP error report ("Destination host unreachable.", "TTL expired in
//!   transit.") is a reply of the API but **not** an echo reply: it counts as
//!   lost and does not make the exit code 0 (`ping.exe` counts it as
//!   received);
//! - IPv6 is sent with `Icmp6SendEcho2` and read with the crate's helper, not
//!   `Icmp6ParseReplies` (Wine 8.0 does not export it).
//!
//! Every call into the API is in `send::Pinger`, with the pitfall it avoids
//! next to it. The argument parsing and the output are platform-independent.
//!
//! Where it runs: on Windows over `iphlpapi.dll`; on Linux, macOS and
//! FreeBSD natively over the crate's Unix backend (`icmp_sys::unix`) with
//! the very same calls (`cargo run --example ping -- 127.0.0.1`). On Linux
//! that needs a ping socket (a group of the process in
//! `net.ipv4.ping_group_range`) or a raw socket (root or `CAP_NET_RAW`);
//! without either every send fails with `ERROR_ACCESS_DENIED`, and the
//! example stops at the first one with the fix and exit code 1. The Windows
//! build also runs under Wine (`.ci/wine`).

use std::net::{IpAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "\
Usage: ping [-n count] [-l size] [-i ttl] [-w timeout_ms] [-4 | -6] host

Options (also accepted with '/' instead of '-'):
    -n count       Number of echo requests to send (1 to 1000; default 4).
    -l size        Send buffer size in bytes (0 to 65500; default 32).
    -i ttl         Time To Live (1 to 255; default: the system's).
    -w timeout     Timeout in milliseconds to wait for each reply
                   (1 to 60000; default 4000).
    -4             Force using IPv4.
    -6             Force using IPv6.
    -h, -?         Show this help.";

/// The largest `-n`: the example never pings forever.
const MAX_COUNT: u32 = 1000;
/// The largest `-l`, as `ping.exe`.
const MAX_SIZE: u16 = 65500;
/// The largest `-w`.
const MAX_TIMEOUT_MS: u32 = 60_000;
/// Time between the starts of two echo requests, as `ping.exe`.
const INTERVAL: Duration = Duration::from_secs(1);

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
    count: u32,
    size: u16,
    ttl: Option<u8>,
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
    Ping(Options),
}

/// Parses a numeric option value in `min..=max`, with `ping.exe`'s message.
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
        count: 4,
        size: 32,
        ttl: None,
        timeout_ms: 4000,
        family: None,
        host: String::new(),
    };
    let mut host = None;
    while let Some(arg) = args.next() {
        let flag = match arg.strip_prefix('-').or_else(|| arg.strip_prefix('/')) {
            Some(f) if !f.is_empty() => f.to_ascii_lowercase(),
            _ => {
                if let Some(first) = &host {
                    return Err(format!("Only one host may be given ({first:?}, {arg:?})."));
                }
                host = Some(arg);
                continue;
            }
        };
        match flag.as_str() {
            "h" | "?" | "-help" => return Ok(Command::Help),
            "n" => opts.count = number("-n", args.next(), 1, MAX_COUNT)?,
            "l" => opts.size = number("-l", args.next(), 0, MAX_SIZE)?,
            "i" => opts.ttl = Some(number("-i", args.next(), 1, 255)?),
            "w" => opts.timeout_ms = number("-w", args.next(), 1, MAX_TIMEOUT_MS)?,
            "4" | "6" => {
                let f = if flag == "4" { Family::V4 } else { Family::V6 };
                if opts.family.is_some_and(|g| g != f) {
                    return Err("Options -4 and -6 cannot be used together.".into());
                }
                opts.family = Some(f);
            }
            "t" => {
                return Err(format!(
                    "Option -t (ping until stopped) is not supported: use -n (at most {MAX_COUNT})."
                ));
            }
            _ => return Err(format!("Bad option {arg}.")),
        }
    }
    opts.host = host.ok_or("IP address or host name must be specified.")?;
    Ok(Command::Ping(opts))
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
    // Like ping.exe without -4/-6, prefer IPv4 when the name has both.
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

/// The result of one echo request.
#[cfg_attr(
    not(any(
        windows,
        target_os = "linux",
        target_os = "macos",
        target_os = "freebsd"
    )),
    allow(dead_code)
)]
#[derive(Debug)]
enum Outcome {
    /// An echo reply from the host.
    Echo {
        from: IpAddr,
        /// Bytes echoed; differs from the request if the host truncated it.
        bytes: usize,
        /// Whether the echoed bytes equal the request.
        data_ok: bool,
        rtt_ms: u32,
        /// The reply's TTL (IPv4 only: the IPv6 reply carries none).
        ttl: Option<u8>,
    },
    /// An ICMP error report (unreachable, TTL expired, ...) from `from`.
    IcmpError { from: IpAddr, status: u32 },
    /// No reply within the timeout.
    TimedOut,
    /// The send itself failed: an `IP_STATUS` or a Win32 error code.
    Failed(u32),
}

/// `ping.exe`'s text of a round-trip time: `time<1ms` or `time=5ms`.
fn time_text(rtt_ms: u32) -> String {
    // The API truncates to whole milliseconds: 0 means "< 1 ms", not failure.
    if rtt_ms == 0 {
        "time<1ms".into()
    } else {
        format!("time={rtt_ms}ms")
    }
}

/// The description of an `IP_STATUS` or Win32 error code.
fn status_text(code: u32) -> String {
    match icmp_sys::helper::status_description(code) {
        Some(text) if code != 0 => text.into(),
        _ => format!("Error code {code}."),
    }
}

/// Prints one outcome as `ping.exe` does.
fn print_outcome(outcome: &Outcome, size: u16) {
    match *outcome {
        Outcome::Echo {
            from,
            bytes,
            data_ok,
            rtt_ms,
            ttl,
        } => {
            let mut line = format!("Reply from {from}: ");
            if from.is_ipv4() {
                line += &format!("bytes={bytes}");
                if bytes != usize::from(size) {
                    line += &format!(" (sent {size})");
                }
                line += " ";
            }
            line += &time_text(rtt_ms);
            if let Some(ttl) = ttl {
                line += &format!(" TTL={ttl}");
            }
            if !data_ok {
                line += " (echoed data differs from the request)";
            }
            println!("{line}");
        }
        Outcome::IcmpError { from, status } => {
            println!("Reply from {from}: {}", status_text(status));
        }
        Outcome::TimedOut => println!("Request timed out."),
        Outcome::Failed(code) => println!("PING: transmit failed. {}", status_text(code)),
    }
}

/// Prints the statistics block; returns whether any echo reply arrived.
fn print_statistics(addr: IpAddr, outcomes: &[Outcome]) -> bool {
    let sent = outcomes.len();
    let rtts: Vec<u32> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Echo { rtt_ms, .. } => Some(*rtt_ms),
            _ => None,
        })
        .collect();
    let received = rtts.len();
    let lost = sent - received;
    println!();
    println!("Ping statistics for {addr}:");
    println!(
        "    Packets: Sent = {sent}, Received = {received}, Lost = {lost} ({}% loss),",
        lost * 100 / sent.max(1)
    );
    if received > 0 {
        let min = rtts.iter().min().copied().unwrap_or(0);
        let max = rtts.iter().max().copied().unwrap_or(0);
        let avg = rtts.iter().map(|&r| u64::from(r)).sum::<u64>() / received as u64;
        println!("Approximate round trip times in milli-seconds:");
        println!("    Minimum = {min}ms, Maximum = {max}ms, Average = {avg}ms");
    }
    received > 0
}

/// The bytes `ping.exe` sends: `abcdefghijklmnopqrstuvw` repeated.
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
    use super::{Family, Outcome};
    use core::ptr::{null, null_mut};
    use icmp_sys::helper::{self, ReplyBuffer};
    use icmp_sys::{
        HANDLE, INVALID_HANDLE_VALUE, IP_OPTION_INFORMATION, IP_REQ_TIMED_OUT, IP_STATUS_BASE,
        IP_SUCCESS, Icmp6CreateFile, Icmp6SendEcho2, IcmpCloseHandle, IcmpCreateFile, IcmpSendEcho,
        MAX_IP_STATUS,
    };
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    /// A buffer big enough for any request size this example accepts, IPv4
    /// or IPv6. Each call passes only the size the helper computes for it.
    const BUF_SIZE: usize = {
        let v4 = helper::reply_buffer_size(super::MAX_SIZE);
        let v6 = helper::reply6_buffer_size(super::MAX_SIZE);
        if v4 > v6 { v4 } else { v6 }
    };

    /// An open ICMP handle and its reply buffer.
    pub struct Pinger {
        handle: HANDLE,
        family: Family,
        /// Pitfall avoided: the buffer must be aligned for `ICMP_ECHO_REPLY`
        /// (`ReplyBuffer` is 8-aligned; a `Vec<u8>` is not) and must not move
        /// between the call and reading the replies, whose `Data` are
        /// absolute pointers into it: boxed, it never moves.
        buf: Box<ReplyBuffer<BUF_SIZE>>,
    }

    impl Pinger {
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
            // Pitfall avoided: failure is INVALID_HANDLE_VALUE, not null; and
            // such a handle must never reach IcmpCloseHandle (Wine 8.0
            // crashes on it), so it never becomes a `Pinger`.
            if handle == INVALID_HANDLE_VALUE || handle.is_null() {
                return Err(helper::last_error());
            }
            Ok(Self {
                handle,
                family,
                buf: Box::new(ReplyBuffer::new()),
            })
        }

        /// Sends one echo request carrying `data` to `addr` and waits for the
        /// first reply, at most `timeout_ms`.
        pub fn echo(
            &mut self,
            addr: IpAddr,
            scope_id: u32,
            data: &[u8],
            ttl: Option<u8>,
            timeout_ms: u32,
        ) -> Outcome {
            // The caller checked the size (-l is at most 65500).
            let size = u16::try_from(data.len()).expect("request size fits RequestSize");
            // Options are sent only when asked for: NULL RequestOptions means
            // the system's defaults (Ttl 0 is "default" on Wine, unverified
            // on Windows, so it is never sent).
            let options = ttl.map(|ttl| IP_OPTION_INFORMATION {
                Ttl: ttl,
                ..Default::default()
            });
            let options_ptr = options.as_ref().map_or(null(), |o| o as *const _);
            // A stale reply from the previous request must not be read back.
            self.buf.as_bytes_mut().fill(0);
            match (self.family, addr) {
                (Family::V4, IpAddr::V4(ip)) => self.echo4(ip, data, size, options_ptr, timeout_ms),
                (Family::V6, IpAddr::V6(ip)) => {
                    self.echo6(ip, scope_id, data, size, options_ptr, timeout_ms)
                }
                _ => unreachable!("the handle was opened for the address's family"),
            }
        }

        fn echo4(
            &mut self,
            ip: Ipv4Addr,
            data: &[u8],
            size: u16,
            options: *const IP_OPTION_INFORMATION,
            timeout_ms: u32,
        ) -> Outcome {
            // Pitfall avoided: the real minimum (40 + size on x86_64) works on
            // modern Windows and Wine only; the helper's size also leaves room
            // for an ICMP error and reply options, as the docs ask.
            let reply_size = helper::reply_buffer_size(size);
            // SAFETY: the handle is open; `data` holds `size` bytes; the
            // buffer is aligned and at least `reply_size` bytes; `options` is
            // null or points to a live IP_OPTION_INFORMATION. The call is
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
            if count == 0 {
                if error == IP_REQ_TIMED_OUT {
                    return Outcome::TimedOut;
                }
                // Some Windows versions are reported to return 0 for an ICMP
                // error, with the status in GetLastError and reply[0] filled:
                // show the reporting node when reply[0] agrees.
                if is_icmp_error(error)
                    && let Some(Ok(reply)) =
                        helper::Replies::new(bytes, 1).ok().and_then(|r| r.get(0))
                    && reply.status() == error
                    && !reply.address().is_unspecified()
                {
                    return Outcome::IcmpError {
                        from: reply.address().into(),
                        status: error,
                    };
                }
                return Outcome::Failed(error);
            }
            // Pitfall avoided: `Data`, `DataSize`, `Options` are read through
            // the helper, which checks they lie inside the buffer.
            let reply = match helper::Replies::new(bytes, count).map(|mut r| r.next()) {
                Ok(Some(Ok(reply))) => reply,
                Ok(Some(Err(e))) | Err(e) => {
                    eprintln!("ping: unreadable reply: {e}");
                    return Outcome::Failed(icmp_sys::IP_GENERAL_FAILURE);
                }
                Ok(None) => unreachable!("count >= 1"),
            };
            // Pitfall avoided: a count of 1 is not an echo reply by itself;
            // an ICMP error report (unreachable, TTL expired) is one reply
            // whose Status says so, from the reporting node.
            if reply.status() != IP_SUCCESS {
                return Outcome::IcmpError {
                    from: reply.address().into(),
                    status: reply.status(),
                };
            }
            Outcome::Echo {
                from: reply.address().into(),
                bytes: reply.data.len(),
                data_ok: data.get(..reply.data.len()) == Some(reply.data),
                rtt_ms: reply.round_trip_time(),
                ttl: Some(reply.ttl()),
            }
        }

        fn echo6(
            &mut self,
            ip: Ipv6Addr,
            scope_id: u32,
            data: &[u8],
            size: u16,
            options: *const IP_OPTION_INFORMATION,
            timeout_ms: u32,
        ) -> Outcome {
            let reply_size = helper::reply6_buffer_size(size);
            // Pitfall avoided: Windows SOCKADDR_IN6 (family 23 on every host
            // OS); the unspecified source lets the stack choose.
            let source = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
            let destination = helper::sockaddr_in6(ip, scope_id);
            // SAFETY: as in `echo4`; no Event and no ApcRoutine make the call
            // synchronous, so the addresses, data and buffer are not used
            // after it returns.
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
            // The reply has no DataSize: its data is the request's length.
            let reply = match helper::Reply6::new(&self.buf.as_bytes()[..reply_size], size) {
                Ok(reply) => reply,
                Err(e) => {
                    eprintln!("ping: unreadable reply: {e}");
                    return Outcome::Failed(icmp_sys::IP_GENERAL_FAILURE);
                }
            };
            if count == 0 {
                if error == IP_REQ_TIMED_OUT {
                    return Outcome::TimedOut;
                }
                if is_icmp_error(error)
                    && reply.status() == error
                    && !reply.address().is_unspecified()
                {
                    return Outcome::IcmpError {
                        from: reply.address().into(),
                        status: error,
                    };
                }
                return Outcome::Failed(error);
            }
            if reply.status() != IP_SUCCESS {
                return Outcome::IcmpError {
                    from: reply.address().into(),
                    status: reply.status(),
                };
            }
            Outcome::Echo {
                from: reply.address().into(),
                bytes: data.len(),
                data_ok: reply.data == data,
                rtt_ms: reply.round_trip_time(),
                ttl: None,
            }
        }
    }

    /// Whether `code` is an `IP_STATUS` an ICMP error message produces (not a
    /// timeout, a general failure, or a Win32 error code).
    fn is_icmp_error(code: u32) -> bool {
        code > IP_STATUS_BASE && code < MAX_IP_STATUS && code != IP_REQ_TIMED_OUT
    }

    impl Drop for Pinger {
        fn drop(&mut self) {
            // The handle is valid (checked in `open`). Close only with
            // IcmpCloseHandle, never CloseHandle.
            // SAFETY: the handle came from Icmp[6]CreateFile and is closed once.
            unsafe { IcmpCloseHandle(self.handle) };
        }
    }
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Ping(opts)) => opts,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("ping: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some((addr, scope_id)) = resolve(&opts.host, opts.family) else {
        println!(
            "Ping request could not find host {}. Please check the name and try again.",
            opts.host
        );
        return ExitCode::from(1);
    };
    run(&opts, addr, scope_id)
}

/// Sends the echo requests and prints as `ping.exe` does.
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
    let mut pinger = match send::Pinger::open(family) {
        Ok(p) => p,
        Err(code) => {
            let function = match family {
                Family::V4 => "IcmpCreateFile",
                Family::V6 => "Icmp6CreateFile",
            };
            eprintln!("ping: {function} failed with error {code}.");
            if code == icmp_sys::ERROR_CALL_NOT_IMPLEMENTED {
                eprintln!("ping: IPv6 echo is not implemented here (Wine 8.0 lacks it).");
            }
            return ExitCode::from(1);
        }
    };
    let shown = if opts.host.parse::<IpAddr>().is_ok() {
        addr.to_string()
    } else {
        format!("{} [{addr}]", opts.host)
    };
    println!();
    println!("Pinging {shown} with {} bytes of data:", opts.size);
    let data = payload(opts.size);
    let mut outcomes = Vec::new();
    for i in 0..opts.count {
        let started = Instant::now();
        let outcome = pinger.echo(addr, scope_id, &data, opts.ttl, opts.timeout_ms);
        print_outcome(&outcome, opts.size);
        // Unix backend: no permission for any ICMP socket. Every further
        // request would fail the same way: explain the fix and stop.
        #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
        if matches!(outcome, Outcome::Failed(icmp_sys::ERROR_ACCESS_DENIED)) {
            print_permission_help();
            return ExitCode::from(1);
        }
        outcomes.push(outcome);
        // One request per second, as ping.exe; none after the last.
        if i + 1 < opts.count {
            std::thread::sleep(INTERVAL.saturating_sub(started.elapsed()));
        }
    }
    if print_statistics(addr, &outcomes) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Explains an `ERROR_ACCESS_DENIED` from the Unix backend (see
/// `icmp_sys::unix`): no ping socket and no raw socket were permitted.
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
fn print_permission_help() {
    let forced = std::env::var("ICMP_SYS_SOCKET").ok();
    eprintln!("ping: no permission to send ICMP echo requests (ERROR_ACCESS_DENIED, error 5).");
    #[cfg(target_os = "linux")]
    {
        let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
            .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|e| format!("unreadable: {e}"));
        // SAFETY: no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        eprintln!(
            "ping: sending needs a ping socket, allowed when one of the process's groups is \
             in net.ipv4.ping_group_range (here \"{range}\"; uid {uid}, gid {gid}), \
             or a raw socket (root or CAP_NET_RAW)."
        );
        eprintln!("ping: fix, one of:");
        eprintln!(
            "ping:   sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"   (all groups)"
        );
        eprintln!("ping:   sudo setcap cap_net_raw+ep <this ping binary>");
        eprintln!("ping:   run it as root");
    }
    #[cfg(not(target_os = "linux"))]
    eprintln!(
        "ping: ICMP sockets need root on this OS ({}): run it as root.",
        std::env::consts::OS
    );
    if let Some(mode) = forced {
        eprintln!(
            "ping: note: ICMP_SYS_SOCKET={mode} limits the socket kinds tried \
             (raw: raw sockets only; dgram: ping sockets only); unset it to try both."
        );
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
    let _ = (
        time_text,
        status_text,
        print_outcome,
        print_statistics,
        payload,
    );
    let _ = (INTERVAL, Instant::now);
    eprintln!(
        "ping: cannot ping {addr} ({}): icmp-sys has no ICMP backend for {} \
         (Windows, Linux, macOS and FreeBSD only).",
        opts.host,
        std::env::consts::OS
    );
    ExitCode::from(2)
}
