//! What only the Unix backend has: the tests of behaviour Windows does not
//! define. The shared behaviour (echoes, buffer rules, argument errors,
//! async sends with events and APCs, IPv6 echo, concurrency, timeouts and
//! ICMP errors in namespaces) is in the one behaviour suite, `tests/echo.rs`, which runs
//! natively too (`.ci/netns native`: raw and ping sockets, and as non-root).
//!
//! Here: socket-mode selection (`create_handle` with raw vs ping sockets),
//! permission errors, IP options, the IPv4/IPv6 handle mix-ups, handle
//! values that are never dereferenced, unaligned buffers, synthetic
//! `IcmpParseReplies` buffers, local-only error paths, the no-heap
//! counting allocator (a global allocator: its own test binary), and the
//! async engine's own rules (foreign Event handles, request copies,
//! IcmpCloseHandle in flight, exited threads' APCs, fork, namespaces).
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
#![cfg(all(icmp_api, unix))]

mod common;

use common::handle::Icmp;
use common::{FILL, Guarded, is_root, payload, send_echo, send6};
#[cfg(target_os = "linux")]
use common::{PING_OK, in_netns};
use core::mem::size_of;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::ptr;
use icmp_sys::helper::{self, Replies, Reply6, last_error, sleep_alertable};
use icmp_sys::unix::{SocketMode, create_handle};
use icmp_sys::*;
use std::cell::Cell;
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

/// A handle of the mode's kind (`None`: `IcmpCreateFile`), owned and
/// closed (checked) on drop.
fn open4(mode: Option<SocketMode>) -> Icmp {
    match mode {
        None => Icmp::open(),
        // SAFETY: a fresh handle of the backend, owned by the result only.
        Some(m) => unsafe { Icmp::from_raw(create_handle(false, m)) },
    }
}

/// An `Icmp6CreateFile` handle, owned and closed (checked) on drop; `None`
/// after a `common::skip` for `test` when there is no IPv6.
fn open6(test: &str) -> Option<Icmp> {
    Icmp::open_v6()
        .map_err(|err| common::skip(test, &format!("no IPv6 (error {err})")))
        .ok()
}

/// `IcmpSendEcho` into a guarded buffer: (return, last error, buffer).
fn send4(
    h: HANDLE,
    dst: Ipv4Addr,
    data: &[u8],
    opts: Option<&IP_OPTION_INFORMATION>,
    size: usize,
    timeout: u32,
) -> (u32, u32, Guarded) {
    let mut buf = Guarded::new(size);
    let (n, err) = send_echo(h, helper::ipaddr(dst), data, opts, &mut buf, timeout);
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
        let (n, err, buf) = send4(h.as_raw(), LO, &data, None, S4 + len, TIMEOUT_MS);
        assert_reply4(n, err, &buf, LO, &data);
    }
    // Another loopback address answers from itself.
    let other = Ipv4Addr::new(127, 0, 0, 2);
    let (n, err, buf) = send4(h.as_raw(), other, b"x", None, S4 + 1, TIMEOUT_MS);
    assert_reply4(n, err, &buf, other, b"x");
}

#[cfg(target_os = "linux")]
#[test]
fn echo_v4_ping_socket_in_netns() {
    in_netns("echo_v4_ping_socket_in_netns", PING_OK, || {
        let h = open4(Some(SocketMode::Datagram));
        for len in [0usize, 32, 1472, 3960, 3961, 65000] {
            let data = payload(len, 3);
            let (n, err, buf) = send4(h.as_raw(), LO, &data, None, S4 + len, TIMEOUT_MS);
            assert_reply4(n, err, &buf, LO, &data);
        }
        // Reply TOS is echoed, through the IP_RECVTOS cmsg.
        let opts = IP_OPTION_INFORMATION {
            Ttl: 7,
            Tos: 0x28,
            ..Default::default()
        };
        let (n, err, buf) = send4(h.as_raw(), LO, b"tos", Some(&opts), S4 + 3, TIMEOUT_MS);
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
        let (n, err, buf) = send4(h.as_raw(), LO, b"abc", None, S4 + 3, TIMEOUT_MS);
        assert_eq!((n, err), (0, ERROR_ACCESS_DENIED));
        assert!(t.elapsed() < Duration::from_millis(500), "no hang");
        buf.assert_untouched();
    });
}

/// IPv6 through the raw and ping-socket modes explicitly, then the
/// IPv4/IPv6 handle mix-ups and bad IPv6 destinations.
#[test]
fn ipv6_modes_and_arguments() {
    let Some(h) = open6("ipv6_modes_and_arguments") else {
        return;
    };
    let dst = helper::sockaddr_in6(Ipv6Addr::LOCALHOST, 0);
    let src = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
    // SAFETY: a fresh handle of the backend, owned by `raw` only.
    let raw = unsafe { Icmp::from_raw(create_handle(true, SocketMode::Raw)) };
    let modes: &[&Icmp] = if is_root() { &[&h, &raw] } else { &[&h] };
    for (len, h) in [0usize, 1000].into_iter().zip(modes.iter().cycle()) {
        let data = payload(len, 9);
        let mut buf = Guarded::new(S6 + len);
        let (n, err) = send6(h.as_raw(), &src, &dst, Some(&data), &mut buf, TIMEOUT_MS);
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
    let (n, err, _) = send4(h.as_raw(), LO, b"", None, S4, 100);
    assert_eq!((n, err), (0, ERROR_INVALID_PARAMETER));
    let h4 = open4(None);
    let mut buf = Guarded::new(64);
    let (n, err) = send6(h4.as_raw(), &src, &dst, None, &mut buf, 100);
    assert_eq!((n, err), (0, ERROR_INVALID_PARAMETER));
    // Destination :: → 1214; wrong family (host AF_INET6) → 87.
    let zero = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
    let (n, err) = send6(h.as_raw(), &src, &zero, None, &mut buf, 100);
    assert_eq!((n, err), (0, ERROR_INVALID_NETNAME));
    let mut bad = dst;
    bad.sin6_family = libc::AF_INET6 as u16;
    let (n, err) = send6(h.as_raw(), &src, &bad, None, &mut buf, 100);
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
            h.as_raw(),
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
    for bad in [0x1234 as HANDLE, (h.as_raw() as usize + 1) as HANDLE] {
        let (n, err, buf) = send4(bad, LO, b"abc", None, 100, TIMEOUT_MS);
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
    let (n, err, mut buf) = send4(h.as_raw(), LO, b"parse", None, S4 + 5, TIMEOUT_MS);
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
    let (n, err, buf) = send4(h.as_raw(), LO, &data, Some(&opts), size, TIMEOUT_MS);
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
    let (n, err, _) = send4(h.as_raw(), LO, &data, Some(&opts), size, TIMEOUT_MS);
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
                let (n, err, buf) = send4(h.as_raw(), LO, &data, None, S4 + data.len(), TIMEOUT_MS);
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

/// Runs `echo` once (warm-up), then 100 times, asserting that those 100
/// allocate nothing on this thread's heap.
#[track_caller]
fn assert_no_heap_in_100(what: &str, mut echo: impl FnMut()) {
    echo();
    let before = ALLOCS.with(Cell::get);
    for _ in 0..100 {
        echo();
    }
    assert_eq!(
        ALLOCS.with(Cell::get) - before,
        0,
        "heap allocations in 100 {what}"
    );
}

fn no_heap(mode: Option<SocketMode>) {
    let h = open4(mode);
    let data = [7u8; 56];
    let mut buf = [0u64; 64];
    let echo = || {
        // SAFETY: valid arguments.
        let n = unsafe {
            IcmpSendEcho(
                h.as_raw(),
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
    assert_no_heap_in_100("echoes", echo);
}

/// The async path allocates nothing on the heap either (its storage is
/// mapped once): 100 rounds of an async echo with an event and one with an
/// APC (given together, the APC would be ignored, as on Windows), after a
/// warm-up that starts the engine.
#[test]
fn no_heap_per_async_echo() {
    unsafe extern "system" fn routine(_: *mut core::ffi::c_void, _: *mut IO_STATUS_BLOCK, _: u32) {}
    let h = open4(None);
    let ev = event();
    let data = [9u8; 56];
    let mut buf = [0u64; 64];
    let echo = || {
        for (event, apc) in [
            (ev.handle(), None),
            (
                ptr::null_mut(),
                Some(routine as unsafe extern "system" fn(_, _, _)),
            ),
        ] {
            // SAFETY: valid arguments; the buffer outlives the completion.
            let n = unsafe {
                IcmpSendEcho2(
                    h.as_raw(),
                    event,
                    apc,
                    ptr::null(),
                    helper::ipaddr(LO),
                    data.as_ptr().cast(),
                    56,
                    ptr::null(),
                    buf.as_mut_ptr().cast(),
                    512,
                    TIMEOUT_MS,
                )
            };
            assert_eq!((n, last_error()), (0, ERROR_IO_PENDING));
            if apc.is_some() {
                assert_eq!(sleep_alertable(5000), 192, "the APC");
            } else {
                assert!(ev.wait(5000));
            }
            // SAFETY: the completed buffer.
            assert_eq!(unsafe { IcmpParseReplies(buf.as_mut_ptr().cast(), 512) }, 1);
        }
    };
    assert_no_heap_in_100("async echoes", echo);
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
    let (n, err, _) = send4(h.as_raw(), LO, b"quiet", None, S4 + 5, 0);
    assert_eq!((n, err), (0, IP_REQ_TIMED_OUT));
    assert!(t.elapsed() < Duration::from_millis(100));
    // DF over a 1500-byte MTU: 11009; without DF the echo is fragmented.
    let data = payload(2000, 1);
    let df = IP_OPTION_INFORMATION {
        Flags: IP_FLAG_DF,
        ..Default::default()
    };
    let (n, err, _) = send4(
        h.as_raw(),
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

/// Issue 16 item 6, IPv6: a loopback source (`::1`) to an on-link address
/// outside the host (a private namespace, `2001:db8::1/64` on a veth).
/// Linux would send it from `::1` (for IPv4 it refuses the route with
/// `EINVAL`); the backend refuses it as for IPv4, as Windows' strong host
/// model does: 0 + `IP_DEST_NET_UNREACHABLE` at once, in `reply[0]` too,
/// with raw and ping sockets. (IPv4: tests/echo.rs
/// `netns_router_loopback_source_to_outside`.)
#[cfg(target_os = "linux")]
#[test]
fn loopback_source_to_outside_v6_in_netns() {
    const SETUP: &str = "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range; \
        ip link add c0 type veth peer name c1; ip -6 addr add 2001:db8::1/64 dev c0 nodad; \
        ip link set c0 up; ip link set c1 up";
    in_netns("loopback_source_to_outside_v6_in_netns", SETUP, || {
        for mode in [SocketMode::Raw, SocketMode::Datagram] {
            // SAFETY: a fresh handle of the backend, owned by the result only.
            let h = unsafe { Icmp::from_raw(create_handle(true, mode)) };
            let src = SOCKADDR_IN6::from(std::net::SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0));
            let to: Ipv6Addr = "2001:db8::2".parse().unwrap();
            let dst = SOCKADDR_IN6::from(std::net::SocketAddrV6::new(to, 0, 0, 0));
            let data = payload(32, 9);
            let mut buf = Guarded::new(helper::reply6_buffer_size(32));
            let (n, err) = send6(h.as_raw(), &src, &dst, Some(&data), &mut buf, 1000);
            assert_eq!(
                (n, helper::status_name(err)),
                (0, helper::status_name(IP_DEST_NET_UNREACHABLE)),
                "{mode:?}: from ::1 to {to}"
            );
            let r = Reply6::new(buf.reply_bytes(), 32).expect("reply[0]");
            assert_eq!(
                r.status(),
                IP_DEST_NET_UNREACHABLE,
                "{mode:?}: reply[0].Status"
            );
            buf.assert_guard_intact();
        }
    });
}

// ---------------------------------------------------------------------------
// Soundness: defined bytes, overlapping request data (issue 8, items 1 and 2)
// ---------------------------------------------------------------------------

/// The padding bytes of `ICMP_ECHO_REPLY` (64-bit: 28..32, inside
/// `Options`) and of `ICMPV6_ECHO_REPLY` (26..28, after the packed
/// address); empty ranges where the layout has none.
fn padding4() -> core::ops::Range<usize> {
    let o = core::mem::offset_of!(ICMP_ECHO_REPLY, Options);
    o + 4..o + core::mem::offset_of!(IP_OPTION_INFORMATION, OptionsData)
}
fn padding6() -> core::ops::Range<usize> {
    size_of::<IPV6_ADDRESS_EX>()..core::mem::offset_of!(ICMPV6_ECHO_REPLY, Status)
}

/// Every byte the backend writes is defined: the structures' padding is
/// zeroed, not copied from the stack (the buffer starts as [`FILL`], so a
/// byte left alone or copied from elsewhere shows). Echo replies and the
/// status-only `reply[0]` of a failed call (IPv4: a timeout in a silent
/// namespace; IPv6: hop limit 0, refused), IPv4 and IPv6.
#[test]
fn reply_padding_is_zeroed() {
    if cfg!(target_pointer_width = "64") {
        assert_eq!(padding4(), 28..32);
        assert_eq!(padding6(), 26..28);
    }
    let h = open4(None);
    let (n, err, buf) = send4(h.as_raw(), LO, b"pad", None, S4 + 3, TIMEOUT_MS);
    if err == ERROR_ACCESS_DENIED {
        common::skip("reply_padding_is_zeroed", "no ICMP permission");
        return;
    }
    assert_reply4(n, err, &buf, LO, b"pad");
    assert!(
        buf.all()[padding4()].iter().all(|&b| b == 0),
        "ICMP_ECHO_REPLY padding {:?}: {:02x?}",
        padding4(),
        &buf.all()[padding4()]
    );
    // A failed call's status-only reply[0]: a timeout (Linux: in a private
    // namespace where nothing answers).
    #[cfg(target_os = "linux")]
    in_netns(
        "reply_padding_is_zeroed",
        "sysctl -qw net.ipv4.icmp_echo_ignore_all=1",
        || {
            let h = open4(None);
            let (n, err, buf) = send4(h.as_raw(), LO, b"pad", None, S4 + 3, 100);
            assert_eq!((n, err), (0, IP_REQ_TIMED_OUT));
            assert_eq!(buf.first_reply().status(), IP_REQ_TIMED_OUT);
            assert!(buf.all()[padding4()].iter().all(|&b| b == 0));
        },
    );

    // IPv6: an echo, then a status-only reply (non-local source).
    let Some(h6) = open6("reply_padding_is_zeroed") else {
        return;
    };
    let dst = helper::sockaddr_in6(Ipv6Addr::LOCALHOST, 0);
    let src = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
    let mut buf = Guarded::new(S6 + 3);
    let (n, err) = send6(h6.as_raw(), &src, &dst, Some(b"pad"), &mut buf, TIMEOUT_MS);
    assert_eq!((n, err), (1, 0), "{:?}", helper::status_name(err));
    assert!(
        buf.all()[padding6()].iter().all(|&b| b == 0),
        "ICMPV6_ECHO_REPLY padding {:?}: {:02x?}",
        padding6(),
        &buf.all()[padding6()]
    );
    // Hop limit 0: refused, status-only reply[0] (as Windows).
    let hop0 = IP_OPTION_INFORMATION {
        Ttl: 0,
        Tos: 0,
        Flags: 0,
        OptionsSize: 0,
        OptionsData: ptr::null_mut(),
    };
    let mut buf = Guarded::new(S6 + 3);
    // SAFETY: valid arguments; synchronous.
    let n = unsafe {
        Icmp6SendEcho2(
            h6.as_raw(),
            ptr::null_mut(),
            None,
            ptr::null(),
            &src,
            &dst,
            b"pad".as_ptr().cast(),
            3,
            &hop0,
            buf.ptr(),
            buf.size(),
            TIMEOUT_MS,
        )
    };
    assert_eq!((n, last_error()), (0, IP_GENERAL_FAILURE));
    assert!(buf.all()[padding6()].iter().all(|&b| b == 0));
}

/// `RequestData` may lie inside `ReplyBuffer`: Windows copies the request
/// when the call starts, so echoing a reply's data from the same buffer is
/// legal. Three placements: exactly where the reply data goes, overlapping
/// the structure and the data, and inside the structure only.
#[test]
fn request_data_inside_reply_buffer() {
    let h = open4(None);
    let data = payload(32, 77);
    let (n, err, mut buf) = send4(h.as_raw(), LO, &data, None, S4 + 64, TIMEOUT_MS);
    if err == ERROR_ACCESS_DENIED {
        common::skip("request_data_inside_reply_buffer", "no ICMP permission");
        return;
    }
    assert_eq!((n, err), (1, 0));
    for at in [S4, S4 - 20, 0] {
        // The request: 32 bytes at `at`, planted there.
        buf.all_mut()[at..at + 32].copy_from_slice(&data);
        let base = buf.ptr().cast::<u8>();
        // SAFETY: request and reply ranges lie inside the buffer; the call
        // is synchronous.
        let n = unsafe {
            IcmpSendEcho(
                h.as_raw(),
                helper::ipaddr(LO),
                base.add(at).cast(),
                32,
                ptr::null(),
                base.cast(),
                (S4 + 64) as u32,
                TIMEOUT_MS,
            )
        };
        assert_eq!((n, last_error()), (1, 0), "request data at {at}");
        let r = buf.first_reply();
        assert_eq!(r.data, &data[..], "echoed data, request at {at}");
        buf.assert_guard_intact();
    }
    // IPv6: the request data exactly where the reply data goes.
    let Some(h6) = open6("request_data_inside_reply_buffer") else {
        return;
    };
    let dst = helper::sockaddr_in6(Ipv6Addr::LOCALHOST, 0);
    let mut buf = Guarded::new(S6 + 32);
    buf.all_mut()[S6..S6 + 32].copy_from_slice(&data);
    let base = buf.ptr().cast::<u8>();
    // SAFETY: as above.
    let n = unsafe {
        Icmp6SendEcho2(
            h6.as_raw(),
            ptr::null_mut(),
            None,
            ptr::null(),
            ptr::null(),
            &dst,
            base.add(S6).cast(),
            32,
            ptr::null(),
            base.cast(),
            (S6 + 32) as u32,
            TIMEOUT_MS,
        )
    };
    assert_eq!((n, last_error()), (1, 0));
    assert_eq!(Reply6::new(buf.reply_bytes(), 32).unwrap().data, &data[..]);
}

// ---------------------------------------------------------------------------
// fork safety (issue 8, item 3)
// ---------------------------------------------------------------------------

/// After `fork`, parent and child never put the same (identifier,
/// sequence) pair on the wire (raw sockets choose them; a repeated pair
/// lets each accept the other's reply). The parent echoes once before the
/// fork (its identifier state is set), then both echo 4 times at once; an
/// observer raw socket collects the echo requests carrying this test's
/// marker.
#[cfg(target_os = "linux")]
#[test]
fn fork_never_repeats_id_seq() {
    if !is_root() {
        common::skip("fork_never_repeats_id_seq", "raw sockets need root");
        return;
    }
    const K: usize = 4;
    // SAFETY: no preconditions.
    let marker = (unsafe { libc::getpid() } as u32).wrapping_mul(0x9e37_79b9)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
    let mut data = payload(24, marker);
    data[..4].copy_from_slice(&marker.to_be_bytes());
    let observer = common::observer::Observer::with_marker(marker);
    let h = open4(Some(SocketMode::Raw));
    let echo = |buf: &mut [u64; 16]| {
        // SAFETY: valid arguments; synchronous; no allocation in the call.
        unsafe {
            IcmpSendEcho(
                h.as_raw(),
                helper::ipaddr(LO),
                data.as_ptr().cast(),
                data.len() as u16,
                ptr::null(),
                buf.as_mut_ptr().cast(),
                128,
                TIMEOUT_MS,
            )
        }
    };
    let mut buf = [0u64; 16];
    assert_eq!(echo(&mut buf), 1, "echo before fork: {}", last_error());
    // SAFETY: the child only makes syscalls through the backend (which does
    // not allocate) and leaves with _exit.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork: {}", std::io::Error::last_os_error());
    if child == 0 {
        let mut buf = [0u64; 16];
        let ok = (0..K).all(|_| echo(&mut buf) == 1);
        // SAFETY: leaving the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let parent_ok = (0..K).filter(|_| echo(&mut buf) == 1).count();
    let mut status = 0;
    // SAFETY: our child.
    assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
    assert_eq!(parent_ok, K, "parent echoes");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child echoes failed (status {status:#x})"
    );
    // The echo requests on the wire.
    let pairs = observer.drain_id_seq();
    drop(observer);
    assert_eq!(pairs.len(), 1 + 2 * K, "requests observed: {pairs:04x?}");
    let mut distinct = pairs.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        pairs.len(),
        "(identifier, sequence) pairs repeated across fork: {pairs:04x?}"
    );
}

// ---------------------------------------------------------------------------
// Asynchronous sends: what only the Unix backend defines
// ---------------------------------------------------------------------------

/// A [`helper::Event`] (manual reset, closed on drop), or a panic.
fn event() -> helper::Event {
    helper::Event::new().unwrap_or_else(|e| panic!("Event::new: error {e}"))
}

/// `IcmpSendEcho2` with an event and a [`TIMEOUT_MS`] timeout: (return,
/// last error).
fn send_async(
    h: HANDLE,
    ev: HANDLE,
    dst: Ipv4Addr,
    data: *const u8,
    len: u16,
    buf: &mut Guarded,
) -> (u32, u32) {
    send_async_timeout(h, ev, dst, data, len, buf, TIMEOUT_MS)
}

/// [`send_async`] with the given timeout.
fn send_async_timeout(
    h: HANDLE,
    ev: HANDLE,
    dst: Ipv4Addr,
    data: *const u8,
    len: u16,
    buf: &mut Guarded,
    timeout: u32,
) -> (u32, u32) {
    // SAFETY: data readable for len bytes at the call; the buffer outlives
    // the completion (callers wait for the event).
    let n = unsafe {
        IcmpSendEcho2(
            h,
            ev,
            None,
            ptr::null(),
            helper::ipaddr(dst),
            data.cast(),
            len,
            ptr::null(),
            buf.ptr(),
            buf.size(),
            timeout,
        )
    };
    (n, last_error())
}

/// An Event handle that is not an event of the backend: 0 +
/// ERROR_INVALID_HANDLE at once, nothing written, nothing sent; the
/// descriptor such a value might look like is never touched.
#[test]
fn async_unknown_event_handle_is_refused() {
    let h = open4(None);
    let data = payload(32, 70);
    // A pipe whose write end must stay empty: its number as a "handle".
    let mut p = [0 as libc::c_int; 2];
    // SAFETY: valid array.
    assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
    let closed = {
        let e = event();
        e.handle()
    };
    for foreign in [
        p[1] as usize as HANDLE,
        0x1000 as HANDLE,
        INVALID_HANDLE_VALUE,
        closed,
    ] {
        let mut buf = Guarded::new(helper::reply_buffer_size_async(32));
        let t0 = Instant::now();
        let (n, err) = send_async(h.as_raw(), foreign, LO, data.as_ptr(), 32, &mut buf);
        assert_eq!((n, err), (0, ERROR_INVALID_HANDLE), "Event {foreign:?}");
        assert!(t0.elapsed() < Duration::from_millis(500));
        buf.assert_untouched();
    }
    let mut b = [0u8; 1];
    // SAFETY: non-blocking check of the pipe's read end.
    let n = unsafe { libc::recv(p[0], b.as_mut_ptr().cast(), 1, libc::MSG_DONTWAIT) };
    assert!(n < 0, "something was written to a foreign descriptor");
    // SAFETY: our pipe.
    unsafe {
        libc::close(p[0]);
        libc::close(p[1])
    };
}

/// RequestData may overlap ReplyBuffer, and may change or go away right
/// after the call: the request is copied when the send starts.
#[test]
fn async_request_data_is_copied_at_call_time() {
    let h = open4(None);
    let data = payload(32, 71);
    // 1. The request sits where the reply structure will be written.
    let ev = event();
    let mut buf = Guarded::new(helper::reply_buffer_size_async(32));
    buf.all_mut()[..32].copy_from_slice(&data);
    let at = buf.ptr().cast::<u8>();
    let (n, err) = send_async(h.as_raw(), ev.handle(), LO, at, 32, &mut buf);
    assert_eq!((n, err), (0, ERROR_IO_PENDING));
    assert!(ev.wait(5000), "event");
    // SAFETY: the completed buffer.
    assert_eq!(unsafe { IcmpParseReplies(buf.ptr(), buf.size()) }, 1);
    let r = buf.first_reply();
    assert_eq!((r.status(), r.address()), (IP_SUCCESS, LO));
    assert_eq!(r.data, &data[..], "overlapping request");
    buf.assert_guard_intact();
    // 2. The request buffer is overwritten and freed right after the call.
    let ev = event();
    let mut buf = Guarded::new(helper::reply_buffer_size_async(32));
    let mut scratch = data.clone();
    let (n, err) = send_async(h.as_raw(), ev.handle(), LO, scratch.as_ptr(), 32, &mut buf);
    assert_eq!((n, err), (0, ERROR_IO_PENDING));
    scratch.fill(0xEE);
    drop(scratch);
    assert!(ev.wait(5000), "event");
    // SAFETY: the completed buffer.
    assert_eq!(unsafe { IcmpParseReplies(buf.ptr(), buf.size()) }, 1);
    assert_eq!(
        buf.first_reply().data,
        &data[..],
        "request changed after the call"
    );
    buf.assert_guard_intact();
}

/// IcmpCloseHandle with requests in flight (loopback: they complete at
/// once): the Unix backend's handles are stateless, so closing one leaves
/// its requests running, as Wine 8.0 does (`netns_silent_close_in_flight`
/// in tests/echo.rs); each completes exactly once (reply written, event
/// signalled), and nothing is written after that.
#[test]
fn close_handle_with_requests_in_flight() {
    // SAFETY: no preconditions.
    let h = unsafe { IcmpCreateFile() };
    let evs: Vec<helper::Event> = (0..8).map(|_| event()).collect();
    let datas: Vec<Vec<u8>> = (0..8).map(|k| payload(32, 80 + k)).collect();
    let mut bufs: Vec<Guarded> = (0..8)
        .map(|_| Guarded::new(helper::reply_buffer_size_async(32)))
        .collect();
    for k in 0..8 {
        let (n, err) = send_async(h, evs[k].handle(), LO, datas[k].as_ptr(), 32, &mut bufs[k]);
        assert_eq!((n, err), (0, ERROR_IO_PENDING));
    }
    // SAFETY: our handle, closed once, requests in flight.
    assert_eq!(unsafe { IcmpCloseHandle(h) }, 1, "IcmpCloseHandle");
    for k in 0..8 {
        assert!(evs[k].wait(5000), "request {k} completed");
        // SAFETY: the completed buffer.
        assert_eq!(
            unsafe { IcmpParseReplies(bufs[k].ptr(), bufs[k].size()) },
            1
        );
        assert_eq!(bufs[k].first_reply().data, &datas[k][..]);
    }
    // Nothing more is written once completed.
    let snapshot: Vec<Vec<u8>> = bufs.iter().map(|b| b.all().to_vec()).collect();
    std::thread::sleep(Duration::from_millis(200));
    for (b, s) in bufs.iter().zip(&snapshot) {
        assert_eq!(b.all(), &s[..], "buffer written after completion");
        b.assert_guard_intact();
    }
}

/// A thread that exits with an APC request in flight: its routine never
/// runs (on no other thread either), the reply is still written and the
/// event signalled; the process keeps working.
#[test]
fn apc_of_an_exited_thread_is_discarded() {
    static CALLS: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
    unsafe extern "system" fn routine(_: *mut core::ffi::c_void, _: *mut IO_STATUS_BLOCK, _: u32) {
        CALLS.fetch_add(1, core::sync::atomic::Ordering::SeqCst);
    }
    let ev = event();
    let evh = ev.handle() as usize;
    let data = payload(32, 90);
    let mut buf = Guarded::new(helper::reply_buffer_size_async(32));
    let bp = buf.ptr() as usize;
    let bs = buf.size();
    let d = data.clone();
    std::thread::spawn(move || {
        // SAFETY: the buffer outlives the completion (the main thread waits
        // for the event before dropping it).
        let n = unsafe {
            IcmpSendEcho2(
                IcmpCreateFile(),
                evh as HANDLE,
                Some(routine),
                ptr::null(),
                helper::ipaddr(LO),
                d.as_ptr().cast(),
                32,
                ptr::null(),
                bp as *mut core::ffi::c_void,
                bs,
                TIMEOUT_MS,
            )
        };
        assert_eq!((n, last_error()), (0, ERROR_IO_PENDING));
    })
    .join()
    .unwrap();
    assert!(ev.wait(5000));
    assert_eq!(sleep_alertable(100), 0, "another thread's APC ran here");
    assert_eq!(CALLS.load(core::sync::atomic::Ordering::SeqCst), 0);
    // SAFETY: the completed buffer.
    assert_eq!(unsafe { IcmpParseReplies(buf.ptr(), buf.size()) }, 1);
    assert_eq!(buf.first_reply().data, &data[..]);
}

/// An Event dropped while its requests are in flight (safe code): each
/// request holds its own reference to the event from the send to the
/// signal, so the event's descriptors stay open until the completion
/// signals it, then close; the completion never writes to what reuses the
/// numbers. In a private namespace whose loopback ignores echo requests
/// (`icmp_echo_ignore_all`): 4 rounds of 32 requests (200 ms timeout), their
/// events (auto and manual reset) dropped right after the burst, so every
/// request is in flight; then pipes (their contents must stay exactly what
/// was written) and new events (must stay unsignalled) take the free
/// numbers. Each completion (its timeout) is seen on a duplicate of its
/// event's descriptor, taken before the drop (the same eventfd, under a
/// number of the test's own, only polled): it must become readable (the
/// signal reached the event, not a reused number).
#[cfg(target_os = "linux")]
#[test]
fn async_event_dropped_in_flight_touches_nothing_reused() {
    const IGNORE_ECHO: &str = "echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all";
    in_netns(
        "async_event_dropped_in_flight_touches_nothing_reused",
        IGNORE_ECHO,
        event_dropped_in_flight,
    );
}

#[cfg(target_os = "linux")]
fn event_dropped_in_flight() {
    const N: usize = 32;
    let h = open4(None);
    for round in 0..4u32 {
        let datas: Vec<Vec<u8>> = (0..N)
            .map(|k| payload(32, 200 + round * 64 + k as u32))
            .collect();
        let mut bufs: Vec<Guarded> = (0..N)
            .map(|_| Guarded::new(helper::reply_buffer_size_async(32)))
            .collect();
        let evs: Vec<helper::Event> = (0..N)
            .map(|k| helper::Event::create(k % 2 == 0, false).expect("create"))
            .collect();
        // SAFETY: F_DUPFD_CLOEXEC on the events' open descriptors: our own
        // duplicates, only polled, closed below.
        let dups: Vec<libc::c_int> = evs
            .iter()
            .map(|e| unsafe { libc::fcntl(e.fd(), libc::F_DUPFD_CLOEXEC, 0) })
            .collect();
        assert!(dups.iter().all(|&d| d >= 0), "dup: {dups:?}");
        for k in 0..N {
            let (n, err) = send_async_timeout(
                h.as_raw(),
                evs[k].handle(),
                LO,
                datas[k].as_ptr(),
                32,
                &mut bufs[k],
                200,
            );
            assert_eq!((n, err), (0, ERROR_IO_PENDING), "request {k}");
        }
        drop(evs);
        // What may reuse the events' descriptor numbers.
        let pipes = common::pipes::open((0..N).map(|k| [(round as u8) << 6 ^ k as u8; 16]));
        let fresh: Vec<helper::Event> = (0..N)
            .map(|k| helper::Event::create(k % 2 == 1, false).expect("create"))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        for (k, &d) in dups.iter().enumerate() {
            let mut p = libc::pollfd {
                fd: d,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; bounded by the deadline.
            while unsafe { libc::poll(&mut p, 1, 10) } != 1 {
                assert!(
                    Instant::now() < deadline,
                    "round {round}: request {k}'s event not signalled within 10 s"
                );
            }
            assert_ne!(p.revents & libc::POLLIN, 0, "round {round}: request {k}");
        }
        for (k, e) in fresh.iter().enumerate() {
            assert!(
                !e.wait(0),
                "round {round}: new event {k} signalled by a completion"
            );
        }
        common::pipes::assert_intact_and_close(
            pipes,
            &format!("round {round}"),
            "written or read by a completion",
        );
        for d in dups {
            // SAFETY: our duplicate, closed once.
            unsafe { libc::close(d) };
        }
        for (k, b) in bufs.iter_mut().enumerate() {
            // SAFETY: the completed buffer.
            let n = unsafe { IcmpParseReplies(b.ptr(), b.size()) };
            assert_eq!(
                (n, last_error(), b.first_reply().status()),
                (0, IP_REQ_TIMED_OUT, IP_REQ_TIMED_OUT),
                "round {round}: request {k} (nothing answers)"
            );
            b.assert_guard_intact();
        }
    }
}

/// fork: the child does not inherit a half-working engine; its own async
/// sends work (a new completion thread), the parent's keep working.
#[test]
fn async_after_fork() {
    let h = open4(None);
    let run = |seed: u32| -> bool {
        let ev = event();
        let data = payload(32, seed);
        let mut buf = Guarded::new(helper::reply_buffer_size_async(32));
        let (n, err) = send_async(h.as_raw(), ev.handle(), LO, data.as_ptr(), 32, &mut buf);
        (n, err) == (0, ERROR_IO_PENDING)
            && ev.wait(5000)
            // SAFETY: the completed buffer.
            && unsafe { IcmpParseReplies(buf.ptr(), buf.size()) } == 1
            && buf.first_reply().data == &data[..]
    };
    assert!(run(100), "parent before fork");
    // SAFETY: the child only runs the backend and _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let ok = run(101) && run(102);
        // SAFETY: leave the child without running the parent's atexit/test harness.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: our child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child: status {status:#x}"
    );
    assert!(run(103), "parent after fork");
}

/// Timeout 0, asynchronously, as synchronously (Wine 8.0 accepts it): a
/// loopback reply that is already there wins over the expired deadline.
#[test]
fn async_timeout_zero_loopback() {
    let h = open4(None);
    let ev = event();
    let data = payload(32, 95);
    let mut buf = Guarded::new(helper::reply_buffer_size_async(32));
    // The buffer outlives the completion (waited for below).
    let sent = send_async_timeout(h.as_raw(), ev.handle(), LO, data.as_ptr(), 32, &mut buf, 0);
    assert_eq!(sent, (0, ERROR_IO_PENDING));
    assert!(ev.wait(5000), "event");
    // SAFETY: the completed buffer.
    let n = unsafe { IcmpParseReplies(buf.ptr(), buf.size()) };
    assert_eq!(n, 1, "IcmpParseReplies: error {}", last_error());
    assert_eq!(buf.first_reply().data, &data[..]);
}

/// An async send goes out in the network namespace of the thread that
/// makes it, as a synchronous one does: the engine keeps one shared socket
/// per namespace. Here the host's loopback answers, a private namespace's
/// (icmp_echo_ignore_all) does not: the send from there must time out.
#[cfg(target_os = "linux")]
#[test]
fn async_uses_the_senders_network_namespace() {
    let run = |timeout: u32, seed: u32| -> (u32, u32) {
        let h = create_handle(false, SocketMode::Raw);
        let ev = event();
        let data = payload(32, seed);
        let mut buf = Guarded::new(helper::reply_buffer_size_async(32));
        // The buffer outlives the completion (waited for below).
        let sent = send_async_timeout(h, ev.handle(), LO, data.as_ptr(), 32, &mut buf, timeout);
        assert_eq!(sent, (0, ERROR_IO_PENDING));
        assert!(ev.wait(5000), "event");
        // SAFETY: the completed buffer.
        let n = unsafe { IcmpParseReplies(buf.ptr(), buf.size()) };
        (n, if n == 0 { last_error() } else { 0 })
    };
    if !is_root() {
        common::skip(
            "async_uses_the_senders_network_namespace",
            "raw sockets and unshare need root",
        );
        return;
    }
    assert_eq!(run(TIMEOUT_MS, 96), (1, 0), "host namespace");
    let silent = in_netns(
        "async_uses_the_senders_network_namespace",
        "echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all",
        move || run(300, 97),
    );
    if let Some(r) = silent {
        assert_eq!(r, (0, IP_REQ_TIMED_OUT), "private silent namespace");
    }
    assert_eq!(run(TIMEOUT_MS, 98), (1, 0), "host namespace again");
}

/// The async path writes the same defined bytes: the reply's padding is
/// zeroed, after an echo and after a timeout-like failure alike (the
/// completion thread uses the synchronous writer).
#[test]
fn async_reply_padding_is_zeroed() {
    let h = open4(None);
    let ev = event();
    let mut buf = Guarded::new(S4 + 3);
    let (n, err) = send_async(h.as_raw(), ev.handle(), LO, b"pad".as_ptr(), 3, &mut buf);
    assert_eq!((n, err), (0, ERROR_IO_PENDING));
    assert!(ev.wait(5000), "event");
    // SAFETY: the completed buffer.
    assert_eq!(unsafe { IcmpParseReplies(buf.ptr(), buf.size()) }, 1);
    assert!(
        buf.all()[padding4()].iter().all(|&b| b == 0),
        "ICMP_ECHO_REPLY padding {:?}: {:02x?}",
        padding4(),
        &buf.all()[padding4()]
    );
    buf.assert_guard_intact();
}

// ---------------------------------------------------------------------------
// Decided by arrival (issue 14, items 2 and 7)
// ---------------------------------------------------------------------------

/// The tests that take most of the engine's 16 384 records run one at a
/// time (the other tests of this binary keep a few in flight at most).
static MOST_RECORDS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Counts the calls of an APC whose context is an `AtomicU32`.
unsafe extern "system" fn count_apc(
    ctx: *mut core::ffi::c_void,
    _iosb: *mut IO_STATUS_BLOCK,
    _r: u32,
) {
    // SAFETY: ctx is an &AtomicU32 that outlives the request (the test waits
    // for every APC).
    let calls = unsafe { &*(ctx as *const std::sync::atomic::AtomicU32) };
    calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// 16 000 loopback echoes started at once from one thread (APCs; 32 and
/// 256 bytes of data, alternating; 127.0.0.0/8 destinations), each with
/// `timeout` ms: every reply reaches the host within microseconds, well
/// before the completion thread gets to it, so every request must complete
/// as a reply, exactly once (its APC once, `IcmpParseReplies` 1 with its own
/// data and address) — however far behind the completion thread is.
fn sixteen_thousand_in_flight(timeout: u32) {
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    const N: usize = 16_000;
    let _one = MOST_RECORDS.lock().unwrap_or_else(|e| e.into_inner());
    let h = open4(None);
    let dst = |k: usize| {
        Ipv4Addr::new(
            127,
            10 + (k / 62_500) as u8,
            (k / 250 % 250) as u8,
            (k % 250) as u8 + 1,
        )
    };
    let datas: Vec<Vec<u8>> = (0..N)
        .map(|k| payload(if k % 2 == 0 { 32 } else { 256 }, 50_000 + k as u32))
        .collect();
    let mut bufs: Vec<Guarded> = datas
        .iter()
        .map(|d| Guarded::new(helper::reply_buffer_size_async(d.len() as u16)))
        .collect();
    let calls: Vec<AtomicU32> = (0..N).map(|_| AtomicU32::new(0)).collect();
    let t0 = Instant::now();
    for k in 0..N {
        // SAFETY: data readable at the call; the buffer and the APC context
        // outlive the completion (waited for below, bounded; a request still
        // in flight at the end fails the test, and the process keeps the
        // buffers: they are leaked then).
        let n = unsafe {
            IcmpSendEcho2(
                h.as_raw(),
                ptr::null_mut(),
                Some(count_apc),
                (&calls[k] as *const AtomicU32).cast(),
                helper::ipaddr(dst(k)),
                datas[k].as_ptr().cast(),
                datas[k].len() as u16,
                ptr::null(),
                bufs[k].ptr(),
                bufs[k].size(),
                timeout,
            )
        };
        let err = last_error();
        assert_eq!((n, err), (0, ERROR_IO_PENDING), "request {k}: not started");
    }
    let sent = t0.elapsed();
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = || calls.iter().filter(|c| c.load(SeqCst) > 0).count();
    while done() < N && Instant::now() < deadline {
        sleep_alertable(500);
    }
    let finished = t0.elapsed();
    let pending = N - done();
    if pending > 0 {
        // The buffers must outlive requests still in flight.
        std::mem::forget(bufs);
        std::mem::forget(calls);
        panic!("{pending} of {N} requests did not complete within 60 s");
    }
    let mut twice = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u32, usize>::new();
    let mut wrong = Vec::new();
    for k in 0..N {
        let c = calls[k].load(SeqCst);
        if c != 1 {
            twice.push((k, c));
        }
        // SAFETY: the completed buffer.
        let n = unsafe { IcmpParseReplies(bufs[k].ptr(), bufs[k].size()) };
        if n != 1 {
            *statuses.entry(last_error()).or_default() += 1;
            continue;
        }
        let r = bufs[k].first_reply();
        if r.status() != IP_SUCCESS || r.address() != dst(k) || r.data != &datas[k][..] {
            wrong.push(k);
        }
        bufs[k].assert_guard_intact();
    }
    println!(
        "{N} sent in {sent:?}, completed in {finished:?} (timeout {timeout} ms): {} not a reply {statuses:?}",
        statuses.values().sum::<usize>()
    );
    assert!(
        twice.is_empty(),
        "APC not run exactly once: {:?}",
        &twice[..twice.len().min(10)]
    );
    assert!(
        statuses.is_empty(),
        "timeout {timeout} ms: {} of {N} loopback echoes did not complete as replies (last error -> count: {statuses:?}; {} = IP_REQ_TIMED_OUT)",
        statuses.values().sum::<usize>(),
        IP_REQ_TIMED_OUT
    );
    assert!(
        wrong.is_empty(),
        "{} replies with the wrong status, address or data: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
}

/// 16 000 in flight with timeout 0: every loopback reply that is there when
/// the request is first checked wins over the expired deadline (timeout 0's
/// meaning, as for a synchronous send).
#[test]
fn sixteen_thousand_in_flight_timeout_zero() {
    sixteen_thousand_in_flight(0);
}

/// 16 000 in flight with a 10 ms timeout: all complete as replies.
#[test]
fn sixteen_thousand_in_flight_timeout_10_ms() {
    sixteen_thousand_in_flight(10);
}

/// A socket the engine opens while its completion thread runs (a new
/// network namespace: IPv4 ping socket, IPv4 raw socket, IPv6 ping socket)
/// is polled before its first request can expire: that request, with
/// timeout 0, gets its loopback reply. Another request waits meanwhile (to
/// a silent host behind a veth pair of the namespace), so the
/// completion thread, not the sender, reads the answers (a sender reads
/// its own quick answer only when no other request waits).
#[cfg(target_os = "linux")]
#[test]
fn timeout_zero_on_a_newly_opened_socket() {
    const TEST: &str = "timeout_zero_on_a_newly_opened_socket";
    struct Pending {
        v6: bool,
        ev: helper::Event,
        buf: Guarded,
        _data: Vec<u8>,
    }
    fn start(
        v6: bool,
        mode: SocketMode,
        to6: Ipv6Addr,
        to4: Ipv4Addr,
        timeout: u32,
        seed: u32,
    ) -> Pending {
        let h = create_handle(v6, mode);
        let ev = event();
        let data = payload(32, seed);
        let mut buf = Guarded::new(helper::reply_buffer_size_async(32) + 64);
        let sent = if v6 {
            let dst = helper::sockaddr_in6(to6, 0);
            // SAFETY: data readable at the call; buf outlives the
            // completion (`finish` waits for it).
            let n = unsafe {
                Icmp6SendEcho2(
                    h,
                    ev.handle(),
                    None,
                    ptr::null(),
                    ptr::null(),
                    &dst,
                    data.as_ptr().cast(),
                    32,
                    ptr::null(),
                    buf.ptr(),
                    buf.size(),
                    timeout,
                )
            };
            (n, last_error())
        } else {
            send_async_timeout(h, ev.handle(), to4, data.as_ptr(), 32, &mut buf, timeout)
        };
        assert_eq!(sent, (0, ERROR_IO_PENDING));
        Pending {
            v6,
            ev,
            buf,
            _data: data,
        }
    }
    fn finish(mut p: Pending) -> (u32, u32) {
        if !p.ev.wait(10_000) {
            // The buffer must outlive the request still in flight.
            std::mem::forget(p);
            panic!("no completion within 10 s");
        }
        // SAFETY: the completed buffer.
        let n = unsafe {
            if p.v6 {
                Icmp6ParseReplies(p.buf.ptr(), p.buf.size())
            } else {
                IcmpParseReplies(p.buf.ptr(), p.buf.size())
            }
        };
        (n, if n == 0 { last_error() } else { 0 })
    }
    fn first(v6: bool, mode: SocketMode, seed: u32) -> (u32, u32) {
        finish(start(v6, mode, Ipv6Addr::LOCALHOST, LO, 0, seed))
    }
    if !is_root() {
        common::skip(TEST, "raw sockets and unshare need root");
        return;
    }
    // The completion thread runs (started by this request, if not before).
    assert_eq!(first(false, SocketMode::Raw, 120), (1, 0), "host namespace");
    let got = in_netns(
        TEST,
        "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range; \
         ip link add v0 type veth peer name v1; ip link set v0 up; ip link set v1 up; \
         ip addr add 198.51.100.1/24 dev v0; ip addr add 2001:db8::1/64 dev v0 nodad",
        || {
            // Waits (silent host) while the others are answered.
            let silent: Ipv6Addr = "2001:db8::2".parse().unwrap();
            let waiting = start(true, SocketMode::Raw, silent, LO, 1500, 124);
            let got = [
                ("IPv4 ping socket", first(false, SocketMode::Datagram, 121)),
                ("IPv4 raw socket", first(false, SocketMode::Raw, 122)),
                ("IPv6 ping socket", first(true, SocketMode::Datagram, 123)),
            ];
            (got, finish(waiting))
        },
    );
    if let Some((got, waiting)) = got {
        for (what, r) in got {
            assert_eq!(
                r,
                (1, 0),
                "{what}: first request (timeout 0) on a socket opened while the engine runs: (count, last error)"
            );
        }
        assert_eq!(
            waiting,
            (0, IP_REQ_TIMED_OUT),
            "the request to the silent host waited until its timeout"
        );
    }
}
