//! Runs the built `examples/ping_many.rs` binary (`cargo test --features
//! alloc` builds it) and checks its command line and its output.
//!
//! - Argument errors (exit 2 with the usage text), the help and names that
//!   are not found run wherever the example builds: they send nothing.
//! - Loopback runs send only to 127.0.0.0/8 (every address of it answers)
//!   and `::1`; they run wherever the crate can send: on Windows, under Wine
//!   (`.ci/wine`; IPv6 asserted as unimplemented there, as in Wine 8.0), and
//!   natively over the Unix backend. They need ICMP permission (root,
//!   `CAP_NET_RAW`, or on Linux a group in `net.ipv4.ping_group_range`) and
//!   fail saying so without it.
//! - The `netns_<setup>_*` tests are `#[ignore]`d: they need the private
//!   network namespace `<setup>` of `.ci/netns` (documentation ranges only)
//!   and refuse to run without it. `.ci/netns native` runs them natively
//!   (raw and ping sockets), `.ci/wine netns` under Wine, as those of
//!   `tests/echo.rs`.
//!
//! Every run is one process pinging many hosts from one thread with
//! asynchronous requests: more hosts than the 256 requests the example keeps
//! in flight (Wine 8.0's limit) check that the window turns over.

mod common;

use common::example::{self, Run, assert_could_send};
use std::time::Duration;

/// Runs the example with `args`, killed after [`example::RUN_LIMIT`].
fn ping_many(args: &[&str]) -> Run {
    example::run("ping_many", args, &[])
}

// ---------------------------------------------------------------------------
// Command line (sends nothing; runs everywhere)
// ---------------------------------------------------------------------------

#[test]
fn bad_arguments_exit_2_with_usage() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[],
            "At least one IP address, host name or range must be specified.",
        ),
        (&["-x", "127.0.0.1"], "Bad option -x."),
        (&["-i", "64", "127.0.0.1"], "Bad option -i."),
        (&["-n"], "Value must be supplied for option -n."),
        (
            &["127.0.0.1", "-w"],
            "Value must be supplied for option -w.",
        ),
        (&["-n", "0", "127.0.0.1"], "Bad value for option -n"),
        (&["-n", "101", "127.0.0.1"], "Bad value for option -n"),
        (&["-l", "65501", "127.0.0.1"], "Bad value for option -l"),
        (&["-w", "0", "127.0.0.1"], "Bad value for option -w"),
        (&["-w", "60001", "127.0.0.1"], "Bad value for option -w"),
        (
            &["-4", "-6", "127.0.0.1"],
            "-4 and -6 cannot be used together",
        ),
        (
            &["10.0.0.0/8"],
            "Bad range 10.0.0.0/8: at most 65536 addresses, prefix /16 or longer.",
        ),
        (
            &["127.0.0.0/33"],
            "Bad range 127.0.0.0/33: the prefix length is 0 to 32.",
        ),
        (
            &["127.0.0.0/x"],
            "Bad range 127.0.0.0/x: the prefix length is 0 to 32.",
        ),
        (
            &["::1/128"],
            "Bad range ::1/128: ranges are IPv4 addresses in CIDR notation.",
        ),
        (
            &["localhost/24"],
            "Bad range localhost/24: ranges are IPv4 addresses in CIDR notation.",
        ),
        (
            &["127.0.0.0/16", "127.1.0.0/16"],
            "Too many addresses (131072): at most 65536 per run.",
        ),
    ];
    // Nothing is sent: stdout stays empty (no header, no statistics).
    example::assert_argument_errors("ping_many", "Usage: ping_many [-n count] [-l size]", cases);
}

#[test]
fn help_exits_0_with_usage_on_stdout() {
    example::assert_help("ping_many", &["-?", "-h", "/?"]);
}

#[test]
fn targets_of_the_wrong_family_are_not_found_exit_1() {
    // IP literals and ranges are never looked up: nothing is sent anywhere.
    for (args, target) in [
        (&["-6", "127.0.0.0/30"][..], "127.0.0.0/30"),
        (&["-4", "::1"][..], "::1"),
    ] {
        let run = ping_many(args);
        let ctx = run.context();
        assert_eq!(run.code, 1, "{ctx}");
        assert_eq!(
            run.stdout.trim(),
            format!(
                "Ping request could not find host {target}. Please check the name and try again."
            ),
            "{ctx}"
        );
    }
}

// ---------------------------------------------------------------------------
// Loopback (Windows, Wine, or natively over the Unix backend)
// ---------------------------------------------------------------------------

/// Checks a host line of `n` echo replies out of `n`, `addr: n of n
/// received, time min/avg/max = a/b/c ms` with a ≤ b ≤ c.
fn assert_all_received(line: &str, addr: &str, n: u32, ctx: &str) {
    let prefix = format!("{addr}: {n} of {n} received, time min/avg/max = ");
    let times = line
        .strip_prefix(&prefix)
        .and_then(|t| t.strip_suffix(" ms"))
        .unwrap_or_else(|| panic!("{line:?} is not {prefix}a/b/c ms\n{ctx}"));
    let t: Vec<u32> = times
        .split('/')
        .map(|t| t.parse().unwrap_or_else(|_| panic!("{line:?}\n{ctx}")))
        .collect();
    assert!(
        t.len() == 3 && t[0] <= t[1] && t[1] <= t[2],
        "{line:?}\n{ctx}"
    );
}

/// Checks the statistics block at the end of the output.
fn assert_statistics(
    lines: &[&str],
    hosts: usize,
    answered: usize,
    sent: usize,
    received: usize,
    ctx: &str,
) {
    let lost = sent - received;
    let expected = [
        String::new(),
        format!("Ping statistics for {hosts} hosts:"),
        format!(
            "    Hosts: Answered = {answered}, Not answered = {},",
            hosts - answered
        ),
        format!(
            "    Packets: Sent = {sent}, Received = {received}, Lost = {lost} ({}% loss),",
            lost * 100 / sent.max(1)
        ),
    ];
    assert!(lines.len() >= 4, "{ctx}");
    assert_eq!(&lines[lines.len() - 4..], &expected, "statistics\n{ctx}");
}

/// Pings `127.0.0.0/<prefix>` (`hosts` addresses) and checks the exact
/// output: the header, one answered line per address in order, the
/// statistics, nothing else.
fn assert_every_address_answers(prefix: u32, hosts: usize) {
    let range = format!("127.0.0.0/{prefix}");
    let run = ping_many(&["-w", "2000", &range]);
    let ctx = run.context();
    assert_could_send(&run, &ctx);
    assert_eq!(run.code, 0, "{ctx}");
    let lines = run.lines();
    assert_eq!(lines.len(), 2 + hosts + 4, "{ctx}");
    assert_eq!(lines[0], "", "{ctx}");
    assert_eq!(
        lines[1],
        format!("Pinging {hosts} hosts with 32 bytes of data:"),
        "{ctx}"
    );
    for i in 0..hosts {
        let addr = format!("127.0.{}.{}", i / 256, i % 256);
        assert_all_received(lines[2 + i], &addr, 1, &ctx);
    }
    assert_statistics(&lines, hosts, hosts, hosts, hosts, &ctx);
    assert!(run.stderr.is_empty(), "{ctx}");
}

#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn every_address_of_127_0_0_0_24_answers() {
    assert_every_address_answers(24, 256);
}

/// 1024 hosts, four times the window of requests in flight: every one
/// answers (no request fails for lack of resources, none is lost when the
/// window turns over).
#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn a_slash_22_turns_the_window_over() {
    assert_every_address_answers(22, 1024);
}

/// Two rounds a second apart, addresses and a range mixed, a duplicate
/// dropped, a 1472-byte payload.
#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn two_rounds_to_addresses_and_a_range() {
    let args = [
        "-n",
        "2",
        "-l",
        "1472",
        "-w",
        "2000",
        "127.0.0.1",
        "127.0.0.2",
        "127.0.0.1",
        "127.0.0.5/31",
    ];
    let run = ping_many(&args);
    let ctx = run.context();
    assert_could_send(&run, &ctx);
    assert_eq!(run.code, 0, "{ctx}");
    let lines = run.lines();
    assert_eq!(lines.len(), 2 + 4 + 4, "{ctx}");
    assert_eq!(
        lines[1], "Pinging 4 hosts with 1472 bytes of data:",
        "{ctx}"
    );
    for (line, addr) in lines[2..6]
        .iter()
        .zip(["127.0.0.1", "127.0.0.2", "127.0.0.4", "127.0.0.5"])
    {
        assert_all_received(line, addr, 2, &ctx);
    }
    assert_statistics(&lines, 4, 4, 8, 8, &ctx);
    // The second round starts a second after the first.
    assert!(
        run.elapsed >= Duration::from_millis(900),
        "two rounds took only {:?}\n{ctx}",
        run.elapsed
    );
}

#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn ipv6_loopback_with_ipv4() {
    let run = ping_many(&["-w", "2000", "::1", "127.0.0.1"]);
    let ctx = run.context();
    assert_could_send(&run, &ctx);
    let lines = run.lines();
    assert_eq!(lines.len(), 2 + 2 + 4, "{ctx}");
    assert_eq!(lines[1], "Pinging 2 hosts with 32 bytes of data:", "{ctx}");
    assert_all_received(lines[3], "127.0.0.1", 1, &ctx);
    assert_eq!(run.code, 0, "{ctx}");
    #[cfg(windows)]
    if common::wine_version().is_some() {
        // Wine 8.0 (and 9.0) do not implement IPv6 echo: Icmp6CreateFile
        // fails with ERROR_CALL_NOT_IMPLEMENTED; the host fails with it.
        assert_eq!(
            lines[2], "::1: 0 of 1 received (PING: transmit failed. Error code 120.)",
            "{ctx}"
        );
        assert!(
            run.stderr
                .contains("ping_many: Icmp6CreateFile failed with error 120."),
            "{ctx}"
        );
        assert_statistics(&lines, 2, 1, 2, 1, &ctx);
        return;
    }
    assert_all_received(lines[2], "::1", 1, &ctx);
    assert_statistics(&lines, 2, 2, 2, 2, &ctx);
    assert!(run.stderr.is_empty(), "{ctx}");
}

// ---------------------------------------------------------------------------
// Private network namespaces of .ci/netns (natively and under Wine)
// ---------------------------------------------------------------------------

/// The `silent` setup (nothing answers): 512 hosts, twice the window, all
/// time out after about two timeouts (the window turns over once); none
/// fails for lack of resources (Wine 8.0 fails the 257th echo in flight).
#[test]
#[ignore = "needs a private network namespace of .ci/netns: run by .ci/netns native or .ci/wine netns"]
fn netns_silent_ping_many_times_out_window_by_window() {
    common::require_netns("silent");
    let run = ping_many(&["-w", "300", "127.0.0.0/23"]);
    let ctx = run.context();
    assert_could_send(&run, &ctx);
    assert_eq!(run.code, 1, "{ctx}");
    let lines = run.lines();
    assert_eq!(lines.len(), 2 + 512 + 4, "{ctx}");
    for i in 0..512usize {
        let addr = format!("127.0.{}.{}", i / 256, i % 256);
        assert_eq!(
            lines[2 + i],
            format!("{addr}: 0 of 1 received (Request timed out.)"),
            "{ctx}"
        );
    }
    assert_statistics(&lines, 512, 0, 512, 0, &ctx);
    // Two windows of 256, each waiting its 300 ms: never much less (the
    // timeout is honoured, at most 256 in flight), never a hang.
    assert!(
        run.elapsed >= Duration::from_millis(550) && run.elapsed < Duration::from_secs(30),
        "took {:?}\n{ctx}",
        run.elapsed
    );
}

/// The `router` setup: the target 198.51.100.2 answers, 203.0.113.3 is
/// blackholed by the router (silent), the router reports 203.0.113.1
/// unreachable, and the client's own route makes 203.0.113.101 fail at
/// once. Two rounds; one line per host with its last failure.
#[test]
#[ignore = "needs a private network namespace of .ci/netns: run by .ci/netns native or .ci/wine netns"]
fn netns_router_ping_many_silent_and_unreachable_hosts() {
    common::require_netns("router");
    let hosts = [
        "198.51.100.2",
        "203.0.113.3",
        "203.0.113.1",
        "203.0.113.101",
    ];
    let mut args = vec!["-n", "2", "-w", "500"];
    args.extend(hosts);
    let run = ping_many(&args);
    let ctx = run.context();
    assert_could_send(&run, &ctx);
    // One host answered: exit 0.
    assert_eq!(run.code, 0, "{ctx}");
    let lines = run.lines();
    assert_eq!(lines.len(), 2 + 4 + 4, "{ctx}");
    assert_eq!(lines[1], "Pinging 4 hosts with 32 bytes of data:", "{ctx}");
    assert_all_received(lines[2], "198.51.100.2", 2, &ctx);
    assert_eq!(
        &lines[3..6],
        [
            "203.0.113.3: 0 of 2 received (Request timed out.)",
            "203.0.113.1: 0 of 2 received (Reply from 192.0.2.254: Destination host unreachable.)",
            "203.0.113.101: 0 of 2 received (PING: transmit failed. Destination host unreachable.)",
        ],
        "{ctx}"
    );
    assert_statistics(&lines, 4, 1, 8, 2, &ctx);
}

/// No socket kind permitted (ping sockets only, and a new network
/// namespace's `ping_group_range` is the kernel's empty default `1 0`): the
/// asynchronous sends fail with ERROR_ACCESS_DENIED, the example sends
/// nothing more (one round of three), explains the fix and exits 1.
#[cfg(target_os = "linux")]
#[test]
fn no_permission_explains_the_fix_in_netns() {
    let args = ["-n", "3", "127.0.0.1", "127.0.0.2"];
    let run = example::run_in_netns(
        "ping_many",
        example::netns_flag(),
        &[],
        &[("ICMP_SYS_SOCKET", "dgram")],
        &args,
    );
    let ctx = run.context();
    assert_eq!(run.code, 1, "{ctx}");
    assert_eq!(
        run.lines(),
        [
            "",
            "Pinging 2 hosts with 32 bytes of data:",
            "127.0.0.1: 0 of 1 received (PING: transmit failed. Error code 5.)",
            "127.0.0.2: 0 of 1 received (PING: transmit failed. Error code 5.)",
            "",
            "Ping statistics for 2 hosts:",
            "    Hosts: Answered = 0, Not answered = 2,",
            "    Packets: Sent = 2, Received = 0, Lost = 2 (100% loss),",
        ],
        "stops after the first round\n{ctx}"
    );
    example::assert_explains_the_permission_fix(&run, &ctx);
    // No round interval was waited for.
    assert!(
        run.elapsed < Duration::from_secs(1),
        "{:?}\n{ctx}",
        run.elapsed
    );
}
