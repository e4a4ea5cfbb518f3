//! Compile-time proof that the shipped declarations equal the C headers'
//! (feature `bindgen`, Windows targets only; maintainers).
//!
//! `build.rs` runs bindgen over `wrapper.h` for the target being built; this
//! module includes the result as `c` and compares, in `const` blocks, every
//! function's arity, ABI (`extern "system"`, by coercion), return and
//! parameter types, every struct's size, alignment, field offsets and field
//! types, and every constant's value. Disagreements are allowed only where
//! `defects.rs` lists them for the headers used (mingw-w64 10 has several);
//! each listed defect is asserted to still hold. Completeness is checked both
//! ways: every public item of `src/ipexport.rs`/`src/icmpapi.rs` and every
//! item bindgen generated must be compared, or be listed below with a reason.
#![allow(dead_code, clippy::all)]

#[path = "verify/check.rs"]
mod check;
#[path = "verify/defects.rs"]
mod defects;

/// The crate, by the name the item tables of `check.rs` use: its root, plus
/// the `*32` structures, which live apart in `ipexport::wow64`.
mod ours {
    #[cfg(target_pointer_width = "64")]
    pub use crate::ipexport::wow64::*;
    pub use crate::*;
}
use check::{Kind, Obs, aggregate, check, contains, field, kind_aggregate, kind_aggregate_ours};
use check::{
    error_codes, functions, ip_opt_codes, ip_status_codes, structure, strukt, types, values,
};
use check::{sig0, sig1, sig2, sig8, sig11, sig12};
use core::mem::offset_of;

/// What bindgen generated from `wrapper.h` for this target.
#[allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unsafe_op_in_unsafe_fn,
    unnecessary_transmutes,
    missing_docs,
    clippy::all
)]
mod c {
    include!(concat!(env!("OUT_DIR"), "/icmp_sys_bindings.rs"));
}

mod names {
    include!(concat!(env!("OUT_DIR"), "/icmp_sys_names.rs"));
    include!(concat!(env!("OUT_DIR"), "/icmp_sys_shipped.rs"));
}

#[cfg(icmp_sys_headers = "mingw-w64")]
const SOURCE: (&str, &[check::Defect]) = ("bindgen over the mingw-w64 headers", defects::MINGW_W64);
#[cfg(not(icmp_sys_headers = "mingw-w64"))]
const SOURCE: (&str, &[check::Defect]) = ("bindgen over the Windows SDK headers", defects::SDK);

/// Shipped items that have no counterpart of the same name in the headers.
const SHIPPED_UNCHECKED: &[&str] = &[
    "IO_STATUS_BLOCK_0", // the anonymous union: compared as IO_STATUS_BLOCK's fields
    "IN6_ADDR_0",        // the anonymous union: compared as IN6_ADDR's fields
    "BOOL",              // compared as IcmpCloseHandle's return (mingw-w64 calls it WINBOOL)
    "INVALID_HANDLE_VALUE", // a pointer cast, which bindgen cannot evaluate
];

/// Generated items that are not ICMP items of the crate: C dependencies
/// (compared through the items that use them), struct tags (= their
/// typedefs), and the non-ICMP parts of `ipexport.h`.
const GENERATED_UNCHECKED: &[&str] = &[
    "__BindgenBitfieldUnit",
    "wchar_t",
    "ULONG",
    "USHORT",
    "UCHAR",
    "PUCHAR",
    "WINBOOL",
    "WORD",
    "DWORD",
    "LPVOID",
    "ULONG_PTR",
    "ULONG64",
    "PVOID",
    "LONG",
    "WCHAR",
    "u_char",
    "u_short",
    "u_long",
    "_SCOPE_ID",
    "_SCOPE_ID__bindgen_ty_1",
    "_SCOPE_ID__bindgen_ty_1__bindgen_ty_1",
    "SCOPE_ID",
    "in6_addr",
    "in6_addr__bindgen_ty_1",
    "sockaddr_in6",
    "sockaddr_in6__bindgen_ty_1",
    "_IO_STATUS_BLOCK",
    "_IO_STATUS_BLOCK__bindgen_ty_1",
    "IPv6Addr",
    "ip_option_information",
    "ip_option_information32",
    "icmp_echo_reply",
    "icmp_echo_reply32",
    "_IPV6_ADDRESS_EX",
    "icmpv6_echo_reply_lh",
    // ipexport.h items outside the ICMP API
    "IP_EXPORT_INCLUDED",
    "MAX_ADAPTER_NAME",
    "arp_send_reply",
    "ARP_SEND_REPLY",
    "PARP_SEND_REPLY",
    "tcp_reserve_port_range",
    "TCP_RESERVE_PORT_RANGE",
    "PTCP_RESERVE_PORT_RANGE",
    "_IP_ADAPTER_INDEX_MAP",
    "IP_ADAPTER_INDEX_MAP",
    "PIP_ADAPTER_INDEX_MAP",
    "_IP_INTERFACE_INFO",
    "IP_INTERFACE_INFO",
    "PIP_INTERFACE_INFO",
    "_IP_UNIDIRECTIONAL_ADAPTER_ADDRESS",
    "IP_UNIDIRECTIONAL_ADAPTER_ADDRESS",
    "PIP_UNIDIRECTIONAL_ADAPTER_ADDRESS",
    "_IP_ADAPTER_ORDER_MAP",
    "IP_ADAPTER_ORDER_MAP",
    "PIP_ADAPTER_ORDER_MAP",
    "_IP_MCAST_COUNTER_INFO",
    "IP_MCAST_COUNTER_INFO",
    "PIP_MCAST_COUNTER_INFO",
];

kind_aggregate_ours!();
kind_aggregate!(
    c::ip_option_information,
    c::icmp_echo_reply,
    c::_IPV6_ADDRESS_EX,
    c::_IO_STATUS_BLOCK,
    c::_IO_STATUS_BLOCK__bindgen_ty_1,
    c::in6_addr,
    c::in6_addr__bindgen_ty_1,
    c::sockaddr_in6,
);
#[cfg(icmp_sys_c_has = "IP_OPTION_INFORMATION32")]
kind_aggregate!(c::ip_option_information32, c::icmp_echo_reply32);

/// Values the headers spell as casts or function-like macros: `wrapper.h`
/// evaluates them into `ICMP_SYS_C_<name>`, here under the SDK's name.
mod evaluated {
    pub use super::c::{
        ICMP_SYS_C_AF_INET6 as AF_INET6, ICMP_SYS_C_ERROR_ACCESS_DENIED as ERROR_ACCESS_DENIED,
        ICMP_SYS_C_ERROR_CALL_NOT_IMPLEMENTED as ERROR_CALL_NOT_IMPLEMENTED,
        ICMP_SYS_C_ERROR_GEN_FAILURE as ERROR_GEN_FAILURE,
        ICMP_SYS_C_ERROR_INSUFFICIENT_BUFFER as ERROR_INSUFFICIENT_BUFFER,
        ICMP_SYS_C_ERROR_INVALID_HANDLE as ERROR_INVALID_HANDLE,
        ICMP_SYS_C_ERROR_INVALID_NETNAME as ERROR_INVALID_NETNAME,
        ICMP_SYS_C_ERROR_INVALID_PARAMETER as ERROR_INVALID_PARAMETER,
        ICMP_SYS_C_ERROR_IO_PENDING as ERROR_IO_PENDING,
        ICMP_SYS_C_ERROR_NOT_ENOUGH_MEMORY as ERROR_NOT_ENOUGH_MEMORY,
        ICMP_SYS_C_ERROR_NOT_SUPPORTED as ERROR_NOT_SUPPORTED, ICMP_SYS_C_INFINITE as INFINITE,
        ICMP_SYS_C_STATUS_INVALID_PARAMETER as STATUS_INVALID_PARAMETER,
        ICMP_SYS_C_WAIT_IO_COMPLETION as WAIT_IO_COMPLETION,
        ICMP_SYS_C_WAIT_OBJECT_0 as WAIT_OBJECT_0, ICMP_SYS_C_WAIT_TIMEOUT as WAIT_TIMEOUT,
    };
    pub use super::c::{
        ICMP_SYS_C_ERROR_HOST_UNREACHABLE as ERROR_HOST_UNREACHABLE,
        ICMP_SYS_C_ERROR_NETWORK_UNREACHABLE as ERROR_NETWORK_UNREACHABLE,
        ICMP_SYS_C_ERROR_PORT_UNREACHABLE as ERROR_PORT_UNREACHABLE,
        ICMP_SYS_C_ERROR_PROTOCOL_UNREACHABLE as ERROR_PROTOCOL_UNREACHABLE,
        ICMP_SYS_C_ERROR_SUCCESS as ERROR_SUCCESS,
        ICMP_SYS_C_ERROR_TOO_MANY_OPEN_FILES as ERROR_TOO_MANY_OPEN_FILES,
        ICMP_SYS_C_FALSE as FALSE, ICMP_SYS_C_TRUE as TRUE,
        ICMP_SYS_C_WAIT_ABANDONED as WAIT_ABANDONED,
        ICMP_SYS_C_WAIT_ABANDONED_0 as WAIT_ABANDONED_0, ICMP_SYS_C_WAIT_FAILED as WAIT_FAILED,
    };
}

/// `present` observation: whether the item exists in the crate / headers.
const fn present(l: &mut Obs, name: &'static str, ours: bool) {
    let theirs = contains(names::GENERATED_NAMES, name);
    l.add(name, "present", ours as i128, theirs as i128);
}

const OBS: Obs = {
    let mut l = Obs::new();

    // Scalars.
    types!(l, c; IPAddr, IPMask, IP_STATUS, HANDLE, NTSTATUS, ADDRESS_FAMILY);

    // Structures.
    structure!(l, c::IP_OPTION_INFORMATION);
    structure!(l, c::ICMP_ECHO_REPLY);
    types!(l, c; PIP_OPTION_INFORMATION, PICMP_ECHO_REPLY);

    let w64 = cfg!(target_pointer_width = "64");
    present(&mut l, "IP_OPTION_INFORMATION32", w64);
    present(&mut l, "PIP_OPTION_INFORMATION32", w64);
    present(&mut l, "ICMP_ECHO_REPLY32", w64);
    present(&mut l, "PICMP_ECHO_REPLY32", w64);
    #[cfg(all(
        target_pointer_width = "64",
        icmp_sys_c_has = "IP_OPTION_INFORMATION32"
    ))]
    {
        structure!(l, c::IP_OPTION_INFORMATION32);
        structure!(l, c::ICMP_ECHO_REPLY32);
        types!(l, c; PIP_OPTION_INFORMATION32, PICMP_ECHO_REPLY32);
    }

    structure!(l, c::IPV6_ADDRESS_EX);
    types!(l, c; PIPV6_ADDRESS_EX);

    present(&mut l, "ICMPV6_ECHO_REPLY_LH", true);
    present(&mut l, "ICMPV6_ECHO_REPLY", true);
    present(&mut l, "PICMPV6_ECHO_REPLY_LH", true);
    present(&mut l, "PICMPV6_ECHO_REPLY", true);
    #[cfg(icmp_sys_c_has = "ICMPV6_ECHO_REPLY_LH")]
    {
        structure!(l, c::ICMPV6_ECHO_REPLY_LH);
        types!(l, c; ICMPV6_ECHO_REPLY, PICMPV6_ECHO_REPLY_LH, PICMPV6_ECHO_REPLY);
    }

    structure!(l, c::IO_STATUS_BLOCK, anonymous = __bindgen_anon_1);
    types!(l, c; PIO_STATUS_BLOCK, PIO_APC_ROUTINE);
    structure!(l, c::IN6_ADDR);
    structure!(l, c::SOCKADDR_IN6, anonymous = __bindgen_anon_1);
    types!(l, c; PSOCKADDR_IN6);

    // Functions: arity, ABI (by coercion), return and parameter types.
    present(&mut l, "IcmpSendEcho2Ex", true);
    functions!(
        l,
        c,
        #[cfg(icmp_sys_c_has = "IcmpSendEcho2Ex")]
        IcmpSendEcho2Ex
    );

    // Constants.
    ip_status_codes!(values!(l, c;));
    ip_opt_codes!(values!(l, c;));
    values!(l, c; IP_FLAG_DF, MAX_OPT_SIZE);
    present(&mut l, "IP_FLAG_REVERSE", true);
    #[cfg(icmp_sys_c_has = "IP_FLAG_REVERSE")]
    values!(l, c; IP_FLAG_REVERSE);
    present(&mut l, "IP_NO_FURTHER_SENDS", false);
    error_codes!(values!(l, evaluated;));
    // The wait results and timeout of the waits around an asynchronous send.
    values!(l, evaluated; WAIT_OBJECT_0, WAIT_IO_COMPLETION, WAIT_TIMEOUT, INFINITE);
    values!(l, evaluated; WAIT_FAILED, WAIT_ABANDONED, WAIT_ABANDONED_0, TRUE, FALSE);
    values!(l, evaluated; AF_INET6);
    values!(l, evaluated; STATUS_INVALID_PARAMETER);
    l
};

const _: () = check(SOURCE.0, SOURCE.1, &OBS);

/// Fails unless every name of `names` (less `prefix`, where it has it) was
/// compared, or is in `unchecked`.
const fn all_compared(names: &[&str], prefix: &str, unchecked: &[&str], what: &str) {
    let mut i = 0;
    while i < names.len() {
        let n = names[i];
        let short = match n.split_at_checked(prefix.len()) {
            Some((head, rest)) if check::eq(head, prefix) => rest,
            _ => n,
        };
        if !OBS.observes(short) && !contains(unchecked, n) {
            check::Msg::new().s("verify: ").s(what).s(n).fail();
        }
        i += 1;
    }
}

/// Completeness: every shipped item and every generated item was compared
/// (or is listed above with a reason).
const _: () = {
    let shipped = "shipped item not compared with the headers: ";
    all_compared(names::SHIPPED_NAMES, "", SHIPPED_UNCHECKED, shipped);
    let generated = "generated item not compared with the crate: ";
    all_compared(
        names::GENERATED_NAMES,
        "ICMP_SYS_C_",
        GENERATED_UNCHECKED,
        generated,
    );
};
