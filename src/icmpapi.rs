//! The nine functions of `icmpapi.h`, imported from `iphlpapi.dll`.
//!
//! All are `unsafe extern "system"` (stdcall on i686) with the SDK's names,
//! parameter order and parameter widths (`WORD` = `u16`, `DWORD`/`IPAddr` =
//! `u32`). Input-only pointers (`RequestData`, `RequestOptions`,
//! `ApcContext`, the IPv6 addresses) are `*const`: ABI-identical to the SDK's
//! non-const `LPVOID`/`PIP_OPTION_INFORMATION`, and what the call really does
//! (it copies them at call time). On Windows they are linked through
//! [`windows-link`](https://docs.rs/windows-link) (`raw-dylib`: no import
//! library is needed; on i686 the undecorated export names are imported).
//!
//! Return-value contract, common to the send functions (Microsoft docs are
//! wrong or silent on several points, see the README):
//! - synchronous call (no `Event`, no `ApcRoutine`): the number of replies
//!   (≥ 1) written to `ReplyBuffer`, or 0 with the error in `GetLastError`
//!   ([`helper::last_error`](crate::helper::last_error)). A reply count of 1
//!   does not mean the host answered: an ICMP error is one reply whose
//!   `Status` is not [`IP_SUCCESS`](crate::ipexport::IP_SUCCESS).
//! - asynchronous call (`Event` or `ApcRoutine` given): **always 0**, with
//!   `GetLastError() == ERROR_IO_PENDING` when the request was started. Keep
//!   the buffer in place and the handle open until the event is signalled or
//!   the APC has run, then call [`IcmpParseReplies`].

#![allow(non_snake_case)]

/// On Unix the crate itself implements the nine functions over kernel ICMP
/// sockets, with the Windows contract; see [`crate::unix`] for the design and
/// its differences (no permission: 0 with `ERROR_ACCESS_DENIED`; an `Event`
/// must be an event of the crate, else 0 with `ERROR_INVALID_HANDLE`;
/// `IcmpCloseHandle` does not cancel requests in flight).
#[cfg(not(windows))]
use crate::unix::api as imp;

/// The raw imports. Documented at their re-export below.
#[cfg(windows)]
#[allow(missing_docs, clippy::missing_safety_doc)]
mod imp {
    use crate::ipexport::*;
    use core::ffi::c_void;

    windows_link::link!("iphlpapi.dll" "system" fn IcmpCreateFile() -> HANDLE);
    windows_link::link!("iphlpapi.dll" "system" fn Icmp6CreateFile() -> HANDLE);
    windows_link::link!("iphlpapi.dll" "system" fn IcmpCloseHandle(IcmpHandle: HANDLE) -> BOOL);
    windows_link::link!("iphlpapi.dll" "system" fn IcmpSendEcho(IcmpHandle: HANDLE, DestinationAddress: IPAddr, RequestData: *const c_void, RequestSize: u16, RequestOptions: *const IP_OPTION_INFORMATION, ReplyBuffer: *mut c_void, ReplySize: u32, Timeout: u32) -> u32);
    windows_link::link!("iphlpapi.dll" "system" fn IcmpSendEcho2(IcmpHandle: HANDLE, Event: HANDLE, ApcRoutine: PIO_APC_ROUTINE, ApcContext: *const c_void, DestinationAddress: IPAddr, RequestData: *const c_void, RequestSize: u16, RequestOptions: *const IP_OPTION_INFORMATION, ReplyBuffer: *mut c_void, ReplySize: u32, Timeout: u32) -> u32);
    windows_link::link!("iphlpapi.dll" "system" fn IcmpSendEcho2Ex(IcmpHandle: HANDLE, Event: HANDLE, ApcRoutine: PIO_APC_ROUTINE, ApcContext: *const c_void, SourceAddress: IPAddr, DestinationAddress: IPAddr, RequestData: *const c_void, RequestSize: u16, RequestOptions: *const IP_OPTION_INFORMATION, ReplyBuffer: *mut c_void, ReplySize: u32, Timeout: u32) -> u32);
    windows_link::link!("iphlpapi.dll" "system" fn Icmp6SendEcho2(IcmpHandle: HANDLE, Event: HANDLE, ApcRoutine: PIO_APC_ROUTINE, ApcContext: *const c_void, SourceAddress: *const SOCKADDR_IN6, DestinationAddress: *const SOCKADDR_IN6, RequestData: *const c_void, RequestSize: u16, RequestOptions: *const IP_OPTION_INFORMATION, ReplyBuffer: *mut c_void, ReplySize: u32, Timeout: u32) -> u32);
    windows_link::link!("iphlpapi.dll" "system" fn IcmpParseReplies(ReplyBuffer: *mut c_void, ReplySize: u32) -> u32);
    windows_link::link!("iphlpapi.dll" "system" fn Icmp6ParseReplies(ReplyBuffer: *mut c_void, ReplySize: u32) -> u32);
}

/// `IcmpCreateFile`: opens a handle for IPv4 echo requests.
///
/// Microsoft Learn: [IcmpCreateFile function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpcreatefile).
///
/// Returns the handle, or [`INVALID_HANDLE_VALUE`](crate::ipexport::INVALID_HANDLE_VALUE)
/// (not null) with the error in `GetLastError`.
///
/// Pitfall: close it only with [`IcmpCloseHandle`], never `CloseHandle`.
pub use imp::IcmpCreateFile;

/// `Icmp6CreateFile`: opens a handle for IPv6 echo requests.
///
/// Microsoft Learn: [Icmp6CreateFile function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmp6createfile).
///
/// Returns the handle or [`INVALID_HANDLE_VALUE`](crate::ipexport::INVALID_HANDLE_VALUE)
/// with the error in `GetLastError` (2 or 50 without an IPv6 stack).
///
/// Pitfall: Wine 8.0 does not implement IPv6 echo: it fails with
/// [`ERROR_CALL_NOT_IMPLEMENTED`](crate::ipexport::ERROR_CALL_NOT_IMPLEMENTED).
pub use imp::Icmp6CreateFile;

/// `IcmpCloseHandle`: closes a handle of [`IcmpCreateFile`] or
/// [`Icmp6CreateFile`]. Returns non-zero on success.
///
/// Microsoft Learn: [IcmpCloseHandle function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpclosehandle).
///
/// Pitfall: never pass null or [`INVALID_HANDLE_VALUE`](crate::ipexport::INVALID_HANDLE_VALUE):
/// Windows returns `FALSE` with error 6, **Wine 8.0 crashes the process**.
/// Check the result of `IcmpCreateFile` first.
pub use imp::IcmpCloseHandle;

/// `IcmpSendEcho`: sends one IPv4 echo request and waits for the first reply
/// or error, at most `Timeout` milliseconds.
///
/// Microsoft Learn: [IcmpSendEcho function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho).
///
/// Returns the number of replies (≥ 1) written to `ReplyBuffer` as
/// [`ICMP_ECHO_REPLY`](crate::ipexport::ICMP_ECHO_REPLY) structs, or 0 with
/// the error in `GetLastError`: an `IP_STATUS` such as
/// [`IP_REQ_TIMED_OUT`](crate::ipexport::IP_REQ_TIMED_OUT) (also in the first
/// reply's `Status`), [`ERROR_INVALID_PARAMETER`](crate::ipexport::ERROR_INVALID_PARAMETER)
/// (bad handle, null buffer, `ReplySize` smaller than one reply, 0
/// included — Windows 2003 and earlier gave
/// [`ERROR_INSUFFICIENT_BUFFER`](crate::ipexport::ERROR_INSUFFICIENT_BUFFER)
/// for 0), [`ERROR_INVALID_NETNAME`](crate::ipexport::ERROR_INVALID_NETNAME)
/// (destination 0.0.0.0).
///
/// Pitfalls: `DestinationAddress` is in network byte order as laid out in
/// memory ([`helper::ipaddr`](crate::helper::ipaddr)). `ReplyBuffer` must be
/// aligned like `ICMP_ECHO_REPLY` and at least
/// [`helper::reply_buffer_size`](crate::helper::reply_buffer_size) bytes
/// (the real minimum is `size_of::<ICMP_ECHO_REPLY>() + RequestSize`; one
/// byte less fails with `IP_GENERAL_FAILURE`). A count of 1 may be an ICMP
/// error: check `Status`. The replies' `Data` pointers point into the buffer.
pub use imp::IcmpSendEcho;

/// `IcmpSendEcho2`: [`IcmpSendEcho`], optionally asynchronous with an `Event`
/// to signal or an `ApcRoutine` to queue.
///
/// Microsoft Learn: [IcmpSendEcho2 function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho2).
///
/// Synchronous (`Event` null and `ApcRoutine` `None`): as [`IcmpSendEcho`].
/// Asynchronous: **returns 0** and `GetLastError` gives
/// [`ERROR_IO_PENDING`](crate::ipexport::ERROR_IO_PENDING) when the request was
/// started (the docs' "returns ERROR_IO_PENDING" is wrong); on completion call
/// [`IcmpParseReplies`]. Given both an `Event` and an `ApcRoutine`, Windows
/// signals the event and never runs the routine (Wine's conformance tests;
/// the Unix backend does the same; Wine 8.0 and 10.0 run the routine too).
///
/// Pitfalls: the buffer must stay in place and the handle open until
/// completion; the APC runs only during an alertable wait of the calling
/// thread ([`helper::sleep_alertable`](crate::helper::sleep_alertable), on
/// every OS); the portable `Event` is [`helper::Event`](crate::helper::Event)
/// (manual reset: reset it before reusing it); reserve
/// `size_of::<IO_STATUS_BLOCK>()` more bytes in the buffer as the docs ask
/// ([`helper::reply_buffer_size_async`](crate::helper::reply_buffer_size_async)).
/// Wine 8.0 serves 256 requests in flight per session: a 257th still
/// returns 0 + `ERROR_IO_PENDING` but completes at once with
/// `STATUS_NO_MEMORY` in the `IO_STATUS_BLOCK`, its buffer untouched.
/// Under Wine (8.0 and 10.0) an `Event` without an `ApcRoutine` corrupts the
/// heap: Wine frees the request's `IO_STATUS_BLOCK` at the call and the
/// completion writes its 16 bytes into that freed memory; there, give an
/// APC (with or without the event) or send synchronously.
pub use imp::IcmpSendEcho2;

/// `IcmpSendEcho2Ex`: [`IcmpSendEcho2`] with a `SourceAddress` to send from
/// (Vista SP1 and later).
///
/// Microsoft Learn: [IcmpSendEcho2Ex function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho2ex).
///
/// Pitfalls: as [`IcmpSendEcho2`]; `SourceAddress` 0 lets the stack choose;
/// one the host does not have fails at the call with
/// [`ERROR_INVALID_NETNAME`](crate::ipexport::ERROR_INVALID_NETNAME) (Windows
/// and the Unix backend); Wine ignores it. mingw-w64 10's header lacks this
/// function (its import library has it).
pub use imp::IcmpSendEcho2Ex;

/// `Icmp6SendEcho2`: sends one IPv6 echo request, synchronously or
/// asynchronously as [`IcmpSendEcho2`].
///
/// Microsoft Learn: [Icmp6SendEcho2 function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmp6sendecho2).
///
/// The reply buffer receives one
/// [`ICMPV6_ECHO_REPLY`](crate::ipexport::ICMPV6_ECHO_REPLY) (36 bytes) and
/// the echoed data right after it; read it with [`Icmp6ParseReplies`] or the
/// helper.
///
/// Pitfalls: the addresses are Windows [`SOCKADDR_IN6`](crate::ipexport::SOCKADDR_IN6)
/// with `sin6_family` = 23 (0 is accepted too: Windows reads the address
/// of a zeroed structure filled by `inet_pton`); the reply has **no data
/// size**; a `RequestOptions` with `Ttl` (the hop limit) 0 is refused:
/// synchronously 0 + `IP_GENERAL_FAILURE`, asynchronously a completion
/// with `Status` 11050 and
/// [`STATUS_INVALID_PARAMETER`](crate::ipexport::STATUS_INVALID_PARAMETER)
/// in the `IO_STATUS_BLOCK` (pass null options for the default); a source
/// the host does not have fails at the call with `ERROR_INVALID_NETNAME`;
/// Wine 8.0 and 10.0 fail with [`ERROR_CALL_NOT_IMPLEMENTED`](crate::ipexport::ERROR_CALL_NOT_IMPLEMENTED).
pub use imp::Icmp6SendEcho2;

/// `IcmpParseReplies`: returns the number of replies in a buffer filled by an
/// asynchronous [`IcmpSendEcho2`] / [`IcmpSendEcho2Ex`].
///
/// Microsoft Learn: [IcmpParseReplies function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpparsereplies).
///
/// Pitfalls: **destructive**: it reads the count stored in the first reply's
/// `Reserved` and zeroes it, so a second call (or a call after a synchronous
/// send) returns 0. When it returns 0 it sets `GetLastError` to the first
/// reply's `Status`.
pub use imp::IcmpParseReplies;

/// `Icmp6ParseReplies`: returns 1 if the buffer filled by [`Icmp6SendEcho2`]
/// holds a reply, else 0 with the error in `GetLastError`.
///
/// Microsoft Learn: [Icmp6ParseReplies function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmp6parsereplies).
///
/// Pitfall: **Wine 8.0 does not export it**: the process loads, but a call
/// aborts. Probe with `GetProcAddress` before calling it under Wine.
pub use imp::Icmp6ParseReplies;
