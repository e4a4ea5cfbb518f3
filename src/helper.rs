//! A thin, safe helper for calling the raw API correctly: reply-buffer sizing
//! and alignment, bounds-checked reading of replies, address conversion, the
//! names of the `IP_STATUS` codes, an owned ICMP handle, Win32 errors as Rust
//! errors ([`Win32Error`]; `io_error` with the `std` feature), and what an asynchronous send
//! needs around it on every OS, as Windows code writes it: an [`Event`]
//! (manual or auto reset) to signal, [`sleep_alertable`] and
//! [`wait_alertable`] to run its APC, [`Event::register_wait`] for a
//! callback when it is signalled.
//!
//! Nothing here calls the network. Everything but the last error,
//! `IcmpHandle`, `Event`, `RegisteredWait`, `sleep_alertable` and
//! `wait_alertable` (where the crate has the nine functions) works on every
//! target.
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

use crate::ipexport::{AF_INET6, IN6_ADDR, IN6_ADDR_0, SOCKADDR_IN6};
use crate::ipexport::{
    ICMP_ECHO_REPLY, ICMPV6_ECHO_REPLY, IO_STATUS_BLOCK, IP_STATUS, IP_STATUS_TABLE, IPAddr,
    IPV6_ADDRESS_EX, MAX_OPT_SIZE,
};
use core::fmt;
use core::mem::size_of;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

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
#[must_use]
pub const fn ipaddr(ip: Ipv4Addr) -> IPAddr {
    u32::from_ne_bytes(ip.octets())
}

/// Converts an [`IPAddr`] (e.g. `ICMP_ECHO_REPLY::Address`) to an
/// [`Ipv4Addr`].
///
/// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Address` member.
#[inline]
#[must_use]
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
#[must_use]
pub const fn ipv6_address(addr: &IPV6_ADDRESS_EX) -> Ipv6Addr {
    // Copy out of the packed struct (never borrow its fields): the same 16
    // network-order bytes as an IN6_ADDR's word view.
    ipv6_from_in6_addr(IN6_ADDR {
        u: IN6_ADDR_0 {
            Word: addr.sin6_addr,
        },
    })
}

/// Builds the Windows [`SOCKADDR_IN6`] of an
/// address for [`Icmp6SendEcho2`](crate::icmpapi::Icmp6SendEcho2): family
/// [`AF_INET6`] (23, on every host OS), port 0.
///
/// Microsoft Learn: [SOCKADDR_IN6_LH structure (ws2ipdef.h)](https://learn.microsoft.com/en-us/windows/win32/api/ws2ipdef/ns-ws2ipdef-sockaddr_in6_lh).
#[inline]
#[must_use]
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

/// Converts an [`Ipv6Addr`] to an [`IN6_ADDR`]: the 16 address bytes in
/// network order, as [`From<Ipv6Addr> for IN6_ADDR`](IN6_ADDR#impl-From<Ipv6Addr>-for-IN6_ADDR)
/// does, usable in `const`.
///
/// Microsoft Learn: [IN6_ADDR structure (in6addr.h)](https://learn.microsoft.com/en-us/windows/win32/api/in6addr/ns-in6addr-in6_addr).
///
/// Pitfall: read the result back through `u.Byte`; the `u.Word` view holds
/// network-order words (use [`ipv6_from_in6_addr`]).
#[inline]
#[must_use]
pub const fn in6_addr_from_ipv6(ip: Ipv6Addr) -> IN6_ADDR {
    IN6_ADDR {
        u: IN6_ADDR_0 { Byte: ip.octets() },
    }
}

/// Converts an [`IN6_ADDR`] back to an [`Ipv6Addr`], as
/// [`From<IN6_ADDR> for Ipv6Addr`](IN6_ADDR#impl-From<IN6_ADDR>-for-Ipv6Addr)
/// does, usable in `const`.
///
/// Microsoft Learn: [IN6_ADDR structure (in6addr.h)](https://learn.microsoft.com/en-us/windows/win32/api/in6addr/ns-in6addr-in6_addr).
///
/// Pitfall: none left: every bit pattern is an address.
#[inline]
#[must_use]
pub const fn ipv6_from_in6_addr(addr: IN6_ADDR) -> Ipv6Addr {
    // SAFETY: both union views cover the same 16 bytes of plain integers;
    // every bit pattern is a valid [u8; 16].
    let b = unsafe { addr.u.Byte };
    let mut s = [0u16; 8];
    let mut i = 0;
    while i < 8 {
        s[i] = u16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
        i += 1;
    }
    Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
}

/// Converts a [`SocketAddrV6`] to the Windows [`SOCKADDR_IN6`] that
/// [`Icmp6SendEcho2`](crate::icmpapi::Icmp6SendEcho2) takes, as
/// [`From<SocketAddrV6> for SOCKADDR_IN6`](SOCKADDR_IN6#impl-From<SocketAddrV6>-for-SOCKADDR_IN6)
/// does, usable in `const`.
///
/// Microsoft Learn: [SOCKADDR_IN6_LH structure (ws2ipdef.h)](https://learn.microsoft.com/en-us/windows/win32/api/ws2ipdef/ns-ws2ipdef-sockaddr_in6_lh).
///
/// Field by field:
/// - `sin6_family` = [`AF_INET6`], **23**, the Windows value on every host OS
///   (Linux's is 10);
/// - `sin6_port` = `addr.port()` in **network byte order** (big-endian);
///   ICMP ignores it;
/// - `sin6_flowinfo` = `addr.flowinfo()` in **network byte order**: the
///   page's remark says that everything but the family is network order, and
///   Linux declares the field `__be32` (note that `std`'s own socket calls
///   store `flowinfo()` unswapped);
/// - `sin6_addr` = the 16 address bytes, network order;
/// - `sin6_scope_id` = `addr.scope_id()` in **host byte order**: an interface
///   index, as `getaddrinfo` returns it and the `%N` zone suffix spells it
///   (the page's blanket network-order remark does not hold for it; Linux
///   declares it a plain `__u32`).
///
/// Pitfall: [`SOCKADDR_IN6::default()`] is all zero, family 0 included,
/// which is not this.
#[inline]
#[must_use]
pub const fn sockaddr_in6_from_v6(addr: SocketAddrV6) -> SOCKADDR_IN6 {
    SOCKADDR_IN6 {
        sin6_family: AF_INET6,
        sin6_port: addr.port().to_be(),
        sin6_flowinfo: addr.flowinfo().to_be(),
        sin6_addr: in6_addr_from_ipv6(*addr.ip()),
        sin6_scope_id: addr.scope_id(),
    }
}

/// `IN6_ADDR` from `core::net`: see [`in6_addr_from_ipv6`].
impl From<Ipv6Addr> for IN6_ADDR {
    #[inline]
    fn from(ip: Ipv6Addr) -> Self {
        in6_addr_from_ipv6(ip)
    }
}

/// `core::net` from `IN6_ADDR`: see [`ipv6_from_in6_addr`].
impl From<IN6_ADDR> for Ipv6Addr {
    #[inline]
    fn from(addr: IN6_ADDR) -> Self {
        ipv6_from_in6_addr(addr)
    }
}

/// `SOCKADDR_IN6` from `core::net`, family 23 and the byte orders of the
/// SDK: see [`sockaddr_in6_from_v6`].
impl From<SocketAddrV6> for SOCKADDR_IN6 {
    #[inline]
    fn from(addr: SocketAddrV6) -> Self {
        sockaddr_in6_from_v6(addr)
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
#[must_use]
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
#[must_use]
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
#[must_use]
pub const fn reply_buffer_size_async(request_size: u16) -> usize {
    reply_buffer_size(request_size) + size_of::<IO_STATUS_BLOCK>()
}

/// The smallest `ReplySize` for an IPv6 echo of `request_size` bytes:
/// `size_of::<ICMPV6_ECHO_REPLY>() + request_size`.
///
/// Microsoft Learn: [Icmp6SendEcho2 function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmp6sendecho2), `ReplySize` parameter.
#[inline]
#[must_use]
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
#[must_use]
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
/// Pitfall: as [`ReplyBuffer`], the allocation must not move between the
/// call and reading the replies: [`resize`](Self::resize) may move it, so
/// never resize while an asynchronous request is pending, nor between a call
/// and reading its replies (the borrow checker covers the latter only for
/// [`replies`](Self::replies)).
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

    /// An empty buffer (size 0) that allocates nothing; usable in `const`
    /// and `static` items.
    ///
    /// No Microsoft Learn page: a Rust buffer type (the API's is "an array of
    /// ICMP_ECHO_REPLY structures followed by the options and data").
    ///
    /// Pitfall: give it a size with [`resize`](Self::resize) before a call:
    /// a `ReplySize` of 0 fails with
    /// [`ERROR_INVALID_PARAMETER`](crate::ipexport::ERROR_INVALID_PARAMETER).
    #[inline]
    pub const fn empty() -> Self {
        Self {
            words: alloc::vec::Vec::new(),
            len: 0,
        }
    }

    /// Resizes the buffer to `size` bytes, e.g. for a larger request: the
    /// first `min(old, size)` bytes are kept, any new bytes are zero. Size
    /// it with [`reply_buffer_size`] and friends.
    ///
    /// No Microsoft Learn page: a Rust buffer operation.
    ///
    /// Pitfall: growing may move the buffer (see the type's pitfall).
    ///
    /// # Panics
    /// If `size` does not fit the `u32` `ReplySize`.
    #[inline]
    pub fn resize(&mut self, size: usize) {
        assert!(u32::try_from(size).is_ok(), "ReplySize is a u32");
        let old = self.len;
        self.words.resize(size.div_ceil(8), 0);
        self.len = size;
        if size > old {
            // Bytes of the last kept word past the old size may hold data.
            self.as_bytes_mut()[old..].fill(0);
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

/// [`ReplyBufferVec::empty`].
#[cfg(feature = "alloc")]
impl Default for ReplyBufferVec {
    #[inline]
    fn default() -> Self {
        Self::empty()
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
///
/// `#[non_exhaustive]`: later versions may add reasons; match with a `_` arm.
/// An exhaustive match without one does not compile:
///
/// ```compile_fail,E0004
/// use icmp_sys::helper::ReplyError;
/// fn index(e: ReplyError) -> Option<usize> {
///     match e {
///         ReplyError::BufferTooSmall { .. } => None,
///         ReplyError::DataOutOfBounds { index } => Some(index),
///         ReplyError::OptionsOutOfBounds { index } => Some(index),
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
///
/// `Send` and `Sync` although `raw` holds raw pointers: see the `SAFETY`
/// note below its definition.
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

// SAFETY: the only non-`Send`/`Sync` parts of a `Reply` are the raw pointers
// `raw.Data` and `raw.Options.OptionsData`, copies of the integers the API
// wrote. Nothing in this crate dereferences them: `get` turns them into
// the bounds-checked `data` and `options` slices by address arithmetic only
// (`slice_at`), and `Reply` offers no method that reads through them. A
// caller who dereferences them does so in its own `unsafe` code, under its
// own proof. The slices borrow shared `&[u8]`, which is `Send + Sync`.
unsafe impl Send for Reply<'_> {}
// SAFETY: as for `Send`; `&Reply` gives no access through the pointers.
unsafe impl Sync for Reply<'_> {}

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
#[must_use = "iterators are lazy and do nothing unless consumed"]
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
#[must_use]
pub const fn status_name(status: IP_STATUS) -> Option<&'static str> {
    match lookup(status) {
        Some(entry) => Some(entry.1),
        None => None,
    }
}

/// A short English description of an `IP_STATUS` code
/// (`"Request timed out."` for 11010), or `None` for an unknown value.
///
/// Wording: these texts are this crate's, **not** those of Windows'
/// `GetIpErrorString` ([GetIpErrorString function (iphlpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/iphlpapi/nf-iphlpapi-getiperrorstring)).
/// No source this crate may rely on publishes that function's strings: its
/// Microsoft Learn page lists none, the crate's reference has none, and Wine
/// 8.0 does not export the function. Do not compare them with
/// `GetIpErrorString` output; on Windows, call that function for the
/// system's (localized) text.
///
/// Pitfall: values below `IP_STATUS_BASE` other than 0 are Win32 error
/// codes, not `IP_STATUS` codes; they give `None`.
///
/// Microsoft Learn: [GetIpErrorString function (iphlpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/iphlpapi/nf-iphlpapi-getiperrorstring), the Windows function that gives Windows' own text.
#[inline]
#[must_use]
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
    use crate::ipexport::{BOOL, HANDLE};
    use core::ffi::c_void;
    windows_link::link!("kernel32.dll" "system" fn GetLastError() -> u32);
    windows_link::link!("kernel32.dll" "system" fn CreateEventW(lpEventAttributes: *const c_void, bManualReset: BOOL, bInitialState: BOOL, lpName: *const u16) -> HANDLE);
    windows_link::link!("kernel32.dll" "system" fn WaitForSingleObject(hHandle: HANDLE, dwMilliseconds: u32) -> u32);
    windows_link::link!("kernel32.dll" "system" fn SetEvent(hEvent: HANDLE) -> BOOL);
    windows_link::link!("kernel32.dll" "system" fn ResetEvent(hEvent: HANDLE) -> BOOL);
    windows_link::link!("kernel32.dll" "system" fn CloseHandle(hObject: HANDLE) -> BOOL);
    windows_link::link!("kernel32.dll" "system" fn SleepEx(dwMilliseconds: u32, bAlertable: BOOL) -> u32);
    windows_link::link!("kernel32.dll" "system" fn WaitForSingleObjectEx(hHandle: HANDLE, dwMilliseconds: u32, bAlertable: BOOL) -> u32);
    windows_link::link!("kernel32.dll" "system" fn RegisterWaitForSingleObject(phNewWaitObject: *mut HANDLE, hObject: HANDLE, Callback: unsafe extern "system" fn(*mut c_void, u8), Context: *const c_void, dwMilliseconds: u32, dwFlags: u32) -> BOOL);
    windows_link::link!("kernel32.dll" "system" fn UnregisterWaitEx(WaitHandle: HANDLE, CompletionEvent: HANDLE) -> BOOL);
    windows_link::link!("kernel32.dll" "system" fn GetCurrentProcess() -> HANDLE);
    windows_link::link!("kernel32.dll" "system" fn DuplicateHandle(hSourceProcessHandle: HANDLE, hSourceHandle: HANDLE, hTargetProcessHandle: HANDLE, lpTargetHandle: *mut HANDLE, dwDesiredAccess: u32, bInheritHandle: BOOL, dwOptions: u32) -> BOOL);
    windows_link::link!("kernel32.dll" "system" fn GetProcessHeap() -> HANDLE);
    windows_link::link!("kernel32.dll" "system" fn HeapAlloc(hHeap: HANDLE, dwFlags: u32, dwBytes: usize) -> *mut c_void);
    windows_link::link!("kernel32.dll" "system" fn HeapFree(hHeap: HANDLE, dwFlags: u32, lpMem: *const c_void) -> BOOL);
    windows_link::link!("kernel32.dll" "system" fn TlsAlloc() -> u32);
    windows_link::link!("kernel32.dll" "system" fn TlsFree(dwTlsIndex: u32) -> BOOL);
    windows_link::link!("kernel32.dll" "system" fn TlsGetValue(dwTlsIndex: u32) -> *mut c_void);
    windows_link::link!("kernel32.dll" "system" fn TlsSetValue(dwTlsIndex: u32, lpTlsValue: *const c_void) -> BOOL);
    windows_link::link!("kernel32.dll" "system" fn GetModuleHandleA(lpModuleName: *const u8) -> HANDLE);
    windows_link::link!("kernel32.dll" "system" fn GetProcAddress(hModule: HANDLE, lpProcName: *const u8) -> Option<unsafe extern "system" fn() -> isize>);

    use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};

    /// A registered wait's callback and context, passed to the thread pool
    /// as the context of [`trampoline`] (heap-allocated: the
    /// `RegisteredWait` may move).
    struct Record {
        callback: unsafe extern "system" fn(*mut c_void, u8),
        context: *mut c_void,
        /// The duplicated event handle the wait waits on.
        event: HANDLE,
        /// Set by a drop inside the callback of a once-wait: the trampoline
        /// frees the record (and closes `event`) when the callback returns.
        free_after: AtomicBool,
        /// Set by the drop before it unregisters: a callback that starts
        /// after it returns at once, without calling `callback` (Wine
        /// before 10.0 can start one after `UnregisterWaitEx(h,
        /// INVALID_HANDLE_VALUE)` returned, see [`late_callbacks`]).
        dropped: AtomicBool,
    }

    /// The wait handle and its record.
    #[derive(Debug)]
    pub(super) struct Registration {
        wait: HANDLE,
        record: *mut c_void,
        once: bool,
    }
    // SAFETY: a thread-pool wait handle and a heap record, usable and
    // freed from any thread (the record's fields are read-only but for the
    // atomic flag).
    unsafe impl Send for Registration {}
    // SAFETY: no method of `&Registration` does anything.
    unsafe impl Sync for Registration {}

    const TLS_OUT_OF_INDEXES: u32 = u32::MAX;
    const DUPLICATE_SAME_ACCESS: u32 = 2;
    const WT_EXECUTEDEFAULT: u32 = 0;
    const WT_EXECUTEONLYONCE: u32 = 8;

    /// The TLS slot holding, on a thread running a wait's callback, that
    /// wait's record (how a drop knows it runs inside its own callback).
    static TLS: AtomicU32 = AtomicU32::new(TLS_OUT_OF_INDEXES);

    #[inline]
    fn tls() -> Option<u32> {
        let i = TLS.load(Ordering::Acquire);
        if i != TLS_OUT_OF_INDEXES {
            return Some(i);
        }
        // SAFETY: no preconditions.
        let new = unsafe { TlsAlloc() };
        if new == TLS_OUT_OF_INDEXES {
            return None;
        }
        match TLS.compare_exchange(TLS_OUT_OF_INDEXES, new, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Some(new),
            Err(won) => {
                // SAFETY: our own, unused index.
                unsafe { TlsFree(new) };
                Some(won)
            }
        }
    }

    /// Whether a callback of a wait may start after `UnregisterWaitEx(h,
    /// INVALID_HANDLE_VALUE)` returned: under Wine before 10.0 (ntdll
    /// exports `wine_get_version`). Wine 8.0's `RtlDeregisterWaitEx`
    /// (dlls/ntdll/threadpool.c) stops the wait (`TpSetWait(.., NULL, ..)`),
    /// waits for the callbacks submitted so far (`TpWaitForWait`), and only
    /// then detaches the wait from its wait-queue thread (`TpReleaseWait`);
    /// that thread, woken by the event just before, submits the callback
    /// when it next takes the queue lock if the wait is still attached
    /// (it checks only that, not whether the wait was stopped), so the
    /// callback can run after the unregister returned. Wine 10.0 checks a
    /// per-wait update serial there and drops it. Wine 9 is not checked:
    /// treated as 8. Cached after the first call.
    #[inline]
    fn late_callbacks() -> bool {
        /// 0 not known yet, 1 no, 2 yes.
        static LATE: AtomicU8 = AtomicU8::new(0);
        match LATE.load(Ordering::Relaxed) {
            1 => return false,
            2 => return true,
            _ => {}
        }
        // SAFETY: NUL-terminated names; ntdll is loaded in every process;
        // Wine's `const char *wine_get_version(void)` returns a static
        // NUL-terminated string (called through a pointer of another
        // signature only after the cast back to its own).
        let late = unsafe {
            let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
            match (!ntdll.is_null())
                .then(|| GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()))
                .flatten()
            {
                None => false,
                Some(f) => {
                    let f: unsafe extern "C" fn() -> *const core::ffi::c_char =
                        core::mem::transmute(f);
                    let v = f();
                    // The major version: the digits before the first dot
                    // (none, or below 10: late callbacks possible).
                    let v = if v.is_null() {
                        &[][..]
                    } else {
                        core::ffi::CStr::from_ptr(v).to_bytes()
                    };
                    let digits = v.iter().take_while(|c| c.is_ascii_digit()).count();
                    let major = v[..digits.min(4)]
                        .iter()
                        .fold(0u32, |m, c| m * 10 + u32::from(c - b'0'));
                    digits == 0 || major < 10
                }
            }
        };
        LATE.store(if late { 2 } else { 1 }, Ordering::Relaxed);
        late
    }

    /// Frees a record and closes its event handle.
    ///
    /// # Safety
    /// `r` from [`register_wait`], no callback of it running or to come.
    #[inline]
    unsafe fn free(r: *mut Record) {
        // SAFETY: per the contract: the handle and the allocation are ours.
        unsafe {
            CloseHandle((*r).event);
            HeapFree(GetProcessHeap(), 0, r.cast());
        }
    }

    #[inline]
    unsafe extern "system" fn trampoline(ctx: *mut c_void, timed_out: u8) {
        let r = ctx.cast::<Record>();
        // SAFETY: the record lives until the wait is unregistered and its
        // callbacks returned; where a callback may start later (Wine before
        // 10.0) it is never freed ([`unregister`]).
        if unsafe { (*r).dropped.load(Ordering::Acquire) } {
            // Started after the drop (or after a drop inside another
            // callback of it): the callback must not run.
            return;
        }
        let slot = TLS.load(Ordering::Acquire);
        // SAFETY: the slot exists (made before the registration); the record
        // is alive (above).
        unsafe {
            let outer = TlsGetValue(slot);
            TlsSetValue(slot, ctx);
            ((*r).callback)((*r).context, timed_out);
            TlsSetValue(slot, outer);
            if (*r).free_after.load(Ordering::Acquire) {
                // A once-wait dropped inside this, its only callback.
                free(r);
            }
        }
    }

    #[inline]
    pub(super) fn register_wait(
        event: HANDLE,
        callback: unsafe extern "system" fn(*mut c_void, u8),
        context: *mut c_void,
        timeout_ms: u32,
        once: bool,
    ) -> Result<Registration, u32> {
        if tls().is_none() {
            return Err(super::last_error());
        }
        let mut dup: HANDLE = core::ptr::null_mut();
        // SAFETY: a valid event handle of this process; dup is an out-pointer.
        let ok = unsafe {
            let me = GetCurrentProcess();
            DuplicateHandle(me, event, me, &mut dup, 0, 0, DUPLICATE_SAME_ACCESS)
        };
        if ok == 0 {
            return Err(super::last_error());
        }
        // SAFETY: plain allocation from the process heap.
        let r = unsafe { HeapAlloc(GetProcessHeap(), 0, core::mem::size_of::<Record>()) }
            .cast::<Record>();
        if r.is_null() {
            // SAFETY: our duplicate.
            unsafe { CloseHandle(dup) };
            return Err(crate::ipexport::ERROR_NOT_ENOUGH_MEMORY);
        }
        // SAFETY: r is a fresh allocation of a Record's size (the heap
        // aligns to 8/16).
        unsafe {
            r.write(Record {
                callback,
                context,
                event: dup,
                free_after: AtomicBool::new(false),
                dropped: AtomicBool::new(false),
            })
        };
        let mut wait: HANDLE = core::ptr::null_mut();
        let flags = if once {
            WT_EXECUTEONLYONCE
        } else {
            WT_EXECUTEDEFAULT
        };
        // SAFETY: wait is an out-pointer; the record outlives the wait.
        let ok = unsafe {
            RegisterWaitForSingleObject(&mut wait, dup, trampoline, r.cast(), timeout_ms, flags)
        };
        if ok == 0 {
            let e = super::last_error();
            // SAFETY: never registered.
            unsafe { free(r) };
            return Err(e);
        }
        Ok(Registration {
            wait,
            record: r.cast(),
            once,
        })
    }

    #[inline]
    pub(super) fn unregister(reg: &Registration) {
        let r = reg.record.cast::<Record>();
        let inside = TLS
            .load(Ordering::Acquire)
            .ne(&TLS_OUT_OF_INDEXES)
            // SAFETY: a valid TLS index.
            .then(|| unsafe { TlsGetValue(TLS.load(Ordering::Acquire)) })
            == Some(reg.record);
        // First: no callback that starts from now on calls the user's
        // (the trampoline checks it). The unregister below orders this
        // store before any callback the thread pool starts after it.
        // SAFETY: the record is alive (freed only below or by its last
        // callback).
        unsafe { (*r).dropped.store(true, Ordering::Release) };
        if inside {
            // Inside this wait's own callback: the blocking form would wait
            // for itself. Unregister without waiting.
            // SAFETY: our registered wait handle, unregistered once.
            unsafe { UnregisterWaitEx(reg.wait, core::ptr::null_mut()) };
            if reg.once {
                // Its only callback is this one: the trampoline frees the
                // record when it returns.
                // SAFETY: the record is alive (we run inside its callback).
                unsafe { (*r).free_after.store(true, Ordering::Release) };
            }
            // Not once: other callbacks may still be queued (they return
            // at once: `dropped`); the record and the duplicated handle
            // stay (documented).
        } else {
            // SAFETY: our registered wait handle, unregistered once; waits
            // for every callback that started or was queued.
            unsafe { UnregisterWaitEx(reg.wait, crate::ipexport::INVALID_HANDLE_VALUE) };
            if late_callbacks() {
                // Wine before 10.0: one more callback may still start (see
                // `late_callbacks`); it reads the record (`dropped`) and
                // returns. So the record (size_of::<Record>(): 32 bytes on
                // 64-bit, 16 on 32-bit, plus the heap's header) is never
                // freed there; the duplicated handle is closed (no callback
                // uses it; the thread pool no longer waits on it).
                // SAFETY: our duplicate, closed once.
                unsafe { CloseHandle((*r).event) };
            } else {
                // SAFETY: no callback of it is running or comes.
                unsafe { free(r) };
            }
        }
    }
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
    doc(cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))
)]
#[inline]
pub fn last_error() -> u32 {
    crate::unix::last_error()
}

// ---------------------------------------------------------------------------
// Owned handle
// ---------------------------------------------------------------------------

/// An owned ICMP handle: opened by [`IcmpCreateFile`](crate::icmpapi::IcmpCreateFile)
/// or [`Icmp6CreateFile`](crate::icmpapi::Icmp6CreateFile), closed by
/// [`IcmpCloseHandle`](crate::icmpapi::IcmpCloseHandle) when dropped. Pass
/// [`as_raw`](Self::as_raw) to the send functions.
///
/// Microsoft Learn: [IcmpCreateFile function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpcreatefile);
/// [Icmp6CreateFile function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmp6createfile);
/// [IcmpCloseHandle function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpclosehandle).
///
/// It is `Send` and `Sync`: the handle names a process-wide object that any
/// thread may use, concurrently (the behaviour suite sends from 8 threads on
/// one handle), so a future or a struct holding it stays `Send`.
///
/// Pitfalls it removes: failure is [`INVALID_HANDLE_VALUE`](crate::ipexport::INVALID_HANDLE_VALUE),
/// not null (here an `Err` with the Win32 error); `IcmpCloseHandle` is called
/// exactly once and never with an invalid value (which crashes Wine 8.0).
///
/// Pitfall: the one it keeps — an asynchronous send needs the handle open
/// until it completes; do not drop it while a request is pending.
///
/// ```
/// use icmp_sys::helper::IcmpHandle;
///
/// let handle = IcmpHandle::open_v4().expect("IcmpCreateFile");
/// // unsafe { IcmpSendEcho(handle.as_raw(), ...) }
/// drop(handle); // IcmpCloseHandle
/// ```
#[cfg(icmp_api)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        windows,
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))
)]
#[derive(Debug)]
pub struct IcmpHandle {
    raw: crate::ipexport::HANDLE,
}

// SAFETY: an ICMP handle is a process-wide object, not tied to the thread
// that opened it; the API takes it from any thread, concurrently (Windows:
// a handle of the process's handle table, as for files; the Unix backend:
// the address of an immutable static descriptor). `IcmpHandle` owns it and
// exposes it only by value (`as_raw`), so moving or sharing the owner
// between threads is sound.
#[cfg(icmp_api)]
unsafe impl Send for IcmpHandle {}
// SAFETY: as for `Send`: `&IcmpHandle` gives only a copy of the handle
// value, and concurrent calls with one handle are allowed.
#[cfg(icmp_api)]
unsafe impl Sync for IcmpHandle {}

#[cfg(icmp_api)]
impl IcmpHandle {
    /// Opens a handle for IPv4 echo requests with
    /// [`IcmpCreateFile`](crate::icmpapi::IcmpCreateFile).
    ///
    /// Microsoft Learn: [IcmpCreateFile function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpcreatefile).
    ///
    /// # Errors
    /// The Win32 error ([`last_error`]) when `IcmpCreateFile` returns
    /// `INVALID_HANDLE_VALUE` (or null, which is treated the same).
    ///
    /// Pitfall: on Linux, opening succeeds without any ICMP permission; the
    /// first send reports [`ERROR_ACCESS_DENIED`](crate::ipexport::ERROR_ACCESS_DENIED)
    /// (as on Wine).
    #[inline]
    pub fn open_v4() -> Result<Self, u32> {
        // SAFETY: IcmpCreateFile has no preconditions.
        Self::checked(unsafe { crate::icmpapi::IcmpCreateFile() })
    }

    /// Opens a handle for IPv6 echo requests with
    /// [`Icmp6CreateFile`](crate::icmpapi::Icmp6CreateFile).
    ///
    /// Microsoft Learn: [Icmp6CreateFile function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmp6createfile).
    ///
    /// # Errors
    /// The Win32 error when `Icmp6CreateFile` fails: e.g.
    /// [`ERROR_NOT_SUPPORTED`](crate::ipexport::ERROR_NOT_SUPPORTED) (no IPv6
    /// stack), [`ERROR_CALL_NOT_IMPLEMENTED`](crate::ipexport::ERROR_CALL_NOT_IMPLEMENTED)
    /// (Wine 8.0).
    ///
    /// Pitfall: an IPv6 handle is for
    /// [`Icmp6SendEcho2`](crate::icmpapi::Icmp6SendEcho2) only; the Unix
    /// backend fails IPv4 sends with it with
    /// [`ERROR_INVALID_PARAMETER`](crate::ipexport::ERROR_INVALID_PARAMETER).
    #[inline]
    pub fn open_v6() -> Result<Self, u32> {
        // SAFETY: Icmp6CreateFile has no preconditions.
        Self::checked(unsafe { crate::icmpapi::Icmp6CreateFile() })
    }

    /// The result of a create function: the handle, or the last error.
    #[inline]
    fn checked(raw: crate::ipexport::HANDLE) -> Result<Self, u32> {
        if raw == crate::ipexport::INVALID_HANDLE_VALUE || raw.is_null() {
            Err(last_error())
        } else {
            Ok(Self { raw })
        }
    }

    /// The raw handle, to pass as `IcmpHandle` to the send functions.
    ///
    /// No Microsoft Learn page: a Rust accessor (the value is what
    /// `IcmpCreateFile` returned).
    ///
    /// Pitfall: it stays owned by `self`: never pass it to
    /// `IcmpCloseHandle`, and do not use it after `self` is dropped.
    #[inline]
    pub const fn as_raw(&self) -> crate::ipexport::HANDLE {
        self.raw
    }

    /// Gives up ownership: returns the raw handle without closing it. Close
    /// it with [`IcmpCloseHandle`](crate::icmpapi::IcmpCloseHandle), or take
    /// it back with [`from_raw`](Self::from_raw).
    ///
    /// No Microsoft Learn page: Rust ownership transfer (as `into_raw_handle` of
    /// `std::os::windows`).
    ///
    /// Pitfall, hence `#[must_use]`: discarding the result leaks the handle.
    ///
    /// ```compile_fail
    /// #![deny(unused_must_use)]
    /// fn leak(h: icmp_sys::helper::IcmpHandle) {
    ///     h.into_raw();
    /// }
    /// ```
    #[inline]
    #[must_use = "the raw handle is no longer closed on drop: close it with IcmpCloseHandle, or it leaks"]
    pub fn into_raw(self) -> crate::ipexport::HANDLE {
        let this = core::mem::ManuallyDrop::new(self);
        this.raw
    }

    /// Takes ownership of a raw handle; it is closed when the result is
    /// dropped.
    ///
    /// No Microsoft Learn page: Rust ownership transfer (as `from_raw_handle` of
    /// `std::os::windows`).
    ///
    /// Pitfall: wrapping the same handle twice closes it twice (on Windows a
    /// double close may close an unrelated, reused handle value).
    ///
    /// # Safety
    /// `raw` must be a handle returned by `IcmpCreateFile` or
    /// `Icmp6CreateFile` (or, on Unix, `icmp_sys::unix::create_handle`) that
    /// is not `INVALID_HANDLE_VALUE`, not yet closed, and that nothing else
    /// will close.
    #[inline]
    pub const unsafe fn from_raw(raw: crate::ipexport::HANDLE) -> Self {
        Self { raw }
    }
}

#[cfg(icmp_api)]
impl Drop for IcmpHandle {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `raw` is a valid, open handle owned by `self` (the
        // constructors' invariant), closed only here. The result is ignored:
        // a valid handle closes successfully, and drop cannot report errors.
        unsafe { crate::icmpapi::IcmpCloseHandle(self.raw) };
    }
}

// ---------------------------------------------------------------------------
// Asynchronous sends: the event to signal, the alertable wait for APCs
// ---------------------------------------------------------------------------

/// A manual-reset event for the `Event` parameter of an asynchronous
/// [`IcmpSendEcho2`](crate::icmpapi::IcmpSendEcho2),
/// [`IcmpSendEcho2Ex`](crate::icmpapi::IcmpSendEcho2Ex) or
/// [`Icmp6SendEcho2`](crate::icmpapi::Icmp6SendEcho2), on every OS the
/// crate sends from. Closed on drop; `Send + Sync` (set, reset and wait
/// from any thread).
///
/// - Windows: an unnamed manual-reset event object of `CreateEventW`,
///   waited on with `WaitForSingleObject`, closed with `CloseHandle`.
///   Microsoft Learn: [CreateEventW function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-createeventw);
///   [Event Objects (Synchronization)](https://learn.microsoft.com/en-us/windows/win32/sync/event-objects).
/// - Unix: an event of the Unix backend (`icmp_sys::unix`): a file
///   descriptor that is readable while the event is signalled (`fd()`), so
///   that `poll`, epoll, kqueue or an async runtime (tokio's `AsyncFd`) can
///   wait on it alongside other descriptors. As many events as the
///   process has descriptors (`RLIMIT_NOFILE`); only these events are
///   accepted as the `Event` parameter there (any other value: 0 +
///   `ERROR_INVALID_HANDLE`).
///
/// [`Event::new`] is **manual reset** on every OS: once signalled it stays
/// signalled — every [`wait`](Self::wait) returns `true` — until
/// [`reset`](Self::reset) (as `CreateEventW(NULL, TRUE, FALSE, NULL)`; the
/// API never resets it). [`Event::create`] also makes auto-reset events.
///
/// ```standalone_crate
/// # // Its own process (not merged with the other doctests): under Wine an
/// # // event-only send writes into freed heap memory (README pitfall 14),
/// # // which hung or crashed the doctest running beside it.
/// # #[cfg(feature = "alloc")] {
/// use icmp_sys::helper::{self, Event, IcmpHandle, ReplyBufferVec};
/// use icmp_sys::*;
///
/// let icmp = IcmpHandle::open_v4().expect("IcmpCreateFile");
/// let event = Event::new().expect("an event");
/// let mut buf = ReplyBufferVec::new(helper::reply_buffer_size_async(32));
/// let data = [0x61u8; 32];
/// // SAFETY: data, buf, event and the handle outlive the request (waited
/// // for below); the buffer is aligned and big enough.
/// let n = unsafe {
///     IcmpSendEcho2(icmp.as_raw(), event.handle(), None, core::ptr::null(),
///         helper::ipaddr(core::net::Ipv4Addr::LOCALHOST),
///         data.as_ptr().cast(), 32, core::ptr::null(),
///         buf.as_mut_ptr(), buf.size(), 1000)
/// };
/// // Asynchronous: always 0; ERROR_IO_PENDING means "started".
/// let started = n == 0 && helper::last_error() == ERROR_IO_PENDING;
/// // No permission to send ICMP here (e.g. a CI container): nothing pending.
/// if started {
///     // The request's own timeout (1000 ms) completes it: bound the wait.
///     assert!(event.wait(5000), "completed within 5 s");
///     // SAFETY: the completed request's buffer.
///     let count = unsafe { IcmpParseReplies(buf.as_mut_ptr(), buf.size()) };
///     for reply in buf.replies(count).unwrap() {
///         assert_eq!(reply.unwrap().status(), IP_SUCCESS);
///     }
/// }
/// // `icmp` is closed when dropped: here, with nothing in flight.
/// # }
/// ```
///
/// Pitfalls: keep the `Event` (like the reply buffer and the ICMP handle)
/// alive until the request completed; [`reset`](Self::reset) it before
/// reusing it for another request, or give each request in flight its own;
/// signalled means completed, not answered: read the count with
/// [`IcmpParseReplies`](crate::icmpapi::IcmpParseReplies) (destructive: once)
/// and each reply's `Status` (a timeout completes the request with a count
/// of 0 and `Status` [`IP_REQ_TIMED_OUT`](crate::ipexport::IP_REQ_TIMED_OUT)).
#[cfg(icmp_api)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        windows,
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))
)]
#[derive(Debug)]
pub struct Event {
    handle: crate::ipexport::HANDLE,
}

// SAFETY: a Windows event handle may be used from any thread (kernel object;
// SetEvent/ResetEvent/WaitForSingleObject are thread-safe); the Unix
// backend's event is a descriptor whose operations (write, read, poll) are
// thread-safe. `Event` owns the handle and closes it once, in `drop`.
#[cfg(icmp_api)]
unsafe impl Send for Event {}
// SAFETY: as above: every method takes `&self` and is a thread-safe call.
#[cfg(icmp_api)]
unsafe impl Sync for Event {}

#[cfg(icmp_api)]
impl Event {
    /// A new manual-reset event, not signalled (= [`create(true, false)`](Self::create)),
    /// or the error code (`GetLastError` on Windows; on Unix the backend's
    /// Windows error code, e.g.
    /// [`ERROR_TOO_MANY_OPEN_FILES`](crate::ipexport::ERROR_TOO_MANY_OPEN_FILES)
    /// when no descriptor is left).
    ///
    /// Microsoft Learn: [CreateEventW function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-createeventw).
    #[inline]
    pub fn new() -> Result<Self, u32> {
        Self::create(true, false)
    }

    /// A new event with `CreateEventW`'s flags: `manual_reset`
    /// (`bManualReset`) and `initial_state` (`bInitialState`: signalled
    /// from the start), or the error code.
    ///
    /// - **Manual reset** (`true`): once signalled it stays signalled —
    ///   every wait returns at once — until [`reset`](Self::reset).
    /// - **Auto reset** (`false`): a satisfied wait ([`wait`](Self::wait),
    ///   [`wait_alertable`], a [`register_wait`](Self::register_wait)
    ///   callback with `timed_out == 0`) resets it: one [`set`](Self::set)
    ///   releases exactly one waiter, however many wait; setting a signalled
    ///   event changes nothing (two sets before a wait release one waiter).
    ///
    /// Every event has its own kernel object (Windows) or descriptor (Unix:
    /// an `eventfd` on Linux, a pipe elsewhere): the number of events is
    /// limited only by the process's handles / descriptors (`RLIMIT_NOFILE`).
    ///
    /// # Errors
    /// `GetLastError()` on Windows. On Unix
    /// [`ERROR_TOO_MANY_OPEN_FILES`](crate::ipexport::ERROR_TOO_MANY_OPEN_FILES)
    /// when the process (`EMFILE`, `RLIMIT_NOFILE`) or the system (`ENFILE`)
    /// has no descriptor left,
    /// [`ERROR_NOT_ENOUGH_MEMORY`](crate::ipexport::ERROR_NOT_ENOUGH_MEMORY)
    /// when the kernel has no memory for one.
    ///
    /// Microsoft Learn: [CreateEventW function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-createeventw).
    ///
    /// Pitfall: an auto-reset event as an asynchronous send's `Event` is
    /// consumed by whichever wait sees it first: wait for it in one place.
    #[inline]
    pub fn create(manual_reset: bool, initial_state: bool) -> Result<Self, u32> {
        #[cfg(windows)]
        {
            // SAFETY: default security, the given flags, unnamed.
            let handle = unsafe {
                win::CreateEventW(
                    core::ptr::null(),
                    manual_reset.into(),
                    initial_state.into(),
                    core::ptr::null(),
                )
            };
            if handle.is_null() {
                return Err(last_error());
            }
            Ok(Self { handle })
        }
        #[cfg(unix)]
        {
            crate::unix::event::create(manual_reset, initial_state).map(|handle| Self { handle })
        }
    }

    /// The value to pass as the send's `Event` parameter.
    ///
    /// Microsoft Learn: [IcmpSendEcho2 function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho2), `Event` parameter.
    ///
    /// Pitfall: it stays owned by this `Event`: never close it yourself.
    #[inline]
    pub fn handle(&self) -> crate::ipexport::HANDLE {
        self.handle
    }

    /// Waits until the event is signalled, at most `timeout_ms` milliseconds
    /// ([`INFINITE`](crate::ipexport::INFINITE): no limit; 0: just test).
    /// `true` when signalled, `false` when the time elapsed first. Does not
    /// reset a manual-reset event; resets an auto-reset one (the wait
    /// consumed the signal).
    ///
    /// Microsoft Learn: [WaitForSingleObject function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-waitforsingleobject).
    ///
    /// Pitfall: not alertable: no APC runs during this wait (use
    /// [`sleep_alertable`] for APCs). Bound the time even though the
    /// request's own timeout completes it.
    #[inline]
    pub fn wait(&self, timeout_ms: u32) -> bool {
        #[cfg(windows)]
        {
            // SAFETY: a valid event handle, owned by self.
            let result = unsafe { win::WaitForSingleObject(self.handle, timeout_ms) };
            result == crate::ipexport::WAIT_OBJECT_0
        }
        #[cfg(unix)]
        {
            crate::unix::event::wait(self.handle, timeout_ms)
        }
    }

    /// Signals the event (the API does this when the request completes);
    /// setting a signalled event changes nothing.
    ///
    /// Microsoft Learn: [SetEvent function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-setevent).
    #[inline]
    pub fn set(&self) {
        #[cfg(windows)]
        // SAFETY: a valid event handle, owned by self. Cannot fail for it.
        unsafe {
            win::SetEvent(self.handle)
        };
        #[cfg(unix)]
        crate::unix::event::set(self.handle);
    }

    /// Resets the event to not signalled, e.g. before reusing it for the
    /// next request; resetting an unsignalled event changes nothing.
    ///
    /// Microsoft Learn: [ResetEvent function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-resetevent).
    ///
    /// Pitfall: reset it *before* the next send, never after: a reset after
    /// the send can erase that request's completion.
    #[inline]
    pub fn reset(&self) {
        #[cfg(windows)]
        // SAFETY: a valid event handle, owned by self. Cannot fail for it.
        unsafe {
            win::ResetEvent(self.handle)
        };
        #[cfg(unix)]
        crate::unix::event::reset(self.handle);
    }

    /// Unix: the descriptor that is readable while the event is signalled,
    /// for `poll`/epoll/kqueue or an async runtime. Owned by the `Event`:
    /// never close it, and never read from it (that would reset the event
    /// behind the backend's back).
    ///
    /// The crate is `#![no_std]` and `core` has no `AsFd`/`AsRawFd`: with
    /// the `std` feature the `Event` also implements
    /// `std::os::fd::{AsFd, AsRawFd}`, returning this descriptor.
    ///
    /// No Microsoft Learn page: a Unix descriptor of the crate's Unix backend.
    #[inline]
    #[cfg(unix)]
    pub fn fd(&self) -> core::ffi::c_int {
        crate::unix::event::fd(self.handle)
    }

    /// Registers `callback(context, timed_out)` to run on a thread of the
    /// system (Windows' thread pool; on Unix the backend's one waiter
    /// thread) when the event is signalled (`timed_out == 0`) or when
    /// `timeout_ms` elapsed first (`timed_out == 1`;
    /// [`INFINITE`](crate::ipexport::INFINITE): never). The callback is a
    /// `WAITORTIMERCALLBACK`; `timed_out` is its `BOOLEAN`. Unregistered when
    /// the returned [`RegisteredWait`] is dropped.
    ///
    /// - `once == true` (`WT_EXECUTEONLYONCE`): one callback, then the wait
    ///   is over (still drop the `RegisteredWait`).
    /// - `once == false` (`WT_EXECUTEDEFAULT`): the wait re-arms after each
    ///   callback, and the timeout restarts after each. On an **auto-reset**
    ///   event the satisfied wait resets it: one callback per
    ///   [`set`](Self::set). On a **manual-reset** event that stays
    ///   signalled the callback runs again and again (as on Windows) until
    ///   you [`reset`](Self::reset) it or drop the registration.
    ///
    /// The registration holds the event object itself (Windows: a
    /// duplicated handle; Unix: its own reference to the backend's event,
    /// which keeps the event's descriptors open): dropping the `Event`
    /// first is allowed, the wait keeps waiting on the same object (which
    /// an asynchronous send in flight may still signal), and never on
    /// whatever reuses the handle value or descriptor numbers.
    ///
    /// - Windows: `RegisterWaitForSingleObject(.., WT_EXECUTEONLYONCE or
    ///   WT_EXECUTEDEFAULT)`; callbacks run on thread-pool threads, and with
    ///   `once == false` two callbacks of one wait may run at once.
    /// - Unix: one waiter thread of the backend (started on first use) polls
    ///   every registered event's descriptor with its timeout — never a
    ///   thread per wait — and runs the callbacks on itself, one at a time:
    ///   a slow callback delays the others.
    ///
    /// Microsoft Learn: [RegisterWaitForSingleObject function (winbase.h)](https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-registerwaitforsingleobject);
    /// [WAITORTIMERCALLBACK callback function (winnt.h)](https://learn.microsoft.com/en-us/windows/win32/api/winnt/nc-winnt-waitortimercallback).
    ///
    /// ```
    /// use icmp_sys::helper::Event;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    ///
    /// unsafe extern "system" fn done(ctx: *mut core::ffi::c_void, timed_out: u8) {
    ///     // SAFETY: ctx is the &AtomicU32 below, alive until the wait is dropped.
    ///     let fired = unsafe { &*(ctx as *const AtomicU32) };
    ///     fired.store(if timed_out != 0 { 2 } else { 1 }, Ordering::SeqCst);
    /// }
    ///
    /// let event = Event::create(false, false).expect("an auto-reset event");
    /// let fired = AtomicU32::new(0);
    /// // SAFETY: `fired` outlives `wait` (dropped below, before it).
    /// let wait = unsafe {
    ///     event.register_wait(done, &fired as *const AtomicU32 as *mut _, 10_000, true)
    /// }
    /// .expect("register_wait");
    /// event.set(); // e.g. the completion of an asynchronous send
    /// for _ in 0..10_000 {
    ///     if fired.load(Ordering::SeqCst) != 0 { break; }
    ///     std::thread::sleep(std::time::Duration::from_millis(1));
    /// }
    /// drop(wait); // unregisters; waits for a running callback
    /// assert_eq!(fired.load(Ordering::SeqCst), 1);
    /// ```
    ///
    /// # Errors
    /// `GetLastError()` on Windows; on Unix the backend's Windows error
    /// code (`ERROR_NOT_ENOUGH_MEMORY` when the waiter thread or its table
    /// cannot be made).
    ///
    /// # Safety
    /// Only `context`: `callback(context, ..)` is called on another thread,
    /// any time from now until the `RegisteredWait` is dropped (dropping it
    /// waits for a running callback, except inside that callback), so
    /// `context` must stay valid for what `callback` does with it for that
    /// long, and be usable from another thread. Nothing else is asked: the
    /// `Event` may be dropped before the `RegisteredWait` (see above).
    ///
    /// A `RegisteredWait` that is never dropped (`core::mem::forget`, a
    /// leaked `Box`, a cycle) is never unregistered: the registration and
    /// the event object it holds are leaked (Unix: the event's descriptors
    /// stay open; Windows: the duplicated handle), and the callback may keep
    /// running with `context` until the process ends — each time the
    /// timeout elapses (again and again unless `once`), and when the event
    /// is signalled (by a set before the `Event` was dropped, or by an
    /// asynchronous send still holding it). So a forgotten registration's
    /// `context` must stay valid for the rest of the process (`'static`,
    /// or leaked with it). Forgetting it is otherwise harmless: no handle,
    /// descriptor or memory but its own is touched.
    ///
    /// Pitfalls: **re-entrancy** — dropping the `RegisteredWait` *inside its
    /// own callback* is allowed and does not deadlock: it unregisters
    /// without waiting (Windows: `UnregisterWaitEx(h, NULL)`; the blocking
    /// `UnregisterWaitEx(h, INVALID_HANDLE_VALUE)` would wait for itself),
    /// detected per thread on both OSes; no callback of it starts after
    /// (on Windows a callback already queued returns without calling
    /// yours). On Windows, for a `once == false` wait dropped that way, a
    /// small record (32 bytes on 64-bit) and the duplicated event handle
    /// are not freed, as further callbacks of it may still be queued:
    /// prefer dropping from outside. Dropping it inside
    /// *another* wait's callback blocks until that wait's running callback
    /// returns (on Unix none runs: one callback at a time). Never block a
    /// callback on something only another callback provides (on Unix they
    /// run one after the other).
    ///
    /// **Teardown order** (issue 16's Wine thread-pool crash, README "Async
    /// runtimes"): drop the `RegisteredWait` first — it is the one
    /// unregister, never repeat it (a second `UnregisterWait(Ex)` of a wait
    /// handle fails an assertion in Wine's thread pool) — then free
    /// `context`, then close the event. When the event is an asynchronous
    /// send's, under Wine give that send an `ApcRoutine` too (a no-op): an
    /// event-only send writes its `IO_STATUS_BLOCK` into freed heap memory
    /// there (README pitfall 14), e.g. into the blocks allocated right after
    /// it — `examples/ping_future.rs` crashed in this callback that way.
    #[inline]
    pub unsafe fn register_wait(
        &self,
        callback: unsafe extern "system" fn(context: *mut core::ffi::c_void, timed_out: u8),
        context: *mut core::ffi::c_void,
        timeout_ms: u32,
        once: bool,
    ) -> Result<RegisteredWait, u32> {
        #[cfg(windows)]
        {
            win::register_wait(self.handle, callback, context, timeout_ms, once)
                .map(|inner| RegisteredWait { inner })
        }
        #[cfg(unix)]
        {
            crate::unix::wait::register(self.handle, callback, context, timeout_ms, once)
                .map(|inner| RegisteredWait { inner })
        }
    }
}

#[cfg(icmp_api)]
impl Drop for Event {
    /// Closes the event (`CloseHandle` on Windows).
    ///
    /// Microsoft Learn: [CloseHandle function (handleapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/handleapi/nf-handleapi-closehandle).
    #[inline]
    fn drop(&mut self) {
        #[cfg(windows)]
        // SAFETY: a valid handle, owned by self, closed once.
        unsafe {
            win::CloseHandle(self.handle)
        };
        #[cfg(unix)]
        crate::unix::event::close(self.handle);
    }
}

/// Windows, feature `std`: the event handle (= [`Event::handle`]).
#[cfg(all(windows, feature = "std"))]
impl std::os::windows::io::AsRawHandle for Event {
    #[inline]
    fn as_raw_handle(&self) -> std::os::windows::io::RawHandle {
        self.handle
    }
}

/// Windows, feature `std`: the event handle, borrowed.
#[cfg(all(windows, feature = "std"))]
impl std::os::windows::io::AsHandle for Event {
    #[inline]
    fn as_handle(&self) -> std::os::windows::io::BorrowedHandle<'_> {
        // SAFETY: the handle is valid and open for as long as `self`.
        unsafe { std::os::windows::io::BorrowedHandle::borrow_raw(self.handle) }
    }
}

/// Unix, feature `std`: the event's descriptor (= [`Event::fd`]).
#[cfg(all(icmp_api, unix, feature = "std"))]
impl std::os::fd::AsRawFd for Event {
    #[inline]
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd()
    }
}

/// Unix, feature `std`: the event's descriptor, borrowed (for tokio's
/// `AsyncFd`, `poll`, epoll, kqueue).
#[cfg(all(icmp_api, unix, feature = "std"))]
impl std::os::fd::AsFd for Event {
    #[inline]
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: the descriptor is open for as long as `self`.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd()) }
    }
}

/// Waits alertably for `timeout_ms` milliseconds
/// ([`INFINITE`](crate::ipexport::INFINITE): no limit), running the calling
/// thread's completed APCs — the `ApcRoutine`s of the asynchronous sends
/// this thread issued. Returns
/// [`WAIT_IO_COMPLETION`](crate::ipexport::WAIT_IO_COMPLETION) (192) as
/// soon as one or more of them ran, 0 when the time elapsed without any.
///
/// - Windows: `SleepEx(timeout_ms, TRUE)`.
///   Microsoft Learn: [SleepEx function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-sleepex);
///   [Asynchronous Procedure Calls](https://learn.microsoft.com/en-us/windows/win32/sync/asynchronous-procedure-calls).
/// - Unix: the Unix backend (`icmp_sys::unix`) queues each completed request's
///   APC to the thread that issued it; this runs them, with the same
///   results. [`wait_alertable`] is the backend's `WaitForSingleObjectEx`;
///   other alertable waits of Windows (`MsgWaitForMultipleObjectsEx`, ...)
///   have no Unix counterpart.
///
/// Pitfalls: an APC runs only on the thread that issued the send, and only
/// during an alertable wait of that thread: a thread that issues sends with
/// an `ApcRoutine` and never waits alertably never sees them complete (and
/// must keep their buffers alive). 192 means "some ran", not "all": loop
/// until your own count of completions is reached, with a deadline.
#[cfg(icmp_api)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        windows,
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))
)]
#[inline]
pub fn sleep_alertable(timeout_ms: u32) -> u32 {
    #[cfg(windows)]
    {
        // SAFETY: no preconditions; APCs the thread's sends queued run here.
        unsafe { win::SleepEx(timeout_ms, 1) }
    }
    #[cfg(unix)]
    {
        crate::unix::apc::sleep_alertable(timeout_ms)
    }
}

/// Waits for `event` alertably, at most `timeout_ms` milliseconds
/// ([`INFINITE`](crate::ipexport::INFINITE): no limit), as
/// `WaitForSingleObjectEx(event, timeout_ms, TRUE)`. Returns
///
/// - [`WAIT_OBJECT_0`](crate::ipexport::WAIT_OBJECT_0): the event is
///   signalled (an auto-reset event is reset: the wait consumed it);
/// - [`WAIT_IO_COMPLETION`](crate::ipexport::WAIT_IO_COMPLETION) (192): one
///   or more of this thread's APCs (the `ApcRoutine`s of its asynchronous
///   sends) ran — the event may still be unsignalled: wait again;
/// - [`WAIT_TIMEOUT`](crate::ipexport::WAIT_TIMEOUT): neither within the
///   time.
///
/// Order: an event that is already signalled wins — `WAIT_OBJECT_0`, and
/// queued APCs stay queued for the next alertable wait. Microsoft Learn does
/// not state the order; Windows' kernel and Wine (`check_wait` in its
/// server) test the object first, and the behaviour suite checks it on Wine
/// and on Unix.
///
/// - Windows: `WaitForSingleObjectEx`.
/// - Unix: polls the event's descriptor and this thread's APC wake
///   descriptor together, and runs the queued APCs as [`sleep_alertable`]
///   does.
///
/// Microsoft Learn: [WaitForSingleObjectEx function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-waitforsingleobjectex).
///
/// Pitfall: `WAIT_IO_COMPLETION` is not "completed": loop until
/// `WAIT_OBJECT_0` or your own count of completions, with a deadline.
/// [`WAIT_FAILED`](crate::ipexport::WAIT_FAILED) is returned only for a
/// broken event (never for an `Event` that is alive).
#[cfg(icmp_api)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        windows,
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))
)]
#[inline]
pub fn wait_alertable(event: &Event, timeout_ms: u32) -> u32 {
    #[cfg(windows)]
    {
        // SAFETY: a valid event handle, owned by `event`; APCs of this
        // thread run here.
        unsafe { win::WaitForSingleObjectEx(event.handle, timeout_ms, 1) }
    }
    #[cfg(unix)]
    {
        crate::unix::apc::wait_alertable(event.handle, timeout_ms)
    }
}

/// A wait registered by [`Event::register_wait`]: unregistered when
/// dropped. `Send + Sync`: drop it on any thread.
///
/// Dropping it unregisters the wait and **waits for a callback that is
/// running** (`UnregisterWaitEx(h, INVALID_HANDLE_VALUE)`), so that the
/// callback's `context` may be freed right after: once the drop returns,
/// the callback never runs again; inside the wait's own callback it
/// unregisters without waiting (see [`Event::register_wait`]'s pitfalls).
/// This holds under Wine before 10.0 too, where `UnregisterWaitEx` can
/// return before a callback that the event's set has just queued starts
/// (Wine 8.0's thread pool, issue 16): the drop marks the wait's record
/// first, such a late callback finds the mark and returns without calling
/// yours, and the record (32 bytes on 64-bit, 16 on 32-bit) is therefore
/// never freed there — a small leak per registration, only under those
/// Wines (detected once by ntdll's `wine_get_version`).
///
/// Microsoft Learn: [UnregisterWaitEx function (winbase.h)](https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-unregisterwaitex).
///
/// Pitfall: `core::mem::forget` on it leaves the wait registered for the
/// rest of the process (the registration and its event object leak): its
/// callback may still run with its `context` until the process ends, so
/// that `context` must outlive everything ([`Event::register_wait`]'s
/// Safety section).
#[cfg(icmp_api)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        windows,
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))
)]
#[derive(Debug)]
#[must_use = "dropping it unregisters the wait at once"]
pub struct RegisteredWait {
    #[cfg(windows)]
    inner: win::Registration,
    #[cfg(unix)]
    inner: crate::unix::wait::Registration,
}

#[cfg(icmp_api)]
impl Drop for RegisteredWait {
    /// Unregisters the wait: `UnregisterWaitEx`.
    ///
    /// Microsoft Learn: [UnregisterWaitEx function (winbase.h)](https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-unregisterwaitex).
    #[inline]
    fn drop(&mut self) {
        #[cfg(windows)]
        win::unregister(&self.inner);
        #[cfg(unix)]
        crate::unix::wait::unregister(&self.inner);
    }
}

// ---------------------------------------------------------------------------
// Win32 errors as Rust errors
// ---------------------------------------------------------------------------

/// A Win32 error code (`GetLastError`, the `Err` of this module's
/// functions), or an `IP_STATUS` code, as a Rust error. `Display` gives its
/// text; with the `std` feature it converts to `std::io::Error` (see
/// `io_error`).
///
/// No Microsoft Learn page: the crate's own wrapper. The codes and texts:
/// [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
///
/// Pitfall: on Unix a Win32 code is not an `errno`: never pass it to
/// `std::io::Error::from_raw_os_error` there (8, `ERROR_NOT_ENOUGH_MEMORY`,
/// would print "Exec format error").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Win32Error(pub u32);

/// The texts of the Win32 errors this crate reports (Microsoft Learn's
/// System Error Codes pages).
const WIN32_MESSAGES: &[(u32, &str)] = &[
    (0, "The operation completed successfully."),
    (4, "The system cannot open the file."),
    (5, "Access is denied."),
    (6, "The handle is invalid."),
    (
        8,
        "Not enough memory resources are available to process this command.",
    ),
    (31, "A device attached to the system is not functioning."),
    (50, "The request is not supported."),
    (87, "The parameter is incorrect."),
    (120, "This function is not supported on this system."),
    (122, "The data area passed to a system call is too small."),
    (258, "The wait operation timed out."),
    (997, "Overlapped I/O operation is in progress."),
    (1214, "The format of the specified network name is invalid."),
    (
        1231,
        "The network location cannot be reached. For information about network troubleshooting, see Windows Help.",
    ),
    (
        1232,
        "The network location cannot be reached. For information about network troubleshooting, see Windows Help.",
    ),
    (
        1233,
        "The network location cannot be reached. For information about network troubleshooting, see Windows Help.",
    ),
    (
        1234,
        "No service is operating at the destination network endpoint on the remote system.",
    ),
    (
        1460,
        "This operation returned because the timeout period expired.",
    ),
];

impl Win32Error {
    /// The code's text: Microsoft Learn's for the Win32 errors the crate
    /// reports, [`status_description`] for `IP_STATUS` codes, `None` for
    /// others (on Windows, `FormatMessageW` knows them all).
    ///
    /// Microsoft Learn: [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
    #[inline]
    #[must_use]
    pub fn message(self) -> Option<&'static str> {
        if let Some(&(_, m)) = WIN32_MESSAGES.iter().find(|(c, _)| *c == self.0) {
            return Some(m);
        }
        if self.0 >= crate::ipexport::IP_STATUS_BASE {
            return status_description(self.0);
        }
        None
    }

    /// The [`std::io::ErrorKind`] that fits the code, as Rust's standard
    /// library decodes it on Windows (`ERROR_ACCESS_DENIED` →
    /// `PermissionDenied`, `ERROR_NOT_ENOUGH_MEMORY` → `OutOfMemory`,
    /// `ERROR_INVALID_PARAMETER` → `InvalidInput`, `WAIT_TIMEOUT` and
    /// `ERROR_TIMEOUT` → `TimedOut`, `ERROR_CALL_NOT_IMPLEMENTED` →
    /// `Unsupported`, `ERROR_NETWORK_UNREACHABLE` / `ERROR_HOST_UNREACHABLE`
    /// → `NetworkUnreachable` / `HostUnreachable`), plus, for `IP_STATUS`
    /// codes, `IP_REQ_TIMED_OUT` → `TimedOut` and the unreachable
    /// destinations; `Other` for the rest.
    ///
    /// No Microsoft Learn page: Rust's error kinds.
    #[cfg(feature = "std")]
    #[must_use]
    pub fn kind(self) -> std::io::ErrorKind {
        use crate::ipexport as x;
        use std::io::ErrorKind as K;
        match self.0 {
            x::ERROR_ACCESS_DENIED => K::PermissionDenied,
            x::ERROR_NOT_ENOUGH_MEMORY | 14 => K::OutOfMemory,
            x::ERROR_INVALID_PARAMETER => K::InvalidInput,
            x::WAIT_TIMEOUT | 1460 | x::IP_REQ_TIMED_OUT => K::TimedOut,
            x::ERROR_CALL_NOT_IMPLEMENTED => K::Unsupported,
            x::ERROR_NETWORK_UNREACHABLE | x::IP_DEST_NET_UNREACHABLE => K::NetworkUnreachable,
            x::ERROR_HOST_UNREACHABLE | x::IP_DEST_HOST_UNREACHABLE | x::IP_DEST_UNREACHABLE => {
                K::HostUnreachable
            }
            _ => K::Other,
        }
    }
}

impl fmt::Display for Win32Error {
    /// The text and the code: `"Access is denied. (Win32 error 5)"`.
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(m) => write!(f, "{m} (Win32 error {})", self.0),
            None => write!(f, "Win32 error {}", self.0),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Win32Error {}

/// Feature `std`: see [`io_error`].
#[cfg(feature = "std")]
impl From<Win32Error> for std::io::Error {
    #[inline]
    fn from(e: Win32Error) -> Self {
        #[cfg(windows)]
        {
            std::io::Error::from_raw_os_error(e.0 as i32)
        }
        #[cfg(not(windows))]
        {
            std::io::Error::new(e.kind(), e)
        }
    }
}

/// Feature `std`: a Win32 error code (or `IP_STATUS` code) as a
/// [`std::io::Error`] that is right on every OS — where code written for
/// Windows uses `std::io::Error::from_raw_os_error(code)`.
///
/// - Windows: `from_raw_os_error(code)`: the system's text and kind,
///   `raw_os_error() == Some(code)`.
/// - Elsewhere: an error of the fitting kind ([`Win32Error::kind`]) whose
///   text is the code's ([`Win32Error::message`]) and whose inner error is
///   the [`Win32Error`] (`get_ref()` + `downcast_ref` gives the code back);
///   `raw_os_error()` is `None`, as the code is not an `errno`.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use icmp_sys::{helper, ERROR_NOT_ENOUGH_MEMORY};
/// let e = helper::io_error(ERROR_NOT_ENOUGH_MEMORY);
/// assert_eq!(e.kind(), std::io::ErrorKind::OutOfMemory);
/// # }
/// ```
///
/// No Microsoft Learn page: Rust's error type. The codes:
/// [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
///
/// Pitfall: on Windows an `IP_STATUS` code (11000 and up) is not a system
/// error code: `FormatMessage` gives no or an unrelated (Winsock) text for
/// it; name it with [`status_name`] / [`status_description`] there.
#[cfg(feature = "std")]
#[inline]
pub fn io_error(code: u32) -> std::io::Error {
    Win32Error(code).into()
}
