//! Request options where they take effect: on the wire. An observer raw
//! socket sees every echo request the Unix backend sends to loopback and
//! checks the IP header it carries — TTL / hop limit, TOS / traffic class,
//! the DF flag and IP options — for both socket kinds (raw sockets in the
//! host namespace; ping sockets in a private namespace with
//! `ping_group_range` widened, entered by one test thread).
//!
//! The reply tests (`tests/echo.rs`) cannot show this: the reply carries
//! the replier's TTL and TOS, not the request's. Plain `cargo test`, as
//! root (the observer is a raw socket); without root each test is a
//! `common::skip` (a failure in CI's strict mode). Loopback only.
#![cfg(target_os = "linux")]

mod common;

use common::handle::Icmp;
use common::observer::{Observer, Seen};
use common::{PING_OK, in_netns, is_root, payload};
use core::ptr;
use icmp_sys::helper;
use icmp_sys::unix::{SocketMode, create_handle};
use icmp_sys::*;
use std::net::Ipv6Addr;

const TIMEOUT_MS: u32 = 2000;

/// The event of an asynchronous send: a [`helper::Event`], closed on drop.
fn new_event() -> helper::Event {
    helper::Event::new().expect("event")
}

/// Waits for an asynchronous send's event (when `ev` is given) and returns
/// the count and last error as a synchronous send would.
fn finish(
    ev: Option<helper::Event>,
    n: u32,
    err: u32,
    buf: &mut common::Guarded,
    v6: bool,
) -> (u32, u32) {
    let Some(ev) = ev else {
        return (n, err);
    };
    assert_eq!((n, err), (0, ERROR_IO_PENDING), "async send");
    assert!(ev.wait(5000), "event");
    // SAFETY: the completed buffer.
    let n = unsafe {
        if v6 {
            Icmp6ParseReplies(buf.ptr(), buf.size())
        } else {
            IcmpParseReplies(buf.ptr(), buf.size())
        }
    };
    (n, if n == 0 { helper::last_error() } else { 0 })
}

/// A 24-byte payload the observer can tell apart: this process's id, then
/// whether the send is asynchronous.
fn marked_payload(seed: u32, asynchronous: bool) -> Vec<u8> {
    let mut data = payload(24, seed);
    data[..4].copy_from_slice(&std::process::id().to_ne_bytes());
    data[4] = u8::from(asynchronous);
    data
}

/// Sends one IPv4 echo to 127.0.0.1 with `opts` on a handle of `mode`
/// (asynchronously with an event if `asynchronous`: the engine's shared
/// socket, options set per request) and returns what the observer saw (the
/// echo must succeed).
fn seen4(mode: SocketMode, opts: &IP_OPTION_INFORMATION, seed: u32, asynchronous: bool) -> Seen {
    let obs = Observer::open(false);
    // SAFETY: a fresh handle of the backend, owned by `h` only.
    let h = unsafe { Icmp::from_raw(create_handle(false, mode)) };
    let data = marked_payload(seed, asynchronous);
    let mut buf = common::Guarded::new(helper::reply_buffer_size(24) + 40);
    let ev = asynchronous.then(new_event);
    // SAFETY: options, data and buffer outlive the send (and its completion:
    // `finish` waits).
    let n = unsafe {
        IcmpSendEcho2(
            h.as_raw(),
            ev.as_ref().map_or(ptr::null_mut(), |e| e.handle()),
            None,
            ptr::null(),
            common::LOOPBACK,
            data.as_ptr().cast(),
            24,
            opts,
            buf.ptr(),
            buf.size(),
            TIMEOUT_MS,
        )
    };
    let err = helper::last_error();
    let (n, err) = finish(ev, n, err, &mut buf, false);
    assert_eq!(
        (n, err),
        (1, 0),
        "{mode:?} {opts:?}: {:?}",
        helper::status_name(err)
    );
    drop(h); // IcmpCloseHandle, checked
    obs.find(&data)
}

/// Sends one echo to ::1 with `opts` on an IPv6 handle of `mode` and returns
/// what the observer saw.
fn seen6(mode: SocketMode, opts: &IP_OPTION_INFORMATION, seed: u32, asynchronous: bool) -> Seen {
    let obs = Observer::open(true);
    // SAFETY: a fresh handle of the backend, owned by `h` only.
    let h = unsafe { Icmp::from_raw(create_handle(true, mode)) };
    let data = marked_payload(seed, asynchronous);
    let ev = asynchronous.then(new_event);
    let mut buf = common::Guarded::new(helper::reply6_buffer_size(24));
    let src = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
    let dst = helper::sockaddr_in6(Ipv6Addr::LOCALHOST, 0);
    let size = 24u16;
    // SAFETY: addresses, options, data and buffer outlive the synchronous
    // call; sizes match.
    let n = unsafe {
        Icmp6SendEcho2(
            h.as_raw(),
            ev.as_ref().map_or(ptr::null_mut(), |e| e.handle()),
            None,
            ptr::null(),
            &src,
            &dst,
            data.as_ptr().cast(),
            size,
            opts,
            buf.ptr(),
            buf.size(),
            TIMEOUT_MS,
        )
    };
    let err = helper::last_error();
    let (n, err) = finish(ev, n, err, &mut buf, true);
    assert_eq!(n, 1, "{mode:?} {opts:?}: {:?}", helper::status_name(err));
    drop(h); // IcmpCloseHandle, checked
    obs.find(&data)
}

fn opts(ttl: u8, tos: u8, flags: u8, options: &mut [u8]) -> IP_OPTION_INFORMATION {
    IP_OPTION_INFORMATION {
        Ttl: ttl,
        Tos: tos,
        Flags: flags,
        OptionsSize: options.len() as u8,
        OptionsData: if options.is_empty() {
            ptr::null_mut()
        } else {
            options.as_mut_ptr()
        },
    }
}

/// The default TTL of the calling thread's namespace (`/proc/sys/net` shows
/// the reader's).
fn default_ttl() -> u8 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_default_ttl")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(64)
}

/// Every option case, on a handle of `mode`, in the calling thread's
/// namespace; `asynchronous`: through the engine's shared socket, where
/// each request's options replace the previous one's (TTL 0: back to the
/// default).
fn check_all(mode: SocketMode, asynchronous: bool) {
    let a = asynchronous;
    // TTL and TOS as given (0: the default, 0); DF only with IP_FLAG_DF.
    for (i, (ttl, tos, flags)) in [
        (1u8, 0u8, 0u8),
        (7, 0x28, IP_FLAG_DF),
        (255, 0xb8, 0),
        (0, 0, 0),
    ]
    .into_iter()
    .enumerate()
    {
        let s = seen4(mode, &opts(ttl, tos, flags, &mut []), i as u32, a);
        let want_ttl = if ttl == 0 { default_ttl() } else { ttl };
        assert_eq!(
            (s.ttl, s.tos, s.df),
            (want_ttl, tos, flags & IP_FLAG_DF != 0),
            "{mode:?}: TTL {ttl} TOS {tos:#x} flags {flags:#x}: on the wire {s:?}"
        );
        assert!(s.options.is_empty(), "{mode:?}: no IP options asked: {s:?}");
    }
    // IP options (NOP, NOP, NOP, EOL: 4 bytes, carried as given).
    let mut o = [1u8, 1, 1, 0];
    let s = seen4(mode, &opts(64, 0, 0, &mut o), 10, a);
    assert_eq!(s.options, o, "{mode:?}: IP options on the wire");
    // Back to the defaults after the options above (a socket reused across
    // requests must not keep them): the namespace's default TTL, TOS 0, no
    // DF, no IP options.
    let default_ttl: u8 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_default_ttl")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(64);
    // (Also: no options left over on the next request.)
    let s = seen4(mode, &opts(0, 0, 0, &mut []), 11, a);
    assert_eq!(
        s,
        Seen {
            ttl: default_ttl,
            tos: 0,
            df: false,
            options: Vec::new()
        },
        "{mode:?}: a request without options after requests with options"
    );
    // IPv6: hop limit and traffic class.
    for (i, (ttl, tos)) in [(3u8, 0x20u8), (200, 0xb8)].into_iter().enumerate() {
        let s = seen6(mode, &opts(ttl, tos, 0, &mut []), 20 + i as u32, a);
        assert_eq!(
            (s.ttl, s.tos),
            (ttl, tos),
            "{mode:?} IPv6: hop limit {ttl} traffic class {tos:#x}: on the wire {s:?}"
        );
    }
}

#[test]
fn request_options_on_the_wire_raw_socket() {
    if !is_root() {
        common::skip(
            "request_options_on_the_wire_raw_socket",
            "the observer and the raw socket need root",
        );
        return;
    }
    check_all(SocketMode::Raw, false);
}

#[test]
fn request_options_on_the_wire_ping_socket() {
    in_netns("request_options_on_the_wire_ping_socket", PING_OK, || {
        check_all(SocketMode::Datagram, false)
    });
}

/// The same through asynchronous sends: one shared socket whose options the
/// engine changes per request.
#[test]
fn request_options_on_the_wire_raw_socket_async() {
    if !is_root() {
        common::skip(
            "request_options_on_the_wire_raw_socket_async",
            "the observer and the raw socket need root",
        );
        return;
    }
    check_all(SocketMode::Raw, true);
}

/// The ping-socket case asynchronously (the engine opens a shared socket
/// for this namespace, from this thread).
#[test]
fn request_options_on_the_wire_ping_socket_async() {
    in_netns(
        "request_options_on_the_wire_ping_socket_async",
        PING_OK,
        || check_all(SocketMode::Datagram, true),
    );
}
