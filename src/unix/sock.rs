//! The syscall half of the Unix backend: ICMP sockets (a thread's cached
//! ones, see `cache`, or one opened for a request), the send, and the
//! bounded wait on the monotonic clock.
//!
//! Per OS (reference §7.1):
//! - Linux ping socket (`SOCK_DGRAM`): the kernel rewrites the identifier to
//!   the socket's port and delivers only that identifier's replies, without
//!   IP header; errors come through the error queue (`IP_RECVERR`).
//! - Linux raw socket, macOS (datagram or raw), FreeBSD (raw): our
//!   identifier and checksum, the IPv4 header included in what is received,
//!   errors in-band; the socket sees all ICMP of the host, so replies are
//!   matched on identifier, sequence, source and payload.
//!
//! Nothing here allocates: packets are sent from the caller's data with a
//! two-part `sendmsg`, received into a stack buffer.
//!
//! Also what both paths share: the handles (static descriptors [`Desc`] of
//! a family and [`SocketMode`]; [`create_handle`], [`desc`]), the choice of socket kind ([`open_for`]), the shared-socket
//! state with its option setter ([`Shared`], [`open_shared`],
//! [`apply_options`]; the engine's sockets and the entries of `cache`),
//! [`pending_error`], [`raw_ident`], and the thread's last error (`errno`).
//!
//! Layer: sockets, below both paths; may use: `reply`.

#[cfg(any(target_os = "linux", target_os = "android"))]
use super::reply::QueuedError;
use super::reply::{self, Classified, Expect, Outcome};
use crate::ipexport::*;
use core::mem::{MaybeUninit, size_of, zeroed};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use libc::{c_int, c_void, socklen_t};

/// The kind of ICMP socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `SOCK_DGRAM`: Linux ping socket, macOS unprivileged ICMP socket.
    Dgram,
    /// `SOCK_RAW`: needs root / `CAP_NET_RAW`.
    Raw,
}

/// The calling thread's `errno`.
pub(crate) fn errno() -> c_int {
    // SAFETY: the errno location is valid for the calling thread.
    unsafe { *errno_location() }
}

/// An open socket, closed on drop.
pub(crate) struct Fd(pub(crate) c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        #[cfg(test)]
        tests::check_cloexec(self.0);
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

/// Whether the kernel rewrites the identifier and filters replies by it.
pub(crate) const fn kernel_ident(kind: Kind) -> bool {
    cfg!(any(target_os = "linux", target_os = "android")) && matches!(kind, Kind::Dgram)
}

/// `socket(2)`, close-on-exec: `SOCK_CLOEXEC` where it exists (atomic with
/// the creation, so a concurrent `fork` + `exec` never inherits it),
/// `FD_CLOEXEC` right after it on macOS. Every socket of the backend is
/// opened here. `Err(errno)` on failure.
fn socket(domain: c_int, ty: c_int, proto: c_int) -> Result<Fd, c_int> {
    #[cfg(not(target_vendor = "apple"))]
    let ty = ty | libc::SOCK_CLOEXEC;
    // SAFETY: plain socket(2) call.
    let fd = unsafe { libc::socket(domain, ty, proto) };
    if fd < 0 {
        return Err(errno());
    }
    #[cfg(target_vendor = "apple")]
    // SAFETY: fd is ours.
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC)
    };
    Ok(Fd(fd))
}

/// Whether `src` is an address of this host (in the calling thread's
/// network namespace): a UDP socket can bind to it. Windows refuses a
/// source that is not the host's at the call with `ERROR_INVALID_NETNAME`
/// (Wine's conformance tests: tests/conformance.rs,
/// `netns_silent_wt_echo2ex_source_not_local`,
/// `netns_silent_wt_icmp6_source_not_local`); only `EADDRNOTAVAIL` says no:
/// any other failure (no descriptor left, a link-local address without its
/// scope) says yes and leaves the send to fail its own way.
pub(crate) fn is_local_address(v6: bool, src: &[u8; 16], scope_id: u32) -> bool {
    let domain = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    let Ok(fd) = socket(domain, libc::SOCK_DGRAM, 0) else {
        return true;
    };
    let (sa, len) = sockaddr(v6, src, scope_id);
    // SAFETY: sa is a valid sockaddr of len bytes; fd is ours.
    let bound = unsafe { libc::bind(fd.0, (&sa as *const libc::sockaddr_storage).cast(), len) };
    bound == 0 || errno() != libc::EADDRNOTAVAIL
}

/// Opens an ICMP socket; `Err(errno)` on failure.
pub(crate) fn open(v6: bool, kind: Kind) -> Result<Fd, c_int> {
    let (domain, proto) = if v6 {
        (libc::AF_INET6, libc::IPPROTO_ICMPV6)
    } else {
        (libc::AF_INET, libc::IPPROTO_ICMP)
    };
    let ty = match kind {
        Kind::Dgram => libc::SOCK_DGRAM,
        Kind::Raw => libc::SOCK_RAW,
    };
    socket(domain, ty, proto)
}

/// Whether IPv6 sockets can be created at all (for `Icmp6CreateFile`).
pub(crate) fn ipv6_available() -> bool {
    match socket(libc::AF_INET6, libc::SOCK_DGRAM, 0) {
        Ok(_fd) => true,
        Err(e) => e != libc::EAFNOSUPPORT,
    }
}

/// `setsockopt(2)` with `len` bytes at `val`; whether it succeeded.
///
/// # Safety
/// `val` must be readable for `len` bytes.
pub(crate) unsafe fn setsockopt_bytes(
    fd: &Fd,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: usize,
) -> bool {
    // SAFETY: val points to len readable bytes (the contract).
    unsafe { libc::setsockopt(fd.0, level, name, val, len as socklen_t) == 0 }
}

pub(crate) fn setsockopt_int(fd: &Fd, level: c_int, name: c_int, val: c_int) -> bool {
    // SAFETY: a local int, readable for its size.
    unsafe {
        setsockopt_bytes(
            fd,
            level,
            name,
            (&val as *const c_int).cast(),
            size_of::<c_int>(),
        )
    }
}

/// A request, validated by the API layer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Request<'a> {
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// Destination bytes (IPv4 in the first 4).
    pub dst: [u8; 16],
    /// IPv6 destination scope.
    pub scope_id: u32,
    /// Source to bind, if any.
    pub src: Option<[u8; 16]>,
    /// The echo data.
    pub payload: &'a [u8],
    /// TTL / hop limit; 0 = the default.
    pub ttl: u8,
    /// TOS / traffic class; 0 = the default.
    pub tos: u8,
    /// `IP_FLAG_DF`.
    pub df: bool,
    /// IPv4 options (RFC 791 wire format, ≤ 40 bytes).
    pub options: &'a [u8],
    /// Timeout, ms.
    pub timeout_ms: u32,
}

/// Nanoseconds on the monotonic clock.
pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// The next (identifier, sequence) for our own identifiers (raw sockets,
/// macOS): sequence = a process-wide counter's low 16 bits, identifier =
/// this process's base + the counter's high bits, so two requests of one
/// process never share both within 2^32 requests.
///
/// The base is derived from the process id (an odd multiple: distinct pids
/// modulo 2^16 get distinct, far-apart bases) and derived again when the pid
/// changes, i.e. in a child after `fork`, which inherits the counter: a
/// parent and its child never put the same pair on the wire (the child's
/// base also differs from the parent's when their pids agree modulo 2^16).
fn next_id_seq() -> (u16, u16) {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    /// `pid << 16 | base` of the process that derived its base; 0 before the
    /// first request.
    static BASE: AtomicU64 = AtomicU64::new(0);
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() } as u32;
    let cur = BASE.load(Ordering::Relaxed);
    let base = if cur != 0 && (cur >> 16) as u32 == pid {
        cur as u16
    } else {
        // The first request of this process, or the first since a fork.
        // Threads racing here compute the same value.
        let mut base = (pid as u16).wrapping_mul(0x9e37);
        if cur != 0 && base == cur as u16 {
            base ^= 0x8000;
        }
        BASE.store((u64::from(pid) << 16) | u64::from(base), Ordering::Relaxed);
        base
    };
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    (base.wrapping_add((n >> 16) as u16), n as u16)
}

pub(crate) fn sockaddr(
    v6: bool,
    addr: &[u8; 16],
    scope_id: u32,
) -> (libc::sockaddr_storage, socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
    if v6 {
        // SAFETY: sockaddr_storage is larger and more aligned than sockaddr_in6.
        let sa =
            unsafe { &mut *(&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
        sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        sa.sin6_addr.s6_addr = *addr;
        sa.sin6_scope_id = scope_id;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            sa.sin6_len = size_of::<libc::sockaddr_in6>() as u8;
        }
        (ss, size_of::<libc::sockaddr_in6>() as socklen_t)
    } else {
        // SAFETY: as above, for sockaddr_in.
        let sa =
            unsafe { &mut *(&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_addr.s_addr = u32::from_ne_bytes([addr[0], addr[1], addr[2], addr[3]]);
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            sa.sin_len = size_of::<libc::sockaddr_in>() as u8;
        }
        (ss, size_of::<libc::sockaddr_in>() as socklen_t)
    }
}

/// The address bytes of a received `sockaddr` (IPv4 in the first 4), or
/// `None` for another family.
///
/// # Safety
/// `sa` must point to at least `max(len, size_of::<sockaddr>())`
/// initialised bytes, aligned for `sockaddr_storage` (a `sockaddr_storage`
/// filled by the kernel, `len` its length).
unsafe fn address_of(sa: *const u8, len: usize) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    // SAFETY: per the contract; each cast is read only when `len` covers it.
    unsafe {
        let family = c_int::from((*sa.cast::<libc::sockaddr>()).sa_family);
        if family == libc::AF_INET && len >= size_of::<libc::sockaddr_in>() {
            let a = (*sa.cast::<libc::sockaddr_in>())
                .sin_addr
                .s_addr
                .to_ne_bytes();
            out[..4].copy_from_slice(&a);
            Some(out)
        } else if family == libc::AF_INET6 && len >= size_of::<libc::sockaddr_in6>() {
            out = (*sa.cast::<libc::sockaddr_in6>()).sin6_addr.s6_addr;
            Some(out)
        } else {
            None
        }
    }
}

/// Whether `r` has a loopback source (127.0.0.0/8, `::1`) and a destination
/// outside the host. Windows sends with the strong host model (a packet
/// leaves only through the interface of its source, and the loopback
/// interface has no route out): such a request fails with
/// `IP_DEST_NET_UNREACHABLE`. Linux refuses the IPv4 route with `EINVAL`
/// but sends IPv6 from `::1`: [`send_echo`] refuses both itself.
fn loopback_source_to_outside(r: &Request<'_>) -> bool {
    let loopback = |a: &[u8; 16]| {
        if r.v6 {
            a[..15] == [0; 15] && a[15] == 1
        } else {
            a[0] == 127
        }
    };
    r.src.as_ref().is_some_and(loopback) && !loopback(&r.dst)
}

/// The `IP_STATUS` of request `r`'s failed `sendmsg` (reference §7.4,
/// non-ICMP outcomes); a loopback source to an address outside the host
/// (`EINVAL`, [`loopback_source_to_outside`]): `IP_DEST_NET_UNREACHABLE`,
/// as for any missing route (`ENETUNREACH`).
pub(crate) fn map_send_errno(e: c_int, r: &Request<'_>) -> IP_STATUS {
    match e {
        // EHOSTDOWN: macOS and FreeBSD, a host on the link that did not
        // answer ARP (for 20 s after: FreeBSD `arpresolve`, xnu's route
        // check).
        libc::EHOSTUNREACH | libc::EHOSTDOWN => IP_DEST_HOST_UNREACHABLE,
        libc::ENETUNREACH => IP_DEST_NET_UNREACHABLE,
        libc::EINVAL if loopback_source_to_outside(r) => IP_DEST_NET_UNREACHABLE,
        libc::EMSGSIZE if r.df => IP_PACKET_TOO_BIG,
        libc::ENOBUFS | libc::ENOMEM => IP_NO_RESOURCES,
        _ => IP_GENERAL_FAILURE,
    }
}

/// Attaches a classic BPF filter to a Linux raw socket that drops the echo
/// replies of other requests (identifier and sequence differ), so that
/// concurrent large replies cannot fill this socket's receive queue and
/// crowd out ours. Errors (other types) pass. Best effort: matching in
/// user space stays the rule. `seq` `None`: every echo reply with
/// identifier `id` passes (a socket shared by many requests).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn attach_reply_filter(fd: &Fd, v6: bool, id: u16, seq: Option<u16>) {
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const LD_W_IND: u16 = 0x40; // BPF_LD | BPF_W | BPF_IND
    const LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
    const LD_B_IND: u16 = 0x50; // BPF_LD | BPF_B | BPF_IND
    const LDX_B_MSH: u16 = 0xb1; // BPF_LDX | BPF_B | BPF_MSH
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const SO_ATTACH_FILTER: c_int = 26;
    let f = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    const LD_H_ABS: u16 = 0x28; // BPF_LD | BPF_H | BPF_ABS
    const LD_H_IND: u16 = 0x48; // BPF_LD | BPF_H | BPF_IND
    let (ld_abs, ld_ind, idseq) = match seq {
        Some(seq) => (LD_W_ABS, LD_W_IND, (u32::from(id) << 16) | u32::from(seq)),
        None => (LD_H_ABS, LD_H_IND, u32::from(id)),
    };
    let mut prog = if v6 {
        // The ICMPv6 message starts at 0.
        [
            f(ld_abs, 0, 0, 4),
            f(JEQ_K, 3, 0, idseq),
            f(LD_B_ABS, 0, 0, 0),
            f(JEQ_K, 2, 1, u32::from(reply::ICMP6_ECHO_REPLY)),
            f(RET_K, 0, 0, 0),
            f(RET_K, 0, 0, u32::MAX),
            f(RET_K, 0, 0, 0),
        ]
    } else {
        // X = IPv4 header length; the ICMP message starts at X.
        [
            f(LDX_B_MSH, 0, 0, 0),
            f(ld_ind, 0, 0, 4),
            f(JEQ_K, 3, 0, idseq),
            f(LD_B_IND, 0, 0, 0),
            f(JEQ_K, 0, 1, u32::from(reply::ICMP_ECHOREPLY)),
            f(RET_K, 0, 0, 0),
            f(RET_K, 0, 0, u32::MAX),
        ]
    };
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: a local sock_fprog whose filter points to `prog`, both alive
    // for the call (the kernel copies the program).
    unsafe {
        setsockopt_bytes(
            fd,
            libc::SOL_SOCKET,
            SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            size_of::<libc::sock_fprog>(),
        )
    };
}

/// Discards what a raw socket queued before its filters were attached
/// (other requests' traffic). Without this, a burst received while the
/// thread was descheduled between `socket()` and the filter can fill the
/// receive buffer, and our reply is dropped on arrival (observed on Linux
/// with 8 threads echoing on loopback). Bounded.
pub(crate) fn drain(fd: &Fd) {
    let mut b = [0u8; 1];
    for _ in 0..4096 {
        // SAFETY: a 1-byte buffer; longer datagrams are truncated (discarded).
        let n = unsafe { libc::recv(fd.0, b.as_mut_ptr().cast(), 1, libc::MSG_DONTWAIT) };
        if n < 0 {
            break;
        }
    }
}

/// The (level, TTL option, TOS option) of a family's sockets.
pub(crate) fn ttl_tos_names(v6: bool) -> (c_int, c_int, c_int) {
    if v6 {
        (
            libc::IPPROTO_IPV6,
            libc::IPV6_UNICAST_HOPS,
            libc::IPV6_TCLASS,
        )
    } else {
        (libc::IPPROTO_IP, libc::IP_TTL, libc::IP_TOS)
    }
}

/// The receive side of a socket (Linux; elsewhere nothing to set): ping
/// sockets queue ICMP errors (`IP_RECVERR`) and report the reply's TTL,
/// TOS and (`recv_opts`) IP options; raw sockets pass only echo replies and
/// errors (`ICMP_FILTER` / `ICMP6_FILTER`) and, in the kernel, only the echo
/// replies with identifier `id` (and sequence `seq`, if given) — unless
/// `kernel_filters` is off: then a raw socket receives every ICMP message
/// of the host, as a BSD raw socket always does.
#[cfg_attr(
    not(any(target_os = "linux", target_os = "android")),
    allow(unused_variables)
)]
pub(crate) fn receive_setup(
    fd: &Fd,
    v6: bool,
    kind: Kind,
    id: u16,
    seq: Option<u16>,
    recv_opts: bool,
) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    match (v6, kind) {
        (true, Kind::Dgram) => {
            setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVERR, 1);
        }
        (_, Kind::Raw) if !kernel_filters() => {}
        (true, Kind::Raw) => {
            // ICMP6_FILTER: a set bit blocks the type. Pass errors and
            // echo replies only.
            let mut f = [u32::MAX; 8];
            for t in [1u8, 2, 3, 4, reply::ICMP6_ECHO_REPLY] {
                f[usize::from(t >> 5)] &= !(1 << (t & 31));
            }
            // SAFETY: a local [u32; 8], readable for its size.
            unsafe {
                setsockopt_bytes(
                    fd,
                    libc::IPPROTO_ICMPV6,
                    1,
                    f.as_ptr().cast(),
                    size_of::<[u32; 8]>(),
                )
            };
            attach_reply_filter(fd, true, id, seq);
        }
        (false, Kind::Dgram) => {
            use libc::IPPROTO_IP as L;
            setsockopt_int(fd, L, libc::IP_RECVERR, 1);
            setsockopt_int(fd, L, libc::IP_RECVTTL, 1);
            setsockopt_int(fd, L, libc::IP_RECVTOS, 1);
            if recv_opts {
                setsockopt_int(fd, L, libc::IP_RECVOPTS, 1);
            }
        }
        (false, Kind::Raw) => {
            // ICMP_FILTER (SOL_RAW 255, option 1): a set bit blocks the
            // type. Pass echo reply, unreachable, quench, time exceeded,
            // parameter problem.
            let pass: u32 = (1 << 0) | (1 << 3) | (1 << 4) | (1 << 11) | (1 << 12);
            let mask = !pass;
            // SAFETY: a local u32, readable for 4 bytes.
            unsafe { setsockopt_bytes(fd, 255, 1, (&mask as *const u32).cast(), 4) };
            attach_reply_filter(fd, false, id, seq);
        }
    }
}

/// Whether `fd`'s requests carry don't-fragment: IPv6 `IPV6_DONTFRAG`;
/// IPv4 on Linux path-MTU discovery "do" or "don't" (so the kernel never
/// sets DF on its own: Windows sends without DF unless `IP_FLAG_DF`),
/// elsewhere `IP_DONTFRAG`. Whether the kernel took it (see
/// [`df_applied`]).
pub(crate) fn set_df(fd: &Fd, v6: bool, df: bool) -> bool {
    if v6 {
        return setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_DONTFRAG, df.into());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return setsockopt_int(
        fd,
        libc::IPPROTO_IP,
        libc::IP_MTU_DISCOVER,
        if df {
            libc::IP_PMTUDISC_DO
        } else {
            libc::IP_PMTUDISC_DONT
        },
    );
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    return setsockopt_int(fd, libc::IPPROTO_IP, libc::IP_DONTFRAG, df.into());
}

/// Sets `fd`'s IPv4 options (`IP_OPTIONS`; empty: none).
/// `Err(IP_BAD_OPTION)` when the kernel refuses them.
pub(crate) fn set_ip_options(fd: &Fd, options: &[u8]) -> Result<(), IP_STATUS> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const IP_OPTIONS: c_int = libc::IP_OPTIONS;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const IP_OPTIONS: c_int = 1;
    // SAFETY: the options slice, readable for its length.
    if unsafe {
        setsockopt_bytes(
            fd,
            libc::IPPROTO_IP,
            IP_OPTIONS,
            options.as_ptr().cast(),
            options.len(),
        )
    } {
        Ok(())
    } else {
        Err(IP_BAD_OPTION)
    }
}

/// Sets the request's socket options. `Err(status)` when the options are
/// refused.
fn configure(fd: &Fd, kind: Kind, r: &Request<'_>, id: u16, seq: u16) -> Result<(), IP_STATUS> {
    let _ = (kind, id, seq);
    let (level, ttl_name, tos_name) = ttl_tos_names(r.v6);
    if r.ttl != 0 && !setsockopt_int(fd, level, ttl_name, r.ttl.into()) {
        return Err(IP_GENERAL_FAILURE);
    }
    if r.tos != 0 && !setsockopt_int(fd, level, tos_name, r.tos.into()) {
        return Err(IP_GENERAL_FAILURE);
    }
    df_applied(set_df(fd, r.v6, r.df), r.df)?;
    let ip_options = !r.v6 && !r.options.is_empty();
    if ip_options {
        set_ip_options(fd, r.options)?;
    }
    receive_setup(fd, r.v6, kind, id, Some(seq), ip_options);
    if let Some(src) = r.src {
        let (sa, len) = sockaddr(r.v6, &src, if r.v6 { r.scope_id } else { 0 });
        // SAFETY: sa is a valid sockaddr of len bytes.
        if unsafe { libc::bind(fd.0, (&sa as *const libc::sockaddr_storage).cast(), len) } != 0 {
            return Err(IP_GENERAL_FAILURE);
        }
    }
    Ok(())
}

/// Receive buffer: the largest IP datagram plus slack.
pub(crate) const RX_LEN: usize = 65536 + 64;

/// The small receive buffer, used when every message about the request fits
/// in it (see [`RX_OVERHEAD`]), so that ordinary echoes need a few KiB of
/// stack rather than 64 KiB.
const RX_SMALL: usize = 4096;

/// The most a message about a request adds to its data: an ICMPv4 error
/// quoting the whole request, i.e. two IPv4 headers of the maximum 60 bytes,
/// each with an 8-byte ICMP header (an echo reply adds at most 68). ICMPv6
/// errors never exceed 1232 bytes (RFC 4443 §2.4: the packet stays within
/// the minimum MTU), nor, with RFC 4884 extensions, ICMPv4 errors 576.
/// Longer messages cannot be about the request: received truncated, they
/// are skipped.
const RX_OVERHEAD: usize = 2 * (60 + 8);

#[repr(C, align(8))]
struct Control([u8; 512]);

/// One received message's facts.
pub(crate) struct Received {
    pub(crate) len: usize,
    pub(crate) truncated: bool,
    pub(crate) from: Option<[u8; 16]>,
    pub(crate) ttl: u8,
    pub(crate) tos: u8,
    pub(crate) options: [u8; 40],
    pub(crate) options_len: u8,
    /// An error-queue message: (origin, type, code, errno, offender).
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub(crate) queued: Option<(u8, u8, u8, u32, [u8; 16])>,
    /// When the kernel received it (`CLOCK_REALTIME`, ns), on sockets with
    /// [`enable_timestamps`].
    pub(crate) arrival: Option<u64>,
}

/// Asks the kernel to stamp every received message (error-queue messages
/// included, Linux) with its arrival time ([`Received::arrival`]):
/// `SO_TIMESTAMPNS` on Linux, `SO_TIMESTAMP` (µs) elsewhere. The engine's
/// shared sockets: a request is decided by when its answer arrived.
pub(crate) fn enable_timestamps(fd: &Fd) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMP, 1);
}

/// Nanoseconds on `CLOCK_REALTIME` (the clock of [`Received::arrival`]).
pub(crate) fn realtime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// `recvmsg` into `rx` with `flags`; `Err(errno)` on failure.
pub(crate) fn receive<const N: usize>(
    fd: &Fd,
    rx: &mut MaybeUninit<[u8; N]>,
    flags: c_int,
) -> Result<Received, c_int> {
    // SAFETY: all-zero is a valid sockaddr_storage / msghdr.
    let mut name: libc::sockaddr_storage = unsafe { zeroed() };
    let mut control = Control([0; 512]);
    let mut iov = libc::iovec {
        iov_base: rx.as_mut_ptr().cast(),
        iov_len: N,
    };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<Control>() as _;
    // SAFETY: every pointer in msg is valid for its length.
    let n = unsafe { libc::recvmsg(fd.0, &mut msg, flags) };
    if n < 0 {
        return Err(errno());
    }
    let mut r = Received {
        len: n as usize,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        // SAFETY: `name` is a zero-initialised sockaddr_storage the kernel
        // filled, msg_namelen its length.
        from: unsafe {
            address_of(
                (&name as *const libc::sockaddr_storage).cast(),
                msg.msg_namelen as usize,
            )
        },
        ttl: 0,
        tos: 0,
        options: [0; 40],
        options_len: 0,
        queued: None,
        arrival: None,
    };
    // SAFETY: the CMSG_* walk stays inside msg_control as the kernel filled
    // it (msg_controllen updated by recvmsg); data is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let level = (*c).cmsg_level;
            let ty = (*c).cmsg_type;
            let data = libc::CMSG_DATA(c);
            let data_len = ((*c).cmsg_len as usize).saturating_sub(data as usize - c as usize);
            read_cmsg(&mut r, level, ty, data, data_len);
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(r)
}

/// Reads one control message into `r`.
///
/// # Safety
/// `data` must be readable for `len` bytes.
unsafe fn read_cmsg(r: &mut Received, level: c_int, ty: c_int, data: *const u8, len: usize) {
    // SAFETY: per the contract.
    let bytes = unsafe { core::slice::from_raw_parts(data, len) };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if level == libc::SOL_SOCKET
        && ty == libc::SCM_TIMESTAMPNS
        && len >= size_of::<libc::timespec>()
    {
        // SAFETY: a timespec's bytes, read unaligned.
        let t = unsafe { data.cast::<libc::timespec>().read_unaligned() };
        r.arrival = Some(
            (t.tv_sec as u64)
                .wrapping_mul(1_000_000_000)
                .wrapping_add(t.tv_nsec as u64),
        );
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    if level == libc::SOL_SOCKET && ty == libc::SCM_TIMESTAMP && len >= size_of::<libc::timeval>() {
        // SAFETY: a timeval's bytes, read unaligned.
        let t = unsafe { data.cast::<libc::timeval>().read_unaligned() };
        r.arrival = Some(
            (t.tv_sec as u64)
                .wrapping_mul(1_000_000_000)
                .wrapping_add((t.tv_usec as u64).wrapping_mul(1000)),
        );
    }
    if level == libc::IPPROTO_IP
        && (ty == libc::IP_TTL || ty == libc::IP_RECVTTL)
        && !bytes.is_empty()
    {
        // Linux: an int; BSD IP_RECVTTL: a u_char.
        r.ttl = if bytes.len() >= 4 {
            c_int::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as u8
        } else {
            bytes[0]
        };
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if level == libc::IPPROTO_IP {
        if ty == libc::IP_TOS && !bytes.is_empty() {
            r.tos = bytes[0];
        }
        if ty == libc::IP_RECVOPTS || ty == libc::IP_OPTIONS {
            let n = bytes.len().min(40);
            r.options[..n].copy_from_slice(&bytes[..n]);
            r.options_len = n as u8;
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if (level == libc::IPPROTO_IP && ty == libc::IP_RECVERR)
        || (level == libc::IPPROTO_IPV6 && ty == libc::IPV6_RECVERR)
    {
        let ee_len = size_of::<libc::sock_extended_err>();
        if bytes.len() >= ee_len {
            // SAFETY: ee_len bytes are readable.
            let ee: libc::sock_extended_err =
                unsafe { data.cast::<libc::sock_extended_err>().read_unaligned() };
            // The offender sockaddr follows (SO_EE_OFFENDER); copy it to an
            // aligned buffer before reading it.
            let mut off: libc::sockaddr_storage = unsafe { zeroed() };
            let off_len = (bytes.len() - ee_len).min(size_of::<libc::sockaddr_storage>());
            // SAFETY: off_len bytes are readable after ee and fit in off.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    data.add(ee_len),
                    (&mut off as *mut libc::sockaddr_storage).cast(),
                    off_len,
                )
            };
            // SAFETY: `off` is a zero-initialised sockaddr_storage, its first
            // off_len bytes copied from the cmsg.
            let offender =
                unsafe { address_of((&off as *const libc::sockaddr_storage).cast(), off_len) }
                    .unwrap_or([0; 16]);
            r.queued = Some((ee.ee_origin, ee.ee_type, ee.ee_code, ee.ee_errno, offender));
        }
    }
}

pub(crate) fn elapsed_ms(t0: u64) -> u32 {
    (now_ns().saturating_sub(t0) / 1_000_000).min(u64::from(u32::MAX)) as u32
}

/// Drains the error queue (Linux ping sockets); the first queued error about
/// our request, if any.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn drain_errqueue<const N: usize>(
    fd: &Fd,
    rx: &mut MaybeUninit<[u8; N]>,
    r: &Request<'_>,
    e: &Expect<'_>,
    t0: u64,
) -> Option<Outcome> {
    for _ in 0..64 {
        let Ok(m) = receive(fd, rx, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) else {
            return None;
        };
        // SAFETY: the kernel initialised the first m.len bytes.
        let quoted = unsafe { core::slice::from_raw_parts(rx.as_ptr().cast::<u8>(), m.len) };
        if let Some(out) = queued_outcome(&m, quoted, r.v6, e, elapsed_ms(t0)) {
            return Some(out);
        }
    }
    None
}

/// The outcome an error-queue message `m` (its data: `quoted`) gives
/// request `e` (`None`: not about it, or to be ignored), with the round
/// trip so far.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn queued_outcome(
    m: &Received,
    quoted: &[u8],
    v6: bool,
    e: &Expect<'_>,
    rtt: u32,
) -> Option<Outcome> {
    let (origin, icmp_type, code, ee_errno, offender) = m.queued?;
    let dst_len = if v6 { 16 } else { 4 };
    let dst = m.from.as_ref().map_or(&[][..], |a| &a[..dst_len]);
    let q = QueuedError {
        errno: ee_errno,
        origin,
        icmp_type,
        code,
        dst,
        quoted,
    };
    let status = reply::classify_queued(&q, v6, libc::EMSGSIZE as u32, e)?;
    Some(Outcome::Error {
        status,
        from: offender,
        rtt,
        ttl: m.ttl,
    })
}

/// The sender and IP header fields of a received packet, as a reply
/// reports them.
pub(crate) struct Header {
    pub(crate) from: [u8; 16],
    pub(crate) ttl: u8,
    pub(crate) tos: u8,
    pub(crate) options: [u8; 40],
    pub(crate) options_len: u8,
}

/// Classifies a received packet for request `e`, with the fields of its IP
/// header: from the control messages and `msg_name` where the kernel strips
/// the header (IPv6, Linux ping sockets), from the header itself otherwise
/// (IPv4 raw, macOS/BSD). `None` when it cannot be ours (no sender, not an
/// IPv4 ICMP datagram, a wrong ICMP checksum).
pub(crate) fn classify<'a>(
    pkt: &'a [u8],
    m: &Received,
    v6: bool,
    kernel_ident: bool,
    e: &Expect<'_>,
) -> Option<(Classified<'a>, Header)> {
    if v6 || kernel_ident {
        let from = m.from?;
        let h = Header {
            from,
            ttl: m.ttl,
            tos: m.tos,
            // IPv6 has no IP options to report.
            options: if v6 { [0; 40] } else { m.options },
            options_len: if v6 { 0 } else { m.options_len },
        };
        let c = if v6 {
            reply::classify6(pkt, from, e)
        } else {
            reply::classify4(pkt, [from[0], from[1], from[2], from[3]], e)
        };
        return Some((c, h));
    }
    let p = reply::split_ipv4(pkt)?;
    // A raw IPv4 socket gets every ICMP message unchecked (Linux checks the
    // ICMP checksum of what it gives ping sockets and of all ICMPv6, never
    // of what it gives raw IPv4 sockets): a message whose checksum is wrong
    // is nobody's reply or error.
    if reply::checksum(p.payload, &[]) != 0 {
        return None;
    }
    let mut h = Header {
        from: [0; 16],
        ttl: p.ttl,
        tos: p.tos,
        options: [0; 40],
        options_len: 0,
    };
    h.from[..4].copy_from_slice(&p.src);
    let n = p.options.len().min(40);
    h.options[..n].copy_from_slice(&p.options[..n]);
    h.options_len = n as u8;
    Some((reply::classify4(p.payload, p.src, e), h))
}

#[repr(C, align(8))]
struct SendControl([u8; 64]);

/// Sends a request's echo request (identifier `ident` unless the kernel
/// sets it, sequence `seq`) on `fd` in one `sendmsg`, from the caller's
/// data (no copy); `Err(errno)`. With `pktinfo` (Linux), the request's
/// source address travels in an `IP_PKTINFO` / `IPV6_PKTINFO` control
/// message (a socket shared by many requests cannot bind to it).
pub(crate) fn send_echo(
    fd: c_int,
    kind: Kind,
    r: &Request<'_>,
    ident: u16,
    seq: u16,
    pktinfo: bool,
) -> Result<(), c_int> {
    if loopback_source_to_outside(r) {
        // What Linux answers for IPv4 (mapped by `map_send_errno`); IPv6
        // and the BSDs' kernels would send it from the loopback address.
        return Err(libc::EINVAL);
    }
    let kernel_ident = kernel_ident(kind);
    let request_type = if r.v6 {
        reply::ICMP6_ECHO_REQUEST
    } else {
        reply::ICMP_ECHO
    };
    let header = reply::echo_header(request_type, ident, seq, r.payload, !r.v6 && !kernel_ident);
    let (dst_sa, dst_len) = sockaddr(r.v6, &r.dst, r.scope_id);
    let mut iov = [
        libc::iovec {
            iov_base: header.as_ptr() as *mut c_void,
            iov_len: header.len(),
        },
        libc::iovec {
            iov_base: r.payload.as_ptr() as *mut c_void,
            iov_len: r.payload.len(),
        },
    ];
    // SAFETY: all-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&dst_sa as *const libc::sockaddr_storage) as *mut c_void;
    msg.msg_namelen = dst_len;
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = if r.payload.is_empty() { 1 } else { 2 };
    let mut control = SendControl([0; 64]);
    // The source address of this packet only (the socket is shared):
    // IPV6_PKTINFO everywhere (RFC 3542), IP_PKTINFO on Linux (the BSDs
    // refuse such a request at the call: `async_source_refused`).
    if let Some(src) = r
        .src
        .filter(|_| pktinfo && (r.v6 || Kernel::HOST == Kernel::Linux))
    {
        msg.msg_control = control.0.as_mut_ptr().cast();
        // SAFETY: CMSG_* over our aligned 64-byte buffer, which holds one
        // in_pktinfo / in6_pktinfo control message (at most 48 bytes).
        unsafe {
            if r.v6 {
                let len = size_of::<libc::in6_pktinfo>() as u32;
                msg.msg_controllen = libc::CMSG_SPACE(len) as _;
                let c = libc::CMSG_FIRSTHDR(&msg);
                (*c).cmsg_level = libc::IPPROTO_IPV6;
                (*c).cmsg_type = libc::IPV6_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(len) as _;
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr { s6_addr: src },
                    ipi6_ifindex: 0,
                };
                libc::CMSG_DATA(c)
                    .cast::<libc::in6_pktinfo>()
                    .write_unaligned(info);
            } else {
                #[cfg(any(target_os = "linux", target_os = "android"))]
                {
                    let len = size_of::<libc::in_pktinfo>() as u32;
                    msg.msg_controllen = libc::CMSG_SPACE(len) as _;
                    let c = libc::CMSG_FIRSTHDR(&msg);
                    (*c).cmsg_level = libc::IPPROTO_IP;
                    (*c).cmsg_type = libc::IP_PKTINFO;
                    (*c).cmsg_len = libc::CMSG_LEN(len) as _;
                    let a = libc::in_addr {
                        s_addr: u32::from_ne_bytes([src[0], src[1], src[2], src[3]]),
                    };
                    let info = libc::in_pktinfo {
                        ipi_ifindex: 0,
                        ipi_spec_dst: a,
                        ipi_addr: libc::in_addr { s_addr: 0 },
                    };
                    libc::CMSG_DATA(c)
                        .cast::<libc::in_pktinfo>()
                        .write_unaligned(info);
                }
            }
        }
    }
    let _ = (&mut control, pktinfo);
    // Retried when a signal interrupts it, as poll and recvmsg are.
    loop {
        // SAFETY: msg's pointers are valid; sendmsg only reads through them.
        if unsafe { sendmsg(fd, &msg) } >= 0 {
            return Ok(());
        }
        let e = errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

/// `sendmsg(2)` with no flags (tests can make it fail with `EINTR`).
///
/// # Safety
/// `msg`'s pointers must be valid for `sendmsg`.
unsafe fn sendmsg(fd: c_int, msg: &libc::msghdr) -> isize {
    #[cfg(test)]
    if tests::inject_eintr() {
        return -1;
    }
    // SAFETY: per the contract.
    unsafe { libc::sendmsg(fd, msg, 0) }
}

/// Sends one echo on a socket of its own (opened for this request) and
/// waits for its reply or error: sets the request's options, drains what
/// a raw socket queued before its filter, sends with the next process-wide
/// (identifier, sequence), then [`wait_reply`].
pub(crate) fn echo(fd: &Fd, kind: Kind, r: &Request<'_>) -> Outcome {
    let (id, seq) = next_id_seq();
    if let Err(status) = configure(fd, kind, r, id, seq) {
        return Outcome::Fail(status);
    }
    if !kernel_ident(kind) {
        drain(fd);
    }
    if let Err(e) = send_echo(fd.0, kind, r, id, seq, false) {
        return Outcome::Fail(map_send_errno(e, r));
    }
    wait_reply(fd, kind, r, id, seq)
}

/// Waits for the reply or error of the echo just sent on `fd` (identifier
/// `id` unless the kernel sets it, sequence `seq`), at most `r.timeout_ms`
/// on the monotonic clock from now; what else arrives is read and ignored.
/// The receive buffer is on the stack: [`RX_SMALL`] bytes when the
/// request's messages fit in it, else [`RX_LEN`].
pub(crate) fn wait_reply(fd: &Fd, kind: Kind, r: &Request<'_>, id: u16, seq: u16) -> Outcome {
    if r.payload.len() + RX_OVERHEAD <= RX_SMALL {
        wait_with::<RX_SMALL>(fd, kind, r, id, seq)
    } else {
        wait_with::<RX_LEN>(fd, kind, r, id, seq)
    }
}

/// [`wait_reply`] with an `N`-byte receive buffer. Never inlined: each size
/// keeps its own stack frame, so a small request never reserves the large
/// buffer.
#[inline(never)]
fn wait_with<const N: usize>(fd: &Fd, kind: Kind, r: &Request<'_>, id: u16, seq: u16) -> Outcome {
    let kernel_ident = kernel_ident(kind);
    let t0 = now_ns();
    let deadline = t0.saturating_add(u64::from(r.timeout_ms) * 1_000_000);
    let dst_len = if r.v6 { 16 } else { 4 };
    let e = Expect {
        dst: &r.dst[..dst_len],
        id: if kernel_ident { None } else { Some(id) },
        seq,
        payload: r.payload,
    };
    let mut rx = MaybeUninit::<[u8; N]>::uninit();
    let mut first = true;
    loop {
        let now = now_ns();
        if now >= deadline && !first {
            return Outcome::Fail(IP_REQ_TIMED_OUT);
        }
        first = false;
        let wait_ms = deadline
            .saturating_sub(now)
            .div_ceil(1_000_000)
            .min(i32::MAX as u64) as c_int;
        let mut pfd = libc::pollfd {
            fd: fd.0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, wait_ms) };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return Outcome::Fail(IP_GENERAL_FAILURE);
        }
        if n == 0 {
            continue; // the deadline check above ends the loop
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if pfd.revents & libc::POLLERR != 0 {
            if let Some(out) = drain_errqueue(fd, &mut rx, r, &e, t0) {
                return out;
            }
        }
        if pfd.revents & libc::POLLIN == 0 {
            continue;
        }
        let m = match receive(fd, &mut rx, libc::MSG_DONTWAIT) {
            Ok(m) => m,
            Err(err) if err == libc::EAGAIN || err == libc::EINTR => continue,
            Err(_err) => {
                // Linux reports ICMP errors as recv errnos too: read the queue.
                #[cfg(any(target_os = "linux", target_os = "android"))]
                if let Some(out) = drain_errqueue(fd, &mut rx, r, &e, t0) {
                    return out;
                }
                continue;
            }
        };
        if m.truncated {
            continue;
        }
        // SAFETY: the kernel initialised the first m.len bytes.
        let pkt = unsafe { core::slice::from_raw_parts(rx.as_ptr().cast::<u8>(), m.len) };
        let rtt = elapsed_ms(t0);
        let Some((classified, h)) = classify(pkt, &m, r.v6, kernel_ident, &e) else {
            continue;
        };
        if let Some(out) = outcome(classified, &h, rtt) {
            return out;
        }
    }
}

/// The outcome a classified message gives its request (`None`: not about
/// it), with the fields of its header and the round trip so far.
pub(crate) fn outcome(c: Classified<'_>, h: &Header, rtt: u32) -> Option<Outcome> {
    match c {
        Classified::Reply(_) => Some(Outcome::Echo {
            from: h.from,
            rtt,
            ttl: h.ttl,
            tos: h.tos,
            options: h.options,
            options_len: h.options_len,
        }),
        Classified::Error(status) => Some(Outcome::Error {
            status,
            from: h.from,
            rtt,
            ttl: h.ttl,
        }),
        Classified::Ignore => None,
    }
}

// ---------------------------------------------------------------------------
// Errors, handle descriptors and socket choice (both paths)
// ---------------------------------------------------------------------------

/// The location of the calling thread's `errno`.
pub(crate) fn errno_location() -> *mut libc::c_int {
    #[cfg(target_os = "linux")]
    // SAFETY: no preconditions.
    return unsafe { libc::__errno_location() };
    #[cfg(target_os = "android")]
    // SAFETY: no preconditions.
    return unsafe { libc::__errno() };
    #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
    // SAFETY: no preconditions.
    return unsafe { libc::__error() };
}

/// The calling thread's last error, as stored by the backend.
pub(crate) fn last_error() -> u32 {
    errno() as u32
}

pub(crate) fn set_last_error(code: u32) {
    // SAFETY: the errno location is valid for the calling thread.
    unsafe { *errno_location() = code as libc::c_int };
}

/// Which kind of socket a handle's requests use.
///
/// `#[non_exhaustive]`: later versions may add kinds; match with a `_` arm.
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketMode {
    /// Datagram (Linux ping socket; macOS unprivileged ICMP socket) first,
    /// raw socket if that is not permitted. The kind that worked is
    /// remembered per address family.
    Auto,
    /// Datagram sockets only (Linux: errors through `IP_RECVERR`).
    Datagram,
    /// Raw sockets only (root / `CAP_NET_RAW`).
    Raw,
}

/// The static descriptor a handle points to.
#[repr(C, align(8))]
pub(crate) struct Desc {
    /// IPv6 handle.
    pub(crate) v6: bool,
    /// Socket kind.
    pub(crate) mode: SocketMode,
}

static HANDLES: [Desc; 6] = [
    Desc {
        v6: false,
        mode: SocketMode::Auto,
    },
    Desc {
        v6: false,
        mode: SocketMode::Datagram,
    },
    Desc {
        v6: false,
        mode: SocketMode::Raw,
    },
    Desc {
        v6: true,
        mode: SocketMode::Auto,
    },
    Desc {
        v6: true,
        mode: SocketMode::Datagram,
    },
    Desc {
        v6: true,
        mode: SocketMode::Raw,
    },
];

/// The descriptor of a handle, or `None` if it is not one of ours. Compares
/// addresses only: never dereferences a foreign value.
pub(crate) fn desc(h: HANDLE) -> Option<&'static Desc> {
    let base = HANDLES.as_ptr() as usize;
    let off = (h as usize).wrapping_sub(base);
    if off < size_of::<[Desc; 6]>() && off % size_of::<Desc>() == 0 {
        HANDLES.get(off / size_of::<Desc>())
    } else {
        None
    }
}

/// Opens a handle like [`IcmpCreateFile`](crate::icmpapi::IcmpCreateFile) (`v6` false) or
/// [`Icmp6CreateFile`](crate::icmpapi::Icmp6CreateFile) (`v6` true) whose requests use the given kind of
/// socket: the Unix backend's knob for choosing (and testing) the
/// ping-socket and raw-socket paths. Close it with [`IcmpCloseHandle`](crate::icmpapi::IcmpCloseHandle).
///
/// Pitfall: Unix only; Windows has no equivalent.
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))
)]
pub fn create_handle(v6: bool, mode: SocketMode) -> HANDLE {
    let i = usize::from(v6) * 3
        + match mode {
            SocketMode::Auto => 0,
            SocketMode::Datagram => 1,
            SocketMode::Raw => 2,
        };
    (&HANDLES[i] as *const Desc).cast_mut().cast()
}

/// Whether Linux raw sockets get the kernel-side filters (`ICMP_FILTER` /
/// `ICMP6_FILTER` and the BPF reply filter): yes, unless the environment
/// variable `ICMP_SYS_KERNEL_FILTERS` is `off`. A test knob: without them a
/// Linux raw socket receives every ICMP message of the host, errors
/// in-band, as BSD raw sockets (macOS, FreeBSD) always do, so CI runs the
/// user-space matching those kernels depend on (`.ci/test`, `.ci/netns
/// native`). No effect elsewhere (no such filters there).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn kernel_filters() -> bool {
    // SAFETY: getenv with a NUL-terminated name; as in `default_mode`.
    let v = unsafe { libc::getenv(c"ICMP_SYS_KERNEL_FILTERS".as_ptr()) };
    // SAFETY: getenv returned a NUL-terminated string when not null.
    v.is_null() || unsafe { core::ffi::CStr::from_ptr(v) }.to_bytes() != b"off"
}

/// The mode [`IcmpCreateFile`](crate::icmpapi::IcmpCreateFile) and [`Icmp6CreateFile`](crate::icmpapi::Icmp6CreateFile) use: the environment
/// variable `ICMP_SYS_SOCKET` (`raw`, `dgram`), else [`SocketMode::Auto`].
pub(crate) fn default_mode() -> SocketMode {
    // SAFETY: getenv with a NUL-terminated name; the result is only read
    // here (a concurrent setenv by another thread is the caller's race, as
    // for any getenv).
    let v = unsafe { libc::getenv(c"ICMP_SYS_SOCKET".as_ptr()) };
    if v.is_null() {
        return SocketMode::Auto;
    }
    // SAFETY: getenv returned a NUL-terminated string.
    match unsafe { core::ffi::CStr::from_ptr(v) }.to_bytes() {
        b"raw" => SocketMode::Raw,
        b"dgram" => SocketMode::Datagram,
        _ => SocketMode::Auto,
    }
}

/// `SocketMode::Auto`: whether raw sockets worked where datagram ones did
/// not, per family (IPv4, IPv6).
static PREFER_RAW: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

/// The Win32 error of a failed `socket()`.
pub(crate) fn socket_error(e: libc::c_int) -> u32 {
    match e {
        libc::EACCES | libc::EPERM => ERROR_ACCESS_DENIED,
        libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT | libc::ESOCKTNOSUPPORT => ERROR_NOT_SUPPORTED,
        libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM => ERROR_NOT_ENOUGH_MEMORY,
        _ => ERROR_GEN_FAILURE,
    }
}

/// Opens the socket of a request per the handle's mode, or the Win32 error.
pub(crate) fn open_for(d: &Desc) -> Result<(Fd, Kind), u32> {
    let fallback = |e: libc::c_int| {
        matches!(
            e,
            libc::EACCES
                | libc::EPERM
                | libc::EPROTONOSUPPORT
                | libc::ESOCKTNOSUPPORT
                | libc::EPROTOTYPE
        )
    };
    let only = |kind| open(d.v6, kind).map(|fd| (fd, kind)).map_err(socket_error);
    match d.mode {
        SocketMode::Datagram => only(Kind::Dgram),
        SocketMode::Raw => only(Kind::Raw),
        SocketMode::Auto => {
            let prefer = &PREFER_RAW[usize::from(d.v6)];
            let (first, second) = if prefer.load(Ordering::Relaxed) {
                (Kind::Raw, Kind::Dgram)
            } else {
                (Kind::Dgram, Kind::Raw)
            };
            match open(d.v6, first) {
                Ok(fd) => Ok((fd, first)),
                Err(e) if fallback(e) => match open(d.v6, second) {
                    Ok(fd) => {
                        prefer.store(second == Kind::Raw, Ordering::Relaxed);
                        Ok((fd, second))
                    }
                    // Report the more telling error: no permission.
                    Err(e2) if fallback(e2) => {
                        Err(socket_error(if e == libc::EACCES || e == libc::EPERM {
                            e
                        } else {
                            e2
                        }))
                    }
                    Err(e2) => Err(socket_error(e2)),
                },
                Err(e) => Err(socket_error(e)),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Shared sockets: the engine's, and the entries of the synchronous path's cache
// ---------------------------------------------------------------------------

/// A shared socket and the options it currently sends with (also the
/// entries of the synchronous path's per-thread cache, `cache`).
#[derive(Clone, Copy)]
pub(crate) struct Shared {
    pub(crate) fd: c_int,
    /// The network namespace it was opened in (Linux; 0 elsewhere).
    pub(crate) ns: u64,
    pub(crate) kind: Kind,
    pub(crate) v6: bool,
    pub(crate) ttl: c_int,
    pub(crate) tos: c_int,
    pub(crate) df: bool,
    pub(crate) options: [u8; 40],
    pub(crate) options_len: usize,
    pub(crate) default_ttl: c_int,
    pub(crate) default_tos: c_int,
}

pub(crate) const NO_SOCKET: Shared = Shared {
    fd: -1,
    ns: 0,
    kind: Kind::Dgram,
    v6: false,
    ttl: 0,
    tos: 0,
    df: false,
    options: [0; 40],
    options_len: 0,
    default_ttl: 0,
    default_tos: 0,
};

fn getsockopt_int(fd: c_int, level: c_int, name: c_int) -> Option<c_int> {
    let mut v: c_int = 0;
    let mut len = size_of::<c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid out-pointers.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut c_int).cast(), &mut len) };
    (rc == 0).then_some(v)
}

/// The identifier of this process's asynchronous raw-socket requests
/// (never given to a per-thread socket of the synchronous path).
pub(crate) fn raw_ident() -> u16 {
    // SAFETY: getpid has no preconditions.
    (unsafe { libc::getpid() } as u16) ^ 0x5a5a
}

/// Sets the largest receive buffer of at most `want` bytes that `set` (one
/// `setsockopt(SO_RCVBUF)`) accepts, trying 3/4 of the last size after each
/// refusal down to 64 KiB (FreeBSD and macOS refuse a size above their
/// limit with `ENOBUFS` instead of capping it, as Linux does: FreeBSD's is
/// 1 864 135 bytes by default); the size set, or `None`.
#[cfg_attr(
    any(target_os = "linux", target_os = "android"),
    allow(dead_code, reason = "Linux caps SO_RCVBUF silently: no retry there")
)]
fn grow_receive_buffer(want: c_int, mut set: impl FnMut(c_int) -> bool) -> Option<c_int> {
    const FLOOR: c_int = 64 << 10;
    let mut size = want;
    loop {
        if set(size) {
            return Some(size);
        }
        if size <= FLOOR {
            return None;
        }
        size = (size / 4 * 3).max(FLOOR);
    }
}

/// Opens and configures a shared socket of this family and kind.
pub(crate) fn open_shared(v6: bool, kind: Kind, raw_ident: u16) -> Result<Shared, c_int> {
    let fd = open(v6, kind)?;
    let f = &fd;
    // SAFETY: our descriptor.
    unsafe {
        let fl = libc::fcntl(fd.0, libc::F_GETFL);
        libc::fcntl(fd.0, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    // Room for bursts of replies (capped by net.core.rmem_max unless
    // privileged).
    let big: c_int = 4 << 20;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if !setsockopt_int(f, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, big) {
        setsockopt_int(f, libc::SOL_SOCKET, libc::SO_RCVBUF, big);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    grow_receive_buffer(big, |n| {
        setsockopt_int(f, libc::SOL_SOCKET, libc::SO_RCVBUF, n)
    });
    let (level, ttl_name, tos_name) = ttl_tos_names(v6);
    let default_ttl = getsockopt_int(fd.0, level, ttl_name).unwrap_or(64);
    let default_tos = getsockopt_int(fd.0, level, tos_name).unwrap_or(0);
    // The state below says "no DF": make it true on every OS and family.
    let _ = set_df(f, v6, false);
    receive_setup(f, v6, kind, raw_ident, None, true);
    let s = Shared {
        fd: fd.0,
        ns: 0,
        kind,
        v6,
        ttl: default_ttl,
        tos: default_tos,
        df: false,
        options: [0; 40],
        options_len: 0,
        default_ttl,
        default_tos,
    };
    core::mem::forget(fd);
    Ok(s)
}

/// Sets the request's options on the shared socket where they differ.
pub(crate) fn apply_options(s: &mut Shared, r: &Request<'_>) -> Result<(), IP_STATUS> {
    let f = Fd(s.fd);
    let res = (|| {
        let (level, ttl_name, tos_name) = ttl_tos_names(s.v6);
        let ttl = if r.ttl == 0 {
            s.default_ttl
        } else {
            r.ttl.into()
        };
        if ttl != s.ttl {
            if !setsockopt_int(&f, level, ttl_name, ttl) {
                return Err(IP_GENERAL_FAILURE);
            }
            s.ttl = ttl;
        }
        let tos = if r.tos == 0 {
            s.default_tos
        } else {
            r.tos.into()
        };
        if tos != s.tos {
            if !setsockopt_int(&f, level, tos_name, tos) {
                return Err(IP_GENERAL_FAILURE);
            }
            s.tos = tos;
        }
        if r.df != s.df {
            df_applied(set_df(&f, s.v6, r.df), r.df)?;
            s.df = r.df;
        }
        if !s.v6 && r.options != &s.options[..s.options_len] {
            set_ip_options(&f, r.options)?;
            let n = r.options.len().min(40);
            s.options[..n].copy_from_slice(&r.options[..n]);
            s.options_len = n;
        }
        Ok(())
    })();
    core::mem::forget(f); // borrowed descriptor
    res
}

/// Whether the socket already sends with the request's options (TTL, TOS,
/// DF, IP options; 0 = the socket's default): then [`apply_options`] would
/// change nothing.
pub(crate) fn options_current(s: &Shared, r: &Request<'_>) -> bool {
    let ttl = if r.ttl == 0 {
        s.default_ttl
    } else {
        r.ttl.into()
    };
    let tos = if r.tos == 0 {
        s.default_tos
    } else {
        r.tos.into()
    };
    ttl == s.ttl
        && tos == s.tos
        && r.df == s.df
        && (s.v6 || r.options == &s.options[..s.options_len])
}

/// The kernel family, for what differs between Linux (and Android) and the
/// BSDs (macOS, iOS, FreeBSD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// Linux, Android.
    Linux,
    /// macOS, iOS, FreeBSD.
    Bsd,
}

impl Kernel {
    /// This host's.
    pub(crate) const HOST: Kernel = if cfg!(any(target_os = "linux", target_os = "android")) {
        Kernel::Linux
    } else {
        Kernel::Bsd
    };
}

/// Whether a send's errno may be a pending asynchronous socket error (an
/// ICMP error about an earlier request, reported once by the next call).
pub(crate) fn pending_error(e: c_int) -> bool {
    resend_after(Kernel::HOST, e)
}

/// Whether an asynchronous request is refused at the call on `kernel`
/// because of its source address: an IPv4 `SourceAddress` on the BSDs,
/// whose raw (and macOS datagram) IPv4 sockets take no per-packet source
/// (FreeBSD's `rip_send` passes no control data on, so `IP_SENDSRCADDR` is
/// not read; xnu's `rip_output` reads only the service class from it) while
/// the engine's shared socket cannot be bound per request. The API fails
/// such a call with `ERROR_NOT_SUPPORTED`; a synchronous send binds a socket
/// of its own and works. IPv6 carries the source in `IPV6_PKTINFO` (RFC
/// 3542) on every OS, Linux IPv4 in `IP_PKTINFO`.
pub(crate) fn async_source_refused(kernel: Kernel, r: &Request<'_>) -> bool {
    kernel == Kernel::Bsd && !r.v6 && r.src.is_some()
}

/// The result of setting DF as requested (`df`) when the kernel `applied` it
/// or not: a refused DF fails the request with `IP_BAD_OPTION` (macOS and
/// iOS without root: xnu's unprivileged ICMP sockets refuse `IP_DONTFRAG`
/// and `IPV6_DONTFRAG`), rather than sending without it; a refused "no DF"
/// is the default anyway.
pub(crate) fn df_applied(applied: bool, df: bool) -> Result<(), IP_STATUS> {
    if df && !applied {
        Err(IP_BAD_OPTION)
    } else {
        Ok(())
    }
}

/// [`pending_error`] on `kernel`: only Linux reports an earlier request's
/// ICMP error (`IP_RECVERR`) as the next send's error; a BSD send error is
/// the send's own (`EHOSTDOWN` after a failed ARP, `EHOSTUNREACH` from the
/// route), which a second send would only repeat.
fn resend_after(kernel: Kernel, e: c_int) -> bool {
    if kernel == Kernel::Bsd {
        return false;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if e == libc::EREMOTEIO || e == libc::ENONET {
        return true;
    }
    matches!(
        e,
        libc::EHOSTUNREACH
            | libc::ENETUNREACH
            | libc::ECONNREFUSED
            | libc::EPROTO
            | libc::EMSGSIZE
            | libc::EHOSTDOWN
            | libc::ENOPROTOOPT
            | libc::EOPNOTSUPP
            | libc::EACCES
    )
}

/// Takes a socket's pending asynchronous error (`SO_ERROR`: read and
/// cleared); 0 when there is none.
pub(crate) fn take_pending_error(fd: c_int) -> c_int {
    let mut v: c_int = 0;
    let mut len = size_of::<c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid out-pointers for an int option.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut v as *mut c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 { v } else { 0 }
}

/// How many times a send is retried when it fails with an errno that a
/// pending error could give ([`pending_error`]), each time after
/// [`take_pending_error`] ([`resend_past_pending`]).
pub(crate) const PENDING_RETRIES: u32 = 8;

/// The send of a request whose first attempt gave `sent`: while it failed
/// with an errno that an earlier request's pending error could give
/// ([`pending_error`]: Linux reports an ICMP error queued for an earlier
/// request once, at the next send, without sending), clears the pending
/// error and sends again, up to [`PENDING_RETRIES`] times. Several errors
/// about earlier requests can arrive between two sends (an error flood, or
/// each dequeue from the error queue setting the pending error from the
/// next entry), so one retry is not enough. A failure that repeats is the
/// request's own: the kernel decides a route's unreachable / prohibit and a
/// too-big DF packet before it looks at the pending error. Used by the
/// synchronous path (its thread's socket) and the engine (a shared socket,
/// with its error queue held meanwhile).
pub(crate) fn resend_past_pending(
    fd: c_int,
    kind: Kind,
    r: &Request<'_>,
    ident: u16,
    seq: u16,
    nonblocking: bool,
    mut sent: Result<(), c_int>,
) -> Result<(), c_int> {
    for _ in 0..PENDING_RETRIES {
        if !matches!(sent, Err(e) if pending_error(e)) {
            break;
        }
        take_pending_error(fd);
        sent = send_echo(fd, kind, r, ident, seq, nonblocking);
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicUsize;

    /// A request to 192.0.2.7 with no options, for the pure mappings.
    fn request() -> Request<'static> {
        let mut dst = [0u8; 16];
        dst[..4].copy_from_slice(&[192, 0, 2, 7]);
        Request {
            v6: false,
            dst,
            scope_id: 0,
            src: None,
            payload: b"",
            ttl: 0,
            tos: 0,
            df: false,
            options: &[],
            timeout_ms: 1000,
        }
    }

    /// macOS and FreeBSD refuse a send to a host on the link that did not
    /// answer ARP with `EHOSTDOWN` (for `net.link.ether.inet.max_age`'s
    /// 20 s after; FreeBSD `arpresolve`, xnu's route check): "destination
    /// host unreachable", as `EHOSTUNREACH`, not a general failure.
    #[test]
    fn ehostdown_is_destination_host_unreachable() {
        let r = request();
        assert_eq!(
            map_send_errno(libc::EHOSTDOWN, &r),
            IP_DEST_HOST_UNREACHABLE
        );
        assert_eq!(
            map_send_errno(libc::EHOSTUNREACH, &r),
            IP_DEST_HOST_UNREACHABLE
        );
    }

    /// The resend after a pending socket error is Linux's (`IP_RECVERR`:
    /// an earlier request's ICMP error is reported once by the next send,
    /// without sending). BSD kernels have no such pending error: their send
    /// errors are the send's own (`EHOSTDOWN`, `EHOSTUNREACH` from ARP or
    /// the route), and a second send would only repeat it.
    #[test]
    fn resend_only_where_sends_report_earlier_errors() {
        for e in [
            libc::EHOSTUNREACH,
            libc::ENETUNREACH,
            libc::EHOSTDOWN,
            libc::EMSGSIZE,
            libc::ECONNREFUSED,
        ] {
            assert!(resend_after(Kernel::Linux, e), "Linux, errno {e}");
            assert!(!resend_after(Kernel::Bsd, e), "BSD, errno {e}");
        }
        assert!(!resend_after(Kernel::Linux, libc::EINVAL));
        assert_eq!(
            pending_error(libc::EHOSTDOWN),
            resend_after(Kernel::HOST, libc::EHOSTDOWN)
        );
    }

    /// FreeBSD refuses an `SO_RCVBUF` above `sb_max_adj` (`kern.ipc.maxsockbuf`
    /// 2 MiB × 2048 / 2304 = 1 864 135 bytes) with `ENOBUFS`, macOS above its
    /// own limit: the shared socket's buffer is retried smaller instead of
    /// staying at the default (FreeBSD: 9 KiB, shared with all the host's
    /// ICMP). Linux caps silently: the first size is taken.
    #[test]
    fn receive_buffer_retried_smaller_until_accepted() {
        let mut tried = [0 as c_int; 16];
        let mut n = 0;
        let got = grow_receive_buffer(4 << 20, |size| {
            tried[n] = size;
            n += 1;
            size <= 1_864_135
        });
        assert_eq!(got, Some(tried[n - 1]));
        let got = got.unwrap();
        assert!(
            got > 1_300_000 && got <= 1_864_135,
            "settled at {got} (tried {:?})",
            &tried[..n]
        );
        assert!(
            tried[..n].windows(2).all(|w| w[1] < w[0]),
            "{:?}",
            &tried[..n]
        );
        assert_eq!(grow_receive_buffer(4 << 20, |_| true), Some(4 << 20));
        // Never below the floor, bounded tries.
        let mut calls = 0;
        assert_eq!(
            grow_receive_buffer(4 << 20, |_| {
                calls += 1;
                false
            }),
            None
        );
        assert!(calls <= 16, "{calls} tries");
    }

    /// An asynchronous IPv4 request with a `SourceAddress` cannot be sent
    /// from it on the BSDs: their raw (and macOS datagram) IPv4 sockets take
    /// no per-packet source (FreeBSD's `rip_send` passes no control data
    /// on; xnu's `rip_output` reads only the service class from it) and the
    /// shared socket cannot be bound per request. Refused at the call
    /// there, instead of going out from another address; IPv6 carries it in
    /// `IPV6_PKTINFO` (RFC 3542) everywhere, Linux in `IP_PKTINFO`.
    #[test]
    fn async_ipv4_source_refused_where_no_socket_carries_it() {
        let mut r = request();
        assert!(!async_source_refused(Kernel::Bsd, &r), "no source");
        r.src = Some([192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(async_source_refused(Kernel::Bsd, &r), "BSD, IPv4 source");
        assert!(
            !async_source_refused(Kernel::Linux, &r),
            "Linux, IPv4 source"
        );
        r.v6 = true;
        assert!(!async_source_refused(Kernel::Bsd, &r), "BSD, IPv6 source");
    }

    /// `IP_FLAG_DF` the kernel refuses (macOS and iOS without root: the
    /// unprivileged ICMP sockets accept neither `IP_DONTFRAG`, `EINVAL`, nor
    /// `IPV6_DONTFRAG`, `EPERM`: xnu's `icmp_dgram_ctloutput` /
    /// `icmp6_dgram_ctloutput` allow-lists) fails the request with
    /// `IP_BAD_OPTION` instead of sending it without DF; clearing DF that
    /// cannot be set is no failure (it is off by default).
    #[test]
    fn refused_df_is_reported() {
        assert_eq!(df_applied(false, true), Err(IP_BAD_OPTION));
        assert_eq!(df_applied(true, true), Ok(()));
        assert_eq!(df_applied(false, false), Ok(()));
        assert_eq!(df_applied(true, false), Ok(()));
    }

    /// Descriptors closed without `FD_CLOEXEC` (checked in `Fd::drop`).
    static WITHOUT_CLOEXEC: AtomicUsize = AtomicUsize::new(0);
    /// How many coming `sendmsg` calls fail with `EINTR`.
    static EINTR_COUNTDOWN: AtomicU32 = AtomicU32::new(0);

    pub(super) fn check_cloexec(fd: c_int) {
        // SAFETY: F_GETFD on a descriptor we own.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 || flags & libc::FD_CLOEXEC == 0 {
            WITHOUT_CLOEXEC.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether this `sendmsg` is to fail with `EINTR` (errno set).
    pub(super) fn inject_eintr() -> bool {
        let hit = EINTR_COUNTDOWN
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if hit {
            set_last_error(libc::EINTR as u32);
        }
        hit
    }

    /// Every socket the backend opens is close-on-exec (SOCK_CLOEXEC, or
    /// FD_CLOEXEC on macOS), the `Icmp6CreateFile` probe included: a
    /// concurrent fork + exec must not inherit it.
    #[test]
    #[cfg_attr(miri, ignore = "makes syscalls (socket)")]
    fn every_socket_is_close_on_exec() {
        let before = WITHOUT_CLOEXEC.load(Ordering::Relaxed);
        let _ = ipv6_available();
        for v6 in [false, true] {
            for kind in [Kind::Dgram, Kind::Raw] {
                // May fail (no permission): only opened sockets count.
                let _ = open(v6, kind);
            }
        }
        assert_eq!(
            WITHOUT_CLOEXEC.load(Ordering::Relaxed) - before,
            0,
            "sockets closed without FD_CLOEXEC"
        );
    }

    /// The kernel-side filters of a Linux raw socket follow the
    /// `ICMP_SYS_KERNEL_FILTERS` knob ([`kernel_filters`]): with them, a raw
    /// socket set up for identifier 0x1234 never receives another
    /// identifier's echo request or reply; with `off` it receives both, as a
    /// BSD raw socket does. So the CI run with the knob off (`.ci/test`)
    /// cannot pass with the filters silently still on, nor the normal run
    /// with them silently off. Loopback only; root (raw sockets).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    #[cfg_attr(miri, ignore = "makes syscalls (raw sockets, an echo to 127.0.0.1)")]
    fn raw_socket_kernel_filters_follow_the_knob() {
        let (Ok(watch), Ok(sender)) = (open(false, Kind::Raw), open(false, Kind::Raw)) else {
            let reason = "no raw ICMP socket (needs root or CAP_NET_RAW)";
            assert!(
                std::env::var_os("ICMP_SYS_STRICT").is_none_or(|v| v != "1"),
                "raw_socket_kernel_filters_follow_the_knob cannot run: {reason} (ICMP_SYS_STRICT=1)"
            );
            std::println!("SKIPPED raw_socket_kernel_filters_follow_the_knob: {reason}");
            return;
        };
        receive_setup(&watch, false, Kind::Raw, 0x1234, Some(1), false);
        drain(&watch);
        let mut dst = [0u8; 16];
        dst[..4].copy_from_slice(&[127, 0, 0, 1]);
        let payload = b"kernel filters knob";
        let r = Request {
            v6: false,
            dst,
            scope_id: 0,
            src: None,
            payload,
            ttl: 0,
            tos: 0,
            df: false,
            options: &[],
            timeout_ms: 500,
        };
        send_echo(sender.0, Kind::Raw, &r, 0x4321, 7, false).expect("send to 127.0.0.1");
        // Every echo request or reply of identifier 0x4321 that reaches
        // `watch` within 500 ms (bounded reads).
        let mut seen = [false; 2];
        let mut rx = MaybeUninit::<[u8; 4096]>::uninit();
        let t0 = now_ns();
        for _ in 0..1000 {
            let left = 500u64.saturating_sub((now_ns() - t0) / 1_000_000);
            if left == 0 || seen == [true; 2] {
                break;
            }
            let mut pfd = libc::pollfd {
                fd: watch.0,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut pfd, 1, left as c_int) } <= 0 {
                continue;
            }
            let Ok(m) = receive(&watch, &mut rx, libc::MSG_DONTWAIT) else {
                continue;
            };
            // SAFETY: the kernel initialised the first m.len bytes.
            let pkt = unsafe { core::slice::from_raw_parts(rx.as_ptr().cast::<u8>(), m.len) };
            if let Some(p) = reply::split_ipv4(pkt) {
                let icmp = p.payload;
                if icmp.len() >= 8 && icmp[4..6] == [0x43, 0x21] && icmp[8..] == payload[..] {
                    match icmp[0] {
                        reply::ICMP_ECHO => seen[0] = true,
                        reply::ICMP_ECHOREPLY => seen[1] = true,
                        _ => {}
                    }
                }
            }
        }
        let on = kernel_filters();
        assert_eq!(
            seen,
            [!on; 2],
            "(request, reply) of another identifier seen by a raw socket with the \
             kernel filters {}",
            if on {
                "on"
            } else {
                "off (ICMP_SYS_KERNEL_FILTERS=off)"
            }
        );
    }

    /// A `sendmsg` interrupted by a signal (`EINTR`) is retried, as `poll`
    /// and `recvmsg` are, instead of failing the echo with 11050.
    #[test]
    #[cfg_attr(miri, ignore = "makes syscalls (an echo to 127.0.0.1)")]
    fn sendmsg_eintr_is_retried() {
        let opened = [Kind::Raw, Kind::Dgram]
            .into_iter()
            .find_map(|k| open(false, k).ok().map(|fd| (fd, k)));
        let Some((fd, kind)) = opened else {
            // The skip rule of tests/common::skip: fail in strict mode.
            let reason =
                "no ICMP permission (raw sockets need root; ping sockets ping_group_range)";
            assert!(
                std::env::var_os("ICMP_SYS_STRICT").is_none_or(|v| v != "1"),
                "sendmsg_eintr_is_retried cannot run: {reason} (ICMP_SYS_STRICT=1)"
            );
            std::println!("SKIPPED sendmsg_eintr_is_retried: {reason}");
            return;
        };
        let mut dst = [0u8; 16];
        dst[..4].copy_from_slice(&[127, 0, 0, 1]);
        let r = Request {
            v6: false,
            dst,
            scope_id: 0,
            src: None,
            payload: b"eintr",
            ttl: 0,
            tos: 0,
            df: false,
            options: &[],
            timeout_ms: 2000,
        };
        EINTR_COUNTDOWN.store(2, Ordering::Relaxed);
        let out = echo(&fd, kind, &r);
        let left = EINTR_COUNTDOWN.swap(0, Ordering::Relaxed);
        assert_eq!(left, 0, "both injected EINTRs consumed");
        assert!(matches!(out, Outcome::Echo { .. }), "{out:?}");
    }
}
