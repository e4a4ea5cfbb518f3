//! Peer cross-check: the crate against windows-sys 0.61 and winapi 0.3.9 on
//! every Windows target, at compile time (`cargo check --tests --target T`):
//! sizes, alignments, field offsets and types, constant values and types,
//! function arity and parameter types. Disagreements are allowed only where
//! `src/verify/defects.rs` (the one defect list, shared with the bindgen
//! check) names them; each listed defect is asserted to still hold. An item
//! a peer lacks is asserted absent by a glob probe: if the peer gains it, the
//! name becomes ambiguous (E0659) and this file stops compiling.
#![cfg(windows)]
#![allow(dead_code, non_camel_case_types, clippy::all)]

#[path = "../src/verify/check.rs"]
mod check;
#[path = "../src/verify/defects.rs"]
mod defects;

use check::{Kind, Obs, aggregate, check, field, kind_aggregate, strukt};
use check::{sig0, sig1, sig2, sig8, sig11, sig12};
use core::mem::offset_of;
use icmp_sys as ours;
use windows_sys::Win32::NetworkManagement::IpHelper as ws;

/// The value of a probed name that a peer does not have.
pub struct Absent;
/// Implemented only for [`Absent`]: a probe that resolves to anything else
/// does not compile.
pub trait Probe {
    /// Always false.
    const PRESENT: bool;
}
impl Probe for Absent {
    const PRESENT: bool = false;
}
const fn present<T: Probe>(_: &T) -> bool {
    T::PRESENT
}

/// Stand-ins for names a peer lacks. Each probe module glob-imports these
/// and the peer's module: a name both define is ambiguous (compile error).
mod absent {
    use super::Absent;
    pub const IP_OPT_EOL: Absent = Absent;
    pub const IP_OPT_NOP: Absent = Absent;
    pub const IP_OPT_RR: Absent = Absent;
    pub const IP_OPT_TS: Absent = Absent;
    pub const IP_OPT_SECURITY: Absent = Absent;
    pub const IP_OPT_LSRR: Absent = Absent;
    pub const IP_OPT_SID: Absent = Absent;
    pub const IP_OPT_SSRR: Absent = Absent;
    pub const IP_OPT_ROUTER_ALERT: Absent = Absent;
    pub const ICMPV6_ECHO_REPLY: Absent = Absent;
    pub const IP_OPTION_INFORMATION32: Absent = Absent;
    pub const ICMP_ECHO_REPLY32: Absent = Absent;
    /// winapi 0.3.9 has no `um::icmpapi` module (no functions at all).
    pub mod icmpapi {}
}

/// windows-sys, probed.
#[allow(unused_imports)]
mod ws_probe {
    pub use super::absent::*;
    pub use windows_sys::Win32::NetworkManagement::IpHelper::*;
}
/// winapi's `um`, probed (for the `icmpapi` module).
#[allow(unused_imports)]
mod wa_um_probe {
    pub use super::absent::*;
    pub use winapi::um::*;
}
/// winapi's `ipexport`, probed (for the `*32` structs it lacks on aarch64).
#[allow(unused_imports)]
mod wa_probe {
    pub use super::absent::*;
    pub use winapi::um::ipexport::*;
}

use winapi::um::ipexport as wa;

impl Kind for winapi::ctypes::c_void {
    const CODE: i128 = <core::ffi::c_void as Kind>::CODE;
}

kind_aggregate!(
    ours::IP_OPTION_INFORMATION,
    ours::ICMP_ECHO_REPLY,
    ours::IPV6_ADDRESS_EX,
    ours::ICMPV6_ECHO_REPLY_LH,
    ours::IO_STATUS_BLOCK,
    ours::IO_STATUS_BLOCK_0,
    ours::IN6_ADDR,
    ours::IN6_ADDR_0,
    ours::SOCKADDR_IN6,
    ws::IP_OPTION_INFORMATION,
    ws::ICMP_ECHO_REPLY,
    ws::IPV6_ADDRESS_EX,
    ws::ICMPV6_ECHO_REPLY_LH,
    windows_sys::Win32::System::IO::IO_STATUS_BLOCK,
    windows_sys::Win32::System::IO::IO_STATUS_BLOCK_0,
    windows_sys::Win32::Networking::WinSock::IN6_ADDR,
    windows_sys::Win32::Networking::WinSock::IN6_ADDR_0,
    windows_sys::Win32::Networking::WinSock::SOCKADDR_IN6,
    wa::IP_OPTION_INFORMATION,
    wa::ICMP_ECHO_REPLY,
    wa::IPV6_ADDRESS_EX,
    wa::ICMPV6_ECHO_REPLY_LH,
);
#[cfg(target_pointer_width = "64")]
kind_aggregate!(
    ours::IP_OPTION_INFORMATION32,
    ours::ICMP_ECHO_REPLY32,
    ws::IP_OPTION_INFORMATION32,
    ws::ICMP_ECHO_REPLY32,
);
#[cfg(target_arch = "x86_64")]
kind_aggregate!(wa::IP_OPTION_INFORMATION32, wa::ICMP_ECHO_REPLY32);

/// Compares value and type of constants present in a peer under the same
/// name.
macro_rules! consts {
    ($l:ident, $peer:path; $($name:ident),* $(,)?) => {$(
        {
            use $peer as p;
            $l.add(stringify!($name), "value", ours::$name as i128, p::$name as i128);
            $l.add(stringify!($name), "type", const_code(&ours::$name), const_code(&p::$name));
        }
    )*};
}
/// Compares only the value: for constants the SDK defines as untyped
/// macros (`MAX_OPT_SIZE`, `AF_INET6`, `ERROR_*`), whose Rust type is each
/// binding's choice.
macro_rules! values {
    ($l:ident, $peer:path; $($name:ident),* $(,)?) => {$(
        {
            use $peer as p;
            $l.add(stringify!($name), "value", ours::$name as i128, p::$name as i128);
        }
    )*};
}
const fn const_code<T: Kind>(_: &T) -> i128 {
    T::CODE
}

/// The IP_STATUS codes, which both peers define.
macro_rules! status_codes {
    ($l:ident, $peer:path) => {
        consts!($l, $peer; IP_STATUS_BASE, IP_SUCCESS, IP_BUF_TOO_SMALL, IP_DEST_NET_UNREACHABLE,
            IP_DEST_HOST_UNREACHABLE, IP_DEST_PROT_UNREACHABLE, IP_DEST_PORT_UNREACHABLE,
            IP_NO_RESOURCES, IP_BAD_OPTION, IP_HW_ERROR, IP_PACKET_TOO_BIG, IP_REQ_TIMED_OUT,
            IP_BAD_REQ, IP_BAD_ROUTE, IP_TTL_EXPIRED_TRANSIT, IP_TTL_EXPIRED_REASSEM,
            IP_PARAM_PROBLEM, IP_SOURCE_QUENCH, IP_OPTION_TOO_BIG, IP_BAD_DESTINATION,
            IP_DEST_NO_ROUTE, IP_DEST_ADDR_UNREACHABLE, IP_DEST_PROHIBITED,
            IP_HOP_LIMIT_EXCEEDED, IP_REASSEMBLY_TIME_EXCEEDED, IP_PARAMETER_PROBLEM,
            IP_ADDR_DELETED, IP_SPEC_MTU_CHANGE, IP_MTU_CHANGE, IP_UNLOAD, IP_ADDR_ADDED,
            IP_MEDIA_CONNECT, IP_MEDIA_DISCONNECT, IP_BIND_ADAPTER, IP_UNBIND_ADAPTER,
            IP_DEVICE_DOES_NOT_EXIST, IP_DUPLICATE_ADDRESS, IP_INTERFACE_METRIC_CHANGE,
            IP_RECONFIG_SECFLTR, IP_NEGOTIATING_IPSEC, IP_INTERFACE_WOL_CAPABILITY_CHANGE,
            IP_DUPLICATE_IPADD, IP_DEST_UNREACHABLE, IP_TIME_EXCEEDED, IP_BAD_HEADER,
            IP_UNRECOGNIZED_NEXT_HEADER, IP_ICMP_ERROR, IP_DEST_SCOPE_MISMATCH,
            IP_GENERAL_FAILURE, IP_PENDING, MAX_IP_STATUS, IP_FLAG_REVERSE, IP_FLAG_DF);
        values!($l, $peer; MAX_OPT_SIZE);
    };
}

/// The structures both peers define with the same field names.
macro_rules! ipexport_structs {
    ($l:ident, $p:ident) => {
        strukt!(
            $l,
            "IP_OPTION_INFORMATION",
            ours::IP_OPTION_INFORMATION,
            $p::IP_OPTION_INFORMATION,
            "Ttl" = Ttl / Ttl,
            "Tos" = Tos / Tos,
            "Flags" = Flags / Flags,
            "OptionsSize" = OptionsSize / OptionsSize,
            "OptionsData" = OptionsData / OptionsData
        );
        strukt!(
            $l,
            "ICMP_ECHO_REPLY",
            ours::ICMP_ECHO_REPLY,
            $p::ICMP_ECHO_REPLY,
            "Address" = Address / Address,
            "Status" = Status / Status,
            "RoundTripTime" = RoundTripTime / RoundTripTime,
            "DataSize" = DataSize / DataSize,
            "Reserved" = Reserved / Reserved,
            "Data" = Data / Data,
            "Options" = Options / Options,
            "Options.OptionsData" = Options.OptionsData / Options.OptionsData
        );
        strukt!(
            $l,
            "IPV6_ADDRESS_EX",
            ours::IPV6_ADDRESS_EX,
            $p::IPV6_ADDRESS_EX,
            "sin6_port" = sin6_port / sin6_port,
            "sin6_flowinfo" = sin6_flowinfo / sin6_flowinfo,
            "sin6_addr" = sin6_addr / sin6_addr,
            "sin6_scope_id" = sin6_scope_id / sin6_scope_id
        );
        strukt!(
            $l,
            "ICMPV6_ECHO_REPLY_LH",
            ours::ICMPV6_ECHO_REPLY_LH,
            $p::ICMPV6_ECHO_REPLY_LH,
            "Address" = Address / Address,
            "Status" = Status / Status,
            "RoundTripTime" = RoundTripTime / RoundTripTime
        );
    };
}
#[cfg(target_pointer_width = "64")]
macro_rules! ipexport_structs32 {
    ($l:ident, $p:ident) => {
        strukt!(
            $l,
            "IP_OPTION_INFORMATION32",
            ours::IP_OPTION_INFORMATION32,
            $p::IP_OPTION_INFORMATION32,
            "Ttl" = Ttl / Ttl,
            "Tos" = Tos / Tos,
            "Flags" = Flags / Flags,
            "OptionsSize" = OptionsSize / OptionsSize,
            "OptionsData" = OptionsData / OptionsData
        );
        strukt!(
            $l,
            "ICMP_ECHO_REPLY32",
            ours::ICMP_ECHO_REPLY32,
            $p::ICMP_ECHO_REPLY32,
            "Address" = Address / Address,
            "Status" = Status / Status,
            "RoundTripTime" = RoundTripTime / RoundTripTime,
            "DataSize" = DataSize / DataSize,
            "Reserved" = Reserved / Reserved,
            "Data" = Data / Data,
            "Options" = Options / Options,
            "Options.OptionsData" = Options.OptionsData / Options.OptionsData
        );
    };
}

const WINDOWS_SYS: Obs = {
    use windows_sys::Win32::Foundation as f;
    use windows_sys::Win32::Networking::WinSock as sock;
    use windows_sys::Win32::System::IO as io;
    let mut l = Obs::new();
    l.ty::<ours::HANDLE, f::HANDLE>("HANDLE");
    l.ty::<ours::NTSTATUS, f::NTSTATUS>("NTSTATUS");
    l.ty::<ours::ADDRESS_FAMILY, sock::ADDRESS_FAMILY>("ADDRESS_FAMILY");
    l.ty::<ours::BOOL, windows_sys::core::BOOL>("BOOL");
    ipexport_structs!(l, ws);
    #[cfg(target_pointer_width = "64")]
    ipexport_structs32!(l, ws);
    strukt!(
        l,
        "IO_STATUS_BLOCK",
        ours::IO_STATUS_BLOCK,
        io::IO_STATUS_BLOCK,
        "Status" = Anonymous.Status / Anonymous.Status,
        "Pointer" = Anonymous.Pointer / Anonymous.Pointer,
        "Information" = Information / Information
    );
    l.ty::<ours::PIO_APC_ROUTINE, io::PIO_APC_ROUTINE>("PIO_APC_ROUTINE");
    strukt!(
        l,
        "IN6_ADDR",
        ours::IN6_ADDR,
        sock::IN6_ADDR,
        "Byte" = u.Byte / u.Byte,
        "Word" = u.Word / u.Word
    );
    strukt!(
        l,
        "SOCKADDR_IN6",
        ours::SOCKADDR_IN6,
        sock::SOCKADDR_IN6,
        "sin6_family" = sin6_family / sin6_family,
        "sin6_port" = sin6_port / sin6_port,
        "sin6_flowinfo" = sin6_flowinfo / sin6_flowinfo,
        "sin6_addr" = sin6_addr / sin6_addr,
        "sin6_scope_id" = sin6_scope_id / Anonymous.sin6_scope_id
    );

    l.sig(
        "IcmpCreateFile",
        sig0(ours::IcmpCreateFile),
        sig0(ws::IcmpCreateFile),
    );
    l.sig(
        "Icmp6CreateFile",
        sig0(ours::Icmp6CreateFile),
        sig0(ws::Icmp6CreateFile),
    );
    l.sig(
        "IcmpCloseHandle",
        sig1(ours::IcmpCloseHandle),
        sig1(ws::IcmpCloseHandle),
    );
    l.sig(
        "IcmpSendEcho",
        sig8(ours::IcmpSendEcho),
        sig8(ws::IcmpSendEcho),
    );
    l.sig(
        "IcmpSendEcho2",
        sig11(ours::IcmpSendEcho2),
        sig11(ws::IcmpSendEcho2),
    );
    l.sig(
        "IcmpSendEcho2Ex",
        sig12(ours::IcmpSendEcho2Ex),
        sig12(ws::IcmpSendEcho2Ex),
    );
    l.sig(
        "Icmp6SendEcho2",
        sig12(ours::Icmp6SendEcho2),
        sig12(ws::Icmp6SendEcho2),
    );
    l.sig(
        "IcmpParseReplies",
        sig2(ours::IcmpParseReplies),
        sig2(ws::IcmpParseReplies),
    );
    l.sig(
        "Icmp6ParseReplies",
        sig2(ours::Icmp6ParseReplies),
        sig2(ws::Icmp6ParseReplies),
    );

    status_codes!(l, ws);
    values!(l, f; ERROR_ACCESS_DENIED, ERROR_INVALID_HANDLE, ERROR_NOT_ENOUGH_MEMORY,
        ERROR_GEN_FAILURE, ERROR_NOT_SUPPORTED, ERROR_INVALID_PARAMETER,
        ERROR_CALL_NOT_IMPLEMENTED, ERROR_INSUFFICIENT_BUFFER, ERROR_IO_PENDING,
        ERROR_INVALID_NETNAME);
    values!(l, sock; AF_INET6);

    macro_rules! missing {
        ($($name:ident),*) => {$(
            l.add(stringify!($name), "present", 1, present(&ws_probe::$name) as i128);
        )*};
    }
    missing!(
        IP_OPT_EOL,
        IP_OPT_NOP,
        IP_OPT_RR,
        IP_OPT_TS,
        IP_OPT_SECURITY,
        IP_OPT_LSRR,
        IP_OPT_SID,
        IP_OPT_SSRR,
        IP_OPT_ROUTER_ALERT
    );
    // ICMPV6_ECHO_REPLY (the SDK's alias) is a type; probe it as a value:
    // windows-sys would define a type alias, which is not a value, so the
    // probe below cannot see it. Compare through the _LH struct instead.
    l
};

const WINAPI: Obs = {
    use winapi::shared::winerror as e;
    use winapi::shared::ws2def as def;
    let mut l = Obs::new();
    l.ty::<ours::IPAddr, wa::IPAddr>("IPAddr");
    l.ty::<ours::IPMask, wa::IPMask>("IPMask");
    l.ty::<ours::IP_STATUS, wa::IP_STATUS>("IP_STATUS");
    ipexport_structs!(l, wa);
    l.ty::<ours::ICMPV6_ECHO_REPLY, wa::ICMPV6_ECHO_REPLY>("ICMPV6_ECHO_REPLY");
    l.ty::<ours::PIP_OPTION_INFORMATION, wa::PIP_OPTION_INFORMATION>("PIP_OPTION_INFORMATION");
    l.ty::<ours::PICMP_ECHO_REPLY, wa::PICMP_ECHO_REPLY>("PICMP_ECHO_REPLY");
    l.ty::<ours::PIPV6_ADDRESS_EX, wa::PIPV6_ADDRESS_EX>("PIPV6_ADDRESS_EX");
    l.ty::<ours::PICMPV6_ECHO_REPLY, wa::PICMPV6_ECHO_REPLY>("PICMPV6_ECHO_REPLY");
    #[cfg(target_arch = "x86_64")]
    ipexport_structs32!(l, wa);
    #[cfg(target_arch = "aarch64")]
    {
        l.add(
            "IP_OPTION_INFORMATION32",
            "present",
            1,
            present(&wa_probe::IP_OPTION_INFORMATION32) as i128,
        );
        l.add(
            "ICMP_ECHO_REPLY32",
            "present",
            1,
            present(&wa_probe::ICMP_ECHO_REPLY32) as i128,
        );
    }
    status_codes!(l, wa);
    consts!(l, wa; IP_OPT_EOL, IP_OPT_NOP, IP_OPT_RR, IP_OPT_TS, IP_OPT_SECURITY, IP_OPT_LSRR,
        IP_OPT_SID, IP_OPT_SSRR, IP_OPT_ROUTER_ALERT);
    values!(l, e; ERROR_ACCESS_DENIED, ERROR_INVALID_HANDLE, ERROR_NOT_ENOUGH_MEMORY,
        ERROR_GEN_FAILURE, ERROR_NOT_SUPPORTED, ERROR_INVALID_PARAMETER,
        ERROR_CALL_NOT_IMPLEMENTED, ERROR_INSUFFICIENT_BUFFER, ERROR_IO_PENDING,
        ERROR_INVALID_NETNAME);
    values!(l, def; AF_INET6);
    // No `um::icmpapi` module: `wa_um_probe::icmpapi` resolves to the empty
    // stand-in; if winapi gains the module the name is ambiguous.
    #[allow(unused_imports)]
    use wa_um_probe::icmpapi as _;
    l.add("functions", "present", 1, 0);
    l
};

const _: () = check("windows-sys 0.61", defects::WINDOWS_SYS, &WINDOWS_SYS);
const _: () = check("winapi 0.3.9", defects::WINAPI, &WINAPI);

/// The same comparison at run time (e.g. under Wine), so that the test
/// harness reports it too; the const blocks above already enforce it.
#[test]
fn peers_agree_except_listed_defects() {
    check("windows-sys 0.61", defects::WINDOWS_SYS, &WINDOWS_SYS);
    check("winapi 0.3.9", defects::WINAPI, &WINAPI);
    assert!(WINDOWS_SYS.as_slice().len() > 100 && WINAPI.as_slice().len() > 100);
    // A pointer cast, which const evaluation cannot compare.
    assert_eq!(
        ours::INVALID_HANDLE_VALUE as isize,
        windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE as isize
    );
}
