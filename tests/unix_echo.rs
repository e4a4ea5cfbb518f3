//! What only the Unix backend has: the tests of behaviour Windows does not
//! define. The shared behaviour (echoes, buffer rules, argument errors,
//! async refusal, IPv6 echo, concurrency, timeouts and ICMP errors in
//! namespaces) is in the one behaviour suite, `tests/echo.rs`, which runs
//! natively too (`.ci/netns native`: raw and ping sockets, and as non-root).
//!
//! Here: socket-mode selection (`create_handle` with raw vs ping sockets),
//! permission errors, IP options, the IPv4/IPv6 handle mix-ups, handle
//! values that are never dereferenced, unaligned buffers, synthetic
//! `IcmpParseReplies` buffers, local-only error paths and the no-heap
//! counting allocator (a global allocator: its own test binary).
//!
//! Raw-socket tests need root (or `CAP_NET_RAW`). The ping-socket tests on
//! Linux run in a **private, empty network namespace entered by one test
//! thread** (`unshare(CLONE_NEWNET)`, root) with a per-test sysctl
//! (`ping_group_range` widened or left at the new namespace's "1 0"):
//! tests of one binary need different, contradicting settings and no
//! topology, so this stays in-process; topologies (`silent`, `router`,
//! `nonroot`) are `.ci/netns` setups used by `tests/echo.rs`. Where a test
//! cannot run it prints `SKIPPED:` with the reason
//! (`common::skip`; a failure in CI's strict mode, `ICMP_SYS_STRICT=1`). Packets go only to
//! loopback.
#![cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]

mod common;

use common::{FILL, Guarded, is_root, payload, send_echo, send6};
#[cfg(target_os = "linux")]
use common::{PING_OK, in_netns};
use core::mem::size_of;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::ptr;
use icmp_sys::helper::{self, Replies, Reply6, last_error};
use icmp_sys::unix::{SocketMode, create_handle};
use icmp_sys::*;
use std::cell::Cell;
#[cfg(target_os = "linux")]
use std::time::{Duration, Instant};

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;
const TIMEOUT_MS: u32 = 2000;
const S4: usize = size_of::<ICMP_ECHO_REPLY>();
const S6: usize = size_of::<ICMPV6_ECHO_REPLY>();

// ---------------------------------------------------------------------------
// A counting allocator (per thread) for the no-heap check.
// ---------------------------------------------------------------------------

struct Counting;
thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}
// SAFETY: forwards to the system allocator; only counts.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded.
        unsafe { std::alloc::System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        // SAFETY: forwarded.
        unsafe { std::alloc::System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, n: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded.
        unsafe { std::alloc::System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

struct Handle(HANDLE);
// SAFETY: handles are thread-safe (static descriptors).
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}
impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle of ours.
        assert_eq!(unsafe { IcmpCloseHandle(self.0) }, 1);
    }
}

fn open4(mode: Option<SocketMode>) -> Handle {
    let h = match mode {
        // SAFETY: no preconditions.
        None => unsafe { IcmpCreateFile() },
        Some(m) => create_handle(false, m),
    };
    assert!(h != INVALID_HANDLE_VALUE && !h.is_null());
    Handle(h)
}

/// `IcmpSendEcho` into a guarded buffer: (return, last error, buffer).
fn send4(
    h: &Handle,
    dst: Ipv4Addr,
    data: &[u8],
    opts: Option<&IP_OPTION_INFORMATION>,
    size: usize,
    timeout: u32,
) -> (u32, u32, Guarded) {
    let mut buf = Guarded::new(size);
    let (n, err) = send_echo(h.0, helper::ipaddr(dst), data, opts, &mut buf, timeout);
    buf.assert_guard_intact();
    (n, err, buf)
}

/// Checks a successful IPv4 echo reply in `buf`.
#[track_caller]
fn assert_reply4(n: u32, err: u32, buf: &Guarded, from: Ipv4Addr, data: &[u8]) {
    assert_eq!((n, err), (1, 0), "status {:?}", helper::status_name(err));
    let r = Replies::new(buf.reply_bytes(), n)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(r.status(), IP_SUCCESS);
    assert_eq!(r.address(), from);
    assert_eq!(r.data, data);
    assert_eq!(r.raw.DataSize as usize, data.len());
    assert_eq!(
        r.raw.Data as usize,
        buf.reply_bytes().as_ptr() as usize + S4,
        "data right after the struct"
    );
    assert_eq!(r.raw.Reserved, 0);
    assert!(r.ttl() > 0);
    assert!(r.round_trip_time() < TIMEOUT_MS);
}

// ---------------------------------------------------------------------------
// Echoes
// ---------------------------------------------------------------------------

#[test]
fn echo_v4_raw() {
    if !is_root() {
        common::skip("echo_v4_raw", "raw sockets need root");
        return;
    }
    let h = open4(Some(SocketMode::Raw));
    // 3960 / 3961: the last size with the 4 KiB receive buffer, the first
    // with the 64 KiB one.
    for len in [0usize, 8, 56, 1472, 3960, 3961, 65000] {
        let data = payload(len, len as u32);
        let (n, err, buf) = send4(&h, LO, &data, None, S4 + len, TIMEOUT_MS);
        assert_reply4(n, err, &buf, LO, &data);
    }
    // Another loopback address answers from itself.
    let other = Ipv4Addr::new(127, 0, 0, 2);
    let (n, err, buf) = send4(&h, other, b"x", None, S4 + 1, TIMEOUT_MS);
    assert_reply4(n, err, &buf, other, b"x");
}

#[cfg(target_os = "linux")]
#[test]
fn echo_v4_ping_socket_in_netns() {
    in_netns("echo_v4_ping_socket_in_netns", PING_OK, || {
        let h = open4(Some(SocketMode::Datagram));
        for len in [0usize, 32, 1472, 3960, 3961, 65000] {
            let data = payload(len, 3);
            let (n, err, buf) = send4(&h, LO, &data, None, S4 + len, TIMEOUT_MS);
            assert_reply4(n, err, &buf, LO, &data);
        }
        // Reply TOS is echoed, through the IP_RECVTOS cmsg.
        let opts = IP_OPTION_INFORMATION {
            Ttl: 7,
            Tos: 0x28,
            ..Default::default()
        };
        let (n, err, buf) = send4(&h, LO, b"tos", Some(&opts), S4 + 3, TIMEOUT_MS);
        assert_reply4(n, err, &buf, LO, b"tos");
        let r = Replies::new(buf.reply_bytes(), 1)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(r.raw.Options.Tos, 0x28);
        assert_eq!(r.ttl(), 64, "the reply's own TTL (cmsg IP_TTL)");
    });
}

#[cfg(target_os = "linux")]
#[test]
fn no_permission_is_access_denied() {
    // New namespaces start with ping_group_range "1 0": nobody may.
    in_netns("no_permission_is_access_denied", "true", || {
        let h = open4(Some(SocketMode::Datagram));
        let t = Instant::now();
        let (n, err, buf) = send4(&h, LO, b"abc", None, S4 + 3, TIMEOUT_MS);
        assert_eq!((n, err), (0, ERROR_ACCESS_DENIED));
        assert!(t.elapsed() < Duration::from_millis(500), "no hang");
        buf.assert_untouched();
    });
}

/// IPv6 through the raw and ping-socket modes explicitly, then the
/// IPv4/IPv6 handle mix-ups and bad IPv6 destinations.
#[test]
fn ipv6_modes_and_arguments() {
    // SAFETY: no preconditions.
    let h = unsafe { Icmp6CreateFile() };
    if h == INVALID_HANDLE_VALUE {
        common::skip(
            "ipv6_modes_and_arguments",
            &format!("no IPv6 (error {})", last_error()),
        );
        return;
    }
    let h = Handle(h);
    let dst = helper::sockaddr_in6(Ipv6Addr::LOCALHOST, 0);
    let src = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
    let raw = Handle(create_handle(true, SocketMode::Raw));
    let modes: &[&Handle] = if is_root() { &[&h, &raw] } else { &[&h] };
    for (len, h) in [0usize, 1000].into_iter().zip(modes.iter().cycle()) {
        let data = payload(len, 9);
        let mut buf = Guarded::new(S6 + len);
        let (n, err) = send6(h.0, &src, &dst, Some(&data), &mut buf, TIMEOUT_MS);
        buf.assert_guard_intact();
        if err == ERROR_ACCESS_DENIED || err == ERROR_NOT_SUPPORTED {
            common::skip("ipv6_modes_and_arguments", &format!("error {err}"));
            return;
        }
        assert_eq!((n, err), (1, 0), "{:?}", helper::status_name(err));
        let r = Reply6::new(buf.reply_bytes(), len as u16).unwrap();
        assert_eq!(r.status(), IP_SUCCESS);
        assert_eq!(r.address(), Ipv6Addr::LOCALHOST);
        assert_eq!(r.data, &data[..]);
        // SAFETY: a valid buffer.
        assert_eq!(
            unsafe { Icmp6ParseReplies(buf.ptr(), (S6 + len) as u32) },
            1
        );
    }
    // IPv4 function with an IPv6 handle, and the reverse: 87.
    let (n, err, _) = send4(&h, LO, b"", None, S4, 100);
    assert_eq!((n, err), (0, ERROR_INVALID_PARAMETER));
    let h4 = open4(None);
    let mut buf = Guarded::new(64);
    let (n, err) = send6(h4.0, &src, &dst, None, &mut buf, 100);
    assert_eq!((n, err), (0, ERROR_INVALID_PARAMETER));
    // Destination :: → 1214; wrong family (host AF_INET6) → 87.
    let zero = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
    let (n, err) = send6(h.0, &src, &zero, None, &mut buf, 100);
    assert_eq!((n, err), (0, ERROR_INVALID_NETNAME));
    let mut bad = dst;
    bad.sin6_family = libc::AF_INET6 as u16;
    let (n, err) = send6(h.0, &src, &bad, None, &mut buf, 100);
    assert_eq!((n, err), (0, ERROR_INVALID_PARAMETER));
    buf.assert_untouched();
}

// ---------------------------------------------------------------------------
// Argument and buffer rules
// ---------------------------------------------------------------------------

/// An unaligned reply buffer works: `Data` is an absolute pointer (Windows
/// documents no alignment requirement; the helper aligns, callers may not).
#[test]
fn unaligned_reply_buffer() {
    let h = open4(None);
    let data = payload(32, 1);
    // An unaligned buffer works (the Data pointer is absolute).
    let mut g = Guarded::new(S4 + 40);
    // SAFETY: 1 + S4 + 32 bytes are inside the allocation.
    let p = unsafe { g.ptr().cast::<u8>().add(1) };
    // SAFETY: valid arguments.
    let n = unsafe {
        IcmpSendEcho(
            h.0,
            helper::ipaddr(LO),
            data.as_ptr().cast(),
            32,
            ptr::null(),
            p.cast(),
            (S4 + 32) as u32,
            TIMEOUT_MS,
        )
    };
    let err = last_error();
    if err == ERROR_ACCESS_DENIED {
        common::skip("unaligned_reply_buffer", "no ICMP permission");
        return;
    }
    assert_eq!((n, err), (1, 0));
    let bytes = &g.all()[1..1 + S4 + 32];
    let r = Replies::new(bytes, 1).unwrap().next().unwrap().unwrap();
    assert_eq!(r.data, &data[..]);
    assert!(g.all()[1 + S4 + 32..].iter().all(|&b| b == FILL));
}

/// Handle values that are not ours are recognised without being
/// dereferenced (NULL and INVALID_HANDLE_VALUE are in `tests/echo.rs`).
#[test]
fn foreign_handle_values() {
    let h = open4(None);
    for bad in [0x1234 as HANDLE, (h.0 as usize + 1) as HANDLE] {
        let fake = std::mem::ManuallyDrop::new(Handle(bad));
        let (n, err, buf) = send4(&fake, LO, b"abc", None, 100, TIMEOUT_MS);
        assert_eq!((n, err), (0, ERROR_INVALID_PARAMETER));
        buf.assert_untouched();
        // SAFETY: any value is accepted by the Unix backend.
        assert_eq!(unsafe { IcmpCloseHandle(bad) }, 0);
        assert_eq!(last_error(), ERROR_INVALID_HANDLE);
    }
}

#[test]
/// `IcmpParseReplies` on synthetic buffers (a stored count, a status): the
/// Unix backend can never complete an async request, so the count is
/// planted by hand.
fn parse_replies_is_destructive() {
    let h = open4(None);
    let (n, err, mut buf) = send4(&h, LO, b"parse", None, S4 + 5, TIMEOUT_MS);
    if err == ERROR_ACCESS_DENIED {
        common::skip("parse_replies_is_destructive", "no ICMP permission");
        return;
    }
    assert_eq!((n, err), (1, 0));
    let size = (S4 + 5) as u32;
    // After a synchronous send Reserved is 0: 0, last error = Status (0).
    // SAFETY: a valid buffer.
    assert_eq!(unsafe { IcmpParseReplies(buf.ptr(), size) }, 0);
    assert_eq!(last_error(), IP_SUCCESS);
    // A stored count is returned once, then cleared.
    buf.all_mut()[14..16].copy_from_slice(&1u16.to_ne_bytes());
    // SAFETY: a valid buffer.
    assert_eq!(unsafe { IcmpParseReplies(buf.ptr(), size) }, 1);
    // SAFETY: a valid buffer.
    assert_eq!(unsafe { IcmpParseReplies(buf.ptr(), size) }, 0);
    // Status copied to the last error when the count is 0.
    buf.all_mut()[4..8].copy_from_slice(&IP_REQ_TIMED_OUT.to_ne_bytes());
    // SAFETY: a valid buffer.
    assert_eq!(unsafe { IcmpParseReplies(buf.ptr(), size) }, 0);
    assert_eq!(last_error(), IP_REQ_TIMED_OUT);
    // NULL / short: 0, no crash.
    // SAFETY: NULL is the case under test.
    assert_eq!(unsafe { IcmpParseReplies(ptr::null_mut(), 100) }, 0);
    // SAFETY: NULL is the case under test.
    assert_eq!(unsafe { Icmp6ParseReplies(ptr::null_mut(), 0) }, 0);
    // Icmp6ParseReplies: 0 + Status unless success.
    let mut b6 = Guarded::new(S6);
    b6.all_mut()[28..32].copy_from_slice(&IP_DEST_NO_ROUTE.to_ne_bytes());
    // SAFETY: a valid buffer.
    assert_eq!(unsafe { Icmp6ParseReplies(b6.ptr(), S6 as u32) }, 0);
    assert_eq!(last_error(), IP_DEST_NO_ROUTE);
}

// ---------------------------------------------------------------------------
// Options, no heap
// ---------------------------------------------------------------------------

fn options_roundtrip(mode: SocketMode) {
    let h = open4(Some(mode));
    // Record route (RFC 791): type 7, length 11, pointer 4, two slots, EOL.
    let mut rr = [7u8, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let opts = IP_OPTION_INFORMATION {
        Ttl: 0,
        Tos: 0,
        Flags: 0,
        OptionsSize: 12,
        OptionsData: rr.as_mut_ptr(),
    };
    let data = payload(20, 5);
    let size = S4 + 20 + 8 + 40;
    let (n, err, buf) = send4(&h, LO, &data, Some(&opts), size, TIMEOUT_MS);
    assert_eq!((n, err), (1, 0), "{:?}", helper::status_name(err));
    let r = Replies::new(buf.reply_bytes(), 1)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(r.data, &data[..]);
    assert!(!r.options.is_empty(), "the reply's options are reported");
    assert_eq!(r.options[0], 7, "record route echoed: {:?}", r.options);
    assert!(
        r.options.windows(4).any(|w| w == [127, 0, 0, 1]),
        "a hop recorded: {:?}",
        r.options
    );
    // Too many option bytes: IP_OPTION_TOO_BIG.
    let mut big = [1u8; 44];
    let opts = IP_OPTION_INFORMATION {
        OptionsSize: 44,
        OptionsData: big.as_mut_ptr(),
        ..Default::default()
    };
    let (n, err, _) = send4(&h, LO, &data, Some(&opts), size, TIMEOUT_MS);
    assert_eq!((n, err), (0, IP_OPTION_TOO_BIG));
}

#[test]
fn ip_options_raw() {
    if !is_root() {
        common::skip("ip_options_raw", "raw sockets need root");
        return;
    }
    options_roundtrip(SocketMode::Raw);
}

#[cfg(target_os = "linux")]
#[test]
fn ip_options_ping_socket_in_netns() {
    in_netns("ip_options_ping_socket_in_netns", PING_OK, || {
        options_roundtrip(SocketMode::Datagram)
    });
}

/// An echo of up to 3960 bytes needs only a few KiB of stack (the 4 KiB
/// receive buffer): it runs on a thread with a 32 KiB stack, where the
/// 64 KiB buffer of larger requests would overflow (the process would die).
#[test]
fn small_request_on_a_small_stack() {
    let run = |mode| {
        std::thread::Builder::new()
            .stack_size(32 * 1024)
            .spawn(move || {
                let h = open4(mode);
                let data = payload(3960, 2);
                let (n, err, buf) = send4(&h, LO, &data, None, S4 + data.len(), TIMEOUT_MS);
                (n, err, buf, data)
            })
            .expect("spawn")
            .join()
            .expect("the echo thread panicked")
    };
    let mode = if is_root() {
        Some(SocketMode::Raw)
    } else {
        None
    };
    let (n, err, buf, data) = run(mode);
    if n == 0 && err == ERROR_ACCESS_DENIED {
        common::skip("small_request_on_a_small_stack", "no ICMP permission");
        return;
    }
    assert_reply4(n, err, &buf, LO, &data);
}

fn no_heap(mode: Option<SocketMode>) {
    let h = open4(mode);
    let data = [7u8; 56];
    let mut buf = [0u64; 64];
    let mut echo = || {
        // SAFETY: valid arguments.
        let n = unsafe {
            IcmpSendEcho(
                h.0,
                helper::ipaddr(LO),
                data.as_ptr().cast(),
                56,
                ptr::null(),
                buf.as_mut_ptr().cast(),
                512,
                TIMEOUT_MS,
            )
        };
        assert_eq!((n, last_error()), (1, 0));
    };
    echo();
    let before = ALLOCS.with(Cell::get);
    for _ in 0..100 {
        echo();
    }
    assert_eq!(
        ALLOCS.with(Cell::get) - before,
        0,
        "heap allocations in 100 echoes"
    );
}

#[test]
fn no_heap_per_echo_raw() {
    if !is_root() {
        common::skip("no_heap_per_echo_raw", "raw sockets need root");
        return;
    }
    no_heap(Some(SocketMode::Raw));
}

#[cfg(target_os = "linux")]
#[test]
fn no_heap_per_echo_ping_socket_in_netns() {
    in_netns("no_heap_per_echo_ping_socket_in_netns", PING_OK, || {
        no_heap(Some(SocketMode::Datagram))
    });
}

// ---------------------------------------------------------------------------
// Error statuses provoked in a private namespace (Linux)
// ---------------------------------------------------------------------------

#[cfg(target_os = "linux")]
fn check_errors(mode: SocketMode) {
    // The silent-host timeout and the client-route errors are in
    // tests/echo.rs (netns_silent_timeout, netns_router_errors).
    let h = open4(Some(mode));
    // Timeout 0: returns at once.
    let t = Instant::now();
    let (n, err, _) = send4(&h, LO, b"quiet", None, S4 + 5, 0);
    assert_eq!((n, err), (0, IP_REQ_TIMED_OUT));
    assert!(t.elapsed() < Duration::from_millis(100));
    // DF over a 1500-byte MTU: 11009; without DF the echo is fragmented.
    let data = payload(2000, 1);
    let df = IP_OPTION_INFORMATION {
        Flags: IP_FLAG_DF,
        ..Default::default()
    };
    let (n, err, _) = send4(
        &h,
        Ipv4Addr::new(127, 0, 0, 1),
        &data,
        Some(&df),
        S4 + 2000,
        TIMEOUT_MS,
    );
    assert_eq!((n, err), (0, IP_PACKET_TOO_BIG));
}

#[cfg(target_os = "linux")]
const ERR_SETUP: &str = "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range; \
    echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all; ip link set lo mtu 1500";

#[cfg(target_os = "linux")]
#[test]
fn error_statuses_ping_socket_in_netns() {
    in_netns("error_statuses_ping_socket_in_netns", ERR_SETUP, || {
        check_errors(SocketMode::Datagram)
    });
}

#[cfg(target_os = "linux")]
#[test]
fn error_statuses_raw_in_netns() {
    in_netns("error_statuses_raw_in_netns", ERR_SETUP, || {
        check_errors(SocketMode::Raw)
    });
}
