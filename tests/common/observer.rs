//! The observer raw socket of the Linux tests: it sees the echo requests
//! this process's sends put on the wire (`tests/wire.rs`: the IP header's
//! TTL/TOS/DF/options; `tests/unix_echo.rs`: the (identifier, sequence)
//! pairs across `fork`). Raw socket: needs root (or `CAP_NET_RAW`).

use core::mem::size_of;
use core::ptr;
use std::time::{Duration, Instant};

/// An echo request as the observer saw it.
#[derive(Debug, PartialEq, Eq)]
pub struct Seen {
    /// TTL / hop limit.
    pub ttl: u8,
    /// TOS / traffic class.
    pub tos: u8,
    /// The DF flag (IPv4).
    pub df: bool,
    /// The IP options (IPv4).
    pub options: Vec<u8>,
}

/// A raw ICMP socket of the calling thread's namespace, passing only echo
/// requests, with a short receive timeout.
pub struct Observer {
    fd: libc::c_int,
    v6: bool,
}

impl Observer {
    /// The observer of the calling thread's namespace for `v6`.
    pub fn open(v6: bool) -> Self {
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

    /// An IPv4 observer that queues only the echo requests whose ICMP data
    /// starts with `marker` (a classic BPF filter on the 4 bytes at offset
    /// 28: a 20-byte IP header, the 8-byte ICMP header): blind to the other
    /// tests' traffic. What was queued before the filter is dropped.
    pub fn with_marker(marker: u32) -> Self {
        let o = Self::open(false);
        let mut prog = [
            libc::sock_filter {
                code: 0x20,
                jt: 0,
                jf: 0,
                k: 28,
            }, // ld [28]
            libc::sock_filter {
                code: 0x15,
                jt: 0,
                jf: 1,
                k: marker,
            }, // jeq marker
            libc::sock_filter {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: u32::MAX,
            }, // accept
            libc::sock_filter {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: 0,
            }, // drop
        ];
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_mut_ptr(),
        };
        o.set(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog);
        // Drop what was queued before the filter (other tests' traffic).
        let mut b = [0u8; 1];
        // SAFETY: a 1-byte buffer; longer datagrams are truncated.
        while unsafe { libc::recv(o.fd, b.as_mut_ptr().cast(), 1, libc::MSG_DONTWAIT) } >= 0 {}
        o
    }

    /// The (identifier, sequence) pairs of the IPv4 echo requests queued
    /// now, in arrival order (without waiting: the queue is drained).
    pub fn drain_id_seq(&self) -> Vec<(u16, u16)> {
        let mut pairs = Vec::new();
        let mut pkt = [0u8; 256];
        loop {
            // SAFETY: a buffer of pkt.len() bytes.
            let n = unsafe {
                libc::recv(
                    self.fd,
                    pkt.as_mut_ptr().cast(),
                    pkt.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                break;
            }
            let p = &pkt[..n as usize];
            let ihl = usize::from(p[0] & 0x0f) * 4;
            if p.len() >= ihl + 8 && p[ihl] == 8 {
                pairs.push((
                    u16::from_be_bytes([p[ihl + 4], p[ihl + 5]]),
                    u16::from_be_bytes([p[ihl + 6], p[ihl + 7]]),
                ));
            }
        }
        pairs
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
    pub fn find(&self, data: &[u8]) -> Seen {
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
