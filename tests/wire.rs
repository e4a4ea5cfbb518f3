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

use common::{PING_OK, in_netns, is_root, payload};
use core::mem::size_of;
use core::ptr;
use icmp_sys::helper;
use icmp_sys::unix::{SocketMode, create_handle};
use icmp_sys::*;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

const TIMEOUT_MS: u32 = 2000;

/// An echo request as the observer saw it.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    ttl: u8,
    tos: u8,
    df: bool,
    options: Vec<u8>,
}

/// A raw ICMP socket of the calling thread's namespace, passing only echo
/// requests, with a short receive timeout.
struct Observer {
    fd: libc::c_int,
    v6: bool,
}

impl Observer {
    fn open(v6: bool) -> Self {
        let (family, proto) = if v6 {
            (libc::AF_INET6, libc::IPPROTO_ICMPV6)
        } else {
            (libc::AF_INET, libc::IPPROTO_ICMP)
        };
        // SAFETY: plain socket(2).
        let fd = unsafe { libc::socket(family, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
        assert!(
            fd >= 0,
            "observer socket: {}",
            std::io::Error::last_os_error()
        );
        let o = Self { fd, v6 };
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 200_000,
        };
        o.set(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv);
        if v6 {
            // ICMP6_FILTER (1): a set bit blocks the type; pass 128 only.
            let mut f = [u32::MAX; 8];
            f[128 >> 5] &= !(1 << (128 & 31));
            o.set(libc::IPPROTO_ICMPV6, 1, &f);
            o.set(libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, &1i32);
            o.set(libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS, &1i32);
        } else {
            // ICMP_FILTER (1): a set bit blocks the type; pass 8 only.
            o.set(libc::SOL_RAW, 1, &!(1u32 << 8));
        }
        o
    }

    fn set<T>(&self, level: libc::c_int, name: libc::c_int, v: &T) {
        // SAFETY: v is a readable T of the given size.
        let rc = unsafe {
            libc::setsockopt(
                self.fd,
                level,
                name,
                ptr::from_ref(v).cast(),
                size_of::<T>() as libc::socklen_t,
            )
        };
        assert_eq!(
            rc,
            0,
            "setsockopt({level}, {name}): {}",
            std::io::Error::last_os_error()
        );
    }

    /// The echo request carrying `data`, from what is queued (bounded: one
    /// second, 10 000 packets).
    fn find(&self, data: &[u8]) -> Seen {
        let start = Instant::now();
        let mut pkt = [0u8; 70_000];
        let mut ctl = [0u64; 16];
        for _ in 0..10_000 {
            assert!(
                start.elapsed() < Duration::from_secs(1),
                "the observer saw no echo request carrying the payload"
            );
            let mut iov = libc::iovec {
                iov_base: pkt.as_mut_ptr().cast(),
                iov_len: pkt.len(),
            };
            // SAFETY: an all-zero msghdr is valid; the pointers are set below.
            let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = ctl.as_mut_ptr().cast();
            msg.msg_controllen = size_of::<[u64; 16]>();
            // SAFETY: msg describes live buffers.
            let n = unsafe { libc::recvmsg(self.fd, &mut msg, 0) };
            if n < 0 {
                continue; // timeout or EINTR: the time bound ends the loop
            }
            let p = &pkt[..n as usize];
            if self.v6 {
                // No IPv6 header: ICMPv6 header, then data; hop limit and
                // traffic class come as control messages.
                if p.len() < 8 || p[0] != 128 || &p[8..] != data {
                    continue;
                }
                let (mut ttl, mut tos) = (None, None);
                // SAFETY: the kernel filled msg_control with well-formed
                // control messages; the CMSG macros stay within it.
                unsafe {
                    let mut c = libc::CMSG_FIRSTHDR(&msg);
                    while !c.is_null() {
                        let v = libc::CMSG_DATA(c).cast::<i32>().read_unaligned();
                        match ((*c).cmsg_level, (*c).cmsg_type) {
                            (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => ttl = Some(v as u8),
                            (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) => tos = Some(v as u8),
                            _ => {}
                        }
                        c = libc::CMSG_NXTHDR(&msg, c);
                    }
                }
                return Seen {
                    ttl: ttl.expect("IPV6_HOPLIMIT control message"),
                    tos: tos.expect("IPV6_TCLASS control message"),
                    df: false,
                    options: Vec::new(),
                };
            }
            // IPv4 header, ICMP header, data.
            let ihl = usize::from(p[0] & 0x0f) * 4;
            if p.len() < ihl + 8 || p[ihl] != 8 || &p[ihl + 8..] != data {
                continue;
            }
            return Seen {
                ttl: p[8],
                tos: p[1],
                df: p[6] & 0x40 != 0,
                options: p[20..ihl].to_vec(),
            };
        }
        panic!("the observer saw no echo request carrying the payload");
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        // SAFETY: our descriptor, closed once.
        unsafe { libc::close(self.fd) };
    }
}

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

/// Sends one IPv4 echo to 127.0.0.1 with `opts` on a handle of `mode`
/// (asynchronously with an event if `asynchronous`: the engine's shared
/// socket, options set per request) and returns what the observer saw (the
/// echo must succeed).
fn seen4(mode: SocketMode, opts: &IP_OPTION_INFORMATION, seed: u32, asynchronous: bool) -> Seen {
    let obs = Observer::open(false);
    let h = create_handle(false, mode);
    let mut data = payload(24, seed);
    data[..4].copy_from_slice(&std::process::id().to_ne_bytes());
    data[4] = u8::from(asynchronous);
    let mut buf = common::Guarded::new(helper::reply_buffer_size(24) + 40);
    let ev = asynchronous.then(new_event);
    // SAFETY: options, data and buffer outlive the send (and its completion:
    // `finish` waits).
    let n = unsafe {
        IcmpSendEcho2(
            h,
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
    // SAFETY: our handle, closed once.
    unsafe { IcmpCloseHandle(h) };
    obs.find(&data)
}

/// Sends one echo to ::1 with `opts` on an IPv6 handle of `mode` and returns
/// what the observer saw.
fn seen6(mode: SocketMode, opts: &IP_OPTION_INFORMATION, seed: u32, asynchronous: bool) -> Seen {
    let obs = Observer::open(true);
    let h = create_handle(true, mode);
    let mut data = payload(24, seed);
    data[..4].copy_from_slice(&std::process::id().to_ne_bytes());
    data[4] = u8::from(asynchronous);
    let ev = asynchronous.then(new_event);
    let mut buf = common::Guarded::new(helper::reply6_buffer_size(24));
    let src = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
    let dst = helper::sockaddr_in6(Ipv6Addr::LOCALHOST, 0);
    let size = 24u16;
    // SAFETY: addresses, options, data and buffer outlive the synchronous
    // call; sizes match.
    let n = unsafe {
        Icmp6SendEcho2(
            h,
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
    // SAFETY: our handle, closed once.
    unsafe { IcmpCloseHandle(h) };
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
