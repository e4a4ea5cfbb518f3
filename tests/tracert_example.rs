//! Runs the built `examples/tracert.rs` binary (`cargo test` builds the
//! examples) and checks its command line and its output.
//!
//! - Argument errors (exit 2 with the usage text) and the help run wherever
//!   the example builds: they send nothing.
//! - Loopback traces send only to 127.0.0.1 and `::1`: the target answers at
//!   hop 1. They run wherever the crate can send: on Windows, under Wine
//!   (`.ci/wine`; IPv6 is asserted as unimplemented there, as in Wine 8.0),
//!   and natively on Linux, macOS and FreeBSD over the Unix backend. They
//!   need ICMP permission (root, `CAP_NET_RAW`, or a group in
//!   `net.ipv4.ping_group_range`) and fail saying so without it.
//! - The `hops_*` tests are `#[ignore]`d: they need the `hops` namespace
//!   topology of `.ci/netns` (client 192.0.2.1 → router1 192.0.2.254 →
//!   router2 198.51.100.2 → target 203.0.113.2, documentation ranges only)
//!   and refuse to run without `ICMP_SYS_NETNS=hops`. Run them with
//!   `.ci/netns hops cargo test --test tracert_example -- --ignored`
//!   (root; `.ci/test` does). They pass unchanged under Wine 8.0 and 10.0
//!   too, with the Wine session started inside the namespace:
//!   `[ICMP_SYS_WINE=10] .ci/wine netns <triple> [hops_…]` (`.ci/wine suite`
//!   runs them for Wine 8 x86_64, Wine 10 x86_64 and Wine 10 i686).

mod common;

use common::example::{self, Run};
use std::time::Duration;

/// Runs the example with `args` and the extra environment `env`, killed
/// after [`example::RUN_LIMIT`].
fn tracert_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    example::run("tracert", args, env)
}

fn tracert(args: &[&str]) -> Run {
    tracert_env(args, &[])
}

/// One probe's column as parsed back from a hop line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Time(u32),
    Star,
}

/// A hop line: `{hop:>3}` then three 9-character probe columns
/// (`    <1 ms`, `     5 ms`, `     *   `), two spaces and the rest (an
/// address, `Request timed out.` or `<address>  reports: <text>`).
#[derive(Debug)]
struct Hop<'a> {
    number: u32,
    columns: [Column; 3],
    rest: &'a str,
}

fn parse_column(col: &str, line: &str, ctx: &str) -> Column {
    match col {
        "     *   " => Column::Star,
        "    <1 ms" => Column::Time(0),
        _ => {
            let ms: u32 = col
                .strip_suffix(" ms")
                .map(str::trim_start)
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("bad probe column {col:?} in {line:?}\n{ctx}"));
            assert!(ms >= 1, "0 ms must be shown as <1 ms: {line:?}\n{ctx}");
            assert_eq!(col, format!("{ms:>6} ms"), "column width: {line:?}\n{ctx}");
            Column::Time(ms)
        }
    }
}

fn parse_hop<'a>(line: &'a str, ctx: &str) -> Hop<'a> {
    assert!(
        line.is_ascii() && line.len() > 3 + 27 + 2,
        "short hop line {line:?}\n{ctx}"
    );
    let number: u32 = line[..3]
        .trim_start()
        .parse()
        .unwrap_or_else(|_| panic!("bad hop number in {line:?}\n{ctx}"));
    assert_eq!(&line[..3], format!("{number:>3}"), "{line:?}\n{ctx}");
    let columns = [0, 1, 2].map(|i| parse_column(&line[3 + 9 * i..12 + 9 * i], line, ctx));
    let rest = line[30..]
        .strip_prefix("  ")
        .unwrap_or_else(|| panic!("no two spaces before the node in {line:?}\n{ctx}"));
    Hop {
        number,
        columns,
        rest,
    }
}

/// Checks the whole output of a trace to `target` (an IP literal) over
/// `max_hops` and returns its hop lines, parsed and numbered 1, 2, ...
fn trace_hops<'a>(run: &'a Run, target: &str, max_hops: u32) -> Vec<Hop<'a>> {
    let ctx = run.context();
    assert!(
        !run.stderr.contains("ERROR_ACCESS_DENIED") && !run.stdout.contains("Error code 5."),
        "no permission to send ICMP (error 5): run as root, or (Linux) with a gid in \
         net.ipv4.ping_group_range\n{ctx}"
    );
    let lines = run.lines();
    assert!(lines.len() >= 6, "too short\n{ctx}");
    assert_eq!(lines[0], "", "{ctx}");
    assert_eq!(
        lines[1],
        format!("Tracing route to {target} over a maximum of {max_hops} hops"),
        "{ctx}"
    );
    assert_eq!(lines[2], "", "{ctx}");
    let n = lines.len();
    assert_eq!(&lines[n - 2..], ["", "Trace complete."], "{ctx}");
    let hops: Vec<Hop> = lines[3..n - 2].iter().map(|l| parse_hop(l, &ctx)).collect();
    for (i, hop) in hops.iter().enumerate() {
        assert_eq!(hop.number as usize, i + 1, "hops numbered from 1\n{ctx}");
    }
    assert!(hops.len() as u32 <= max_hops, "more hops than -h\n{ctx}");
    hops
}

/// Asserts a hop whose three probes were all answered by `node`.
fn assert_answered(hop: &Hop, node: &str, ctx: &str) {
    assert_eq!(hop.rest, node, "hop {}\n{ctx}", hop.number);
    assert!(
        hop.columns.iter().all(|c| matches!(c, Column::Time(_))),
        "hop {}: every probe answered\n{ctx}",
        hop.number
    );
}

// ---------------------------------------------------------------------------
// Command line (sends nothing; runs everywhere)
// ---------------------------------------------------------------------------

#[test]
fn bad_arguments_exit_2_with_usage() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "A target name or IP address must be specified."),
        (&["-x", "127.0.0.1"], "Bad option -x."),
        (&["-h"], "Value must be supplied for option -h."),
        (
            &["127.0.0.1", "-w"],
            "Value must be supplied for option -w.",
        ),
        (&["-h", "0", "127.0.0.1"], "Bad value for option -h"),
        (&["-h", "256", "127.0.0.1"], "Bad value for option -h"),
        (&["-h", "abc", "127.0.0.1"], "Bad value for option -h"),
        (&["-w", "0", "127.0.0.1"], "Bad value for option -w"),
        (&["-w", "60001", "127.0.0.1"], "Bad value for option -w"),
        (&["-w", "-5", "127.0.0.1"], "Bad value for option -w"),
        (
            &["-4", "-6", "127.0.0.1"],
            "-4 and -6 cannot be used together",
        ),
        (&["-j", "127.0.0.1"], "Option -j is not supported"),
        (&["-S", "127.0.0.1"], "Option -S is not supported"),
        (&["127.0.0.1", "127.0.0.2"], "Only one target may be given"),
    ];
    // Nothing is sent: stdout stays empty (no header, no statistics).
    example::assert_argument_errors(
        "tracert",
        "Usage: tracert [-d] [-h maximum_hops] [-w timeout]",
        cases,
    );
}

#[test]
fn help_exits_0_with_usage_on_stdout() {
    example::assert_help("tracert", &["-?", "/?", "--help"]);
}

#[test]
fn literal_of_the_wrong_family_is_not_resolved_exit_1() {
    // An IP literal is never looked up, so this sends nothing anywhere.
    let run = tracert(&["-6", "127.0.0.1"]);
    let ctx = run.context();
    assert_eq!(run.code, 1, "{ctx}");
    assert_eq!(
        run.stdout.trim(),
        "Unable to resolve target system name 127.0.0.1.",
        "{ctx}"
    );
}

// ---------------------------------------------------------------------------
// Loopback: the target answers at hop 1
// ---------------------------------------------------------------------------

#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn loopback_is_reached_at_hop_1() {
    // -d is accepted (addresses are never resolved anyway).
    let run = tracert(&["-d", "-w", "2000", "127.0.0.1"]);
    let ctx = run.context();
    let hops = trace_hops(&run, "127.0.0.1", 30);
    assert_eq!(hops.len(), 1, "{ctx}");
    assert_answered(&hops[0], "127.0.0.1", &ctx);
    assert_eq!(run.code, 0, "{ctx}");
    assert!(run.stderr.is_empty(), "{ctx}");
}

#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn loopback_with_one_hop_at_most() {
    // -h 1: one TTL-1 round is enough for a local target; exit 0.
    let run = tracert(&["-h", "1", "-w", "2000", "-4", "127.0.0.1"]);
    let ctx = run.context();
    let hops = trace_hops(&run, "127.0.0.1", 1);
    assert_eq!(hops.len(), 1, "{ctx}");
    assert_answered(&hops[0], "127.0.0.1", &ctx);
    assert_eq!(run.code, 0, "{ctx}");
}

#[test]
#[cfg_attr(
    not(icmp_api),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn ipv6_loopback_is_reached_at_hop_1() {
    let run = tracert(&["-6", "-w", "2000", "::1"]);
    let ctx = run.context();
    #[cfg(windows)]
    if common::wine_version().is_some() {
        // Wine 8.0 does not implement IPv6 echo: Icmp6CreateFile fails with
        // ERROR_CALL_NOT_IMPLEMENTED before anything is sent.
        assert_eq!(run.code, 1, "{ctx}");
        assert!(
            run.stderr
                .contains("Icmp6CreateFile failed with error 120."),
            "{ctx}"
        );
        assert!(run.stdout.is_empty(), "{ctx}");
        return;
    }
    let hops = trace_hops(&run, "::1", 30);
    assert_eq!(hops.len(), 1, "{ctx}");
    assert_answered(&hops[0], "::1", &ctx);
    assert_eq!(run.code, 0, "{ctx}");
}

// ---------------------------------------------------------------------------
// The `hops` topology of .ci/netns (Linux, root)
// ---------------------------------------------------------------------------

/// Refuses to run outside the `hops` namespace: these tests send to
/// documentation addresses, which must exist only in the namespaces
/// `.ci/netns hops` creates.
fn require_hops_namespace() {
    let setup = std::env::var(common::NETNS_VAR).unwrap_or_default();
    assert_eq!(
        setup, "hops",
        "this test sends to documentation addresses and must run inside the \
         `hops` namespaces: `.ci/netns hops cargo test --test tracert_example -- --ignored`"
    );
}

/// The socket kinds the Unix backend can be forced to (`ICMP_SYS_SOCKET`):
/// the trace must look the same through both.
const SOCKET_KINDS: [&str; 2] = ["dgram", "raw"];

#[test]
#[ignore = "needs the hops namespace: run by .ci/netns hops"]
fn hops_trace_to_the_target_lists_every_router() {
    require_hops_namespace();
    for kind in SOCKET_KINDS {
        let run = tracert_env(&["-w", "2000", "203.0.113.2"], &[("ICMP_SYS_SOCKET", kind)]);
        let ctx = format!("ICMP_SYS_SOCKET={kind}\n{}", run.context());
        let hops = trace_hops(&run, "203.0.113.2", 30);
        let nodes: Vec<&str> = hops.iter().map(|h| h.rest).collect();
        assert_eq!(
            nodes,
            ["192.0.2.254", "198.51.100.2", "203.0.113.2"],
            "{ctx}"
        );
        for hop in &hops {
            assert_answered(hop, hop.rest, &ctx);
        }
        assert_eq!(run.code, 0, "{ctx}");
        assert!(run.stderr.is_empty(), "{ctx}");
    }
}

#[test]
#[ignore = "needs the hops namespace: run by .ci/netns hops"]
fn hops_maximum_reached_before_the_target_exit_1() {
    require_hops_namespace();
    let run = tracert(&["-h", "2", "-w", "2000", "203.0.113.2"]);
    let ctx = run.context();
    let hops = trace_hops(&run, "203.0.113.2", 2);
    let nodes: Vec<&str> = hops.iter().map(|h| h.rest).collect();
    assert_eq!(nodes, ["192.0.2.254", "198.51.100.2"], "{ctx}");
    assert_eq!(run.code, 1, "{ctx}");
}

#[test]
#[ignore = "needs the hops namespace: run by .ci/netns hops"]
fn hops_blackholed_destination_times_out_exit_1() {
    require_hops_namespace();
    // router2 drops 203.0.113.99 (blackhole route) before any TTL check:
    // hop 1 answers, hops 2..4 time out; bounded by -h 4 -w 300.
    let run = tracert(&["-h", "4", "-w", "300", "203.0.113.99"]);
    let ctx = run.context();
    let hops = trace_hops(&run, "203.0.113.99", 4);
    assert_eq!(hops.len(), 4, "{ctx}");
    assert_answered(&hops[0], "192.0.2.254", &ctx);
    for hop in &hops[1..] {
        assert_eq!(hop.columns, [Column::Star; 3], "{ctx}");
        assert_eq!(hop.rest, "Request timed out.", "{ctx}");
    }
    assert_eq!(run.code, 1, "{ctx}");
    // 9 probes waited their full 300 ms timeout each, and no more.
    assert!(
        run.elapsed >= Duration::from_millis(9 * 300) && run.elapsed < Duration::from_secs(20),
        "{ctx}"
    );
}

#[test]
#[ignore = "needs the hops namespace: run by .ci/netns hops"]
fn hops_unreachable_destination_is_reported_exit_1() {
    require_hops_namespace();
    // 203.0.113.98 is unused on router2's target link, and router2 gives up
    // ARP for it after 200 ms: hop 2 is router2's "TTL expired in transit",
    // hop 3 its ICMP host unreachable, which ends the trace. (Not an
    // `unreachable` route: those errors are rate-limited by route
    // error_cost, so probes would time out at random.) Bounded: -h 4 -w 1000.
    let run = tracert(&["-h", "4", "-w", "1000", "203.0.113.98"]);
    let ctx = run.context();
    let hops = trace_hops(&run, "203.0.113.98", 4);
    assert_eq!(hops.len(), 3, "{ctx}");
    assert_answered(&hops[0], "192.0.2.254", &ctx);
    assert_answered(&hops[1], "198.51.100.2", &ctx);
    assert_eq!(
        hops[2].rest, "198.51.100.2  reports: Destination host unreachable.",
        "{ctx}"
    );
    // Each error came after the failed ARP attempt (retrans_time_ms=200).
    for column in hops[2].columns {
        assert!(
            matches!(column, Column::Time(ms) if (150..1000).contains(&ms)),
            "{ctx}"
        );
    }
    assert_eq!(run.code, 1, "{ctx}");
}
