//! The nine functions, with the Windows contract (documented at their
//! re-export in [`icmpapi`](crate::icmpapi)).
//!
//! Layer: entry points (below `mod.rs`); may use: `cache`, `engine`, `apc`,
//! `event`, `sock`, `reply`.

#![allow(non_snake_case)]

use super::apc::ThreadRef;
use super::engine;
use super::event::EventRef;
use super::reply::{self, write_result};
use super::sock::{self, Request, create_handle, default_mode, desc, set_last_error};
use crate::ipexport::*;
use core::ffi::c_void;
use core::mem::size_of;

/// The caller's options, checked: (ttl, tos, df, options) or the error.
///
/// # Safety
/// `opts` is null or points to a readable `IP_OPTION_INFORMATION` whose
/// `OptionsData` is readable for `OptionsSize` bytes.
unsafe fn read_options<'a>(
    opts: *const IP_OPTION_INFORMATION,
) -> Result<(u8, u8, bool, &'a [u8]), u32> {
    if opts.is_null() {
        return Ok((0, 0, false, &[]));
    }
    // SAFETY: per the contract; unaligned-tolerant.
    let o = unsafe { opts.read_unaligned() };
    let options: &[u8] = if o.OptionsSize == 0 {
        &[]
    } else if o.OptionsData.is_null() {
        return Err(ERROR_INVALID_PARAMETER);
    } else if o.OptionsSize > MAX_OPT_SIZE {
        return Err(IP_OPTION_TOO_BIG);
    } else {
        // SAFETY: per the contract.
        unsafe { core::slice::from_raw_parts(o.OptionsData, o.OptionsSize.into()) }
    };
    Ok((o.Ttl, o.Tos, o.Flags & IP_FLAG_DF != 0, options))
}

/// Fails a call: sets the last error, returns 0.
fn fail(code: u32) -> u32 {
    set_last_error(code);
    0
}

/// The addresses of a send, as the caller passed them: they select the
/// family (the handle must match) and are checked by [`send`].
enum Addresses {
    /// `IcmpSendEcho2Ex` (and the two sends that forward to it): source 0 =
    /// let the stack choose.
    V4 { src: IPAddr, dst: IPAddr },
    /// `Icmp6SendEcho2`: source null or valid, destination valid (null is
    /// refused).
    V6 {
        src: *const SOCKADDR_IN6,
        dst: *const SOCKADDR_IN6,
    },
}

/// The checked addresses: destination and source (IPv4 in the first 4
/// bytes), the destination's IPv6 scope.
struct Route {
    dst: [u8; 16],
    scope_id: u32,
    src: Option<[u8; 16]>,
}

impl Addresses {
    /// Reads and checks the addresses: `ERROR_INVALID_PARAMETER` for a null
    /// IPv6 destination or a foreign family (neither `AF_INET6` nor 0). (The all-zero destination is
    /// checked by [`send`], after this.)
    ///
    /// # Safety
    /// Non-null IPv6 pointers point to readable `SOCKADDR_IN6`s.
    unsafe fn route(&self) -> Result<Route, u32> {
        match *self {
            Addresses::V4 { src, dst } => {
                let v4 = |a: IPAddr| {
                    let mut b = [0u8; 16];
                    b[..4].copy_from_slice(&a.to_ne_bytes());
                    b
                };
                Ok(Route {
                    dst: v4(dst),
                    scope_id: 0,
                    src: (src != 0).then(|| v4(src)),
                })
            }
            Addresses::V6 { src, dst } => {
                if dst.is_null() {
                    return Err(ERROR_INVALID_PARAMETER);
                }
                // SAFETY: non-null, caller's contract.
                let (dst, scope_id) =
                    unsafe { read_sockaddr_in6(dst) }.ok_or(ERROR_INVALID_PARAMETER)?;
                let src = if src.is_null() {
                    None
                } else {
                    // SAFETY: non-null, caller's contract.
                    match unsafe { read_sockaddr_in6(src) } {
                        // :: (`SOCKADDR_IN6::default()` included):
                        // unspecified.
                        Some((a, _)) => (a != [0; 16]).then_some(a),
                        None => return Err(ERROR_INVALID_PARAMETER),
                    }
                };
                Ok(Route { dst, scope_id, src })
            }
        }
    }
}

/// The one send behind the four: the Windows checks in the Windows order
/// (handle of the right family, buffer, `ReplySize`, data, addresses,
/// destination, async, room for the data, options), the echo, then the
/// family's reply structure (or, for an `IP_STATUS` failure, a status-only
/// `reply[0]`). IPv6 reads the options' TTL/TOS/DF and ignores their bytes.
///
/// # Safety
/// As [`IcmpSendEcho2Ex`] / [`Icmp6SendEcho2`].
#[allow(clippy::too_many_arguments)]
unsafe fn send(
    h: HANDLE,
    notify: Async,
    addresses: Addresses,
    data: *const c_void,
    size: u16,
    opts: *const IP_OPTION_INFORMATION,
    reply: *mut c_void,
    reply_size: u32,
    timeout: u32,
) -> u32 {
    let v6 = matches!(addresses, Addresses::V6 { .. });
    let head = if v6 {
        size_of::<ICMPV6_ECHO_REPLY>()
    } else {
        size_of::<ICMP_ECHO_REPLY>()
    };
    let Some(d) = desc(h).filter(|d| d.v6 == v6) else {
        return fail(ERROR_INVALID_PARAMETER);
    };
    if reply.is_null() {
        return fail(ERROR_INVALID_PARAMETER);
    }
    // ReplySize 0 included: 87 on Vista and later (122 on 2003 and earlier);
    // the same for IPv6.
    if (reply_size as usize) < head || (data.is_null() && size > 0) {
        return fail(ERROR_INVALID_PARAMETER);
    }
    // SAFETY: per the caller's contract.
    let route = match unsafe { addresses.route() } {
        Ok(route) => route,
        Err(code) => return fail(code),
    };
    if route.dst == [0; 16] {
        return fail(ERROR_INVALID_NETNAME);
    }
    // A source that is not the host's: refused at the call, synchronous or
    // not, IPv4 and IPv6 (Windows; see sock::is_local_address).
    if let Some(src) = &route.src {
        if !sock::is_local_address(v6, src, route.scope_id) {
            return fail(ERROR_INVALID_NETNAME);
        }
    }
    // An unknown Event handle is refused before anything starts: the backend
    // signals only events of `helper::Event` (src/unix/event.rs).
    let event = match notify.event.is_null() {
        true => None,
        false => match EventRef::new(notify.event) {
            Some(e) => Some(e),
            None => return fail(ERROR_INVALID_HANDLE),
        },
    };
    let asynchronous = event.is_some() || notify.apc.is_some();
    if (reply_size as usize) < head + usize::from(size) {
        return fail(IP_GENERAL_FAILURE);
    }
    // SAFETY: per the caller's contract.
    let (ttl, tos, df, options) = match unsafe { read_options(opts) } {
        Ok(o) => o,
        Err(code) => return fail(code),
    };
    // An IPv6 hop limit of 0 (a zeroed IP_OPTION_INFORMATION): Windows
    // refuses it, synchronously with 0 + IP_GENERAL_FAILURE and a status-only
    // reply[0]; asynchronously the request completes with that reply and
    // STATUS_INVALID_PARAMETER in its IO_STATUS_BLOCK (Wine's
    // test_Icmp6SendEcho: tests/conformance.rs, wt_icmp6_hop_limit,
    // wt_icmp6_hop_limit_zero_apc). IPv4 sends with the default TTL.
    let refused = (v6 && !opts.is_null() && ttl == 0)
        .then_some((IP_GENERAL_FAILURE, STATUS_INVALID_PARAMETER));
    let payload: &[u8] = if size == 0 {
        &[]
    } else {
        // SAFETY: data is readable for size bytes (caller's contract).
        unsafe { core::slice::from_raw_parts(data.cast(), size.into()) }
    };
    let r = Request {
        v6,
        dst: route.dst,
        scope_id: route.scope_id,
        src: route.src,
        payload,
        ttl,
        tos,
        df,
        options: if v6 { &[] } else { options },
        timeout_ms: timeout,
    };
    if asynchronous {
        // With an event, the APC routine is ignored: Windows signals the
        // event and never runs the routine (Wine's conformance tests:
        // tests/conformance.rs, wt_echo2_event_and_apc, wt_icmp6_event_and_apc).
        let apc = if event.is_some() { None } else { notify.apc };
        let thread = match apc {
            Some(_) => match ThreadRef::current() {
                Ok(t) => Some(t),
                Err(code) => return fail(code),
            },
            None => None,
        };
        let n = engine::Notify {
            event,
            apc,
            ctx: notify.ctx.cast_mut(),
            thread,
        };
        // SAFETY: the caller keeps the reply buffer until completion
        // (Windows contract); the request's data is copied by submit.
        return match unsafe { engine::submit(d, &r, reply.cast(), reply_size as usize, n, refused) }
        {
            Ok(()) => fail(ERROR_IO_PENDING),
            Err(code) => fail(code),
        };
    }
    if let Some((status, _)) = refused {
        // SAFETY: reply is writable for reply_size bytes (caller's contract).
        let mut out = unsafe { reply::OutBuf::from_raw(reply.cast(), reply_size as usize) };
        reply::write_status(&mut out, v6, status);
        return fail(status);
    }
    let outcome = super::cache::run(d, &r);
    // `payload` is not used after this point: the request data may lie
    // inside the reply buffer (legal on Windows, which copies the request
    // at call time), so it is copied from the raw range, overlap-safe,
    // before anything else is written.
    // SAFETY: data is readable for size bytes (caller's contract) and only
    // written through `out` from here on.
    let echoed = unsafe { reply::InBytes::from_raw(data.cast(), size.into()) };
    // SAFETY: reply is writable for reply_size bytes (caller's contract).
    let mut out = unsafe { reply::OutBuf::from_raw(reply.cast(), reply_size as usize) };
    match write_result(&mut out, v6, outcome, route.scope_id, echoed) {
        Ok(_) => {
            set_last_error(0);
            1
        }
        Err(code) => fail(code),
    }
}

/// The asynchronous parameters of a send (all null/None: synchronous).
struct Async {
    event: HANDLE,
    apc: PIO_APC_ROUTINE,
    ctx: *const c_void,
}

/// See [`crate::icmpapi::IcmpCreateFile`]. Success sets the last error to 0,
/// as Wine 8.0 does (`last_error_after_successful_calls` in tests/echo.rs).
///
/// # Safety
/// None; `unsafe` only to match the Windows import.
pub unsafe extern "system" fn IcmpCreateFile() -> HANDLE {
    set_last_error(0);
    create_handle(false, default_mode())
}

/// See [`crate::icmpapi::Icmp6CreateFile`]. Success sets the last error to
/// 0, as [`IcmpCreateFile`].
///
/// # Safety
/// None; `unsafe` only to match the Windows import.
pub unsafe extern "system" fn Icmp6CreateFile() -> HANDLE {
    if !sock::ipv6_available() {
        set_last_error(ERROR_NOT_SUPPORTED);
        return INVALID_HANDLE_VALUE;
    }
    set_last_error(0);
    create_handle(true, default_mode())
}

/// See [`crate::icmpapi::IcmpCloseHandle`].
///
/// # Safety
/// None beyond the Windows contract; any value is accepted.
pub unsafe extern "system" fn IcmpCloseHandle(IcmpHandle: HANDLE) -> BOOL {
    if desc(IcmpHandle).is_some() {
        1
    } else {
        set_last_error(ERROR_INVALID_HANDLE);
        0
    }
}

/// See [`crate::icmpapi::IcmpSendEcho`].
///
/// # Safety
/// As on Windows: `RequestData` readable for `RequestSize` bytes,
/// `RequestOptions` null or valid, `ReplyBuffer` writable for `ReplySize`.
#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn IcmpSendEcho(
    IcmpHandle: HANDLE,
    DestinationAddress: IPAddr,
    RequestData: *const c_void,
    RequestSize: u16,
    RequestOptions: *const IP_OPTION_INFORMATION,
    ReplyBuffer: *mut c_void,
    ReplySize: u32,
    Timeout: u32,
) -> u32 {
    // SAFETY: forwarded contract; no event, no APC: synchronous.
    unsafe {
        IcmpSendEcho2(
            IcmpHandle,
            core::ptr::null_mut(),
            None,
            core::ptr::null(),
            DestinationAddress,
            RequestData,
            RequestSize,
            RequestOptions,
            ReplyBuffer,
            ReplySize,
            Timeout,
        )
    }
}

/// See [`crate::icmpapi::IcmpSendEcho2`].
///
/// # Safety
/// As [`IcmpSendEcho`].
#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn IcmpSendEcho2(
    IcmpHandle: HANDLE,
    Event: HANDLE,
    ApcRoutine: PIO_APC_ROUTINE,
    ApcContext: *const c_void,
    DestinationAddress: IPAddr,
    RequestData: *const c_void,
    RequestSize: u16,
    RequestOptions: *const IP_OPTION_INFORMATION,
    ReplyBuffer: *mut c_void,
    ReplySize: u32,
    Timeout: u32,
) -> u32 {
    // SAFETY: forwarded contract; source 0: the stack chooses.
    unsafe {
        IcmpSendEcho2Ex(
            IcmpHandle,
            Event,
            ApcRoutine,
            ApcContext,
            0,
            DestinationAddress,
            RequestData,
            RequestSize,
            RequestOptions,
            ReplyBuffer,
            ReplySize,
            Timeout,
        )
    }
}

/// See [`crate::icmpapi::IcmpSendEcho2Ex`].
///
/// # Safety
/// As [`IcmpSendEcho`].
#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn IcmpSendEcho2Ex(
    IcmpHandle: HANDLE,
    Event: HANDLE,
    ApcRoutine: PIO_APC_ROUTINE,
    ApcContext: *const c_void,
    SourceAddress: IPAddr,
    DestinationAddress: IPAddr,
    RequestData: *const c_void,
    RequestSize: u16,
    RequestOptions: *const IP_OPTION_INFORMATION,
    ReplyBuffer: *mut c_void,
    ReplySize: u32,
    Timeout: u32,
) -> u32 {
    let addresses = Addresses::V4 {
        src: SourceAddress,
        dst: DestinationAddress,
    };
    // SAFETY: forwarded contract.
    unsafe {
        send(
            IcmpHandle,
            Async {
                event: Event,
                apc: ApcRoutine,
                ctx: ApcContext,
            },
            addresses,
            RequestData,
            RequestSize,
            RequestOptions,
            ReplyBuffer,
            ReplySize,
            Timeout,
        )
    }
}

/// Reads a Windows `SOCKADDR_IN6`: (address, scope), or `None` if the
/// family is neither the Windows `AF_INET6` (23) nor 0. Family 0 is what C
/// callers pass after `memset` + `inet_pton` into `sin6_addr` (Wine's
/// conformance test does): Windows sends (tests/conformance.rs,
/// `wt_icmp6_family_zero`).
///
/// # Safety
/// `sa` must point to a readable `SOCKADDR_IN6`.
unsafe fn read_sockaddr_in6(sa: *const SOCKADDR_IN6) -> Option<([u8; 16], u32)> {
    // SAFETY: per the contract; unaligned-tolerant.
    let s = unsafe { sa.read_unaligned() };
    // SAFETY: both union views are plain bytes.
    (s.sin6_family == AF_INET6 || s.sin6_family == 0)
        .then_some((unsafe { s.sin6_addr.u.Byte }, s.sin6_scope_id))
}

/// See [`crate::icmpapi::Icmp6SendEcho2`].
///
/// # Safety
/// As [`IcmpSendEcho`]; `SourceAddress` null or valid, `DestinationAddress`
/// valid.
#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn Icmp6SendEcho2(
    IcmpHandle: HANDLE,
    Event: HANDLE,
    ApcRoutine: PIO_APC_ROUTINE,
    ApcContext: *const c_void,
    SourceAddress: *const SOCKADDR_IN6,
    DestinationAddress: *const SOCKADDR_IN6,
    RequestData: *const c_void,
    RequestSize: u16,
    RequestOptions: *const IP_OPTION_INFORMATION,
    ReplyBuffer: *mut c_void,
    ReplySize: u32,
    Timeout: u32,
) -> u32 {
    let addresses = Addresses::V6 {
        src: SourceAddress,
        dst: DestinationAddress,
    };
    // SAFETY: forwarded contract.
    unsafe {
        send(
            IcmpHandle,
            Async {
                event: Event,
                apc: ApcRoutine,
                ctx: ApcContext,
            },
            addresses,
            RequestData,
            RequestSize,
            RequestOptions,
            ReplyBuffer,
            ReplySize,
            Timeout,
        )
    }
}

/// See [`crate::icmpapi::IcmpParseReplies`].
///
/// # Safety
/// `ReplyBuffer` null or readable and writable for `ReplySize` bytes.
pub unsafe extern "system" fn IcmpParseReplies(ReplyBuffer: *mut c_void, ReplySize: u32) -> u32 {
    if ReplyBuffer.is_null() || (ReplySize as usize) < size_of::<ICMP_ECHO_REPLY>() {
        return fail(ERROR_INVALID_PARAMETER);
    }
    let p = ReplyBuffer.cast::<ICMP_ECHO_REPLY>();
    // SAFETY: the buffer holds one ICMP_ECHO_REPLY (checked size); accessed
    // unaligned, field by field through raw pointers.
    unsafe {
        let reserved = core::ptr::addr_of_mut!((*p).Reserved);
        let n = reserved.read_unaligned();
        reserved.write_unaligned(0);
        if n == 0 {
            set_last_error(core::ptr::addr_of!((*p).Status).read_unaligned());
        }
        n.into()
    }
}

/// See [`crate::icmpapi::Icmp6ParseReplies`].
///
/// # Safety
/// `ReplyBuffer` null or readable for `ReplySize` bytes.
pub unsafe extern "system" fn Icmp6ParseReplies(ReplyBuffer: *mut c_void, ReplySize: u32) -> u32 {
    if ReplyBuffer.is_null() || ReplySize == 0 {
        return fail(ERROR_GEN_FAILURE);
    }
    if (ReplySize as usize) < size_of::<ICMPV6_ECHO_REPLY>() {
        return fail(ERROR_INVALID_PARAMETER);
    }
    let p = ReplyBuffer.cast::<ICMPV6_ECHO_REPLY>();
    // SAFETY: the buffer holds one ICMPV6_ECHO_REPLY (checked size).
    let status = unsafe { core::ptr::addr_of!((*p).Status).read_unaligned() };
    if status == IP_SUCCESS || status == IP_TTL_EXPIRED_TRANSIT {
        1
    } else {
        fail(status)
    }
}
