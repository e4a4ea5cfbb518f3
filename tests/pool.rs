//! Sockets across synchronous requests on the Unix backend (issue 11, item
//! 1: per-thread cached sockets, src/unix/cache.rs). What must hold: 8
//! threads × 1000 concurrent echoes on one handle never see each other's
//! replies; a request uses a socket of its thread's network namespace (a new
//! thread has no cached socket); sequential echoes reuse one socket; the
//! options follow each request on the reused socket (none left over); a
//! thread's sockets are closed when it exits, after 2 s unused (at its next
//! request), and by `forget_thread_sockets` (the way out of the namespace
//! pitfall, shown here); a `fork` child closes the cached sockets it
//! inherits, and it and its parent echo at the same time without taking
//! each other's replies. Linux (the socket counts come from /proc/self/fd);
//! the tests of this file run one at a time (they count the process's
//! sockets) and forget their thread's sockets when they end.
#![cfg(target_os = "linux")]

mod common;

use common::{Guarded, LOOPBACK, assert_echo_reply, payload, send_echo};
use icmp_sys::helper;
use icmp_sys::unix::{SocketMode, create_handle};
use icmp_sys::*;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Mutex;

const TIMEOUT_MS: u32 = 2000;

/// One test at a time: they count the sockets of the process.
static SERIAL: Mutex<()> = Mutex::new(());

/// The SERIAL lock, held until the test ends; the test thread's cached
/// sockets are closed before it is released (the harness thread exits,
/// closing them, only later: the next test would count them).
struct Serial(#[allow(dead_code)] std::sync::MutexGuard<'static, ()>);

impl Drop for Serial {
    fn drop(&mut self) {
        icmp_sys::unix::forget_thread_sockets();
    }
}

fn serial() -> Serial {
    Serial(SERIAL.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The inodes of the process's open sockets.
fn sockets() -> BTreeSet<u64> {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            l.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// The socket mode these tests can use here: raw as root, else ping
/// sockets (skipped when neither works).
fn mode() -> Option<SocketMode> {
    let m = if common::is_root() {
        SocketMode::Raw
    } else {
        SocketMode::Datagram
    };
    let h = create_handle(false, m);
    let mut buf = Guarded::new(helper::reply_buffer_size(8));
    let (n, err) = send_echo(h, LOOPBACK, &[1; 8], None, &mut buf, TIMEOUT_MS);
    if n != 1 {
        common::skip(
            "pool",
            &format!("no echo to 127.0.0.1 with {m:?} sockets here (error {err})"),
        );
        return None;
    }
    Some(m)
}

/// One echo to `dst` with `data` on `h`, checked.
#[track_caller]
fn echo(h: HANDLE, dst: Ipv4Addr, data: &[u8]) {
    let mut buf = Guarded::new(helper::reply_buffer_size(data.len() as u16));
    let (n, err) = send_echo(h, helper::ipaddr(dst), data, None, &mut buf, TIMEOUT_MS);
    assert_eq!(
        n,
        1,
        "echo to {dst}: error {err} ({:?})",
        helper::status_name(err)
    );
    assert_echo_reply(&buf, n, dst, data, TIMEOUT_MS);
}

#[test]
fn sequential_echoes_reuse_one_socket() {
    let _s = serial();
    let Some(m) = mode() else { return };
    let h = create_handle(false, m);
    echo(h, Ipv4Addr::LOCALHOST, &payload(32, 1));
    let after_one = sockets();
    for i in 0..200 {
        echo(h, Ipv4Addr::LOCALHOST, &payload(32, i));
    }
    let after_many = sockets();
    assert_eq!(
        after_one, after_many,
        "200 more sequential echoes opened or closed sockets"
    );
    assert!(
        !after_one.is_empty(),
        "no socket stays open after an echo: none is reused"
    );
}

#[test]
fn eight_threads_thousand_echoes_each_on_one_handle() {
    let _s = serial();
    let Some(m) = mode() else { return };
    let h = create_handle(false, m) as usize;
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            std::thread::spawn(move || {
                let dst = Ipv4Addr::new(127, 0, 0, 1 + t);
                for i in 0..1000u32 {
                    // Data unique per thread and echo: a reply to another
                    // request would differ in address or data.
                    let mut data = payload(24, i);
                    data[..4].copy_from_slice(&i.to_be_bytes());
                    data[4] = t;
                    echo(h as HANDLE, dst, &data);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("echo thread");
    }
}

#[test]
fn pooled_sockets_stay_in_their_network_namespace() {
    let _s = serial();
    let Some(m) = mode() else { return };
    if !common::is_root() {
        common::skip(
            "pooled_sockets_stay_in_their_network_namespace",
            "needs root for unshare(CLONE_NEWNET)",
        );
        return;
    }
    let h = create_handle(false, m) as usize;
    echo(h as HANDLE, Ipv4Addr::LOCALHOST, &payload(16, 7));
    // A thread in a new namespace whose loopback is down: no echo to
    // 127.0.0.1 can succeed there; a socket of the host namespace would.
    let r = std::thread::spawn(move || {
        // SAFETY: affects only this thread.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return None;
        }
        let mut buf = Guarded::new(helper::reply_buffer_size(16));
        Some(send_echo(
            h as HANDLE,
            LOOPBACK,
            &payload(16, 8),
            None,
            &mut buf,
            300,
        ))
    })
    .join()
    .expect("namespace thread");
    let Some((n, err)) = r else {
        common::skip(
            "pooled_sockets_stay_in_their_network_namespace",
            "unshare(CLONE_NEWNET) refused",
        );
        return;
    };
    assert_eq!(
        n, 0,
        "an echo from a namespace whose loopback is down succeeded: a socket of another namespace was used"
    );
    assert_ne!(err, 0);
    // And the host namespace still echoes.
    echo(h as HANDLE, Ipv4Addr::LOCALHOST, &payload(16, 9));
}

#[test]
fn idle_sockets_are_closed() {
    let _s = serial();
    let Some(m) = mode() else { return };
    let h = create_handle(false, m) as usize;
    let before = sockets();
    // Four threads at once: the pool grows past one socket.
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..300 {
                    echo(
                        h as HANDLE,
                        Ipv4Addr::new(127, 0, 0, 10 + t),
                        &payload(16, i),
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("echo thread");
    }
    let grown = sockets().difference(&before).count();
    // Idle for longer than the pool keeps a spare socket, then one echo.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    echo(h as HANDLE, Ipv4Addr::LOCALHOST, &payload(16, 1));
    let after = sockets();
    let now = after.difference(&before).count();
    assert!(
        now <= 1,
        "{now} new sockets still open after the pool sat idle ({grown} after four threads echoed)"
    );
}

#[test]
fn fork_child_and_parent_echo_at_once() {
    let _s = serial();
    let Some(m) = mode() else { return };
    let h = create_handle(false, m);
    // The parent's pool has a socket before the fork.
    echo(h, Ipv4Addr::LOCALHOST, &payload(32, 1));
    // Everything the child needs is allocated before the fork.
    let mut data: Vec<Vec<u8>> = (0..500u32).map(|i| payload(32, i)).collect();
    let mut buf = Guarded::new(helper::reply_buffer_size(32));
    let mut run = |who: u8| -> u32 {
        let mut failed = 0;
        for d in &mut data {
            d[0] = who;
            let (n, _) = send_echo(h, LOOPBACK, d, None, &mut buf, TIMEOUT_MS);
            let ok = n == 1
                && helper::Replies::new(buf.reply_bytes(), 1)
                    .ok()
                    .and_then(|mut r| r.next())
                    .and_then(|r| r.ok())
                    .is_some_and(|r| r.status() == IP_SUCCESS && r.data == &d[..]);
            failed += u32::from(!ok);
        }
        failed
    };
    // SAFETY: the child only echoes, with no allocation (the harness's
    // other threads wait for SERIAL or are idle), and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let failed = run(1);
        // SAFETY: leaves the child at once.
        unsafe { libc::_exit(i32::from(failed > 0)) };
    }
    let failed = run(2);
    let mut status = 0;
    // SAFETY: our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(failed, 0, "parent: echoes failed while the child echoed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child: echoes failed while the parent echoed (status {status:#x})"
    );
}

/// The record-route option (RFC 791: type 7, length 11, pointer 4, two
/// slots, EOL).
fn record_route() -> [u8; 12] {
    [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]
}

/// One echo to 127.0.0.1 with `opts`: the reply's IP options.
#[track_caller]
fn echo_options(h: HANDLE, opts: Option<&IP_OPTION_INFORMATION>, i: u32) -> Vec<u8> {
    let data = payload(20, i);
    let mut buf = Guarded::new(helper::reply_buffer_size(20) + 48);
    let (n, err) = send_echo(h, LOOPBACK, &data, opts, &mut buf, TIMEOUT_MS);
    assert_eq!(n, 1, "error {err} ({:?})", helper::status_name(err));
    let r = helper::Replies::new(buf.reply_bytes(), 1)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!((r.status(), r.data), (IP_SUCCESS, &data[..]));
    r.options.to_vec()
}

#[test]
fn options_follow_each_request_on_a_reused_socket() {
    let _s = serial();
    let Some(m) = mode() else { return };
    let h = create_handle(false, m);
    let mut rr = record_route();
    let with = IP_OPTION_INFORMATION {
        OptionsSize: rr.len() as u8,
        OptionsData: rr.as_mut_ptr(),
        ..Default::default()
    };
    echo(h, Ipv4Addr::LOCALHOST, &payload(20, 0));
    let one = sockets();
    for i in 0..3 {
        let o = echo_options(h, Some(&with), i);
        assert_eq!(o.first(), Some(&7), "round {i}: record route echoed: {o:?}");
        // Unchanged options twice in a row, then none: none on the wire.
        let o = echo_options(h, Some(&with), i);
        assert_eq!(o.first(), Some(&7), "round {i}: record route again: {o:?}");
        let o = echo_options(h, None, i);
        assert!(o.is_empty(), "round {i}: options left on the socket: {o:?}");
    }
    assert_eq!(one, sockets(), "the echoes did not all use one socket");
}

#[test]
fn thread_exit_closes_its_sockets() {
    let _s = serial();
    let Some(m) = mode() else { return };
    let h = create_handle(false, m) as usize;
    let before = sockets();
    let during = std::thread::spawn(move || {
        echo(h as HANDLE, Ipv4Addr::LOCALHOST, &payload(16, 1));
        sockets()
    })
    .join()
    .expect("echo thread");
    assert_eq!(
        during.difference(&before).count(),
        1,
        "the thread's echo did not keep one socket open"
    );
    let after = sockets();
    assert!(
        after.difference(&before).next().is_none(),
        "the thread's socket is still open after it exited"
    );
}

/// From no cached socket on this thread, one echo on `h`: the sockets open
/// before it, and the one it left open (checked: exactly one).
#[track_caller]
fn one_cached_socket(h: HANDLE, data: &[u8]) -> (BTreeSet<u64>, u64) {
    icmp_sys::unix::forget_thread_sockets();
    let before = sockets();
    echo(h, Ipv4Addr::LOCALHOST, data);
    let new: Vec<u64> = sockets().difference(&before).copied().collect();
    assert_eq!(new.len(), 1, "one socket cached after an echo: {new:?}");
    (before, new[0])
}

#[test]
fn idle_socket_is_closed_at_the_next_request() {
    let _s = serial();
    let Some(m) = mode() else { return };
    let h = create_handle(false, m);
    let (before, first) = one_cached_socket(h, &payload(16, 1));
    std::thread::sleep(std::time::Duration::from_millis(2300));
    echo(h, Ipv4Addr::LOCALHOST, &payload(16, 2));
    let second: BTreeSet<u64> = sockets().difference(&before).copied().collect();
    assert_eq!(second.len(), 1, "one socket cached after the next echo");
    assert!(
        !second.contains(&first),
        "the socket unused for 2.3 s was reused, not closed"
    );
}

#[test]
fn forget_thread_sockets_closes_them() {
    let _s = serial();
    let Some(m) = mode() else { return };
    let h = create_handle(false, m);
    let (before, _) = one_cached_socket(h, &payload(16, 1));
    icmp_sys::unix::forget_thread_sockets();
    assert!(
        sockets().difference(&before).next().is_none(),
        "forget_thread_sockets left a socket open"
    );
    echo(h, Ipv4Addr::LOCALHOST, &payload(16, 2));
}

/// The documented pitfall and its way out: a thread that changes network
/// namespace keeps its cached sockets of the old one until it calls
/// `forget_thread_sockets`.
#[test]
fn namespace_change_keeps_cached_sockets_until_forgotten() {
    let _s = serial();
    let Some(m) = mode() else { return };
    if !common::is_root() {
        common::skip(
            "namespace_change_keeps_cached_sockets_until_forgotten",
            "needs root for unshare(CLONE_NEWNET)",
        );
        return;
    }
    let h = create_handle(false, m) as usize;
    let r = std::thread::spawn(move || {
        let h = h as HANDLE;
        echo(h, Ipv4Addr::LOCALHOST, &payload(16, 1));
        // SAFETY: affects only this thread.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return None;
        }
        let mut buf = Guarded::new(helper::reply_buffer_size(16));
        // The cached socket of the host namespace still echoes.
        let old = send_echo(h, LOOPBACK, &payload(16, 2), None, &mut buf, 300);
        icmp_sys::unix::forget_thread_sockets();
        // The new namespace's loopback is down: no echo.
        let new = send_echo(h, LOOPBACK, &payload(16, 3), None, &mut buf, 300);
        Some((old, new))
    })
    .join()
    .expect("namespace thread");
    let Some((old, new)) = r else {
        common::skip(
            "namespace_change_keeps_cached_sockets_until_forgotten",
            "unshare(CLONE_NEWNET) refused",
        );
        return;
    };
    assert_eq!(
        old.0, 1,
        "after unshare, the cached socket (host namespace) did not echo: error {}",
        old.1
    );
    assert_eq!(
        new.0, 0,
        "after forget_thread_sockets, an echo still went through the host namespace"
    );
}

#[test]
fn fork_child_closes_the_cached_sockets_it_inherits() {
    let _s = serial();
    let Some(m) = mode() else { return };
    let h = create_handle(false, m);
    let (_, cached) = one_cached_socket(h, &payload(32, 1));
    // Its descriptor number, found before the fork (the child allocates
    // nothing).
    let fd: libc::c_int = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let l = std::fs::read_link(e.path()).ok()?;
            (l.to_string_lossy() == format!("socket:[{cached}]"))
                .then(|| e.file_name().to_string_lossy().parse().ok())?
        })
        .next()
        .expect("the cached socket's descriptor");
    let data = payload(32, 2);
    let mut buf = Guarded::new(helper::reply_buffer_size(32));
    // SAFETY: the child only makes syscalls and echoes (no allocation) and
    // leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let still_open = |fd| {
            // SAFETY: an out-pointer to a stat.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: fstat on any number is safe.
            let rc = unsafe { libc::fstat(fd, &mut st) };
            rc == 0 && st.st_ino == cached
        };
        let inherited_open = still_open(fd);
        let (n, _) = send_echo(h, LOOPBACK, &data, None, &mut buf, TIMEOUT_MS);
        let code = if inherited_open {
            1
        } else if n != 1 || still_open(fd) {
            2
        } else {
            0
        };
        // SAFETY: leaves the child at once.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "child: status {status:#x}");
    match libc::WEXITSTATUS(status) {
        0 => {}
        1 => panic!("the fork child still had the parent's cached socket open"),
        _ => panic!("the fork child could not echo, or reused the parent's socket"),
    }
    // The parent's socket is still its own.
    echo(h, Ipv4Addr::LOCALHOST, &payload(32, 3));
    assert!(
        sockets().contains(&cached),
        "the parent's socket was closed"
    );
}
