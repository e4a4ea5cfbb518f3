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
//! Every call into the API is in `common::send::Sender` (shared with
//! `examples/tracert.rs`, as are the argument reading and name resolution),
//! with the pitfall it avoids next to it. The argument parsing and the
//! output are platform-independent.
//!
//! Where it runs: on Windows over `iphlpapi.dll`; on Linux, macOS and
//! FreeBSD natively over the crate's Unix backend (`icmp_sys::unix`) with
//! the very same calls (`cargo run --example ping -- 127.0.0.1`). On Linux
//! that needs a ping socket (a group of the process in
//! `net.ipv4.ping_group_range`) or a raw socket (root or `CAP_NET_RAW`);
//! without either every send fails with `ERROR_ACCESS_DENIED`, and the
//! example stops at the first one with the fix and exit code 1. The Windows
//! build also runs under Wine (`.ci/wine`).

mod common;

use common::{Args, Command, Family, Outcome, status_text};
use icmp_sys::IP_SUCCESS;
use std::net::IpAddr;
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
#[cfg_attr(not(icmp_api), allow(dead_code))]
struct Options {
    count: u32,
    size: u16,
    ttl: Option<u8>,
    timeout_ms: u32,
    family: Option<Family>,
    host: String,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Command<Options>, String> {
    let mut opts = Options {
        count: 4,
        size: 32,
        ttl: None,
        timeout_ms: 4000,
        family: None,
        host: String::new(),
    };
    let mut args = Args::new(args, "host");
    while let Some((flag, arg)) = args.next_flag()? {
        match flag.as_str() {
            "h" | "?" | "-help" => return Ok(Command::Help),
            "n" => opts.count = args.number("-n", 1, MAX_COUNT)?,
            "l" => opts.size = args.number("-l", 0, MAX_SIZE)?,
            "i" => opts.ttl = Some(args.number("-i", 1, 255)?),
            "w" => opts.timeout_ms = args.number("-w", 1, MAX_TIMEOUT_MS)?,
            "t" => {
                return Err(format!(
                    "Option -t (ping until stopped) is not supported: use -n (at most {MAX_COUNT})."
                ));
            }
            _ => return Err(format!("Bad option {arg}.")),
        }
    }
    (opts.family, opts.host) = args.finish("IP address or host name must be specified.")?;
    Ok(Command::Run(opts))
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

/// Prints one outcome as `ping.exe` does.
fn print_outcome(outcome: &Outcome, size: u16) {
    match *outcome {
        // An echo reply from the host.
        Outcome::Reply {
            from,
            status: IP_SUCCESS,
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
        // An ICMP error report: a reply of the API, not an echo reply.
        Outcome::Reply { from, status, .. } => {
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
            Outcome::Reply {
                status: IP_SUCCESS,
                rtt_ms,
                ..
            } => Some(*rtt_ms),
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

/// The reply buffer: big enough for a reply to the largest `-l`, IPv4 or
/// IPv6.
#[cfg(icmp_api)]
type Pinger = common::send::Sender<{ common::send::buffer_size(MAX_SIZE) }>;

fn main() -> ExitCode {
    let opts = match common::options("ping", USAGE, parse_args(std::env::args().skip(1))) {
        Ok(opts) => opts,
        Err(code) => return code,
    };
    let Some((addr, scope_id)) = common::resolve(&opts.host, opts.family) else {
        println!(
            "Ping request could not find host {}. Please check the name and try again.",
            opts.host
        );
        return ExitCode::from(1);
    };
    run(&opts, addr, scope_id)
}

/// Sends the echo requests and prints as `ping.exe` does.
#[cfg(icmp_api)]
fn run(opts: &Options, addr: IpAddr, scope_id: u32) -> ExitCode {
    let mut pinger = match Pinger::open("ping", addr) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let shown = if opts.host.parse::<IpAddr>().is_ok() {
        addr.to_string()
    } else {
        format!("{} [{addr}]", opts.host)
    };
    println!();
    println!("Pinging {shown} with {} bytes of data:", opts.size);
    let data = common::payload(opts.size);
    let mut outcomes = Vec::new();
    for i in 0..opts.count {
        let started = Instant::now();
        let outcome = pinger.echo(addr, scope_id, &data, opts.ttl, opts.timeout_ms);
        print_outcome(&outcome, opts.size);
        // Unix backend: no permission for any ICMP socket. Every further
        // request would fail the same way: explain the fix and stop.
        #[cfg(unix)]
        if matches!(outcome, Outcome::Failed(icmp_sys::ERROR_ACCESS_DENIED)) {
            common::print_permission_help("ping");
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

/// Other OSes: icmp-sys has no ICMP functions there.
#[cfg(not(icmp_api))]
fn run(opts: &Options, addr: IpAddr, _scope_id: u32) -> ExitCode {
    // Keep the shared code "used" so the build stays warning-free.
    let _ = (time_text, print_outcome, print_statistics, common::payload);
    let _ = (INTERVAL, Instant::now);
    eprintln!(
        "ping: cannot ping {addr} ({}): icmp-sys has no ICMP backend for {} \
         (Windows, Linux, macOS and FreeBSD only).",
        opts.host,
        std::env::consts::OS
    );
    ExitCode::from(2)
}
