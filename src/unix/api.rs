//! The nine functions, with the Windows contract (documented at their
//! re-export in [`icmpapi`](crate::icmpapi)).

#![allow(non_snake_case)]

use super::sock::{self, Outcome, Request};
use super::{Desc, create_handle, default_mode, desc, open, reply, set_last_error};
use crate::ipexport::*;
use core::ffi::c_void;
use core::mem::size_of;

/// Runs one request: opens its socket, echoes, closes (before the caller
/// sets the last error).
fn run(d: &Desc, r: &Request<'_>) -> Outcome {
    match open(d) {
        Ok((fd, kind)) => sock::echo(&fd, kind, r),
        Err(code) => Outcome::Fail(code),
    }
}

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

/// The common IPv4 send.
///
/// # Safety
/// As [`IcmpSendEcho2Ex`].
#[allow(clippy::too_many_arguments)]
unsafe fn send4(
    h: HANDLE,
    asynchronous: bool,
    src: IPAddr,
    dst: IPAddr,
    data: *const c_void,
    size: u16,
    opts: *const IP_OPTION_INFORMATION,
    reply: *mut c_void,
    reply_size: u32,
    timeout: u32,
) -> u32 {
    let head = size_of::<ICMP_ECHO_REPLY>();
    let Some(d) = desc(h).filter(|d| !d.v6) else {
        return fail(ERROR_INVALID_PARAMETER);
    };
    if reply.is_null() {
        return fail(ERROR_INVALID_PARAMETER);
    }
    // ReplySize 0 included: 87 on Vista and later (122 on 2003 and earlier).
    if (reply_size as usize) < head || (data.is_null() && size > 0) {
        return fail(ERROR_INVALID_PARAMETER);
    }
    if dst == 0 {
        return fail(ERROR_INVALID_NETNAME);
    }
    if asynchronous {
        return fail(ERROR_NOT_SUPPORTED);
    }
    if (reply_size as usize) < head + usize::from(size) {
        return fail(IP_GENERAL_FAILURE);
    }
    // SAFETY: per the caller's contract.
    let (ttl, tos, df, options) = match unsafe { read_options(opts) } {
        Ok(o) => o,
        Err(code) => return fail(code),
    };
    let payload: &[u8] = if size == 0 {
        &[]
    } else {
        // SAFETY: data is readable for size bytes (caller's contract).
        unsafe { core::slice::from_raw_parts(data.cast(), size.into()) }
    };
    let mut dst16 = [0u8; 16];
    dst16[..4].copy_from_slice(&dst.to_ne_bytes());
    let src = (src != 0).then(|| {
        let mut s = [0u8; 16];
        s[..4].copy_from_slice(&src.to_ne_bytes());
        s
    });
    let r = Request {
        v6: false,
        dst: dst16,
        scope_id: 0,
        src,
        payload,
        ttl,
        tos,
        df,
        options,
        timeout_ms: timeout,
    };
    let outcome = run(d, &r);
    // SAFETY: reply is writable for reply_size bytes (caller's contract).
    let mut out = unsafe { reply::OutBuf::from_raw(reply.cast(), reply_size as usize) };
    let addr = |a: [u8; 16]| u32::from_ne_bytes([a[0], a[1], a[2], a[3]]);
    let written = match outcome {
        Outcome::Echo {
            from,
            rtt,
            ttl,
            tos,
            options,
            options_len,
        } => reply::write_reply4(
            &mut out,
            &reply::Reply4 {
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
        } => reply::write_reply4(
            &mut out,
            &reply::Reply4 {
                address: addr(from),
                status,
                round_trip_time: rtt,
                ttl,
                tos: 0,
                options: &[],
                data: &[],
            },
        ),
        Outcome::Fail(code) => Err(code),
    };
    match written {
        Ok(()) => {
            set_last_error(0);
            1
        }
        Err(code) => {
            if code >= IP_STATUS_BASE {
                reply::write_status4(&mut out, code);
            }
            fail(code)
        }
    }
}

fn is_async(event: HANDLE, apc: PIO_APC_ROUTINE) -> bool {
    !event.is_null() || apc.is_some()
}

/// See [`crate::icmpapi::IcmpCreateFile`].
///
/// # Safety
/// None; `unsafe` only to match the Windows import.
pub unsafe extern "system" fn IcmpCreateFile() -> HANDLE {
    create_handle(false, default_mode())
}

/// See [`crate::icmpapi::Icmp6CreateFile`].
///
/// # Safety
/// None; `unsafe` only to match the Windows import.
pub unsafe extern "system" fn Icmp6CreateFile() -> HANDLE {
    if !sock::ipv6_available() {
        set_last_error(ERROR_NOT_SUPPORTED);
        return INVALID_HANDLE_VALUE;
    }
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
    // SAFETY: forwarded contract.
    unsafe {
        send4(
            IcmpHandle,
            false,
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
    let _ = ApcContext;
    // SAFETY: forwarded contract.
    unsafe {
        send4(
            IcmpHandle,
            is_async(Event, ApcRoutine),
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
    let _ = ApcContext;
    // SAFETY: forwarded contract.
    unsafe {
        send4(
            IcmpHandle,
            is_async(Event, ApcRoutine),
            SourceAddress,
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

/// Reads a Windows `SOCKADDR_IN6`: (address, scope) or `None` if the family
/// is not the Windows `AF_INET6` (23).
///
/// # Safety
/// `sa` must point to a readable `SOCKADDR_IN6`.
unsafe fn read_sockaddr_in6(sa: *const SOCKADDR_IN6) -> Option<([u8; 16], u32)> {
    // SAFETY: per the contract; unaligned-tolerant.
    let s = unsafe { sa.read_unaligned() };
    // SAFETY: both union views are plain bytes.
    (s.sin6_family == AF_INET6).then_some((unsafe { s.sin6_addr.u.Byte }, s.sin6_scope_id))
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
    let _ = ApcContext;
    let head = size_of::<ICMPV6_ECHO_REPLY>();
    let Some(d) = desc(IcmpHandle).filter(|d| d.v6) else {
        return fail(ERROR_INVALID_PARAMETER);
    };
    if ReplyBuffer.is_null() || DestinationAddress.is_null() {
        return fail(ERROR_INVALID_PARAMETER);
    }
    // ReplySize 0 included: 87, as for IPv4 on Vista and later.
    if (ReplySize as usize) < head || (RequestData.is_null() && RequestSize > 0) {
        return fail(ERROR_INVALID_PARAMETER);
    }
    // SAFETY: non-null, caller's contract.
    let Some((dst, scope_id)) = (unsafe { read_sockaddr_in6(DestinationAddress) }) else {
        return fail(ERROR_INVALID_PARAMETER);
    };
    let src = if SourceAddress.is_null() {
        None
    } else {
        // SAFETY: non-null, caller's contract.
        match unsafe { read_sockaddr_in6(SourceAddress) } {
            Some((a, _)) if a != [0; 16] => Some(a),
            Some(_) => None,
            None => return fail(ERROR_INVALID_PARAMETER),
        }
    };
    if dst == [0; 16] {
        return fail(ERROR_INVALID_NETNAME);
    }
    if is_async(Event, ApcRoutine) {
        return fail(ERROR_NOT_SUPPORTED);
    }
    if (ReplySize as usize) < head + usize::from(RequestSize) {
        return fail(IP_GENERAL_FAILURE);
    }
    // SAFETY: caller's contract.
    let (ttl, tos, df, _options) = match unsafe { read_options(RequestOptions) } {
        Ok(o) => o,
        Err(code) => return fail(code),
    };
    let payload: &[u8] = if RequestSize == 0 {
        &[]
    } else {
        // SAFETY: caller's contract.
        unsafe { core::slice::from_raw_parts(RequestData.cast(), RequestSize.into()) }
    };
    let r = Request {
        v6: true,
        dst,
        scope_id,
        src,
        payload,
        ttl,
        tos,
        df,
        options: &[],
        timeout_ms: Timeout,
    };
    let outcome = run(d, &r);
    // SAFETY: caller's contract.
    let mut out = unsafe { reply::OutBuf::from_raw(ReplyBuffer.cast(), ReplySize as usize) };
    let written = match outcome {
        Outcome::Echo { from, rtt, .. } => {
            reply::write_reply6(&mut out, from, scope_id, IP_SUCCESS, rtt, payload)
        }
        Outcome::Error {
            status, from, rtt, ..
        } => reply::write_reply6(&mut out, from, 0, status, rtt, &[]),
        Outcome::Fail(code) => Err(code),
    };
    match written {
        Ok(()) => {
            set_last_error(0);
            1
        }
        Err(code) => {
            if code >= IP_STATUS_BASE {
                reply::write_status6(&mut out, code);
            }
            fail(code)
        }
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
