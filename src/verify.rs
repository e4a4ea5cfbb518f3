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

use check::{Kind, Obs, aggregate, check, contains, field, kind_aggregate, strukt};
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

kind_aggregate!(
    crate::IP_OPTION_INFORMATION,
    crate::ICMP_ECHO_REPLY,
    crate::IPV6_ADDRESS_EX,
    crate::ICMPV6_ECHO_REPLY_LH,
    crate::IO_STATUS_BLOCK,
    crate::IO_STATUS_BLOCK_0,
    crate::IN6_ADDR,
    crate::IN6_ADDR_0,
    crate::SOCKADDR_IN6,
    c::ip_option_information,
    c::icmp_echo_reply,
    c::_IPV6_ADDRESS_EX,
    c::_IO_STATUS_BLOCK,
    c::_IO_STATUS_BLOCK__bindgen_ty_1,
    c::in6_addr,
    c::in6_addr__bindgen_ty_1,
    c::sockaddr_in6,
);
#[cfg(target_pointer_width = "64")]
kind_aggregate!(crate::IP_OPTION_INFORMATION32, crate::ICMP_ECHO_REPLY32);
#[cfg(icmp_sys_c_has = "IP_OPTION_INFORMATION32")]
kind_aggregate!(c::ip_option_information32, c::icmp_echo_reply32);

/// Compares constant values (ours, theirs under the same name).
macro_rules! values {
    ($l:ident; $($name:ident),* $(,)?) => {$(
        $l.add(stringify!($name), "value", crate::$name as i128, c::$name as i128);
    )*};
}

/// `present` observation: whether the item exists in the crate / headers.
const fn present(l: &mut Obs, name: &'static str, ours: bool) {
    let theirs = contains(names::GENERATED_NAMES, name);
    l.add(name, "present", ours as i128, theirs as i128);
}

const OBS: Obs = {
    let mut l = Obs::new();

    // Scalars.
    l.ty::<crate::IPAddr, c::IPAddr>("IPAddr");
    l.ty::<crate::IPMask, c::IPMask>("IPMask");
    l.ty::<crate::IP_STATUS, c::IP_STATUS>("IP_STATUS");
    l.ty::<crate::HANDLE, c::HANDLE>("HANDLE");
    l.ty::<crate::NTSTATUS, c::NTSTATUS>("NTSTATUS");
    l.ty::<crate::ADDRESS_FAMILY, c::ADDRESS_FAMILY>("ADDRESS_FAMILY");

    // Structures.
    strukt!(
        l,
        "IP_OPTION_INFORMATION",
        crate::IP_OPTION_INFORMATION,
        c::IP_OPTION_INFORMATION,
        "Ttl" = Ttl / Ttl,
        "Tos" = Tos / Tos,
        "Flags" = Flags / Flags,
        "OptionsSize" = OptionsSize / OptionsSize,
        "OptionsData" = OptionsData / OptionsData
    );
    l.ty::<crate::PIP_OPTION_INFORMATION, c::PIP_OPTION_INFORMATION>("PIP_OPTION_INFORMATION");
    strukt!(
        l,
        "ICMP_ECHO_REPLY",
        crate::ICMP_ECHO_REPLY,
        c::ICMP_ECHO_REPLY,
        "Address" = Address / Address,
        "Status" = Status / Status,
        "RoundTripTime" = RoundTripTime / RoundTripTime,
        "DataSize" = DataSize / DataSize,
        "Reserved" = Reserved / Reserved,
        "Data" = Data / Data,
        "Options" = Options / Options,
        "Options.OptionsData" = Options.OptionsData / Options.OptionsData
    );
    l.ty::<crate::PICMP_ECHO_REPLY, c::PICMP_ECHO_REPLY>("PICMP_ECHO_REPLY");

    present(
        &mut l,
        "IP_OPTION_INFORMATION32",
        cfg!(target_pointer_width = "64"),
    );
    present(
        &mut l,
        "PIP_OPTION_INFORMATION32",
        cfg!(target_pointer_width = "64"),
    );
    present(
        &mut l,
        "ICMP_ECHO_REPLY32",
        cfg!(target_pointer_width = "64"),
    );
    present(
        &mut l,
        "PICMP_ECHO_REPLY32",
        cfg!(target_pointer_width = "64"),
    );
    #[cfg(all(
        target_pointer_width = "64",
        icmp_sys_c_has = "IP_OPTION_INFORMATION32"
    ))]
    {
        strukt!(
            l,
            "IP_OPTION_INFORMATION32",
            crate::IP_OPTION_INFORMATION32,
            c::IP_OPTION_INFORMATION32,
            "Ttl" = Ttl / Ttl,
            "Tos" = Tos / Tos,
            "Flags" = Flags / Flags,
            "OptionsSize" = OptionsSize / OptionsSize,
            "OptionsData" = OptionsData / OptionsData
        );
        l.ty::<crate::PIP_OPTION_INFORMATION32, c::PIP_OPTION_INFORMATION32>(
            "PIP_OPTION_INFORMATION32",
        );
        strukt!(
            l,
            "ICMP_ECHO_REPLY32",
            crate::ICMP_ECHO_REPLY32,
            c::ICMP_ECHO_REPLY32,
            "Address" = Address / Address,
            "Status" = Status / Status,
            "RoundTripTime" = RoundTripTime / RoundTripTime,
            "DataSize" = DataSize / DataSize,
            "Reserved" = Reserved / Reserved,
            "Data" = Data / Data,
            "Options" = Options / Options,
            "Options.OptionsData" = Options.OptionsData / Options.OptionsData
        );
        l.ty::<crate::PICMP_ECHO_REPLY32, c::PICMP_ECHO_REPLY32>("PICMP_ECHO_REPLY32");
    }

    strukt!(
        l,
        "IPV6_ADDRESS_EX",
        crate::IPV6_ADDRESS_EX,
        c::IPV6_ADDRESS_EX,
        "sin6_port" = sin6_port / sin6_port,
        "sin6_flowinfo" = sin6_flowinfo / sin6_flowinfo,
        "sin6_addr" = sin6_addr / sin6_addr,
        "sin6_scope_id" = sin6_scope_id / sin6_scope_id
    );
    l.ty::<crate::PIPV6_ADDRESS_EX, c::PIPV6_ADDRESS_EX>("PIPV6_ADDRESS_EX");

    present(&mut l, "ICMPV6_ECHO_REPLY_LH", true);
    present(&mut l, "ICMPV6_ECHO_REPLY", true);
    present(&mut l, "PICMPV6_ECHO_REPLY_LH", true);
    present(&mut l, "PICMPV6_ECHO_REPLY", true);
    #[cfg(icmp_sys_c_has = "ICMPV6_ECHO_REPLY_LH")]
    {
        strukt!(
            l,
            "ICMPV6_ECHO_REPLY_LH",
            crate::ICMPV6_ECHO_REPLY_LH,
            c::ICMPV6_ECHO_REPLY_LH,
            "Address" = Address / Address,
            "Status" = Status / Status,
            "RoundTripTime" = RoundTripTime / RoundTripTime
        );
        l.ty::<crate::ICMPV6_ECHO_REPLY, c::ICMPV6_ECHO_REPLY>("ICMPV6_ECHO_REPLY");
        l.ty::<crate::PICMPV6_ECHO_REPLY_LH, c::PICMPV6_ECHO_REPLY_LH>("PICMPV6_ECHO_REPLY_LH");
        l.ty::<crate::PICMPV6_ECHO_REPLY, c::PICMPV6_ECHO_REPLY>("PICMPV6_ECHO_REPLY");
    }

    strukt!(
        l,
        "IO_STATUS_BLOCK",
        crate::IO_STATUS_BLOCK,
        c::IO_STATUS_BLOCK,
        "Status" = Anonymous.Status / __bindgen_anon_1.Status,
        "Pointer" = Anonymous.Pointer / __bindgen_anon_1.Pointer,
        "Information" = Information / Information
    );
    l.ty::<crate::PIO_STATUS_BLOCK, c::PIO_STATUS_BLOCK>("PIO_STATUS_BLOCK");
    l.ty::<crate::PIO_APC_ROUTINE, c::PIO_APC_ROUTINE>("PIO_APC_ROUTINE");
    strukt!(
        l,
        "IN6_ADDR",
        crate::IN6_ADDR,
        c::IN6_ADDR,
        "Byte" = u.Byte / u.Byte,
        "Word" = u.Word / u.Word
    );
    strukt!(
        l,
        "SOCKADDR_IN6",
        crate::SOCKADDR_IN6,
        c::SOCKADDR_IN6,
        "sin6_family" = sin6_family / sin6_family,
        "sin6_port" = sin6_port / sin6_port,
        "sin6_flowinfo" = sin6_flowinfo / sin6_flowinfo,
        "sin6_addr" = sin6_addr / sin6_addr,
        "sin6_scope_id" = sin6_scope_id / __bindgen_anon_1.sin6_scope_id
    );
    l.ty::<crate::PSOCKADDR_IN6, c::PSOCKADDR_IN6>("PSOCKADDR_IN6");

    // Functions: arity, ABI (by coercion), return and parameter types.
    l.sig(
        "IcmpCreateFile",
        sig0(crate::IcmpCreateFile),
        sig0(c::IcmpCreateFile),
    );
    l.sig(
        "Icmp6CreateFile",
        sig0(crate::Icmp6CreateFile),
        sig0(c::Icmp6CreateFile),
    );
    l.sig(
        "IcmpCloseHandle",
        sig1(crate::IcmpCloseHandle),
        sig1(c::IcmpCloseHandle),
    );
    l.sig(
        "IcmpSendEcho",
        sig8(crate::IcmpSendEcho),
        sig8(c::IcmpSendEcho),
    );
    l.sig(
        "IcmpSendEcho2",
        sig11(crate::IcmpSendEcho2),
        sig11(c::IcmpSendEcho2),
    );
    present(&mut l, "IcmpSendEcho2Ex", true);
    #[cfg(icmp_sys_c_has = "IcmpSendEcho2Ex")]
    l.sig(
        "IcmpSendEcho2Ex",
        sig12(crate::IcmpSendEcho2Ex),
        sig12(c::IcmpSendEcho2Ex),
    );
    l.sig(
        "Icmp6SendEcho2",
        sig12(crate::Icmp6SendEcho2),
        sig12(c::Icmp6SendEcho2),
    );
    l.sig(
        "IcmpParseReplies",
        sig2(crate::IcmpParseReplies),
        sig2(c::IcmpParseReplies),
    );
    l.sig(
        "Icmp6ParseReplies",
        sig2(crate::Icmp6ParseReplies),
        sig2(c::Icmp6ParseReplies),
    );

    // Constants.
    values!(l; IP_STATUS_BASE, IP_SUCCESS, IP_BUF_TOO_SMALL, IP_DEST_NET_UNREACHABLE,
        IP_DEST_HOST_UNREACHABLE, IP_DEST_PROT_UNREACHABLE, IP_DEST_PORT_UNREACHABLE,
        IP_NO_RESOURCES, IP_BAD_OPTION, IP_HW_ERROR, IP_PACKET_TOO_BIG, IP_REQ_TIMED_OUT,
        IP_BAD_REQ, IP_BAD_ROUTE, IP_TTL_EXPIRED_TRANSIT, IP_TTL_EXPIRED_REASSEM,
        IP_PARAM_PROBLEM, IP_SOURCE_QUENCH, IP_OPTION_TOO_BIG, IP_BAD_DESTINATION,
        IP_DEST_NO_ROUTE, IP_DEST_ADDR_UNREACHABLE, IP_DEST_PROHIBITED, IP_HOP_LIMIT_EXCEEDED,
        IP_REASSEMBLY_TIME_EXCEEDED, IP_PARAMETER_PROBLEM, IP_ADDR_DELETED, IP_SPEC_MTU_CHANGE,
        IP_MTU_CHANGE, IP_UNLOAD, IP_ADDR_ADDED, IP_MEDIA_CONNECT, IP_MEDIA_DISCONNECT,
        IP_BIND_ADAPTER, IP_UNBIND_ADAPTER, IP_DEVICE_DOES_NOT_EXIST, IP_DUPLICATE_ADDRESS,
        IP_INTERFACE_METRIC_CHANGE, IP_RECONFIG_SECFLTR, IP_NEGOTIATING_IPSEC,
        IP_INTERFACE_WOL_CAPABILITY_CHANGE, IP_DUPLICATE_IPADD, IP_DEST_UNREACHABLE,
        IP_TIME_EXCEEDED, IP_BAD_HEADER, IP_UNRECOGNIZED_NEXT_HEADER, IP_ICMP_ERROR,
        IP_DEST_SCOPE_MISMATCH, IP_GENERAL_FAILURE, IP_PENDING, MAX_IP_STATUS, IP_FLAG_DF,
        IP_OPT_EOL, IP_OPT_NOP, IP_OPT_RR, IP_OPT_TS, IP_OPT_SECURITY, IP_OPT_LSRR, IP_OPT_SID,
        IP_OPT_SSRR, IP_OPT_ROUTER_ALERT, MAX_OPT_SIZE);
    present(&mut l, "IP_FLAG_REVERSE", true);
    #[cfg(icmp_sys_c_has = "IP_FLAG_REVERSE")]
    values!(l; IP_FLAG_REVERSE);
    present(&mut l, "IP_NO_FURTHER_SENDS", false);
    // Values the headers spell as casts or function-like macros: wrapper.h
    // evaluates them into ICMP_SYS_C_<name>.
    macro_rules! evaluated {
        ($($name:ident = $cname:ident),* $(,)?) => {$(
            l.add(stringify!($name), "value", crate::$name as i128, c::$cname as i128);
        )*};
    }
    evaluated!(
        AF_INET6 = ICMP_SYS_C_AF_INET6,
        ERROR_ACCESS_DENIED = ICMP_SYS_C_ERROR_ACCESS_DENIED,
        ERROR_INVALID_HANDLE = ICMP_SYS_C_ERROR_INVALID_HANDLE,
        ERROR_NOT_ENOUGH_MEMORY = ICMP_SYS_C_ERROR_NOT_ENOUGH_MEMORY,
        ERROR_GEN_FAILURE = ICMP_SYS_C_ERROR_GEN_FAILURE,
        ERROR_NOT_SUPPORTED = ICMP_SYS_C_ERROR_NOT_SUPPORTED,
        ERROR_INVALID_PARAMETER = ICMP_SYS_C_ERROR_INVALID_PARAMETER,
        ERROR_CALL_NOT_IMPLEMENTED = ICMP_SYS_C_ERROR_CALL_NOT_IMPLEMENTED,
        ERROR_INSUFFICIENT_BUFFER = ICMP_SYS_C_ERROR_INSUFFICIENT_BUFFER,
        ERROR_IO_PENDING = ICMP_SYS_C_ERROR_IO_PENDING,
        ERROR_INVALID_NETNAME = ICMP_SYS_C_ERROR_INVALID_NETNAME,
    );
    l
};

const _: () = check(SOURCE.0, SOURCE.1, &OBS);

/// Completeness: every shipped item and every generated item was compared
/// (or is listed above with a reason).
const _: () = {
    let mut i = 0;
    while i < names::SHIPPED_NAMES.len() {
        let n = names::SHIPPED_NAMES[i];
        if !OBS.observes(n) && !contains(SHIPPED_UNCHECKED, n) {
            check::Msg::new()
                .s("verify: shipped item not compared with the headers: ")
                .s(n)
                .fail();
        }
        i += 1;
    }
    let mut i = 0;
    while i < names::GENERATED_NAMES.len() {
        let n = names::GENERATED_NAMES[i];
        let short = match n.split_at_checked(11) {
            Some((head, rest)) if check::eq(head, "ICMP_SYS_C_") => rest,
            _ => n,
        };
        if !OBS.observes(short) && !contains(GENERATED_UNCHECKED, n) {
            check::Msg::new()
                .s("verify: generated item not compared with the crate: ")
                .s(n)
                .fail();
        }
        i += 1;
    }
};
