//! Runs the built `examples/ping_future.rs` binary (`cargo test` builds it)
//! and checks its command line and its output.
//!
//! - Argument errors (exit 2 with the usage text) and the help run wherever
//!   the example builds: they send nothing.
//! - Loopback runs send only to 127.0.0.0/8. They run wherever the crate can
//!   send: on Windows, under Wine 8.0 and 10.0 (`.ci/wine suite`: the
//!   futures are woken by `RegisterWaitForSingleObject` callbacks of Wine's
//!   thread pool), and natively over the Unix backend (its completion
//!   thread). They need ICMP permission (root, `CAP_NET_RAW`, or on Linux a
//!   group in `net.ipv4.ping_group_range`) and fail saying so without it.
//! - Linux only: a silent host inside a private network namespace the test
//!   creates (`unshare -n` as root, `unshare -rn` otherwise): every future
//!   completes with its request's timeout.
//!
//! Every run is one process with many requests in flight at once, each
//! awaited as a future by the example's own small executor.

mod common;

use common::example::{self, Run, assert_could_send};

/// Runs the example with `args`, killed after [`example::RUN_LIMIT`].
fn ping_future(args: &[&str]) -> Run {
    example::run("ping_future", args, &[])
}

// ---------------------------------------------------------------------------
// Command line (sends nothing; runs everywhere)
// ---------------------------------------------------------------------------

#[test]
fn bad_arguments_exit_2_with_usage() {
    let too_many: Vec<String> = (0..257).map(|i| format!("127.0.1.{}", i % 256)).collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
    let cases: &[(&[&str], &str)] = &[
        (&["-x"], "Bad option -x."),
        (&["-w"], "Value must be supplied for option -w."),
        (&["-w", "0"], "Bad value for option -w"),
        (&["-w", "60001"], "Bad value for option -w"),
        (&["-w", "abc", "127.0.0.1"], "Bad value for option -w"),
        (
            &["localhost"],
            "Bad address localhost: IPv4 addresses only.",
        ),
        (&["::1"], "Bad address ::1: IPv4 addresses only."),
        (&too_many, "Too many addresses (257): at most 256 per run."),
    ];
    example::assert_argument_errors("ping_future", "Usage: ping_future [-w timeout]", cases);
}

#[test]
fn help_exits_0_with_usage_on_stdout() {
    example::assert_help("ping_future", &["-?", "-h", "/?"]);
}

// ---------------------------------------------------------------------------
// Loopback (Windows, Wine, or natively over the Unix backend)
// ---------------------------------------------------------------------------

/// Checks an answered host line: `addr: bytes=32 time<1ms` or `time=Nms`.
fn assert_answered(line: &str, addr: &str, ctx: &str) {
    let time = line
        .strip_prefix(&format!("{addr}: bytes=32 time"))
        .unwrap_or_else(|| panic!("{line:?} is not an answer from {addr}\n{ctx}"));
    let ok = time == "<1ms"
        || time
            .strip_prefix('=')
            .and_then(|t| t.strip_suffix("ms"))
            .is_some_and(|t| t.parse::<u32>().is_ok());
    assert!(ok, "{line:?}: time\n{ctx}");
}

/// Checks a run in which every one of `addrs` answers: exit code 0, the
/// header line, one answer line per address in the order of `addrs`, the
/// count line. Returns the run's context for further checks.
fn assert_all_answered(run: &Run, addrs: &[String]) -> String {
    let ctx = run.context();
    assert_could_send(run, &ctx);
    assert_eq!(run.code, 0, "{ctx}");
    let n = addrs.len();
    let lines = run.lines();
    assert_eq!(lines.len(), 1 + n + 1, "{ctx}");
    assert_eq!(
        lines[0],
        format!("Pinging {n} hosts at once, each awaited as a future:"),
        "{ctx}"
    );
    for (line, addr) in lines[1..=n].iter().zip(addrs) {
        assert_answered(line, addr, &ctx);
    }
    assert_eq!(lines[n + 1], format!("{n} of {n} answered."), "{ctx}");
    ctx
}

/// The default run: the 64 addresses 127.0.0.1 to 127.0.0.64 at once, each
/// a future woken by its registered wait; every one answers, printed in
/// order.
#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn sixty_four_loopback_futures_all_answer() {
    let run = ping_future(&["-w", "2000"]);
    let addrs: Vec<String> = (1..=64).map(|i| format!("127.0.0.{i}")).collect();
    let ctx = assert_all_answered(&run, &addrs);
    assert!(run.stderr.is_empty(), "{ctx}");
}

/// Addresses given on the command line, printed in the order given (not in
/// the order the futures complete); 128 at once (with the 64 of the test
/// above, which may run at the same time, below Wine 8.0's 256 echoes in
/// flight per Wine session).
#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn given_addresses_in_order_128_at_once() {
    let addrs: Vec<String> = (0..128).rev().map(|i| format!("127.0.2.{i}")).collect();
    let mut args = vec!["-w", "5000"];
    args.extend(addrs.iter().map(String::as_str));
    let run = ping_future(&args);
    assert_all_answered(&run, &addrs);
}

// ---------------------------------------------------------------------------
// Natively, inside a private network namespace (Linux)
// ---------------------------------------------------------------------------

/// A silent host (`net.ipv4.icmp_echo_ignore_all=1` in the namespace): every
/// future completes with its request's timeout, exit code 1.
#[cfg(target_os = "linux")]
#[test]
fn silent_hosts_time_out_in_netns() {
    let run = example::run_in_netns(
        "ping_future",
        example::netns_flag(),
        &["echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all"],
        &[],
        &["-w", "300", "127.0.0.1", "127.0.0.2", "127.0.0.3"],
    );
    let ctx = run.context();
    assert_could_send(&run, &ctx);
    assert_eq!(run.code, 1, "{ctx}");
    assert_eq!(
        run.lines(),
        [
            "Pinging 3 hosts at once, each awaited as a future:",
            "127.0.0.1: Request timed out.",
            "127.0.0.2: Request timed out.",
            "127.0.0.3: Request timed out.",
            "0 of 3 answered.",
        ],
        "{ctx}"
    );
    assert!(run.stderr.is_empty(), "{ctx}");
}
