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

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one run of the example may take before it is killed.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The example binary: `<target dir>/<profile>/examples/ping[.exe]`, next to
/// the `deps` directory this test binary lives in.
fn ping_exe() -> PathBuf {
    let me = std::env::current_exe().expect("current_exe");
    let profile_dir = me
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary in <target>/<profile>/deps");
    let exe = profile_dir
        .join("examples")
        .join(format!("ping{}", std::env::consts::EXE_SUFFIX));
    assert!(
        exe.is_file(),
        "{} is missing: `cargo test` builds it; with a --test filter, run \
         `cargo build --example ping` (same --target) first",
        exe.display()
    );
    exe
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs the example with `args`, killed after [`RUN_LIMIT`].
fn ping(args: &[&str]) -> Run {
    let mut cmd = Command::new(ping_exe());
    cmd.args(args);
    run_command(cmd, args)
}

/// Runs `cmd` (the example, or a wrapper that execs it), killed after
/// [`RUN_LIMIT`]; `args` only label the failure message.
fn run_command(mut cmd: Command, args: &[&str]) -> Run {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    // The pipes are small and the output is short, but read them on threads so
    // a chatty child can never block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).map(|_| s)
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the ping example") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ping {args:?} still running after {RUN_LIMIT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    // Wine's console may add CRs; compare lines without them.
    let clean = |s: String| s.replace('\r', "");
    Run {
        code: status.code().expect("exit code"),
        stdout: clean(out.join().unwrap().expect("stdout is UTF-8")),
        stderr: clean(err.join().unwrap().expect("stderr is UTF-8")),
        elapsed,
    }
}

impl Run {
    fn context(&self, args: &[&str]) -> String {
        format!(
            "ping {args:?}: exit {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
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
    for (args, message) in cases {
        let run = ping(args);
        let ctx = run.context(args);
        assert_eq!(run.code, 2, "{ctx}");
        assert!(run.stderr.contains(message), "{ctx}");
        assert!(
            run.stderr.contains("Usage: ping [-n count] [-l size]"),
            "{ctx}"
        );
        // Nothing was sent: no "Pinging ..." header, no statistics.
        assert!(!run.stdout.contains("Pinging"), "{ctx}");
    }
}

#[test]
fn help_exits_0_with_usage_on_stdout() {
    for flag in ["-?", "-h", "/?"] {
        let run = ping(&[flag]);
        let ctx = run.context(&[flag]);
        assert_eq!(run.code, 0, "{ctx}");
        assert!(run.stdout.starts_with("Usage: ping "), "{ctx}");
        assert!(run.stderr.is_empty(), "{ctx}");
    }
}

#[test]
fn literal_of_the_wrong_family_is_not_found_exit_1() {
    // An IP literal is never looked up, so this sends nothing anywhere.
    let args = ["-4", "::1"];
    let run = ping(&args);
    let ctx = run.context(&args);
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

/// Fails with an explanation when the example could not send at all.
fn assert_could_send(run: &Run, ctx: &str) {
    assert!(
        !run.stdout.contains("transmit failed. Error code 5."),
        "no permission to send ICMP (error 5): run as root, or (Linux, natively \
         or under Wine) with a gid in net.ipv4.ping_group_range\n{ctx}"
    );
}

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
    not(any(
        windows,
        target_os = "linux",
        target_os = "macos",
        target_os = "freebsd"
    )),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn two_echoes_to_loopback() {
    let args = ["-n", "2", "-w", "2000", "127.0.0.1"];
    let run = ping(&args);
    let ctx = run.context(&args);
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
    not(any(
        windows,
        target_os = "linux",
        target_os = "macos",
        target_os = "freebsd"
    )),
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
        let ctx = run.context(&args);
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

/// Whether this process runs under Wine (ntdll exports `wine_get_version`).
#[cfg(windows)]
fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: NUL-terminated names; ntdll is always loaded.
    unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

#[test]
#[cfg_attr(
    not(any(
        windows,
        target_os = "linux",
        target_os = "macos",
        target_os = "freebsd"
    )),
    ignore = "sends echoes: icmp-sys has ICMP functions only on Windows, Linux, macOS \
              and FreeBSD"
)]
fn ipv6_loopback() {
    let args = ["-n", "1", "-w", "2000", "-6", "::1"];
    let run = ping(&args);
    let ctx = run.context(&args);
    #[cfg(windows)]
    if under_wine() {
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

/// Whether this process is root (then `unshare -n`; else `unshare -rn`).
#[cfg(target_os = "linux")]
fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs the example with `args` inside a new network namespace: `unshare -n`
/// as root, else `unshare -rn` (a user namespace mapping the caller to root,
/// which owns the new network namespace). `setup` runs first in `sh -c`,
/// after `lo` is brought up; nothing here touches the host's namespace.
/// Panics with the reason when the namespace cannot be created.
#[cfg(target_os = "linux")]
fn ping_in_netns(setup: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new("unshare");
    cmd.arg(if is_root() { "-n" } else { "-rn" })
        .arg("sh")
        .arg("-c")
        // "$0" is the example and "$@" its arguments: no quoting issues.
        .arg(format!(
            "set -e; ip link set lo up; {setup}; exec \"$0\" \"$@\""
        ))
        .arg(ping_exe())
        .args(args);
    let run = run_command(cmd, args);
    if run.stderr.starts_with("unshare:") || run.stderr.contains("ip: not found") {
        panic!(
            "cannot run in a private network namespace ({}): this test needs root, or \
             unprivileged user namespaces (blocked e.g. on Ubuntu 24.04 by AppArmor: \
             run it with sudo), and iproute2\n{}",
            if is_root() {
                "unshare -n"
            } else {
                "unshare -rn"
            },
            run.context(args)
        );
    }
    run
}

/// A silent host (`net.ipv4.icmp_echo_ignore_all=1` in the namespace):
/// every request times out after about `-w`, exit code 1.
#[cfg(target_os = "linux")]
#[test]
fn silent_host_times_out_in_netns() {
    let args = ["-n", "2", "-w", "300", "127.0.0.1"];
    let run = ping_in_netns("echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all", &args);
    let ctx = run.context(&args);
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
        let mut cmd = Command::new("unshare");
        cmd.args(["-rn", "sh", "-c"])
            .arg(
                "set -e; ip link set lo up; \
                 echo '0 0' > /proc/sys/net/ipv4/ping_group_range; exec \"$0\" \"$@\"",
            )
            .arg(ping_exe())
            .args(args)
            .env("ICMP_SYS_SOCKET", "dgram");
        let run = run_command(cmd, args);
        let ctx = run.context(args);
        assert!(
            !run.stderr.starts_with("unshare:"),
            "cannot create a user + net namespace (unprivileged user namespaces \
             blocked?)\n{ctx}"
        );
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
    let mut cmd = Command::new("unshare");
    cmd.arg(if is_root() { "-n" } else { "-rn" })
        .args(["sh", "-c"])
        .arg("set -e; ip link set lo up; exec \"$0\" \"$@\"")
        .arg(ping_exe())
        .args(args)
        .env("ICMP_SYS_SOCKET", "dgram");
    let run = run_command(cmd, &args);
    let ctx = run.context(&args);
    assert!(
        !run.stderr.starts_with("unshare:"),
        "cannot create a network namespace (needs root or unprivileged user \
         namespaces)\n{ctx}"
    );
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
    for needle in [
        "no permission to send ICMP echo requests (ERROR_ACCESS_DENIED, error 5).",
        "in net.ipv4.ping_group_range (here \"",
        "sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"",
        "CAP_NET_RAW",
        "ICMP_SYS_SOCKET=dgram",
    ] {
        assert!(run.stderr.contains(needle), "missing {needle:?}\n{ctx}");
    }
    // Nothing was waited for: the failure is immediate.
    assert!(
        run.elapsed < Duration::from_secs(2),
        "{:?}\n{ctx}",
        run.elapsed
    );
}
