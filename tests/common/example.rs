//! Running a built example (`examples/<name>.rs`) from its test
//! (`tests/ping_example.rs`, `tests/tracert_example.rs`): find the binary,
//! run it with a time limit, and keep its exit code and output.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one run of an example may take before it is killed.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The example binary: `<target dir>/<profile>/examples/<name>[.exe]`, next
/// to the `deps` directory this test binary lives in.
pub fn exe(name: &str) -> PathBuf {
    let me = std::env::current_exe().expect("current_exe");
    let profile_dir = me
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary in <target>/<profile>/deps");
    let exe = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        exe.is_file(),
        "{} is missing: `cargo test` builds it; with a --test filter, run \
         `cargo build --example {name}` (same --target) first",
        exe.display()
    );
    exe
}

/// One finished run of an example.
pub struct Run {
    pub code: i32,
    /// Standard output, without the CRs Wine's console may add.
    pub stdout: String,
    /// Standard error, likewise.
    pub stderr: String,
    pub elapsed: Duration,
    /// The example's name and arguments, for failure messages.
    name: String,
    args: Vec<String>,
}

impl Run {
    /// The run as a failure message: command line, exit code, time, output.
    pub fn context(&self) -> String {
        format!(
            "{} {:?}: exit {} after {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.name, self.args, self.code, self.elapsed, self.stdout, self.stderr
        )
    }

    /// The lines of standard output.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// Runs the example `name` with `args` and the extra environment `env`,
/// killed after [`RUN_LIMIT`].
pub fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(exe(name));
    cmd.args(args).envs(env.iter().copied());
    run_command(cmd, name, args)
}

/// Runs `cmd` (the example `name`, or a wrapper that execs it), killed after
/// [`RUN_LIMIT`]; `name` and `args` label the failure messages.
pub fn run_command(mut cmd: Command, name: &str, args: &[&str]) -> Run {
    let started = Instant::now();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = super::start_child(&mut cmd).unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
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
        if let Some(status) = child
            .try_wait()
            .unwrap_or_else(|e| panic!("wait for the {name} example: {e}"))
        {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?} still running after {RUN_LIMIT:?}: killed");
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
        name: name.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

/// Runs the example `name` with each of `cases` (arguments, expected
/// message): each must exit 2 with the message and the usage (which starts
/// with `usage`) on stderr, and print nothing on stdout (nothing was sent).
pub fn assert_argument_errors(name: &str, usage: &str, cases: &[(&[&str], &str)]) {
    for (args, message) in cases {
        let run = run(name, args, &[]);
        let ctx = run.context();
        assert_eq!(run.code, 2, "{ctx}");
        assert!(run.stderr.contains(message), "{ctx}");
        assert!(run.stderr.contains(usage), "{ctx}");
        assert!(run.stdout.is_empty(), "{ctx}");
    }
}

/// Runs the example `name` with each help flag of `flags`: each must exit 0
/// with the usage (`Usage: <name> ...`) on stdout and nothing on stderr.
pub fn assert_help(name: &str, flags: &[&str]) {
    for flag in flags {
        let run = run(name, &[flag], &[]);
        let ctx = run.context();
        assert_eq!(run.code, 0, "{ctx}");
        assert!(run.stdout.starts_with(&format!("Usage: {name} ")), "{ctx}");
        assert!(run.stderr.is_empty(), "{ctx}");
    }
}

/// The `unshare` flag for a new network namespace: `-n` as root, else `-rn`
/// (a user namespace mapping the caller to root, which owns the new network
/// namespace).
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "not every example test runs in namespaces")]
pub fn netns_flag() -> &'static str {
    if super::is_root() { "-n" } else { "-rn" }
}

/// Runs the example `name` with `args` and the extra environment `env`
/// inside the new namespaces `unshare <unshare>` creates ([`netns_flag`], or
/// `-rn` for a user + net namespace even as root). The `setup` commands run
/// first in `sh -c`, after `lo` is brought up; nothing here touches the
/// host's namespace. Panics with the reason when the namespace cannot be
/// created.
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "not every example test runs in namespaces")]
pub fn run_in_netns(
    name: &str,
    unshare: &str,
    setup: &[&str],
    env: &[(&str, &str)],
    args: &[&str],
) -> Run {
    let mut script = String::from("set -e; ip link set lo up; ");
    for command in setup {
        script += command;
        script += "; ";
    }
    // "$0" is the example and "$@" its arguments: no quoting issues.
    script += "exec \"$0\" \"$@\"";
    let mut cmd = Command::new("unshare");
    cmd.args([unshare, "sh", "-c", &script])
        .arg(exe(name))
        .args(args)
        .envs(env.iter().copied());
    let run = run_command(cmd, name, args);
    if run.stderr.starts_with("unshare:") || run.stderr.contains("ip: not found") {
        panic!(
            "cannot run in a private network namespace (unshare {unshare}): this test needs \
             root, or unprivileged user namespaces (blocked e.g. on Ubuntu 24.04 by \
             AppArmor: run it with sudo), and iproute2\n{}",
            run.context()
        );
    }
    run
}

/// Fails with an explanation when the example could not send at all (its
/// first request failed with error 5, no permission to send ICMP).
#[allow(dead_code, reason = "not every example test sends")]
pub fn assert_could_send(run: &Run, ctx: &str) {
    assert!(
        !run.stdout.contains("transmit failed. Error code 5."),
        "no permission to send ICMP (error 5): run as root, or (Linux, natively \
         or under Wine) with a gid in net.ipv4.ping_group_range\n{ctx}"
    );
}

/// Checks that the example's stderr explains how to get permission to send
/// (`examples/common`'s `print_permission_help`, which `ping` and
/// `ping_many` print after ERROR_ACCESS_DENIED on Linux): the error, the
/// current `ping_group_range`, the sysctl, `CAP_NET_RAW`, and the socket
/// kind forced by `ICMP_SYS_SOCKET=dgram`.
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "tracert prints no permission help")]
pub fn assert_explains_the_permission_fix(run: &Run, ctx: &str) {
    let name = &run.name;
    for needle in [
        &format!(
            "{name}: no permission to send ICMP echo requests (ERROR_ACCESS_DENIED, error 5)."
        ),
        "in net.ipv4.ping_group_range (here \"",
        "sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"",
        "CAP_NET_RAW",
        "ICMP_SYS_SOCKET=dgram",
    ] {
        assert!(run.stderr.contains(needle), "missing {needle:?}\n{ctx}");
    }
}
