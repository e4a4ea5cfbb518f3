//! A thin, safe helper for calling the raw API correctly: reply-buffer sizing
//! and alignment, bounds-checked reading of replies, address conversion, and
//! the names of the `IP_STATUS` codes.
//!
//! Nothing here calls the network; everything works on every target.
//!
//! ```
//! use icmp_sys::helper::{self, ReplyBuffer};
//!
//! // A buffer for a 32-byte echo, aligned for ICMP_ECHO_REPLY, on the stack.
//! let mut buf = ReplyBuffer::<{ helper::reply_buffer_size(32) }>::new();
//! assert_eq!(buf.as_mut_ptr() as usize % 8, 0);
//! // ... IcmpSendEcho(handle, dst, data, 32, opts, buf.as_mut_ptr(), buf.size(), 1000) -> n
//! let n = 0; // no reply in this doc example
//! assert_eq!(helper::Replies::new(buf.as_bytes(), n).unwrap().count(), 0);
//! assert_eq!(helper::status_name(11010), Some("IP_REQ_TIMED_OUT"));
//! ```

use crate::ipexport::{
    ICMP_ECHO_REPLY, ICMPV6_ECHO_REPLY, IO_STATUS_BLOCK, IP_STATUS, IP_STATUS_TABLE, IPAddr,
    IPV6_ADDRESS_EX, MAX_OPT_SIZE,
};
use core::fmt;
use core::mem::size_of;
use core::net::{Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

/// Converts an [`Ipv4Addr`] to an [`IPAddr`]: network byte order as laid out
/// in memory, which is what the API takes and returns.
///
/// Pitfall avoided: `u32::from(ip)` gives the reverse order on little-endian.
///
/// Microsoft Learn: [IcmpSendEcho function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho), `DestinationAddress` parameter.
#[inline]
pub const fn ipaddr(ip: Ipv4Addr) -> IPAddr {
    u32::from_ne_bytes(ip.octets())
}

/// Converts an [`IPAddr`] (e.g. `ICMP_ECHO_REPLY::Address`) to an
/// [`Ipv4Addr`].
///
/// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Address` member.
#[inline]
pub const fn ipv4(addr: IPAddr) -> Ipv4Addr {
    let b = addr.to_ne_bytes();
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// Reads the address of an [`IPV6_ADDRESS_EX`] (`ICMPV6_ECHO_REPLY::Address`)
/// as an [`Ipv6Addr`]. Its words are in network order, i.e. the bytes are the
/// address bytes in order.
///
/// Microsoft Learn: [IPV6_ADDRESS_EX structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ipv6_address_ex).
#[inline]
pub const fn ipv6_address(addr: &IPV6_ADDRESS_EX) -> Ipv6Addr {
    // Copy out of the packed struct; never borrow its fields.
    let w = addr.sin6_addr;
    let mut s = [0u16; 8];
    let mut i = 0;
    while i < 8 {
        // A network-order word read natively: its bytes in memory are big-endian.
        s[i] = u16::from_be_bytes(w[i].to_ne_bytes());
        i += 1;
    }
    Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
}

/// Builds the Windows [`SOCKADDR_IN6`](crate::ipexport::SOCKADDR_IN6) of an
/// address for [`Icmp6SendEcho2`](crate::icmpapi::Icmp6SendEcho2): family
/// [`AF_INET6`](crate::ipexport::AF_INET6) (23, on every host OS), port 0.
///
/// Microsoft Learn: [SOCKADDR_IN6_LH structure (ws2ipdef.h)](https://learn.microsoft.com/en-us/windows/win32/api/ws2ipdef/ns-ws2ipdef-sockaddr_in6_lh).
#[inline]
pub const fn sockaddr_in6(ip: Ipv6Addr, scope_id: u32) -> crate::ipexport::SOCKADDR_IN6 {
    crate::ipexport::SOCKADDR_IN6 {
        sin6_family: crate::ipexport::AF_INET6,
        sin6_port: 0,
        sin6_flowinfo: 0,
        sin6_addr: crate::ipexport::IN6_ADDR {
            u: crate::ipexport::IN6_ADDR_0 { Byte: ip.octets() },
        },
        sin6_scope_id: scope_id,
    }
}

// ---------------------------------------------------------------------------
// Buffer sizes
// ---------------------------------------------------------------------------

#[inline]
const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// The room the documentation reserves for an ICMP error message (8 bytes).
const ICMP_ERROR_ROOM: usize = 8;

/// The smallest `ReplySize` that modern Windows (Vista and later) and Wine
/// accept for an IPv4 echo of `request_size` bytes:
/// `size_of::<ICMP_ECHO_REPLY>() + request_size`. One byte less fails with
/// [`IP_GENERAL_FAILURE`](crate::ipexport::IP_GENERAL_FAILURE).
///
/// Prefer [`reply_buffer_size`]: older Windows versions and other
/// implementations need more.
///
/// Microsoft Learn: [IcmpSendEcho function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho), `ReplySize` parameter.
#[inline]
pub const fn min_reply_size(request_size: u16) -> usize {
    size_of::<ICMP_ECHO_REPLY>() + request_size as usize
}

/// A conservative reply-buffer size for a synchronous IPv4 echo
/// ([`IcmpSendEcho`](crate::icmpapi::IcmpSendEcho)) of `request_size` bytes:
/// one [`ICMP_ECHO_REPLY`], the echoed data (at least 8 bytes, the room of an
/// ICMP error message), 8 more bytes as the documentation asks, and room for
/// [`MAX_OPT_SIZE`] bytes of reply options.
///
/// Microsoft Learn: [IcmpSendEcho function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho), `ReplySize` parameter.
/// Always fits in the `u32` `ReplySize`.
#[inline]
pub const fn reply_buffer_size(request_size: u16) -> usize {
    size_of::<ICMP_ECHO_REPLY>()
        + max(request_size as usize, ICMP_ERROR_ROOM)
        + ICMP_ERROR_ROOM
        + MAX_OPT_SIZE as usize
}

/// A conservative reply-buffer size for an IPv4 echo through
/// [`IcmpSendEcho2`](crate::icmpapi::IcmpSendEcho2) or
/// [`IcmpSendEcho2Ex`](crate::icmpapi::IcmpSendEcho2Ex), synchronous or not:
/// [`reply_buffer_size`] plus an [`IO_STATUS_BLOCK`], as the documentation
/// asks.
///
/// Microsoft Learn: [IcmpSendEcho2 function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho2), `ReplySize` parameter.
#[inline]
pub const fn reply_buffer_size_async(request_size: u16) -> usize {
    reply_buffer_size(request_size) + size_of::<IO_STATUS_BLOCK>()
}

/// The smallest `ReplySize` for an IPv6 echo of `request_size` bytes:
/// `size_of::<ICMPV6_ECHO_REPLY>() + request_size`.
///
/// Microsoft Learn: [Icmp6SendEcho2 function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmp6sendecho2), `ReplySize` parameter.
#[inline]
pub const fn min_reply6_size(request_size: u16) -> usize {
    size_of::<ICMPV6_ECHO_REPLY>() + request_size as usize
}

/// A conservative reply-buffer size for an IPv6 echo
/// ([`Icmp6SendEcho2`](crate::icmpapi::Icmp6SendEcho2)) of `request_size`
/// bytes: one [`ICMPV6_ECHO_REPLY`], the data (at least 8 bytes), 8 more
/// bytes and an [`IO_STATUS_BLOCK`], as the documentation asks.
///
/// Microsoft Learn: [Icmp6SendEcho2 function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmp6sendecho2), `ReplySize` parameter.
#[inline]
pub const fn reply6_buffer_size(request_size: u16) -> usize {
    size_of::<ICMPV6_ECHO_REPLY>()
        + max(request_size as usize, ICMP_ERROR_ROOM)
        + ICMP_ERROR_ROOM
        + size_of::<IO_STATUS_BLOCK>()
}

/// The largest reply buffer any request needs: [`reply_buffer_size_async`]
/// of a 65535-byte request. A buffer of this size fits every call.
///
/// Microsoft Learn: [IcmpSendEcho2 function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho2), `ReplySize` parameter.
pub const MAX_REPLY_BUFFER_SIZE: usize = reply_buffer_size_async(u16::MAX);

// ---------------------------------------------------------------------------
// Buffers
// ---------------------------------------------------------------------------

/// A reply buffer of `N` bytes, aligned for [`ICMP_ECHO_REPLY`] (8 bytes),
/// usable without `alloc`: put it on the stack or in a `static`.
///
/// Pass [`as_mut_ptr`](Self::as_mut_ptr) and [`size`](Self::size) as
/// `ReplyBuffer` / `ReplySize`, then read the replies with
/// [`replies`](Self::replies). Size it with [`reply_buffer_size`] and
/// friends: `ReplyBuffer::<{ reply_buffer_size(32) }>::new()`.
///
/// Pitfall: the API stores absolute pointers into the buffer; do not move it
/// (e.g. return it by value) between the call and reading the replies.
///
/// No Microsoft Learn page: the crate's own helper. What it holds: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
#[repr(C, align(8))]
#[derive(Clone)]
pub struct ReplyBuffer<const N: usize> {
    bytes: [u8; N],
}

impl<const N: usize> ReplyBuffer<N> {
    /// A zeroed buffer.
    ///
    /// No Microsoft Learn page: the crate's own helper.
    #[inline]
    pub const fn new() -> Self {
        const { assert!(N <= u32::MAX as usize, "ReplySize is a u32") };
        Self { bytes: [0; N] }
    }

    /// The pointer to pass as `ReplyBuffer`.
    ///
    /// Microsoft Learn: [IcmpSendEcho function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho), `ReplyBuffer` and `ReplySize` parameters.
    #[inline]
    pub const fn as_mut_ptr(&mut self) -> *mut core::ffi::c_void {
        self.bytes.as_mut_ptr().cast()
    }

    /// The value to pass as `ReplySize`: `N`.
    ///
    /// Microsoft Learn: [IcmpSendEcho function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho), `ReplyBuffer` and `ReplySize` parameters.
    #[inline]
    pub const fn size(&self) -> u32 {
        N as u32
    }

    /// The buffer's bytes.
    ///
    /// No Microsoft Learn page: the crate's own helper.
    #[inline]
    pub const fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The buffer's bytes, mutable.
    ///
    /// No Microsoft Learn page: the crate's own helper.
    #[inline]
    pub const fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The IPv4 replies, given the count the send (or
    /// [`IcmpParseReplies`](crate::icmpapi::IcmpParseReplies)) returned.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
    #[inline]
    pub fn replies(&self, count: u32) -> Result<Replies<'_>, ReplyError> {
        Replies::new(&self.bytes, count)
    }

    /// The IPv6 reply, given the size of the request.
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh).
    #[inline]
    pub fn reply6(&self, request_size: u16) -> Result<Reply6<'_>, ReplyError> {
        Reply6::new(&self.bytes, request_size)
    }
}

impl<const N: usize> Default for ReplyBuffer<N> {
    #[inline]
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for ReplyBuffer<N> {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyBuffer")
            .field("size", &N)
            .finish_non_exhaustive()
    }
}

/// A heap-allocated reply buffer of any size, aligned for
/// [`ICMP_ECHO_REPLY`] (feature `alloc`).
///
/// Pitfall: as [`ReplyBuffer`], the allocation must not change between the
/// call and reading the replies (it never does: the buffer cannot grow).
///
/// No Microsoft Learn page: the crate's own helper. What it holds: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
#[cfg(feature = "alloc")]
#[derive(Clone)]
pub struct ReplyBufferVec {
    words: alloc::vec::Vec<u64>,
    len: usize,
}

#[cfg(feature = "alloc")]
impl ReplyBufferVec {
    /// A zeroed buffer of `size` bytes (e.g. [`reply_buffer_size`]`(n)`).
    ///
    /// # Panics
    /// If `size` does not fit the `u32` `ReplySize`.
    ///
    /// No Microsoft Learn page: the crate's own helper.
    #[inline]
    pub fn new(size: usize) -> Self {
        assert!(u32::try_from(size).is_ok(), "ReplySize is a u32");
        Self {
            words: alloc::vec![0; size.div_ceil(8)],
            len: size,
        }
    }

    /// The pointer to pass as `ReplyBuffer`.
    ///
    /// Microsoft Learn: [IcmpSendEcho function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho), `ReplyBuffer` and `ReplySize` parameters.
    #[inline]
    pub fn as_mut_ptr(&mut self) -> *mut core::ffi::c_void {
        self.words.as_mut_ptr().cast()
    }

    /// The value to pass as `ReplySize`.
    ///
    /// Microsoft Learn: [IcmpSendEcho function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho), `ReplyBuffer` and `ReplySize` parameters.
    #[inline]
    pub fn size(&self) -> u32 {
        self.len as u32
    }

    /// The buffer's bytes.
    ///
    /// No Microsoft Learn page: the crate's own helper.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: the allocation holds at least `len` initialized bytes.
        unsafe { core::slice::from_raw_parts(self.words.as_ptr().cast(), self.len) }
    }

    /// The buffer's bytes, mutable.
    ///
    /// No Microsoft Learn page: the crate's own helper.
    #[inline]
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_bytes`, and `self` is borrowed mutably.
        unsafe { core::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast(), self.len) }
    }

    /// The IPv4 replies, given the count the call returned.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
    #[inline]
    pub fn replies(&self, count: u32) -> Result<Replies<'_>, ReplyError> {
        Replies::new(self.as_bytes(), count)
    }

    /// The IPv6 reply, given the size of the request.
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh).
    #[inline]
    pub fn reply6(&self, request_size: u16) -> Result<Reply6<'_>, ReplyError> {
        Reply6::new(self.as_bytes(), request_size)
    }
}

#[cfg(feature = "alloc")]
impl fmt::Debug for ReplyBufferVec {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyBufferVec")
            .field("size", &self.len)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Reading replies
// ---------------------------------------------------------------------------

/// Why a reply buffer could not be read. Every pointer and size the API (or a
/// corrupt buffer) left in it is checked; none is ever dereferenced.
///
/// No Microsoft Learn page: the crate's own helper. What it holds: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// The buffer cannot hold the replies the count claims.
    BufferTooSmall {
        /// Bytes the replies need.
        needed: usize,
        /// Bytes the buffer has.
        len: usize,
    },
    /// Reply `index`'s `Data`/`DataSize` lies (partly) outside the buffer.
    DataOutOfBounds {
        /// Index of the reply.
        index: usize,
    },
    /// Reply `index`'s `Options.OptionsData`/`OptionsSize` lies (partly)
    /// outside the buffer.
    OptionsOutOfBounds {
        /// Index of the reply.
        index: usize,
    },
}

impl fmt::Display for ReplyError {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BufferTooSmall { needed, len } => {
                write!(
                    f,
                    "reply buffer of {len} bytes cannot hold replies of {needed} bytes"
                )
            }
            Self::DataOutOfBounds { index } => {
                write!(f, "reply {index}: data outside the reply buffer")
            }
            Self::OptionsOutOfBounds { index } => {
                write!(f, "reply {index}: options outside the reply buffer")
            }
        }
    }
}

impl core::error::Error for ReplyError {}

/// One IPv4 reply: a copy of its [`ICMP_ECHO_REPLY`] and its data and
/// options as slices of the buffer, checked to lie inside it.
///
/// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
///
/// Pitfall: `raw.Data` and `raw.Options.OptionsData` are addresses in the
/// buffer, never to be dereferenced; read `data` and `options`, which were
/// bounds-checked.
#[derive(Clone, Copy, Debug)]
pub struct Reply<'a> {
    /// The raw structure, copied out of the buffer (its pointers are not
    /// meant to be dereferenced: use `data` and `options`).
    pub raw: ICMP_ECHO_REPLY,
    /// The echoed data (`DataSize` bytes at `Data`); empty when `DataSize`
    /// is 0.
    pub data: &'a [u8],
    /// The reply's IP options (`OptionsSize` bytes at `OptionsData`).
    pub options: &'a [u8],
}

impl Reply<'_> {
    /// The replying node, or the node that reported an error.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
    #[inline]
    pub const fn address(&self) -> Ipv4Addr {
        ipv4(self.raw.Address)
    }

    /// The status, an `IP_STATUS` code.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
    #[inline]
    pub const fn status(&self) -> IP_STATUS {
        self.raw.Status
    }

    /// Round-trip time in milliseconds (0 means < 1 ms).
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
    #[inline]
    pub const fn round_trip_time(&self) -> u32 {
        self.raw.RoundTripTime
    }

    /// The TTL of the received packet.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
    #[inline]
    pub const fn ttl(&self) -> u8 {
        self.raw.Options.Ttl
    }
}

/// The IPv4 replies of a reply buffer, read with bounds checks. An iterator
/// of [`Reply`].
///
/// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
///
/// Pitfall: `count` must be what the send (or `IcmpParseReplies`, once)
/// returned, not the number of replies the buffer could hold.
#[derive(Clone, Debug)]
pub struct Replies<'a> {
    buf: &'a [u8],
    next: usize,
    count: usize,
}

/// Where `size` bytes at the absolute address `ptr` lie in `buf`, if inside.
#[inline]
fn slice_at(buf: &[u8], ptr: usize, size: usize) -> Option<&[u8]> {
    if size == 0 {
        return Some(&[]);
    }
    let start = ptr.checked_sub(buf.as_ptr() as usize)?;
    let end = start.checked_add(size)?;
    buf.get(start..end)
}

impl<'a> Replies<'a> {
    /// Checks that `buf` holds `count` replies (the value the send or
    /// [`IcmpParseReplies`](crate::icmpapi::IcmpParseReplies) returned).
    /// Each reply's data and options are checked as it is read.
    ///
    /// `buf` need not be aligned: replies are copied out with unaligned reads.
    ///
    /// No Microsoft Learn page: the crate's own helper.
    #[inline]
    pub fn new(buf: &'a [u8], count: u32) -> Result<Self, ReplyError> {
        let count = count as usize;
        let needed = count.saturating_mul(size_of::<ICMP_ECHO_REPLY>());
        if needed > buf.len() {
            return Err(ReplyError::BufferTooSmall {
                needed,
                len: buf.len(),
            });
        }
        Ok(Self {
            buf,
            next: 0,
            count,
        })
    }

    /// Reply `index`, or `None` past the count.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
    #[inline]
    pub fn get(&self, index: usize) -> Option<Result<Reply<'a>, ReplyError>> {
        if index >= self.count {
            return None;
        }
        let at = index * size_of::<ICMP_ECHO_REPLY>();
        let bytes = &self.buf[at..at + size_of::<ICMP_ECHO_REPLY>()];
        // SAFETY: `bytes` holds size_of::<ICMP_ECHO_REPLY>() bytes, and every
        // bit pattern is a valid ICMP_ECHO_REPLY (integers and raw pointers).
        let raw: ICMP_ECHO_REPLY =
            unsafe { bytes.as_ptr().cast::<ICMP_ECHO_REPLY>().read_unaligned() };
        let Some(data) = slice_at(self.buf, raw.Data as usize, raw.DataSize.into()) else {
            return Some(Err(ReplyError::DataOutOfBounds { index }));
        };
        let options = raw.Options;
        let Some(options) = slice_at(
            self.buf,
            options.OptionsData as usize,
            options.OptionsSize.into(),
        ) else {
            return Some(Err(ReplyError::OptionsOutOfBounds { index }));
        };
        Some(Ok(Reply { raw, data, options }))
    }
}

impl<'a> Iterator for Replies<'a> {
    type Item = Result<Reply<'a>, ReplyError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.get(self.next)?;
        self.next += 1;
        Some(item)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Replies<'_> {}

/// The IPv6 reply of a reply buffer filled by
/// [`Icmp6SendEcho2`](crate::icmpapi::Icmp6SendEcho2): a copy of its
/// [`ICMPV6_ECHO_REPLY`] and the data that follows it.
///
/// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh).
///
/// Pitfall: the reply has no data size: `data` is the `request_size` bytes
/// after the structure whatever the status; it is the echoed data only when
/// `status()` is `IP_SUCCESS`.
#[derive(Clone, Copy, Debug)]
pub struct Reply6<'a> {
    /// The raw structure, copied out of the buffer.
    pub raw: ICMPV6_ECHO_REPLY,
    /// The `request_size` bytes after the structure (the echoed data when
    /// `Status` is `IP_SUCCESS`; the reply itself carries no data size).
    pub data: &'a [u8],
}

impl<'a> Reply6<'a> {
    /// Reads the reply at the start of `buf`, with `request_size` bytes of
    /// data after it. `buf` need not be aligned.
    ///
    /// No Microsoft Learn page: the crate's own helper.
    #[inline]
    pub fn new(buf: &'a [u8], request_size: u16) -> Result<Self, ReplyError> {
        let needed = min_reply6_size(request_size);
        if needed > buf.len() {
            return Err(ReplyError::BufferTooSmall {
                needed,
                len: buf.len(),
            });
        }
        // SAFETY: `buf` holds at least size_of::<ICMPV6_ECHO_REPLY>() bytes,
        // and every bit pattern is a valid ICMPV6_ECHO_REPLY (integers only).
        let raw: ICMPV6_ECHO_REPLY =
            unsafe { buf.as_ptr().cast::<ICMPV6_ECHO_REPLY>().read_unaligned() };
        Ok(Self {
            raw,
            data: &buf[size_of::<ICMPV6_ECHO_REPLY>()..needed],
        })
    }

    /// The replying node, or the node that reported an error.
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh).
    #[inline]
    pub const fn address(&self) -> Ipv6Addr {
        ipv6_address(&self.raw.Address)
    }

    /// The status, an `IP_STATUS` code.
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh).
    #[inline]
    pub const fn status(&self) -> IP_STATUS {
        self.raw.Status
    }

    /// Round-trip time in milliseconds.
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh).
    #[inline]
    pub const fn round_trip_time(&self) -> u32 {
        self.raw.RoundTripTime
    }
}

// ---------------------------------------------------------------------------
// Status names
// ---------------------------------------------------------------------------

#[inline]
const fn lookup(status: IP_STATUS) -> Option<&'static (IP_STATUS, &'static str, &'static str)> {
    let mut i = 0;
    while i < IP_STATUS_TABLE.len() {
        if IP_STATUS_TABLE[i].0 == status {
            return Some(&IP_STATUS_TABLE[i]);
        }
        i += 1;
    }
    None
}

/// The SDK name of an `IP_STATUS` code (`"IP_REQ_TIMED_OUT"` for 11010), or
/// `None` for a value the SDK does not define. Where IPv4 and IPv6 share a
/// value, the IPv4 name (declared first in `ipexport.h`) is returned.
///
/// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
#[inline]
pub const fn status_name(status: IP_STATUS) -> Option<&'static str> {
    match lookup(status) {
        Some(entry) => Some(entry.1),
        None => None,
    }
}

/// A short English description of an `IP_STATUS` code
/// (`"Request timed out."` for 11010), or `None` for an unknown value.
///
/// Pitfall: values below `IP_STATUS_BASE` other than 0 are Win32 error
/// codes, not `IP_STATUS` codes; they give `None`.
///
/// Microsoft Learn: [GetIpErrorString function (iphlpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/iphlpapi/nf-iphlpapi-getiperrorstring), the Windows function that gives Windows' own text.
#[inline]
pub const fn status_description(status: IP_STATUS) -> Option<&'static str> {
    match lookup(status) {
        Some(entry) => Some(entry.2),
        None => None,
    }
}

// ---------------------------------------------------------------------------
// Last error
// ---------------------------------------------------------------------------

#[cfg(windows)]
mod win {
    windows_link::link!("kernel32.dll" "system" fn GetLastError() -> u32);
}

/// The calling thread's last error: `GetLastError()` on Windows.
///
/// Microsoft Learn: [GetLastError function (errhandlingapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/errhandlingapi/nf-errhandlingapi-getlasterror).
///
/// Pitfall: read it right after the call that failed; any other API call may
/// overwrite it.
#[inline]
#[cfg(windows)]
pub fn last_error() -> u32 {
    // SAFETY: GetLastError has no preconditions.
    unsafe { win::GetLastError() }
}

/// The calling thread's last error on Unix: the Windows error code (or
/// `IP_STATUS`) the [Unix backend](crate::unix) stored in the thread's
/// `errno`, the portable stand-in for `GetLastError()`.
///
/// Pitfall: read it right after the call that failed: any libc call
/// (`println!` included) may overwrite `errno`.
///
/// Microsoft Learn: [GetLastError function (errhandlingapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/errhandlingapi/nf-errhandlingapi-getlasterror).
#[cfg(all(icmp_api, unix))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))
)]
#[inline]
pub fn last_error() -> u32 {
    crate::unix::last_error()
}
