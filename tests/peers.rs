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

use check::{Kind, Obs, aggregate, check, field, kind_aggregate, kind_aggregate_ours};
use check::{
    error_codes, functions, ip_opt_codes, ip_status_codes, structure, strukt, types, values,
};
use check::{sig0, sig1, sig2, sig8, sig11, sig12};
use core::mem::offset_of;
/// The crate, by the name the item tables of `check.rs` use: its root, plus
/// the `*32` structures, which live apart in `ipexport::wow64`.
mod ours {
    #[cfg(target_pointer_width = "64")]
    pub use icmp_sys::ipexport::wow64::*;
    pub use icmp_sys::*;
}
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

kind_aggregate_ours!();
kind_aggregate!(
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
kind_aggregate!(ws::IP_OPTION_INFORMATION32, ws::ICMP_ECHO_REPLY32);
#[cfg(target_arch = "x86_64")]
kind_aggregate!(wa::IP_OPTION_INFORMATION32, wa::ICMP_ECHO_REPLY32);

/// Compares value and type of constants present in a peer under the same
/// name (`values!` compares only the value: for constants the SDK defines
/// as untyped macros, `MAX_OPT_SIZE`, `AF_INET6`, `ERROR_*`, whose Rust type
/// is each binding's choice).
macro_rules! consts {
    ($l:ident, $p:ident; $($name:ident),* $(,)?) => {$(
        values!($l, $p; $name);
        $l.add(stringify!($name), "type", const_code(&ours::$name), const_code(&$p::$name));
    )*};
}
const fn const_code<T: Kind>(_: &T) -> i128 {
    T::CODE
}

/// Items a peer lacks, asserted absent through its probe module `$probe`.
macro_rules! absent {
    ($l:ident, $probe:ident; $($name:ident),* $(,)?) => {$(
        $l.add(stringify!($name), "present", 1, present(&$probe::$name) as i128);
    )*};
}

/// What both peers define under the same names in the same module: the
/// ipexport.h structures, the IP_STATUS codes, `IP_FLAG_*`, `MAX_OPT_SIZE`.
macro_rules! both_peers {
    ($l:ident, $p:ident) => {
        structure!($l, $p::IP_OPTION_INFORMATION);
        structure!($l, $p::ICMP_ECHO_REPLY);
        structure!($l, $p::IPV6_ADDRESS_EX);
        structure!($l, $p::ICMPV6_ECHO_REPLY_LH);
        ip_status_codes!(consts!($l, $p;));
        consts!($l, $p; IP_FLAG_REVERSE, IP_FLAG_DF);
        values!($l, $p; MAX_OPT_SIZE);
    };
}

const WINDOWS_SYS: Obs = {
    use windows_sys::Win32::Foundation as f;
    use windows_sys::Win32::Networking::WinSock as sock;
    use windows_sys::Win32::System::IO as io;
    use windows_sys::core as wsc;
    let mut l = Obs::new();
    types!(l, f; HANDLE, NTSTATUS);
    types!(l, sock; ADDRESS_FAMILY);
    types!(l, wsc; BOOL);
    both_peers!(l, ws);
    #[cfg(target_pointer_width = "64")]
    {
        structure!(l, ws::IP_OPTION_INFORMATION32);
        structure!(l, ws::ICMP_ECHO_REPLY32);
    }
    structure!(l, io::IO_STATUS_BLOCK, anonymous = Anonymous);
    types!(l, io; PIO_APC_ROUTINE);
    structure!(l, sock::IN6_ADDR);
    structure!(l, sock::SOCKADDR_IN6, anonymous = Anonymous);

    functions!(l, ws);

    error_codes!(values!(l, f;));
    values!(l, f; WAIT_OBJECT_0, WAIT_IO_COMPLETION, WAIT_TIMEOUT);
    values!(l, f; WAIT_FAILED, WAIT_ABANDONED, WAIT_ABANDONED_0);
    consts!(l, f; TRUE, FALSE);
    {
        use windows_sys::Win32::System::Threading as thr;
        values!(l, thr; INFINITE);
    }
    values!(l, sock; AF_INET6);
    ip_opt_codes!(absent!(l, ws_probe;));
    // ICMPV6_ECHO_REPLY (the SDK's alias) is a type; probe it as a value:
    // windows-sys would define a type alias, which is not a value, so the
    // probe cannot see it. Compare through the _LH struct instead.
    l
};

const WINAPI: Obs = {
    use winapi::shared::winerror as e;
    use winapi::shared::ws2def as def;
    let mut l = Obs::new();
    types!(l, wa; IPAddr, IPMask, IP_STATUS);
    both_peers!(l, wa);
    types!(l, wa; ICMPV6_ECHO_REPLY, PIP_OPTION_INFORMATION, PICMP_ECHO_REPLY);
    types!(l, wa; PIPV6_ADDRESS_EX, PICMPV6_ECHO_REPLY);
    #[cfg(target_arch = "x86_64")]
    {
        structure!(l, wa::IP_OPTION_INFORMATION32);
        structure!(l, wa::ICMP_ECHO_REPLY32);
    }
    #[cfg(target_arch = "aarch64")]
    absent!(l, wa_probe; IP_OPTION_INFORMATION32, ICMP_ECHO_REPLY32);
    ip_opt_codes!(consts!(l, wa;));
    error_codes!(values!(l, e;));
    values!(l, e; WAIT_TIMEOUT);
    {
        use winapi::um::winbase as wb;
        values!(l, wb; WAIT_OBJECT_0, WAIT_IO_COMPLETION, INFINITE);
        values!(l, wb; WAIT_FAILED, WAIT_ABANDONED, WAIT_ABANDONED_0);
    }
    {
        use winapi::shared::minwindef as mw;
        consts!(l, mw; TRUE, FALSE);
    }
    values!(l, def; AF_INET6);
    // No `um::icmpapi` module: `wa_um_probe::icmpapi` resolves to the empty
    // stand-in; if winapi gains the module the name is ambiguous.
    #[allow(unused_imports)]
    use wa_um_probe::icmpapi as _;
    l.add("functions", "present", 1, 0);
    l
};

/// Both peers against their listed defects.
const fn check_peers() {
    check("windows-sys 0.61", defects::WINDOWS_SYS, &WINDOWS_SYS);
    check("winapi 0.3.9", defects::WINAPI, &WINAPI);
}
const _: () = check_peers();

/// The same comparison at run time (e.g. under Wine), so that the test
/// harness reports it too; the const block above already enforces it.
#[test]
fn peers_agree_except_listed_defects() {
    check_peers();
    assert!(WINDOWS_SYS.as_slice().len() > 100 && WINAPI.as_slice().len() > 100);
    // A pointer cast, which const evaluation cannot compare.
    assert_eq!(
        ours::INVALID_HANDLE_VALUE as isize,
        windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE as isize
    );
}
