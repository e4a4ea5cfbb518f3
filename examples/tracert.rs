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
//! The calls into the API, the argument reading and name resolution are
//! `examples/common/` (shared with `examples/ping.rs`): `common::send::Sender`
//! sends each probe, with the pitfall each step avoids next to it.
//!
//! Where it runs: as `examples/ping.rs` — on Windows over `iphlpapi.dll`, on
//! Linux, macOS and FreeBSD natively over the crate's Unix backend (on Linux
//! the "time exceeded" of each router arrives through `IP_RECVERR`), and the
//! Windows build under Wine (`.ci/wine`). It needs the same ICMP permission
//! as `ping` (root, `CAP_NET_RAW`, or on Linux a group in
//! `net.ipv4.ping_group_range`); without it, it stops at the first probe
//! with `ERROR_ACCESS_DENIED` and exit code 1.

mod common;

// A probe is one echo request with a given TTL: its result is an `Outcome`.
use common::{Args, Command, Family, Outcome as Probe, status_text};
use std::net::IpAddr;
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
#[cfg_attr(not(icmp_api), allow(dead_code))]
struct Options {
    max_hops: u8,
    timeout_ms: u32,
    family: Option<Family>,
    host: String,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Command<Options>, String> {
    let mut opts = Options {
        max_hops: DEFAULT_MAX_HOPS,
        timeout_ms: DEFAULT_TIMEOUT_MS,
        family: None,
        host: String::new(),
    };
    let mut args = Args::new(args, "target");
    while let Some((flag, arg)) = args.next_flag()? {
        match flag.as_str() {
            // -h is "maximum hops" in tracert.exe, not help.
            "?" | "-help" => return Ok(Command::Help),
            "d" => {}
            "h" => opts.max_hops = args.number("-h", 1, 255)?,
            "w" => opts.timeout_ms = args.number("-w", 1, MAX_TIMEOUT_MS)?,
            "j" | "r" | "s" => {
                return Err(format!("Option {arg} is not supported by this example."));
            }
            _ => return Err(format!("Bad option {arg}.")),
        }
    }
    (opts.family, opts.host) = args.finish("A target name or IP address must be specified.")?;
    Ok(Command::Run(opts))
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

/// The reply buffer: big enough for a reply to a probe, IPv4 or IPv6.
#[cfg(icmp_api)]
type Tracer = common::send::Sender<{ common::send::buffer_size(REQUEST_SIZE) }>;

fn main() -> ExitCode {
    let opts = match common::options("tracert", USAGE, parse_args(std::env::args().skip(1))) {
        Ok(opts) => opts,
        Err(code) => return code,
    };
    let Some((addr, scope_id)) = common::resolve(&opts.host, opts.family) else {
        println!("Unable to resolve target system name {}.", opts.host);
        return ExitCode::from(1);
    };
    run(&opts, addr, scope_id)
}

/// Traces the route and prints as `tracert.exe` does.
#[cfg(icmp_api)]
fn run(opts: &Options, addr: IpAddr, scope_id: u32) -> ExitCode {
    let mut tracer = match Tracer::open("tracert", addr) {
        Ok(t) => t,
        Err(code) => return code,
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
    let data = common::payload(REQUEST_SIZE);
    let mut end = HopEnd::Next;
    // Bounded: at most 255 hops of PROBES probes of at most 60 s each.
    for ttl in 1..=opts.max_hops {
        let mut probes = [Probe::TimedOut; PROBES];
        for probe in &mut probes {
            *probe = tracer.echo(addr, scope_id, &data, Some(ttl), opts.timeout_ms);
            // Unix backend: no permission for any ICMP socket. Every further
            // probe would fail the same way: say so and stop.
            #[cfg(unix)]
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
#[cfg(not(icmp_api))]
fn run(opts: &Options, addr: IpAddr, _scope_id: u32) -> ExitCode {
    // Keep the shared code "used" so the build stays warning-free.
    let _ = (hop_line, common::payload, PROBES);
    eprintln!(
        "tracert: cannot trace {addr} ({}): icmp-sys has no ICMP backend for {} \
         (Windows, Linux, macOS and FreeBSD only).",
        opts.host,
        std::env::consts::OS
    );
    ExitCode::from(2)
}
