//! Runs the built `examples/ping.rs` binary (`cargo test` builds the
//! examples) and checks its command line and its output.
//!
//! - Argument errors (exit 2 with the usage text) and the help run wherever
//!   the example builds: they send nothing.
//! - The echo runs send only to 127.0.0.1, 127.0.0.2 and `::1`. They run
//!   wherever the crate can send: on Windows, under Wine on Linux
//!   (`.ci/wine`), and natively on Linux, macOS and FreeBSD over the Unix
//!   backend, with the same expectations (IPv6: a real reply, except under
//!   Wine 8.0, which lacks IPv6 echo: asserted as such). They need ICMP
//!   permission (root, `CAP_NET_RAW`, or on Linux a group in
//!   `net.ipv4.ping_group_range`) and fail saying so without it.
//! - Linux only: runs inside private network namespaces the test creates
//!   (`unshare -n` as root, `unshare -rn` — user + net namespace — otherwise;
//!   a test fails with the reason where neither is possible): a silent host
//!   (`icmp_echo_ignore_all`) times out; the ping-socket path as a mapped
//!   user with `ping_group_range` widened; and the permission message when
//!   no socket kind is allowed.

mod common;

use common::example::{self, Run, assert_could_send};
use std::time::Duration;

/// Runs the example with `args`, killed after [`example::RUN_LIMIT`].
fn ping(args: &[&str]) -> Run {
    example::run("ping", args, &[])
}

// ---------------------------------------------------------------------------
// Starting the example (common::start_child, used by example::run)
// ---------------------------------------------------------------------------

/// A start that fails with Wine's "the child died during its start-up" is
/// tried again, up to the number of tries; every other error is returned at
/// once, and the last try's error when all fail.
#[test]
fn a_start_that_died_during_start_up_is_tried_again() {
    use common::{WINE_CHILD_DIED_STARTING, start_retrying};
    use std::io::{Error, ErrorKind};
    let died: fn() -> Error = || Error::from_raw_os_error(WINE_CHILD_DIED_STARTING);
    // Fails twice, then starts: 3 tries give the child, 2 retries reported.
    let (mut calls, mut reports) = (0, Vec::new());
    let r = start_retrying(
        3,
        || {
            calls += 1;
            if calls < 3 { Err(died()) } else { Ok(calls) }
        },
        |m| reports.push(m),
    );
    assert_eq!((r.ok(), calls), (Some(3), 3));
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(
        reports[1].starts_with("[start attempt 2 of 3: "),
        "{reports:?}"
    );
    // A start that always fails with `error`, given `tries`: (its error,
    // how many times it was called, how many retries were reported).
    let always = |tries, error: fn() -> Error| {
        let (mut calls, mut reports) = (0, 0);
        let r: std::io::Result<()> = start_retrying(
            tries,
            || {
                calls += 1;
                Err(error())
            },
            |_| reports += 1,
        );
        (r.expect_err("never starts"), calls, reports)
    };
    // Always dies starting: its error after exactly 3 tries.
    let (e, calls, reports) = always(3, died);
    assert_eq!(
        (e.raw_os_error(), calls, reports),
        (Some(WINE_CHILD_DIED_STARTING), 3, 2)
    );
    // Another error (file not found) is returned at once.
    let (e, calls, reports) = always(3, || Error::from(ErrorKind::NotFound));
    assert_eq!((e.kind(), calls, reports), (ErrorKind::NotFound, 1, 0));
    // One try (everywhere but Wine): the first error is returned.
    let (e, calls, reports) = always(1, died);
    assert_eq!(
        (e.raw_os_error(), calls, reports),
        (Some(WINE_CHILD_DIED_STARTING), 1, 0)
    );
}

// ---------------------------------------------------------------------------
// Command line (sends nothing; runs everywhere)
// ---------------------------------------------------------------------------

#[test]
fn bad_arguments_exit_2_with_usage() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "IP address or host name must be specified."),
        (&["-x", "127.0.0.1"], "Bad option -x."),
        (&["-n"], "Value must be supplied for option -n."),
        (
            &["127.0.0.1", "-w"],
            "Value must be supplied for option -w.",
        ),
        (&["-n", "abc", "127.0.0.1"], "Bad value for option -n"),
        (&["-n", "0", "127.0.0.1"], "Bad value for option -n"),
        (&["-n", "1001", "127.0.0.1"], "Bad value for option -n"),
        (&["-n", "-1", "127.0.0.1"], "Bad value for option -n"),
        (&["-l", "65501", "127.0.0.1"], "Bad value for option -l"),
        (&["-l", "1.5", "127.0.0.1"], "Bad value for option -l"),
        (&["-i", "0", "127.0.0.1"], "Bad value for option -i"),
        (&["-i", "256", "127.0.0.1"], "Bad value for option -i"),
        (&["-w", "0", "127.0.0.1"], "Bad value for option -w"),
        (&["-w", "60001", "127.0.0.1"], "Bad value for option -w"),
        (
            &["-4", "-6", "127.0.0.1"],
            "-4 and -6 cannot be used together",
        ),
        (
            &["-t", "127.0.0.1"],
            "-t (ping until stopped) is not supported",
        ),
        (&["127.0.0.1", "127.0.0.2"], "Only one host may be given"),
    ];
    // Nothing is sent: stdout stays empty (no header, no statistics).
    example::assert_argument_errors("ping", "Usage: ping [-n count] [-l size]", cases);
}

#[test]
fn help_exits_0_with_usage_on_stdout() {
    example::assert_help("ping", &["-?", "-h", "/?"]);
}

#[test]
fn literal_of_the_wrong_family_is_not_found_exit_1() {
    // An IP literal is never looked up, so this sends nothing anywhere.
    let args = ["-4", "::1"];
    let run = ping(&args);
    let ctx = run.context();
    assert_eq!(run.code, 1, "{ctx}");
    assert_eq!(
        run.stdout.trim(),
        "Ping request could not find host ::1. Please check the name and try again.",
        "{ctx}"
    );
}

// ---------------------------------------------------------------------------
// Echoes to loopback (Windows, Wine, or natively over the Unix backend)
// ---------------------------------------------------------------------------

/// The TTL of an echo reply from loopback, where it is known: natively on
/// Linux, the namespace's `net.ipv4.ip_default_ttl` (the kernel answers
/// with it, whatever the request's TTL).
fn loopback_reply_ttl() -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_default_ttl")
            .expect("read /proc/sys/net/ipv4/ip_default_ttl");
        Some(text.trim().parse().expect("ip_default_ttl is a number"))
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Parses `Reply from <addr>: ...` lines of a successful IPv4 echo and checks
/// their shape; returns the round-trip times.
fn check_v4_replies(lines: &[&str], addr: &str, bytes: usize, ctx: &str) -> Vec<u32> {
    let prefix = format!("Reply from {addr}: bytes={bytes} time");
    lines
        .iter()
        .filter(|l| l.starts_with("Reply from"))
        .map(|line| {
            let rest = line
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("unexpected reply line {line:?}\n{ctx}"));
            let (time, ttl) = rest
                .split_once(" TTL=")
                .unwrap_or_else(|| panic!("no TTL in {line:?}\n{ctx}"));
            let ttl: u32 = ttl
                .parse()
                .unwrap_or_else(|_| panic!("bad TTL in {line:?}\n{ctx}"));
            assert!((1..=255).contains(&ttl), "{line:?}\n{ctx}");
            if let Some(expected) = loopback_reply_ttl() {
                assert_eq!(
                    ttl, expected,
                    "reply TTL != ip_default_ttl: {line:?}\n{ctx}"
                );
            }
            match time {
                "<1ms" => 0,
                t => {
                    let ms: u32 = t
                        .strip_prefix('=')
                        .and_then(|t| t.strip_suffix("ms"))
                        .and_then(|t| t.parse().ok())
                        .unwrap_or_else(|| panic!("bad time in {line:?}\n{ctx}"));
                    assert!(ms >= 1, "time=0ms must be shown as time<1ms\n{ctx}");
                    ms
                }
            }
        })
        .collect()
}

/// Checks the statistics block of `sent` requests that all got a reply.
fn check_statistics(lines: &[&str], addr: &str, rtts: &[u32], ctx: &str) {
    let sent = rtts.len();
    let at = lines
        .iter()
        .position(|l| *l == format!("Ping statistics for {addr}:"))
        .unwrap_or_else(|| panic!("no statistics header\n{ctx}"));
    assert_eq!(
        lines.get(at + 1).copied(),
        Some(
            format!("    Packets: Sent = {sent}, Received = {sent}, Lost = 0 (0% loss),").as_str()
        ),
        "{ctx}"
    );
    assert_eq!(
        lines.get(at + 2).copied(),
        Some("Approximate round trip times in milli-seconds:"),
        "{ctx}"
    );
    let min = rtts.iter().min().unwrap();
    let max = rtts.iter().max().unwrap();
    let avg = rtts.iter().sum::<u32>() / sent as u32;
    assert_eq!(
        lines.get(at + 3).copied(),
        Some(format!("    Minimum = {min}ms, Maximum = {max}ms, Average = {avg}ms").as_str()),
        "{ctx}"
    );
    assert_eq!(lines.len(), at + 4, "nothing after the statistics\n{ctx}");
}

#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn two_echoes_to_loopback() {
    let args = ["-n", "2", "-w", "2000", "127.0.0.1"];
    let run = ping(&args);
    let ctx = run.context();
    assert_could_send(&run, &ctx);
    assert_eq!(run.code, 0, "{ctx}");
    let lines = run.lines();
    assert_eq!(lines.first().copied(), Some(""), "{ctx}");
    assert_eq!(
        lines.get(1).copied(),
        Some("Pinging 127.0.0.1 with 32 bytes of data:"),
        "{ctx}"
    );
    let rtts = check_v4_replies(&lines, "127.0.0.1", 32, &ctx);
    assert_eq!(rtts.len(), 2, "two replies\n{ctx}");
    // The replies follow the header directly: no "Request timed out." etc.
    assert!(lines[2].starts_with("Reply from") && lines[3].starts_with("Reply from"));
    check_statistics(&lines, "127.0.0.1", &rtts, &ctx);
    // ping.exe waits a second between requests (not after the last one).
    assert!(
        run.elapsed >= Duration::from_millis(900),
        "2 echoes took only {:?}: no interval\n{ctx}",
        run.elapsed
    );
    assert!(run.stderr.is_empty(), "{ctx}");
}

#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn sizes_and_ttl_to_loopback() {
    for (size, ttl) in [(0usize, None), (1472, Some("64")), (65500, Some("255"))] {
        let size_text = size.to_string();
        let mut args = vec!["-n", "1", "-w", "2000", "-l", &size_text];
        if let Some(ttl) = ttl {
            args.extend(["-i", ttl]);
        }
        args.push("127.0.0.2");
        let run = ping(&args);
        let ctx = run.context();
        assert_could_send(&run, &ctx);
        assert_eq!(run.code, 0, "{ctx}");
        let lines = run.lines();
        assert_eq!(
            lines.get(1).copied(),
            Some(format!("Pinging 127.0.0.2 with {size} bytes of data:").as_str()),
            "{ctx}"
        );
        // bytes=<size> with no "(sent N)" and no data-mismatch note: the
        // example compares the echoed bytes with the request.
        let rtts = check_v4_replies(&lines, "127.0.0.2", size, &ctx);
        assert_eq!(rtts.len(), 1, "{ctx}");
        check_statistics(&lines, "127.0.0.2", &rtts, &ctx);
    }
}

#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn ipv6_loopback() {
    let args = ["-n", "1", "-w", "2000", "-6", "::1"];
    let run = ping(&args);
    let ctx = run.context();
    #[cfg(windows)]
    if common::wine_version().is_some() {
        // Wine 8.0 (and 9.0) do not implement IPv6 echo: Icmp6CreateFile
        // fails with ERROR_CALL_NOT_IMPLEMENTED, and the example says so.
        assert_eq!(run.code, 1, "{ctx}");
        assert!(
            run.stderr
                .contains("Icmp6CreateFile failed with error 120."),
            "{ctx}"
        );
        assert!(!run.stdout.contains("Pinging"), "{ctx}");
        return;
    }
    // Windows, and natively the Unix backend: a real echo. The IPv6 reply
    // line has no bytes= and no TTL, as ping.exe.
    assert_could_send(&run, &ctx);
    assert_eq!(run.code, 0, "{ctx}");
    let lines = run.lines();
    assert_eq!(
        lines.get(1).copied(),
        Some("Pinging ::1 with 32 bytes of data:"),
        "{ctx}"
    );
    let reply = lines.get(2).copied().unwrap_or_default();
    assert!(
        reply == "Reply from ::1: time<1ms"
            || reply
                .strip_prefix("Reply from ::1: time=")
                .and_then(|t| t.strip_suffix("ms"))
                .is_some_and(|t| t.parse::<u32>().is_ok_and(|ms| ms >= 1)),
        "{ctx}"
    );
    assert!(
        run.stdout
            .contains("    Packets: Sent = 1, Received = 1, Lost = 0 (0% loss),"),
        "{ctx}"
    );
}

// ---------------------------------------------------------------------------
// Natively, inside private network namespaces (Linux)
// ---------------------------------------------------------------------------

/// Runs the example in private namespaces ([`example::run_in_netns`]).
#[cfg(target_os = "linux")]
fn ping_in_netns(unshare: &str, setup: &[&str], env: &[(&str, &str)], args: &[&str]) -> Run {
    example::run_in_netns("ping", unshare, setup, env, args)
}

/// A silent host (`net.ipv4.icmp_echo_ignore_all=1` in the namespace):
/// every request times out after about `-w`, exit code 1.
#[cfg(target_os = "linux")]
#[test]
fn silent_host_times_out_in_netns() {
    let args = ["-n", "2", "-w", "300", "127.0.0.1"];
    let run = ping_in_netns(
        example::netns_flag(),
        &["echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all"],
        &[],
        &args,
    );
    let ctx = run.context();
    assert_could_send(&run, &ctx);
    assert_eq!(run.code, 1, "{ctx}");
    assert_eq!(
        run.lines(),
        [
            "",
            "Pinging 127.0.0.1 with 32 bytes of data:",
            "Request timed out.",
            "Request timed out.",
            "",
            "Ping statistics for 127.0.0.1:",
            "    Packets: Sent = 2, Received = 0, Lost = 2 (100% loss),",
        ],
        "{ctx}"
    );
    // Request 1 waits its 300 ms, the interval fills the second, request 2
    // waits 300 ms: about 1.3 s, never much less (the timeout is honoured)
    // nor much more (no hang).
    assert!(
        run.elapsed >= Duration::from_millis(1250) && run.elapsed < Duration::from_secs(10),
        "took {:?}\n{ctx}",
        run.elapsed
    );
    assert!(run.stderr.is_empty(), "{ctx}");
}

/// The ping-socket path (what a normal user gets): inside a user + net
/// namespace with `ping_group_range` covering the mapped group 0 and
/// `ICMP_SYS_SOCKET=dgram`, echoes to 127.0.0.1 and `::1` are answered.
#[cfg(target_os = "linux")]
#[test]
fn ping_socket_in_user_netns() {
    for args in [
        &["-n", "1", "-w", "2000", "127.0.0.1"][..],
        &["-n", "1", "-w", "2000", "-6", "::1"][..],
    ] {
        let run = ping_in_netns(
            "-rn",
            &["echo '0 0' > /proc/sys/net/ipv4/ping_group_range"],
            &[("ICMP_SYS_SOCKET", "dgram")],
            args,
        );
        let ctx = run.context();
        assert_could_send(&run, &ctx);
        assert_eq!(run.code, 0, "{ctx}");
        let addr = args.last().unwrap();
        let lines = run.lines();
        if addr.contains(':') {
            let reply = lines.get(2).copied().unwrap_or_default();
            assert!(reply.starts_with("Reply from ::1: time"), "{ctx}");
        } else {
            let rtts = check_v4_replies(&lines, addr, 32, &ctx);
            assert_eq!(rtts.len(), 1, "{ctx}");
            check_statistics(&lines, addr, &rtts, &ctx);
        }
    }
}

/// No socket kind permitted (ping sockets only, and a new network
/// namespace's `ping_group_range` is the kernel's empty default `1 0`; it
/// cannot be written as `1 0` from a user namespace, where unmapped gids
/// give EIO):
/// the first send fails with ERROR_ACCESS_DENIED and the example stops with
/// the fix and exit code 1, without statistics.
#[cfg(target_os = "linux")]
#[test]
fn no_permission_explains_the_fix_in_netns() {
    let args = ["-n", "3", "-w", "2000", "127.0.0.1"];
    let run = ping_in_netns(
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
            "Pinging 127.0.0.1 with 32 bytes of data:",
            "PING: transmit failed. Error code 5.",
        ],
        "stops after the first failure\n{ctx}"
    );
    example::assert_explains_the_permission_fix(&run, &ctx);
    // Nothing was waited for: the failure is immediate.
    assert!(
        run.elapsed < Duration::from_secs(2),
        "{:?}\n{ctx}",
        run.elapsed
    );
}
