//! The pure half of the Unix backend: turning received packets and
//! error-queue messages into Windows reply buffers. **No syscalls**: every
//! function here works on byte slices, so it can be fuzzed and
//! property-tested on any host.
//!
//! - [`map_icmp4`] / [`map_icmp6`]: ICMP error type/code → `IP_STATUS`
//!   (the table of `icmp-api.md` §7.4).
//! - [`split_ipv4`]: an IPv4 datagram (raw sockets, macOS) → header fields and
//!   ICMP message.
//! - [`classify4`] / [`classify6`]: an ICMP message → ours or not, echo reply
//!   or error.
//! - [`classify_queued`]: a Linux `IP_RECVERR` / `IPV6_RECVERR` message →
//!   status and reporting node.
//! - [`OutBuf`], [`write_reply4`], [`write_reply6`], [`write_status4`],
//!   [`write_status6`]: the reply-buffer writers, bounds-checked.
//! - [`Outcome`], [`write_result`], [`write_status`]: a request's outcome
//!   and its one writer into the caller's buffer (synchronous and
//!   asynchronous paths).
//!
//! Layer: the bottom (pure); may use: nothing of `src/unix`.
//!
//! Not part of the API: private, except in the fuzz harness's builds
//! (`--cfg icmp_sys_fuzz`, set by `fuzz/run`), where it is
//! `icmp_sys::unix::reply`.

use crate::ipexport::*;
use core::marker::PhantomData;
use core::mem::size_of;

/// ICMPv4 echo reply type.
pub const ICMP_ECHOREPLY: u8 = 0;
/// ICMPv4 echo request type.
pub const ICMP_ECHO: u8 = 8;
/// ICMPv6 echo request type.
pub const ICMP6_ECHO_REQUEST: u8 = 128;
/// ICMPv6 echo reply type.
pub const ICMP6_ECHO_REPLY: u8 = 129;

/// `sock_extended_err.ee_origin`: a local error (e.g. `EMSGSIZE`).
pub const SO_EE_ORIGIN_LOCAL: u8 = 1;
/// `sock_extended_err.ee_origin`: an ICMPv4 error.
pub const SO_EE_ORIGIN_ICMP: u8 = 2;
/// `sock_extended_err.ee_origin`: an ICMPv6 error.
pub const SO_EE_ORIGIN_ICMP6: u8 = 3;

/// The `IP_STATUS` of an ICMPv4 error, or `None` for a type that is not an
/// error about our request (echo, redirect, ...): keep waiting.
///
/// Table: reference §7.4 (current Wine's mapping, checked on Wine 8.0 for
/// 3/0, 3/1, 3/4, 3/13 and 11/0).
pub const fn map_icmp4(icmp_type: u8, code: u8) -> Option<IP_STATUS> {
    Some(match icmp_type {
        3 => match code {
            0 | 6 | 9 | 11 => IP_DEST_NET_UNREACHABLE,
            2 => IP_DEST_PROT_UNREACHABLE,
            3 => IP_DEST_PORT_UNREACHABLE,
            4 => IP_PACKET_TOO_BIG,
            5 => IP_BAD_ROUTE,
            _ => IP_DEST_HOST_UNREACHABLE,
        },
        4 => IP_SOURCE_QUENCH,
        11 => match code {
            1 => IP_TTL_EXPIRED_REASSEM,
            _ => IP_TTL_EXPIRED_TRANSIT,
        },
        12 => IP_PARAM_PROBLEM,
        _ => return None,
    })
}

/// The `IP_STATUS` of an ICMPv6 error, or `None` for a non-error type.
///
/// Table: reference §7.4 (the SDK's IPv6 aliases; unverified against
/// Windows, which documents no mapping).
pub const fn map_icmp6(icmp_type: u8, code: u8) -> Option<IP_STATUS> {
    Some(match icmp_type {
        1 => match code {
            0 => IP_DEST_NO_ROUTE,
            1 => IP_DEST_PROHIBITED,
            2 => IP_DEST_SCOPE_MISMATCH,
            3 => IP_DEST_ADDR_UNREACHABLE,
            4 => IP_DEST_PORT_UNREACHABLE,
            _ => IP_DEST_UNREACHABLE,
        },
        2 => IP_PACKET_TOO_BIG,
        3 => match code {
            0 => IP_HOP_LIMIT_EXCEEDED,
            1 => IP_REASSEMBLY_TIME_EXCEEDED,
            _ => IP_TIME_EXCEEDED,
        },
        4 => match code {
            0 => IP_BAD_HEADER,
            1 => IP_UNRECOGNIZED_NEXT_HEADER,
            2 => IP_BAD_OPTION,
            _ => IP_PARAMETER_PROBLEM,
        },
        _ => return None,
    })
}

/// The Internet checksum (RFC 1071) of `a` followed by `b` (`a` must have
/// an even length), as the 16-bit value to store in network order.
pub fn checksum(a: &[u8], b: &[u8]) -> u16 {
    fn add(mut sum: u64, s: &[u8]) -> u64 {
        let mut chunks = s.chunks_exact(2);
        for c in &mut chunks {
            sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u64::from(u16::from_be_bytes([*last, 0]));
        }
        sum
    }
    let mut sum = add(add(0, a), b);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The 8-byte ICMP echo request header: `icmp_type` (8 or 128), code 0,
/// identifier and sequence in network order, and the checksum over header
/// and `payload` when `with_checksum` (IPv4 raw/BSD sockets; the kernel
/// computes it for Linux ping sockets and for ICMPv6).
pub fn echo_header(
    icmp_type: u8,
    id: u16,
    seq: u16,
    payload: &[u8],
    with_checksum: bool,
) -> [u8; 8] {
    let [i0, i1] = id.to_be_bytes();
    let [s0, s1] = seq.to_be_bytes();
    let mut h = [icmp_type, 0, 0, 0, i0, i1, s0, s1];
    if with_checksum {
        let c = checksum(&h, payload).to_be_bytes();
        h[2] = c[0];
        h[3] = c[1];
    }
    h
}

/// The header fields of a received IPv4 datagram and its ICMP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Packet<'a> {
    /// Source address bytes.
    pub src: [u8; 4],
    /// TTL.
    pub ttl: u8,
    /// Type of service.
    pub tos: u8,
    /// The header's options (`IHL * 4 - 20` bytes).
    pub options: &'a [u8],
    /// Everything after the header: the ICMP message.
    pub payload: &'a [u8],
}

/// Splits a received IPv4 datagram (Linux raw socket, macOS/BSD socket)
/// into its header fields and its ICMP message, or `None` if malformed.
///
/// The length is taken from `pkt` (the `recv` length), never from the
/// header's `ip_len` (host order on macOS, network order elsewhere).
pub fn split_ipv4(pkt: &[u8]) -> Option<Ipv4Packet<'_>> {
    let (&vihl, _) = pkt.split_first()?;
    if vihl >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(vihl & 0x0f) * 4;
    if ihl < 20 || pkt.len() < ihl || pkt[9] != 1 {
        return None;
    }
    Some(Ipv4Packet {
        src: [pkt[12], pkt[13], pkt[14], pkt[15]],
        ttl: pkt[8],
        tos: pkt[1],
        options: &pkt[20..ihl],
        payload: &pkt[ihl..],
    })
}

/// What a request expects back, to recognise its reply among everything a
/// socket receives.
#[derive(Clone, Copy, Debug)]
pub struct Expect<'a> {
    /// Destination address bytes (4 for IPv4, 16 for IPv6).
    pub dst: &'a [u8],
    /// Our identifier, or `None` where the kernel rewrote and already
    /// filtered it (Linux ping sockets).
    pub id: Option<u16>,
    /// Our sequence number.
    pub seq: u16,
    /// The request's data: a reply must echo it exactly.
    pub payload: &'a [u8],
}

/// What a received ICMP message means for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classified<'a> {
    /// Not about this request: keep waiting.
    Ignore,
    /// Our echo reply; its data.
    Reply(&'a [u8]),
    /// An ICMP error quoting our request; its status.
    Error(IP_STATUS),
}

fn id_seq_match(h: &[u8], e: &Expect<'_>) -> bool {
    let id = u16::from_be_bytes([h[4], h[5]]);
    let seq = u16::from_be_bytes([h[6], h[7]]);
    seq == e.seq && e.id.is_none_or(|want| want == id)
}

/// Whether `quoted` (the ICMP part quoted by an error) is our echo request.
fn quoted_echo_is_ours(quoted: &[u8], request_type: u8, e: &Expect<'_>) -> bool {
    quoted.len() >= 8 && quoted[0] == request_type && quoted[1] == 0 && id_seq_match(quoted, e)
}

/// What [`classify4`] and [`classify6`] share: a message of `reply_type` is
/// our echo reply when identifier, sequence, source and data all match; an
/// error type of the family's `map` table is ours when `quotes_ours`
/// accepts what it quotes (the bytes after the 8-byte ICMP header).
fn classify<'a>(
    icmp: &'a [u8],
    src: &[u8],
    e: &Expect<'_>,
    reply_type: u8,
    map: fn(u8, u8) -> Option<IP_STATUS>,
    quotes_ours: impl FnOnce(&[u8]) -> bool,
) -> Classified<'a> {
    if icmp.len() < 8 {
        return Classified::Ignore;
    }
    if icmp[0] == reply_type {
        let data = &icmp[8..];
        if icmp[1] == 0 && id_seq_match(icmp, e) && src == e.dst && data == e.payload {
            return Classified::Reply(data);
        }
        return Classified::Ignore;
    }
    match map(icmp[0], icmp[1]) {
        Some(status) if quotes_ours(&icmp[8..]) => Classified::Error(status),
        _ => Classified::Ignore,
    }
}

/// Classifies an ICMPv4 message from `src` (no IP header) for the request
/// `e`: our echo reply (identifier, sequence, source and data all match), an
/// error quoting our request (quoted protocol, destination, type,
/// identifier and sequence match), or something else.
pub fn classify4<'a>(icmp: &'a [u8], src: [u8; 4], e: &Expect<'_>) -> Classified<'a> {
    classify(icmp, &src, e, ICMP_ECHOREPLY, map_icmp4, |quoted| {
        let Some(&vihl) = quoted.first() else {
            return false;
        };
        let ihl = usize::from(vihl & 0x0f) * 4;
        vihl >> 4 == 4
            && ihl >= 20
            && quoted.len() >= ihl + 8
            && quoted[9] == 1
            && quoted[16..20] == *e.dst
            && quoted_echo_is_ours(&quoted[ihl..], ICMP_ECHO, e)
    })
}

/// Classifies an ICMPv6 message from `src` for the request `e`, as
/// [`classify4`] (an error quotes a 40-byte IPv6 header, next header 58,
/// then our echo request).
pub fn classify6<'a>(icmp: &'a [u8], src: [u8; 16], e: &Expect<'_>) -> Classified<'a> {
    classify(icmp, &src, e, ICMP6_ECHO_REPLY, map_icmp6, |quoted| {
        quoted.len() >= 48
            && quoted[0] >> 4 == 6
            && quoted[6] == 58
            && quoted[24..40] == *e.dst
            && quoted_echo_is_ours(&quoted[40..], ICMP6_ECHO_REQUEST, e)
    })
}

/// The (identifier, sequence) an ICMP message (no IP header) is about: its
/// own for an echo reply of the family, the quoted echo request's for an
/// error of the family's table (IPv4: after the quoted IP header; IPv6:
/// after the 40-byte quoted header). `None` for anything else. The key a
/// socket shared by many requests demultiplexes on; the request it names
/// then checks the message fully ([`classify4`], [`classify6`]).
pub fn echo_key(icmp: &[u8], v6: bool) -> Option<(u16, u16)> {
    let key = |h: &[u8]| {
        (
            u16::from_be_bytes([h[4], h[5]]),
            u16::from_be_bytes([h[6], h[7]]),
        )
    };
    let (reply_type, request_type) = if v6 {
        (ICMP6_ECHO_REPLY, ICMP6_ECHO_REQUEST)
    } else {
        (ICMP_ECHOREPLY, ICMP_ECHO)
    };
    let (&t, _) = icmp.split_first()?;
    if icmp.len() < 8 {
        return None;
    }
    if t == reply_type {
        return Some(key(icmp));
    }
    let mapped = if v6 {
        map_icmp6(t, icmp[1])
    } else {
        map_icmp4(t, icmp[1])
    };
    mapped?;
    let quoted = &icmp[8..];
    let at = if v6 {
        40
    } else {
        let ihl = usize::from(quoted.first()? & 0x0f) * 4;
        if ihl < 20 {
            return None;
        }
        ihl
    };
    let echo = quoted.get(at..at.checked_add(8)?)?;
    (echo[0] == request_type).then(|| key(echo))
}

/// A message of a Linux socket error queue (`MSG_ERRQUEUE`), as read by the
/// syscall layer.
#[derive(Clone, Copy, Debug)]
pub struct QueuedError<'a> {
    /// `ee_errno`.
    pub errno: u32,
    /// `ee_origin` ([`SO_EE_ORIGIN_LOCAL`], [`SO_EE_ORIGIN_ICMP`],
    /// [`SO_EE_ORIGIN_ICMP6`]).
    pub origin: u8,
    /// `ee_type`: the ICMP type.
    pub icmp_type: u8,
    /// `ee_code`: the ICMP code.
    pub code: u8,
    /// The original destination (`msg_name`), address bytes; empty if absent.
    pub dst: &'a [u8],
    /// The queued data: our request's ICMP header (and data).
    pub quoted: &'a [u8],
}

/// The status of a queued error about request `e`, or `None` if it is not
/// about `e` or must be ignored (redirects). `v6` selects the ICMPv6 table.
/// `emsgsize` is the host's `EMSGSIZE` errno (a local "packet too big").
pub fn classify_queued(
    q: &QueuedError<'_>,
    v6: bool,
    emsgsize: u32,
    e: &Expect<'_>,
) -> Option<IP_STATUS> {
    let request_type = if v6 { ICMP6_ECHO_REQUEST } else { ICMP_ECHO };
    if !q.dst.is_empty() && q.dst != e.dst {
        return None;
    }
    if !quoted_echo_is_ours(q.quoted, request_type, e) {
        return None;
    }
    match q.origin {
        SO_EE_ORIGIN_ICMP if !v6 => map_icmp4(q.icmp_type, q.code),
        SO_EE_ORIGIN_ICMP6 if v6 => map_icmp6(q.icmp_type, q.code),
        SO_EE_ORIGIN_LOCAL if q.errno == emsgsize => Some(IP_PACKET_TOO_BIG),
        SO_EE_ORIGIN_LOCAL => Some(IP_GENERAL_FAILURE),
        _ => None,
    }
}

/// A reply buffer as the backend sees it: a writable byte range at a fixed
/// address, written only through bounds-checked copies (never read, never
/// turned into a `&mut [u8]`, so the caller's buffer may be uninitialised).
#[derive(Debug)]
pub struct OutBuf<'a> {
    ptr: *mut u8,
    len: usize,
    _buf: PhantomData<&'a mut [u8]>,
}

/// Bytes to copy into an [`OutBuf`] that may lie inside it: the caller's
/// `RequestData`, which Windows allows to overlap `ReplyBuffer` (it copies
/// the request when the call starts). Held as a raw range, never as a
/// `&[u8]`, because the reply buffer is written while it is still to be
/// read; copied with `ptr::copy` (overlap-safe).
#[derive(Clone, Copy, Debug)]
pub struct InBytes<'a> {
    ptr: *const u8,
    len: usize,
    _buf: PhantomData<&'a [u8]>,
}

impl<'a> InBytes<'a> {
    /// A byte range readable for `len` bytes from `ptr`, which may overlap
    /// the [`OutBuf`] it is copied into.
    ///
    /// # Safety
    /// `ptr` must be valid for reads of `len` bytes for `'a` (any value,
    /// null included, when `len` is 0), and only written through an
    /// [`OutBuf`] meanwhile.
    pub unsafe fn from_raw(ptr: *const u8, len: usize) -> Self {
        Self {
            ptr,
            len,
            _buf: PhantomData,
        }
    }

    /// The length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is 0.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<'a> From<&'a [u8]> for InBytes<'a> {
    fn from(s: &'a [u8]) -> Self {
        // SAFETY: a shared slice is readable for its length for 'a.
        unsafe { Self::from_raw(s.as_ptr(), s.len()) }
    }
}

impl<'a> OutBuf<'a> {
    /// Wraps a byte slice.
    pub fn new(buf: &'a mut [u8]) -> Self {
        // SAFETY: an exclusive slice is valid for writes of its length for 'a.
        unsafe { Self::from_raw(buf.as_mut_ptr(), buf.len()) }
    }

    /// Wraps the caller's `ReplyBuffer` / `ReplySize`.
    ///
    /// # Safety
    /// `ptr` must be valid for writes of `len` bytes for `'a`.
    pub unsafe fn from_raw(ptr: *mut u8, len: usize) -> Self {
        Self {
            ptr,
            len,
            _buf: PhantomData,
        }
    }

    /// The size, `ReplySize`.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the size is 0.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The absolute address of byte `offset`, as stored in `Data`.
    pub fn addr(&self, offset: usize) -> *mut u8 {
        self.ptr.wrapping_add(offset)
    }

    /// Copies `bytes` to `offset`; `false` (nothing written) if they do not
    /// fit entirely.
    pub fn write(&mut self, offset: usize, bytes: &[u8]) -> bool {
        self.copy_in(offset, bytes.into())
    }

    /// Copies `src` to `offset`, correct when `src` lies inside this buffer
    /// (memmove); `false` (nothing written) if it does not fit entirely.
    pub fn copy_in(&mut self, offset: usize, src: InBytes<'_>) -> bool {
        match offset.checked_add(src.len) {
            Some(end) if end <= self.len => {
                if src.len > 0 {
                    // SAFETY: offset..end lies inside the buffer (checked);
                    // src is readable for src.len bytes (InBytes' contract,
                    // so not null); `copy` allows the ranges to overlap.
                    unsafe { core::ptr::copy(src.ptr, self.ptr.add(offset), src.len) };
                }
                true
            }
            _ => false,
        }
    }
}

/// The bytes of an [`ICMP_ECHO_REPLY`], its padding zeroed (64-bit: bytes
/// 28..32, between `Options.OptionsSize` and `Options.OptionsData`). Writing
/// the struct as a value would copy its padding, which is uninitialised.
fn reply4_bytes(r: &ICMP_ECHO_REPLY) -> [u8; size_of::<ICMP_ECHO_REPLY>()] {
    let mut b = [0u8; size_of::<ICMP_ECHO_REPLY>()];
    let p = b.as_mut_ptr().cast::<ICMP_ECHO_REPLY>();
    // SAFETY: `b` has the struct's size, so every field place lies inside
    // it; each is written unaligned through a raw pointer (no reference to
    // the unaligned place); the padding keeps its zeroes. Pointer fields
    // are written as pointers, keeping their provenance.
    unsafe {
        core::ptr::addr_of_mut!((*p).Address).write_unaligned(r.Address);
        core::ptr::addr_of_mut!((*p).Status).write_unaligned(r.Status);
        core::ptr::addr_of_mut!((*p).RoundTripTime).write_unaligned(r.RoundTripTime);
        core::ptr::addr_of_mut!((*p).DataSize).write_unaligned(r.DataSize);
        core::ptr::addr_of_mut!((*p).Reserved).write_unaligned(r.Reserved);
        core::ptr::addr_of_mut!((*p).Data).write_unaligned(r.Data);
        core::ptr::addr_of_mut!((*p).Options.Ttl).write_unaligned(r.Options.Ttl);
        core::ptr::addr_of_mut!((*p).Options.Tos).write_unaligned(r.Options.Tos);
        core::ptr::addr_of_mut!((*p).Options.Flags).write_unaligned(r.Options.Flags);
        core::ptr::addr_of_mut!((*p).Options.OptionsSize).write_unaligned(r.Options.OptionsSize);
        core::ptr::addr_of_mut!((*p).Options.OptionsData).write_unaligned(r.Options.OptionsData);
    }
    b
}

/// The bytes of an [`ICMPV6_ECHO_REPLY`], its padding zeroed (bytes 26..28,
/// after the packed 26-byte address).
fn reply6_bytes(r: &ICMPV6_ECHO_REPLY) -> [u8; size_of::<ICMPV6_ECHO_REPLY>()] {
    let mut b = [0u8; size_of::<ICMPV6_ECHO_REPLY>()];
    let p = b.as_mut_ptr().cast::<ICMPV6_ECHO_REPLY>();
    // SAFETY: as in `reply4_bytes`; `IPV6_ADDRESS_EX` is packed (no
    // padding), so writing it as a value defines all its bytes.
    unsafe {
        core::ptr::addr_of_mut!((*p).Address).write_unaligned(r.Address);
        core::ptr::addr_of_mut!((*p).Status).write_unaligned(r.Status);
        core::ptr::addr_of_mut!((*p).RoundTripTime).write_unaligned(r.RoundTripTime);
    }
    b
}

/// One IPv4 reply to write: an echo reply or an ICMP error.
#[derive(Clone, Copy, Debug)]
pub struct Reply4<'a> {
    /// `Address`: the replying or reporting node, [`IPAddr`] order.
    pub address: IPAddr,
    /// `Status`.
    pub status: IP_STATUS,
    /// `RoundTripTime`, ms.
    pub round_trip_time: u32,
    /// TTL of the received packet.
    pub ttl: u8,
    /// TOS of the received packet.
    pub tos: u8,
    /// IP options of the received packet (dropped if they do not fit).
    pub options: &'a [u8],
    /// The echoed data (empty for errors); may lie inside the reply buffer.
    pub data: InBytes<'a>,
}

/// Writes one [`ICMP_ECHO_REPLY`], its data right after it (as Vista+ and
/// Wine) and its options after the data, 8-aligned, when they fit (else
/// `OptionsSize` 0). `Reserved` is 0: a synchronous send leaves nothing for
/// `IcmpParseReplies`.
///
/// Fails with [`IP_GENERAL_FAILURE`] (nothing written) when the struct and
/// the data do not fit, as Windows does for one byte too few.
pub fn write_reply4(out: &mut OutBuf<'_>, r: &Reply4<'_>) -> Result<(), IP_STATUS> {
    let head = size_of::<ICMP_ECHO_REPLY>();
    if r.data.len() > usize::from(u16::MAX) || head + r.data.len() > out.len() {
        return Err(IP_GENERAL_FAILURE);
    }
    let opt_at = (head + r.data.len()).next_multiple_of(8);
    let options =
        if r.options.len() <= usize::from(MAX_OPT_SIZE) && opt_at + r.options.len() <= out.len() {
            r.options
        } else {
            &[]
        };
    let reply = ICMP_ECHO_REPLY {
        Address: r.address,
        Status: r.status,
        RoundTripTime: r.round_trip_time,
        DataSize: r.data.len() as u16,
        Reserved: 0,
        Data: out.addr(head).cast(),
        Options: IP_OPTION_INFORMATION {
            Ttl: r.ttl,
            Tos: r.tos,
            Flags: 0,
            OptionsSize: options.len() as u8,
            OptionsData: if options.is_empty() {
                core::ptr::null_mut()
            } else {
                out.addr(opt_at)
            },
        },
    };
    // The data first: it may be the caller's request inside this buffer,
    // which the structure and the options then overwrite.
    let ok = out.copy_in(head, r.data)
        && (options.is_empty() || out.write(opt_at, options))
        && out.write(0, &reply4_bytes(&reply));
    debug_assert!(ok);
    Ok(())
}

/// Writes a status-only [`ICMP_ECHO_REPLY`] (a failed call's `reply[0]`:
/// timeout, send error), if the buffer holds one; otherwise nothing.
pub fn write_status4(out: &mut OutBuf<'_>, status: IP_STATUS) {
    let reply = ICMP_ECHO_REPLY {
        Status: status,
        Data: out.addr(size_of::<ICMP_ECHO_REPLY>()).cast(),
        ..Default::default()
    };
    out.write(0, &reply4_bytes(&reply));
}

/// Builds the [`IPV6_ADDRESS_EX`] of an address: port 0, flow 0, the
/// address words in network order, the scope.
pub fn ipv6_address_ex(addr: [u8; 16], scope_id: u32) -> IPV6_ADDRESS_EX {
    let mut w = [0u16; 8];
    for (i, word) in w.iter_mut().enumerate() {
        *word = u16::from_ne_bytes([addr[2 * i], addr[2 * i + 1]]);
    }
    IPV6_ADDRESS_EX {
        sin6_port: 0,
        sin6_flowinfo: 0,
        sin6_addr: w,
        sin6_scope_id: scope_id,
    }
}

/// Writes one [`ICMPV6_ECHO_REPLY`] and the data at +36. Fails with
/// [`IP_GENERAL_FAILURE`] (nothing written) when they do not fit.
pub fn write_reply6(
    out: &mut OutBuf<'_>,
    address: [u8; 16],
    scope_id: u32,
    status: IP_STATUS,
    round_trip_time: u32,
    data: InBytes<'_>,
) -> Result<(), IP_STATUS> {
    let head = size_of::<ICMPV6_ECHO_REPLY>();
    if head + data.len() > out.len() {
        return Err(IP_GENERAL_FAILURE);
    }
    let reply = ICMPV6_ECHO_REPLY {
        Address: ipv6_address_ex(address, scope_id),
        Status: status,
        RoundTripTime: round_trip_time,
    };
    // The data first, as in `write_reply4`.
    let ok = out.copy_in(head, data) && out.write(0, &reply6_bytes(&reply));
    debug_assert!(ok);
    Ok(())
}

/// Writes a status-only [`ICMPV6_ECHO_REPLY`], if the buffer holds one.
pub fn write_status6(out: &mut OutBuf<'_>, status: IP_STATUS) {
    let reply = ICMPV6_ECHO_REPLY {
        Address: ipv6_address_ex([0; 16], 0),
        Status: status,
        RoundTripTime: 0,
    };
    out.write(0, &reply6_bytes(&reply));
}

// ---------------------------------------------------------------------------
// A request's outcome, written into the caller's buffer (both paths)
// ---------------------------------------------------------------------------

/// The result of one echo.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    /// Our echo reply (its data is the request's payload, matched exactly).
    Echo {
        /// The replier.
        from: [u8; 16],
        /// Round trip, ms.
        rtt: u32,
        /// TTL of the reply.
        ttl: u8,
        /// TOS of the reply.
        tos: u8,
        /// IP options of the reply.
        options: [u8; 40],
        /// How many bytes of `options`.
        options_len: u8,
    },
    /// An ICMP error about our request.
    Error {
        /// The mapped `IP_STATUS`.
        status: IP_STATUS,
        /// The reporting node.
        from: [u8; 16],
        /// Time until the error, ms.
        rtt: u32,
        /// TTL of the error packet (0 if unknown).
        ttl: u8,
    },
    /// No reply: return 0 with this last error (an `IP_STATUS` ≥ 11000 is
    /// also written to `reply[0].Status`).
    Fail(u32),
}

/// Writes a request's outcome into its reply buffer, in the one format of
/// the synchronous and asynchronous paths: one reply of the family
/// (`Ok(bytes written)`), or for a failure with an `IP_STATUS` code a
/// status-only `reply[0]` (`Err(code)`; other codes write nothing).
pub fn write_result(
    out: &mut OutBuf<'_>,
    v6: bool,
    outcome: Outcome,
    scope_id: u32,
    payload: InBytes<'_>,
) -> Result<usize, u32> {
    let head = if v6 {
        size_of::<ICMPV6_ECHO_REPLY>()
    } else {
        size_of::<ICMP_ECHO_REPLY>()
    };
    let bytes = match outcome {
        Outcome::Echo { options_len, .. } => {
            let end = head + payload.len();
            let opt_at = end.next_multiple_of(8);
            let olen = usize::from(options_len);
            if !v6 && olen > 0 && opt_at + olen <= out.len() {
                opt_at + olen
            } else {
                end
            }
        }
        _ => head,
    };
    let written = if v6 {
        write6(out, outcome, scope_id, payload)
    } else {
        write4(out, outcome, payload)
    };
    match written {
        Ok(()) => Ok(bytes),
        Err(code) => {
            if code >= IP_STATUS_BASE {
                write_status(out, v6, code);
            }
            Err(code)
        }
    }
}

/// Writes a status-only `reply[0]` of the family, if the buffer holds one.
pub fn write_status(out: &mut OutBuf<'_>, v6: bool, code: u32) {
    if v6 {
        write_status6(out, code);
    } else {
        write_status4(out, code);
    }
}

/// Writes an IPv4 outcome as one [`ICMP_ECHO_REPLY`]; `Err` for a failure.
fn write4(out: &mut OutBuf<'_>, outcome: Outcome, payload: InBytes<'_>) -> Result<(), u32> {
    let addr = |a: [u8; 16]| u32::from_ne_bytes([a[0], a[1], a[2], a[3]]);
    match outcome {
        Outcome::Echo {
            from,
            rtt,
            ttl,
            tos,
            options,
            options_len,
        } => write_reply4(
            out,
            &Reply4 {
                address: addr(from),
                status: IP_SUCCESS,
                round_trip_time: rtt,
                ttl,
                tos,
                options: &options[..usize::from(options_len)],
                data: payload,
            },
        ),
        Outcome::Error {
            status,
            from,
            rtt,
            ttl,
        } => write_reply4(
            out,
            &Reply4 {
                address: addr(from),
                status,
                round_trip_time: rtt,
                ttl,
                tos: 0,
                options: &[],
                data: (&[][..]).into(),
            },
        ),
        Outcome::Fail(code) => Err(code),
    }
}

/// Writes an IPv6 outcome as one [`ICMPV6_ECHO_REPLY`] (the echo's address
/// with the destination's scope); `Err` for a failure.
fn write6(
    out: &mut OutBuf<'_>,
    outcome: Outcome,
    scope_id: u32,
    payload: InBytes<'_>,
) -> Result<(), u32> {
    match outcome {
        Outcome::Echo { from, rtt, .. } => {
            write_reply6(out, from, scope_id, IP_SUCCESS, rtt, payload)
        }
        Outcome::Error {
            status, from, rtt, ..
        } => write_reply6(out, from, 0, status, rtt, (&[][..]).into()),
        Outcome::Fail(code) => Err(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::{Replies, Reply6};

    /// A tiny deterministic PRNG (xorshift64*) for property tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn byte(&mut self) -> u8 {
            self.next() as u8
        }
        fn fill(&mut self, b: &mut [u8]) {
            for x in b {
                *x = self.byte();
            }
        }
    }

    #[test]
    fn checksum_rfc1071_example() {
        // RFC 1071 §3 example bytes: sum 0xddf2, checksum !0xddf2.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&d, &[]), !0xddf2);
        // A packet with its checksum stored verifies to 0.
        let h = echo_header(ICMP_ECHO, 0x1234, 7, b"hello", true);
        assert_eq!(checksum(&h, b"hello"), 0);
        assert_eq!(echo_header(ICMP_ECHO, 1, 2, b"", false)[2..4], [0, 0]);
    }

    #[test]
    fn map_tables() {
        assert_eq!(map_icmp4(3, 0), Some(11002));
        assert_eq!(map_icmp4(3, 1), Some(11003));
        assert_eq!(map_icmp4(3, 13), Some(11003));
        assert_eq!(map_icmp4(3, 4), Some(11009));
        assert_eq!(map_icmp4(3, 200), Some(11003));
        assert_eq!(map_icmp4(11, 0), Some(11013));
        assert_eq!(map_icmp4(11, 1), Some(11014));
        assert_eq!(map_icmp4(12, 0), Some(11015));
        assert_eq!(map_icmp4(4, 0), Some(11016));
        assert_eq!(map_icmp4(5, 0), None);
        assert_eq!(map_icmp4(0, 0), None);
        assert_eq!(map_icmp6(1, 0), Some(11002));
        assert_eq!(map_icmp6(1, 4), Some(11005));
        assert_eq!(map_icmp6(2, 0), Some(11009));
        assert_eq!(map_icmp6(3, 0), Some(11013));
        assert_eq!(map_icmp6(4, 2), Some(11007));
        assert_eq!(map_icmp6(129, 0), None);
        // Every code natively; every 17th under Miri (slow).
        for t in 0..=255u8 {
            for c in (0..=255u8).step_by(if cfg!(miri) { 17 } else { 1 }) {
                if let Some(s) = map_icmp4(t, c) {
                    assert!(crate::helper::status_name(s).is_some());
                }
                if let Some(s) = map_icmp6(t, c) {
                    assert!(crate::helper::status_name(s).is_some());
                }
            }
        }
    }

    fn ipv4_header(src: [u8; 4], dst: [u8; 4], ttl: u8, options: &[u8]) -> [u8; 60] {
        let mut h = [0u8; 60];
        h[0] = 0x40 | (5 + options.len() / 4) as u8;
        h[1] = 0x10;
        h[8] = ttl;
        h[9] = 1;
        h[12..16].copy_from_slice(&src);
        h[16..20].copy_from_slice(&dst);
        h[20..20 + options.len()].copy_from_slice(options);
        h
    }

    #[test]
    fn raw_reply_and_error_roundtrip() {
        let dst = [192, 0, 2, 7];
        let e = Expect {
            dst: &dst,
            id: Some(0xbeef),
            seq: 3,
            payload: b"abcd",
        };
        // An echo reply with a record-route option.
        let opts = [7, 7, 4, 0, 0, 0, 0, 0];
        let mut pkt = [0u8; 128];
        let h = ipv4_header(dst, [192, 0, 2, 1], 61, &opts);
        let ihl = 28;
        pkt[..ihl].copy_from_slice(&h[..ihl]);
        let icmp = echo_header(ICMP_ECHOREPLY, 0xbeef, 3, b"abcd", true);
        pkt[ihl..ihl + 8].copy_from_slice(&icmp);
        pkt[ihl + 8..ihl + 12].copy_from_slice(b"abcd");
        let p = split_ipv4(&pkt[..ihl + 12]).unwrap();
        assert_eq!((p.src, p.ttl, p.tos, p.options), (dst, 61, 0x10, &opts[..]));
        assert_eq!(classify4(p.payload, p.src, &e), Classified::Reply(b"abcd"));
        // Wrong seq / id / source / payload: ignored.
        assert_eq!(classify4(p.payload, [192, 0, 2, 8], &e), Classified::Ignore);
        let other = Expect { seq: 4, ..e };
        assert_eq!(classify4(p.payload, p.src, &other), Classified::Ignore);
        let other = Expect { id: Some(1), ..e };
        assert_eq!(classify4(p.payload, p.src, &other), Classified::Ignore);
        let other = Expect {
            payload: b"abce",
            ..e
        };
        assert_eq!(classify4(p.payload, p.src, &other), Classified::Ignore);
        // Our own looped request: ignored.
        let req = echo_header(ICMP_ECHO, 0xbeef, 3, b"abcd", true);
        assert_eq!(classify4(&req, dst, &e), Classified::Ignore);

        // TTL expired from a router, quoting our request.
        let mut err = [0u8; 8 + 20 + 8];
        err[0] = 11;
        err[8..28].copy_from_slice(&ipv4_header([192, 0, 2, 1], dst, 1, &[])[..20]);
        err[28..36].copy_from_slice(&req);
        assert_eq!(
            classify4(&err, [198, 51, 100, 1], &e),
            Classified::Error(IP_TTL_EXPIRED_TRANSIT)
        );
        // Quoting another destination: ignored.
        err[24] = 9;
        assert_eq!(classify4(&err, [198, 51, 100, 1], &e), Classified::Ignore);
    }

    #[test]
    fn v6_reply_and_error() {
        let mut dst = [0u8; 16];
        dst[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        dst[15] = 2;
        let e = Expect {
            dst: &dst,
            id: Some(5),
            seq: 9,
            payload: b"xy",
        };
        let mut rep = [0u8; 10];
        rep[..8].copy_from_slice(&echo_header(ICMP6_ECHO_REPLY, 5, 9, b"", false));
        rep[8..].copy_from_slice(b"xy");
        assert_eq!(classify6(&rep, dst, &e), Classified::Reply(b"xy"));
        let mut err = [0u8; 8 + 40 + 8];
        err[0] = 3;
        err[8] = 0x60;
        err[8 + 6] = 58;
        err[8 + 24..8 + 40].copy_from_slice(&dst);
        err[48..56].copy_from_slice(&echo_header(ICMP6_ECHO_REQUEST, 5, 9, b"", false));
        assert_eq!(
            classify6(&err, [1; 16], &e),
            Classified::Error(IP_HOP_LIMIT_EXCEEDED)
        );
        err[53] = 1; // id
        assert_eq!(classify6(&err, [1; 16], &e), Classified::Ignore);
    }

    #[test]
    fn echo_keys() {
        let rep = echo_header(ICMP_ECHOREPLY, 0x1234, 0x5678, b"", false);
        assert_eq!(echo_key(&rep, false), Some((0x1234, 0x5678)));
        assert_eq!(echo_key(&rep, true), None, "an IPv4 reply type on IPv6");
        let req = echo_header(ICMP_ECHO, 1, 2, b"", false);
        assert_eq!(echo_key(&req, false), None, "our own request");
        let mut err = [0u8; 8 + 24 + 8];
        err[0] = 11;
        err[8] = 0x46; // a 24-byte quoted header
        err[32..40].copy_from_slice(&echo_header(ICMP_ECHO, 7, 9, b"", false));
        assert_eq!(echo_key(&err, false), Some((7, 9)));
        assert_eq!(echo_key(&err[..39], false), None, "truncated quote");
        err[0] = 5;
        assert_eq!(echo_key(&err, false), None, "redirect");
        let mut err6 = [0u8; 8 + 40 + 8];
        err6[0] = 1;
        err6[48..].copy_from_slice(&echo_header(ICMP6_ECHO_REQUEST, 3, 4, b"", false));
        assert_eq!(echo_key(&err6, true), Some((3, 4)));
        let rep6 = echo_header(ICMP6_ECHO_REPLY, 5, 6, b"", false);
        assert_eq!(echo_key(&rep6, true), Some((5, 6)));
        for n in 0..8 {
            assert_eq!(echo_key(&rep[..n], false), None);
        }
    }

    #[test]
    fn queued_errors() {
        let dst = [203, 0, 113, 1];
        let e = Expect {
            dst: &dst,
            id: None,
            seq: 77,
            payload: b"",
        };
        let quoted = echo_header(ICMP_ECHO, 0x4444, 77, b"", false);
        let mut q = QueuedError {
            errno: 113,
            origin: SO_EE_ORIGIN_ICMP,
            icmp_type: 3,
            code: 1,
            dst: &dst,
            quoted: &quoted,
        };
        assert_eq!(
            classify_queued(&q, false, 90, &e),
            Some(IP_DEST_HOST_UNREACHABLE)
        );
        q.icmp_type = 5;
        assert_eq!(
            classify_queued(&q, false, 90, &e),
            None,
            "redirects are ignored"
        );
        q.icmp_type = 3;
        q.origin = SO_EE_ORIGIN_LOCAL;
        q.errno = 90;
        assert_eq!(classify_queued(&q, false, 90, &e), Some(IP_PACKET_TOO_BIG));
        let other = Expect { seq: 78, ..e };
        assert_eq!(classify_queued(&q, false, 90, &other), None);
        let d2 = [203, 0, 113, 2];
        q.dst = &d2;
        assert_eq!(classify_queued(&q, false, 90, &e), None);
    }

    // -----------------------------------------------------------------
    // What the BSD kernels deliver (macOS, iOS, FreeBSD; never run here):
    // fixtures instead of a kernel. Every socket there is raw-like: the
    // IPv4 header comes with each packet, ICMP errors arrive in-band with
    // the quoted header, and each socket receives every ICMP message of the
    // host (no kernel filter). IPv6 raw sockets deliver no IPv6 header.
    // -----------------------------------------------------------------

    /// How a kernel fills a delivered (or quoted) IPv4 header's `ip_len` and
    /// `ip_off`.
    #[derive(Clone, Copy, Debug)]
    enum IpLen {
        /// Network order, the whole datagram (Linux, FreeBSD 10 and later).
        Network,
        /// Host order, the header length subtracted (xnu's `ip_input`
        /// before `rip_input`), `ip_off` host order too.
        HostPayloadOnly,
        /// Host order, the whole datagram (a quoted header of a packet the
        /// host itself was sending: the fields byte-swapped on the wire).
        HostSwapped,
    }

    /// An IPv4 datagram: a header of `20 + options` bytes from `src` to
    /// `dst` (protocol ICMP, DF set) with `ip_len`/`ip_off` as `how` says,
    /// then `body`.
    fn datagram(
        how: IpLen,
        src: [u8; 4],
        dst: [u8; 4],
        ttl: u8,
        options: &[u8],
        body: &[u8],
    ) -> std::vec::Vec<u8> {
        assert_eq!(options.len() % 4, 0);
        let hl = 20 + options.len();
        let total = (hl + body.len()) as u16;
        let (len, off) = match how {
            IpLen::Network => (total.to_be_bytes(), 0x4000u16.to_be_bytes()),
            IpLen::HostPayloadOnly => ((total - hl as u16).to_ne_bytes(), 0x4000u16.to_ne_bytes()),
            IpLen::HostSwapped => (total.swap_bytes().to_be_bytes(), 0x0040u16.to_be_bytes()),
        };
        let mut v = std::vec![
            0x40 | (hl / 4) as u8,
            0,
            len[0],
            len[1],
            0x12,
            0x34,
            off[0],
            off[1]
        ];
        v.extend_from_slice(&[ttl, 1, 0, 0]);
        v.extend_from_slice(&src);
        v.extend_from_slice(&dst);
        v.extend_from_slice(options);
        v.extend_from_slice(body);
        v
    }

    /// An ICMP message: type, code, the 4 bytes after the checksum, `rest`.
    fn icmp(t: u8, code: u8, word: [u8; 4], rest: &[u8]) -> std::vec::Vec<u8> {
        let mut v = std::vec![t, code, 0, 0, word[0], word[1], word[2], word[3]];
        v.extend_from_slice(rest);
        v
    }

    const ME: [u8; 4] = [192, 0, 2, 1];
    const TARGET: [u8; 4] = [198, 51, 100, 2];
    const ROUTER: [u8; 4] = [192, 0, 2, 254];
    const DATA: &[u8] = b"what a BSD kernel delivers";

    /// Our request to TARGET: identifier 0x5a5a, sequence 0x0102.
    fn ours() -> Expect<'static> {
        Expect {
            dst: &TARGET,
            id: Some(0x5a5a),
            seq: 0x0102,
            payload: DATA,
        }
    }

    /// The receive path of a raw-like IPv4 socket (`sock::classify` there):
    /// split the datagram, classify its ICMP message.
    fn receive4<'a>(pkt: &'a [u8], e: &Expect<'_>) -> (Classified<'a>, Option<Ipv4Packet<'a>>) {
        match split_ipv4(pkt) {
            Some(p) => (classify4(p.payload, p.src, e), Some(p)),
            None => (Classified::Ignore, None),
        }
    }

    /// An echo reply with the IPv4 header included, however the kernel
    /// wrote `ip_len` (macOS: host order, without the header; FreeBSD:
    /// network order): our reply, with its TTL, TOS and options.
    #[test]
    fn bsd_echo_reply_with_the_ip_header_included() {
        let e = ours();
        let reply = [
            &echo_header(ICMP_ECHOREPLY, 0x5a5a, 0x0102, DATA, true)[..],
            DATA,
        ]
        .concat();
        let rr = [7, 7, 4, 0, 0, 0, 0, 1];
        for how in [IpLen::Network, IpLen::HostPayloadOnly, IpLen::HostSwapped] {
            for options in [&[][..], &rr[..]] {
                let pkt = datagram(how, TARGET, ME, 57, options, &reply);
                let (c, p) = receive4(&pkt, &e);
                assert_eq!(
                    c,
                    Classified::Reply(DATA),
                    "{how:?}, {} option bytes",
                    options.len()
                );
                let p = p.unwrap();
                assert_eq!((p.src, p.ttl, p.options), (TARGET, 57, options), "{how:?}");
                // Truncated by one byte: not ours (the data must match).
                let (c, _) = receive4(&pkt[..pkt.len() - 1], &e);
                assert_eq!(c, Classified::Ignore, "{how:?}: truncated");
            }
        }
    }

    /// ICMP errors arrive in-band, quoting our request's IPv4 header (its
    /// `ip_len`/`ip_off` in either order, with or without options) and at
    /// least 8 bytes of our echo request: the error's status, reported by
    /// the router.
    #[test]
    fn bsd_errors_in_band_with_the_quoted_header() {
        let e = ours();
        let request = echo_header(ICMP_ECHO, 0x5a5a, 0x0102, DATA, true);
        let lsrr = [0x83, 7, 4, 198, 51, 100, 9, 0];
        let cases = [
            (11, 0, IP_TTL_EXPIRED_TRANSIT),
            (11, 1, IP_TTL_EXPIRED_REASSEM),
            (3, 1, IP_DEST_HOST_UNREACHABLE),
            (3, 0, IP_DEST_NET_UNREACHABLE),
            (3, 4, IP_PACKET_TOO_BIG),
            (3, 13, IP_DEST_HOST_UNREACHABLE),
            (12, 0, IP_PARAM_PROBLEM),
            (4, 0, IP_SOURCE_QUENCH),
        ];
        for (t, code, status) in cases {
            for quoted_how in [IpLen::Network, IpLen::HostSwapped, IpLen::HostPayloadOnly] {
                for quoted_opts in [&[][..], &lsrr[..]] {
                    for quoted_data in [&DATA[..0], DATA] {
                        let body = [&request[..], quoted_data].concat();
                        let quoted = datagram(quoted_how, ME, TARGET, 1, quoted_opts, &body);
                        let word = if (t, code) == (3, 4) {
                            [0, 0, 0x05, 0x00]
                        } else {
                            [0; 4]
                        };
                        let msg = icmp(t, code, word, &quoted);
                        for outer in [IpLen::Network, IpLen::HostPayloadOnly] {
                            let pkt = datagram(outer, ROUTER, ME, 64, &[], &msg);
                            let (c, p) = receive4(&pkt, &e);
                            let what = (
                                t,
                                code,
                                quoted_how,
                                quoted_opts.len(),
                                quoted_data.len(),
                                outer,
                            );
                            assert_eq!(c, Classified::Error(status), "{what:?}");
                            assert_eq!(p.unwrap().src, ROUTER, "{what:?}: the reporting node");
                            assert_eq!(echo_key(&msg, false), Some((0x5a5a, 0x0102)), "{what:?}");
                        }
                    }
                }
            }
        }
        // Quoting less than the 8 bytes of our echo header: not provably
        // ours, ignored.
        let quoted = datagram(IpLen::Network, ME, TARGET, 1, &[], &request[..7]);
        let pkt = datagram(
            IpLen::Network,
            ROUTER,
            ME,
            64,
            &[],
            &icmp(11, 0, [0; 4], &quoted),
        );
        assert_eq!(receive4(&pkt, &e).0, Classified::Ignore);
    }

    /// Every socket receives every ICMP message of the host (a raw socket
    /// without a kernel filter): other processes' echoes, our own request
    /// looped back, replies that match in part, informational types, errors
    /// about other requests and redirects. None of it is ours; our reply
    /// among it is.
    #[test]
    fn bsd_all_icmp_of_the_host_is_seen_and_only_ours_is_taken() {
        let e = ours();
        let d = DATA;
        let other_host = [203, 0, 113, 9];
        let rep = |id, seq, data: &[u8]| {
            [&echo_header(ICMP_ECHOREPLY, id, seq, data, true)[..], data].concat()
        };
        let req = |id, seq, data: &[u8]| {
            [&echo_header(ICMP_ECHO, id, seq, data, true)[..], data].concat()
        };
        let error_about = |dst: [u8; 4], id, seq, t| {
            let quoted = datagram(
                IpLen::Network,
                ME,
                dst,
                1,
                &[],
                &echo_header(ICMP_ECHO, id, seq, d, true),
            );
            icmp(t, 0, [0; 4], &quoted)
        };
        let mut changed = rep(0x5a5a, 0x0102, d);
        *changed.last_mut().unwrap() ^= 1;
        let foreign: [(&str, [u8; 4], std::vec::Vec<u8>); 14] = [
            ("another process's request", ME, req(0x1111, 0x0102, d)),
            ("another process's reply", TARGET, rep(0x1111, 0x0102, d)),
            ("our own request, looped back", ME, req(0x5a5a, 0x0102, d)),
            (
                "our identifier, another sequence",
                TARGET,
                rep(0x5a5a, 0x0103, d),
            ),
            (
                "our pair from another host",
                other_host,
                rep(0x5a5a, 0x0102, d),
            ),
            (
                "our pair, other data",
                TARGET,
                rep(0x5a5a, 0x0102, b"other"),
            ),
            ("our pair, data changed", TARGET, changed),
            ("our pair, code 1", TARGET, {
                let mut m = rep(0x5a5a, 0x0102, d);
                m[1] = 1;
                m
            }),
            (
                "router advertisement",
                ROUTER,
                icmp(9, 0, [1, 0, 0x07, 0x08], &[192, 0, 2, 254, 0, 0, 0, 0]),
            ),
            (
                "timestamp reply",
                TARGET,
                icmp(14, 0, [0x5a, 0x5a, 0x01, 0x02], &[0; 12]),
            ),
            (
                "a redirect quoting our request",
                ROUTER,
                error_about(TARGET, 0x5a5a, 0x0102, 5),
            ),
            (
                "an error about another destination",
                ROUTER,
                error_about(other_host, 0x5a5a, 0x0102, 11),
            ),
            (
                "an error about another process's request",
                ROUTER,
                error_about(TARGET, 0x1111, 0x0102, 11),
            ),
            (
                "an error about our other sequence",
                ROUTER,
                error_about(TARGET, 0x5a5a, 0x0101, 3),
            ),
        ];
        for (what, from, msg) in &foreign {
            for how in [IpLen::Network, IpLen::HostPayloadOnly] {
                let pkt = datagram(how, *from, ME, 64, &[], msg);
                assert_eq!(receive4(&pkt, &e).0, Classified::Ignore, "{what} ({how:?})");
            }
        }
        let ours_pkt = datagram(
            IpLen::HostPayloadOnly,
            TARGET,
            ME,
            64,
            &[],
            &rep(0x5a5a, 0x0102, d),
        );
        assert_eq!(receive4(&ours_pkt, &e).0, Classified::Reply(d));
        // Not IPv4 ICMP at all (another protocol on a raw socket, a short
        // or malformed header): not even split.
        let mut udp = ours_pkt.clone();
        udp[9] = 17;
        for bad in [&udp[..], &ours_pkt[..19], &[0x46, 0, 0, 20][..], &[][..]] {
            assert!(split_ipv4(bad).is_none(), "{bad:02x?}");
        }
    }

    /// IPv6 raw sockets deliver no IPv6 header (every OS): the message
    /// alone, the sender from `msg_name`. Replies and errors as on Linux,
    /// and the host's other ICMPv6 traffic (neighbour discovery, router
    /// advertisements, MLD, other echoes) ignored.
    #[test]
    fn bsd_ipv6_without_header() {
        let mut target = [0u8; 16];
        target[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        target[15] = 2;
        let mut router = target;
        router[15] = 0xfe;
        let mut me = target;
        me[15] = 1;
        let e = Expect {
            dst: &target,
            id: Some(0x0a0b),
            seq: 7,
            payload: DATA,
        };
        let reply = [
            &echo_header(ICMP6_ECHO_REPLY, 0x0a0b, 7, DATA, false)[..],
            DATA,
        ]
        .concat();
        assert_eq!(classify6(&reply, target, &e), Classified::Reply(DATA));
        assert_eq!(echo_key(&reply, true), Some((0x0a0b, 7)));
        let mut quoted = std::vec![0x60, 0, 0, 0, 0, 0, 58, 1];
        quoted.extend_from_slice(&me);
        quoted.extend_from_slice(&target);
        quoted.extend_from_slice(&echo_header(ICMP6_ECHO_REQUEST, 0x0a0b, 7, DATA, false));
        for (t, code, status) in [
            (1, 3, IP_DEST_ADDR_UNREACHABLE),
            (1, 0, IP_DEST_NO_ROUTE),
            (3, 0, IP_HOP_LIMIT_EXCEEDED),
            (2, 0, IP_PACKET_TOO_BIG),
        ] {
            let msg = icmp(t, code, [0, 0, 0x05, 0x00], &quoted);
            assert_eq!(
                classify6(&msg, router, &e),
                Classified::Error(status),
                "{t}/{code}"
            );
        }
        for (what, from, msg) in [
            (
                "neighbour solicitation",
                router,
                icmp(135, 0, [0; 4], &target),
            ),
            (
                "router advertisement",
                router,
                icmp(134, 0, [64, 0, 7, 8], &[0; 8]),
            ),
            ("MLD report", me, icmp(143, 0, [0; 4], &[0; 20])),
            (
                "our own request, looped",
                me,
                [
                    &echo_header(ICMP6_ECHO_REQUEST, 0x0a0b, 7, DATA, false)[..],
                    DATA,
                ]
                .concat(),
            ),
            (
                "another process's reply",
                target,
                [
                    &echo_header(ICMP6_ECHO_REPLY, 0x0a0c, 7, DATA, false)[..],
                    DATA,
                ]
                .concat(),
            ),
            ("our pair from another host", router, reply.clone()),
            (
                "an IPv4 echo reply type",
                target,
                [
                    &echo_header(ICMP_ECHOREPLY, 0x0a0b, 7, DATA, false)[..],
                    DATA,
                ]
                .concat(),
            ),
        ] {
            assert_eq!(classify6(&msg, from, &e), Classified::Ignore, "{what}");
        }
    }

    /// Property: for random replies and buffer sizes, the writer never writes
    /// outside `ReplySize` (guard bytes intact), succeeds exactly when the
    /// struct and data fit, and what it writes reads back through the helper.
    #[test]
    fn writers_respect_reply_size() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut store = [0u64; 64];
        for _ in 0..if cfg!(miri) { 25 } else { 5000 } {
            let data_len = (rng.next() % 300) as usize;
            let opt_len = (rng.next() % 48) as usize;
            let size = (rng.next() % 420) as usize;
            let mut data = [0u8; 300];
            rng.fill(&mut data);
            let mut opts = [0u8; 48];
            rng.fill(&mut opts);
            let guard = rng.byte();
            let bytes: &mut [u8] =
                unsafe { core::slice::from_raw_parts_mut(store.as_mut_ptr().cast(), 512) };
            bytes.fill(guard);
            let r = Reply4 {
                address: rng.next() as u32,
                status: 0,
                round_trip_time: 3,
                ttl: 64,
                tos: 0,
                options: &opts[..opt_len],
                data: (&data[..data_len]).into(),
            };
            let res = write_reply4(&mut OutBuf::new(&mut bytes[..size]), &r);
            let fits = size >= size_of::<ICMP_ECHO_REPLY>() + data_len;
            assert_eq!(res.is_ok(), fits);
            assert!(
                bytes[size..].iter().all(|&b| b == guard),
                "wrote past ReplySize"
            );
            if fits {
                let rep = Replies::new(&bytes[..size], 1)
                    .unwrap()
                    .next()
                    .unwrap()
                    .unwrap();
                assert_eq!(rep.data, &data[..data_len]);
                assert_eq!(rep.raw.Address, r.address);
                assert!(rep.options.is_empty() || rep.options == &opts[..opt_len]);
                assert_eq!(rep.raw.Reserved, 0);
            } else {
                assert!(
                    bytes[..size].iter().all(|&b| b == guard),
                    "wrote on failure"
                );
            }
            bytes.fill(guard);
            let res6 = write_reply6(
                &mut OutBuf::new(&mut bytes[..size]),
                [7; 16],
                0,
                0,
                1,
                (&data[..data_len]).into(),
            );
            assert_eq!(res6.is_ok(), size >= 36 + data_len);
            assert!(bytes[size..].iter().all(|&b| b == guard));
            if res6.is_ok() {
                let rep = Reply6::new(&bytes[..size], data_len as u16).unwrap();
                assert_eq!(rep.data, &data[..data_len]);
                assert_eq!(rep.address().octets(), [7; 16]);
            }
            bytes.fill(guard);
            write_status4(&mut OutBuf::new(&mut bytes[..size]), 11010);
            write_status6(&mut OutBuf::new(&mut bytes[..size]), 11010);
            assert!(bytes[size..].iter().all(|&b| b == guard));
        }
    }

    /// The bytes of a word store, for the writers' tests.
    fn store_bytes(store: &mut [u64]) -> &mut [u8] {
        // SAFETY: the words' bytes, initialised, exclusively borrowed.
        unsafe { core::slice::from_raw_parts_mut(store.as_mut_ptr().cast(), store.len() * 8) }
    }

    /// Every byte a writer writes is defined: the structures' padding is
    /// zeroed (64-bit: `ICMP_ECHO_REPLY` 28..32, `ICMPV6_ECHO_REPLY`
    /// 26..28), never copied from a stack value. The buffer starts as a
    /// pattern; every written byte is read. Under Miri, a copied
    /// uninitialised padding byte is reported when read.
    #[test]
    fn writers_zero_the_padding() {
        let o = core::mem::offset_of!(ICMP_ECHO_REPLY, Options);
        let pad4 = o + 4..o + core::mem::offset_of!(IP_OPTION_INFORMATION, OptionsData);
        let pad6 = size_of::<IPV6_ADDRESS_EX>()..core::mem::offset_of!(ICMPV6_ECHO_REPLY, Status);
        if cfg!(target_pointer_width = "64") {
            assert_eq!((pad4.clone(), pad6.clone()), (28..32, 26..28));
        }
        let mut store = [0u64; 16];
        let head4 = size_of::<ICMP_ECHO_REPLY>();
        type Write = fn(&mut OutBuf<'_>);
        let cases: [(Write, &core::ops::Range<usize>, usize); 4] = [
            (
                |out| {
                    let r = Reply4 {
                        address: 1,
                        status: 0,
                        round_trip_time: 2,
                        ttl: 64,
                        tos: 0,
                        options: &[7, 3, 4, 0],
                        data: (&b"abc"[..]).into(),
                    };
                    write_reply4(out, &r).unwrap();
                },
                &pad4,
                head4,
            ),
            (|out| write_status4(out, IP_REQ_TIMED_OUT), &pad4, head4),
            (
                |out| write_reply6(out, [1; 16], 0, 0, 1, (&b"abc"[..]).into()).unwrap(),
                &pad6,
                size_of::<ICMPV6_ECHO_REPLY>(),
            ),
            (
                |out| write_status6(out, IP_REQ_TIMED_OUT),
                &pad6,
                size_of::<ICMPV6_ECHO_REPLY>(),
            ),
        ];
        for (i, (write, pad, head)) in cases.into_iter().enumerate() {
            let bytes = store_bytes(&mut store);
            bytes.fill(0xa5);
            write(&mut OutBuf::new(bytes));
            // Read every byte of the structure (Miri checks each is defined).
            let sum: u32 = bytes[..head].iter().map(|&b| u32::from(b)).sum();
            assert!(sum > 0, "case {i}");
            assert!(
                bytes[pad.clone()].iter().all(|&b| b == 0),
                "case {i}: padding {pad:?} = {:02x?}",
                &bytes[pad.clone()]
            );
        }
    }

    /// The echoed data may lie inside the reply buffer (the caller's
    /// `RequestData` overlapping `ReplyBuffer`, legal on Windows): written
    /// correctly wherever it starts, including exactly where the reply data
    /// goes and inside the structure. Under Miri this also checks the
    /// copies' aliasing.
    #[test]
    fn echoed_data_may_lie_inside_the_reply_buffer() {
        let data: [u8; 32] = core::array::from_fn(|i| i as u8 ^ 0x5c);
        let head4 = size_of::<ICMP_ECHO_REPLY>();
        let head6 = size_of::<ICMPV6_ECHO_REPLY>();
        let mut store = [0u64; 16];
        for at in [0, 8, 20, head6, head4, head4 + 4, 64] {
            for v6 in [false, true] {
                let bytes = store_bytes(&mut store);
                bytes.fill(0xa5);
                bytes[at..at + 32].copy_from_slice(&data);
                let p = store.as_mut_ptr().cast::<u8>();
                // SAFETY: the store's 128 bytes, written only through `out`.
                let mut out = unsafe { OutBuf::from_raw(p, 128) };
                // SAFETY: 32 readable bytes inside the same store.
                let src = unsafe { InBytes::from_raw(p.add(at), 32) };
                let bytes = if v6 {
                    write_reply6(&mut out, [2; 16], 0, 0, 1, src).unwrap();
                    let bytes = store_bytes(&mut store);
                    assert_eq!(Reply6::new(bytes, 32).unwrap().data, data, "v6, at {at}");
                    bytes
                } else {
                    let r = Reply4 {
                        address: 1,
                        status: 0,
                        round_trip_time: 0,
                        ttl: 1,
                        tos: 0,
                        options: &[],
                        data: src,
                    };
                    write_reply4(&mut out, &r).unwrap();
                    let bytes = store_bytes(&mut store);
                    let rep = Replies::new(bytes, 1).unwrap().next().unwrap().unwrap();
                    assert_eq!(rep.data, data, "v4, at {at}");
                    bytes
                };
                let head = if v6 { head6 } else { head4 };
                assert_eq!(bytes[head..head + 32], data);
            }
        }
    }

    /// Property: the parsers never panic and never claim a reply or an error
    /// for random bytes that do not carry our sequence number.
    #[test]
    fn parsers_total_on_random_input() {
        let mut rng = Rng(42);
        let dst = [127, 0, 0, 1];
        let dst6 = [1u8; 16];
        let mut pkt = [0u8; 200];
        for i in 0..if cfg!(miri) { 150 } else { 200_000 } {
            let len = (rng.next() % 200) as usize;
            rng.fill(&mut pkt[..len]);
            if i % 2 == 0 && len > 0 {
                pkt[0] = 0x45; // make header parsing go deeper
            }
            let e = Expect {
                dst: &dst,
                id: Some(rng.next() as u16),
                seq: rng.next() as u16,
                payload: &[],
            };
            if let Some(p) = split_ipv4(&pkt[..len]) {
                let _ = classify4(p.payload, p.src, &e);
            }
            let _ = classify4(&pkt[..len], dst, &e);
            let e6 = Expect { dst: &dst6, ..e };
            let _ = classify6(&pkt[..len], dst6, &e6);
            let q = QueuedError {
                errno: 0,
                origin: pkt.first().copied().unwrap_or(0) % 4,
                icmp_type: 3,
                code: 0,
                dst: &dst,
                quoted: &pkt[..len],
            };
            if classify_queued(&q, false, 90, &e).is_some() {
                assert_eq!(u16::from_be_bytes([pkt[6], pkt[7]]), e.seq);
            }
        }
    }
}
