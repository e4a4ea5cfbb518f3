//! The known defects of each source the crate is checked against: the ONE
//! list, used by the bindgen check (`src/verify.rs`) and the peer check
//! (`tests/peers.rs`, which includes this file with `#[path]`).
//!
//! Each entry names an item, the aspect (as the checks observe it), the
//! targets where it applies, and the source's wrong value. The checks assert
//! that the source still has exactly that value (a fixed upstream fails the
//! check and the entry must go) and that everything not listed agrees. The
//! SDK's values are those of `ipexport.h`/`icmpapi.h` in the Windows SDK, as
//! recorded in the crate's layout tables.
#![allow(dead_code)]

use super::check::{Defect, Kind, aggregate};
use core::ffi::c_void;

const W64: bool = cfg!(target_pointer_width = "64");
const AARCH64: bool = cfg!(target_arch = "aarch64");

/// A 16/8 struct: what `IP_OPTION_INFORMATION32` becomes with an 8-byte
/// pointer.
#[repr(C)]
struct Wide16(u64, u64);
/// A 40/8 struct: `ICMP_ECHO_REPLY32` with 8-byte pointers.
#[repr(C)]
struct Wide40([u64; 5]);
/// A 28/4 struct: unpacked `IPV6_ADDRESS_EX`.
#[repr(C)]
struct Unpacked28([u32; 7]);

const WIDE16: i128 = aggregate::<Wide16>();
const WIDE40: i128 = aggregate::<Wide40>();
const UNPACKED28: i128 = aggregate::<Unpacked28>();

const fn ptr_to(code: i128) -> i128 {
    super::check::pointer_code(code)
}

macro_rules! d {
    ($item:literal, $what:literal, $when:expr, $theirs:expr, $why:literal) => {
        Defect {
            item: $item,
            what: $what,
            when: $when,
            theirs: $theirs as i128,
            why: $why,
        }
    };
}

/// Concatenates two defect lists (in a `const`: `N` is their total length).
const fn join<const N: usize>(a: &[Defect], b: &[Defect]) -> [Defect; N] {
    assert!(a.len() + b.len() == N, "join: wrong length");
    let mut out = [Defect {
        item: "",
        what: "",
        when: false,
        theirs: 0,
        why: "",
    }; N];
    let mut i = 0;
    while i < N {
        out[i] = if i < a.len() { a[i] } else { b[i - a.len()] };
        i += 1;
    }
    out
}
/// `A + B`: the list `A` followed by the list `B`.
macro_rules! joined {
    ($a:ident + $b:ident) => {
        &join::<{ $a.len() + $b.len() }>($a, $b)
    };
}

/// The `*32` structs declared with natural-width pointers (`UCHAR *` /
/// `VOID *` in mingw-w64, `*mut u8` / `*mut c_void` in windows-sys) instead
/// of `* POINTER_32`: on 64-bit targets their pointers, sizes and offsets
/// widen. A defect of both mingw-w64 and windows-sys.
const POINTER_32_WIDENED: &[Defect] = &[
    d!(
        "IP_OPTION_INFORMATION32",
        "size",
        W64,
        16,
        "8-byte OptionsData, SDK 8/4"
    ),
    d!(
        "IP_OPTION_INFORMATION32",
        "align",
        W64,
        8,
        "8-byte OptionsData"
    ),
    d!(
        "IP_OPTION_INFORMATION32",
        "type",
        W64,
        WIDE16,
        "8-byte OptionsData"
    ),
    d!(
        "IP_OPTION_INFORMATION32",
        "offset OptionsData",
        W64,
        8,
        "SDK 4"
    ),
    d!(
        "IP_OPTION_INFORMATION32",
        "type OptionsData",
        W64,
        <*mut u8>::CODE,
        "SDK UCHAR * POINTER_32"
    ),
    d!(
        "ICMP_ECHO_REPLY32",
        "size",
        W64,
        40,
        "8-byte Data, SDK 28/4"
    ),
    d!("ICMP_ECHO_REPLY32", "align", W64, 8, "8-byte Data"),
    d!("ICMP_ECHO_REPLY32", "type", W64, WIDE40, "8-byte Data"),
    d!(
        "ICMP_ECHO_REPLY32",
        "type Data",
        W64,
        <*mut c_void>::CODE,
        "SDK VOID * POINTER_32"
    ),
    d!("ICMP_ECHO_REPLY32", "offset Options", W64, 24, "SDK 20"),
    d!(
        "ICMP_ECHO_REPLY32",
        "type Options",
        W64,
        WIDE16,
        "wide IP_OPTION_INFORMATION32"
    ),
    d!(
        "ICMP_ECHO_REPLY32",
        "offset Options.OptionsData",
        W64,
        32,
        "SDK 24"
    ),
    d!(
        "ICMP_ECHO_REPLY32",
        "type Options.OptionsData",
        W64,
        <*mut u8>::CODE,
        "SDK POINTER_32"
    ),
];

/// mingw-w64 10.0 headers (Debian 12 `mingw-w64-common`), through bindgen.
pub const MINGW_W64: &[Defect] = joined!(POINTER_32_WIDENED + MINGW_W64_OWN);

/// mingw-w64's defects besides [`POINTER_32_WIDENED`] and
/// [`MINGW_W64_AND_WINE`].
const MINGW_W64_ONLY: &[Defect] = &[
    // The pointers to the `*32` structs point to the wide structs.
    d!(
        "PIP_OPTION_INFORMATION32",
        "type",
        W64,
        ptr_to(WIDE16),
        "points to the wide struct"
    ),
    d!(
        "PICMP_ECHO_REPLY32",
        "type",
        W64,
        ptr_to(WIDE40),
        "points to the wide struct"
    ),
    // IPV6_ADDRESS_EX without pshpack1.h.
    d!("IPV6_ADDRESS_EX", "size", true, 28, "unpacked, SDK 26/1"),
    d!("IPV6_ADDRESS_EX", "align", true, 4, "unpacked"),
    d!("IPV6_ADDRESS_EX", "type", true, UNPACKED28, "unpacked"),
    d!("IPV6_ADDRESS_EX", "offset sin6_flowinfo", true, 4, "SDK 2"),
    d!("IPV6_ADDRESS_EX", "offset sin6_addr", true, 8, "SDK 6"),
    d!(
        "IPV6_ADDRESS_EX",
        "offset sin6_scope_id",
        true,
        24,
        "SDK 22"
    ),
    d!(
        "PIPV6_ADDRESS_EX",
        "type",
        true,
        ptr_to(UNPACKED28),
        "points to the unpacked struct"
    ),
    // Missing items.
    d!(
        "IcmpSendEcho2Ex",
        "present",
        true,
        0,
        "not declared (the import library has it)"
    ),
    d!("IP_FLAG_REVERSE", "present", true, 0, "not defined"),
    // Extra item.
    d!(
        "IP_NO_FURTHER_SENDS",
        "present",
        true,
        1,
        "11035: not in the SDK"
    ),
];

/// What the mingw-w64 and Wine headers both get wrong.
const MINGW_W64_AND_WINE: &[Defect] = &[
    d!("ICMPV6_ECHO_REPLY_LH", "present", true, 0, "not declared"),
    d!("ICMPV6_ECHO_REPLY", "present", true, 0, "not declared"),
    d!("PICMPV6_ECHO_REPLY_LH", "present", true, 0, "not declared"),
    d!("PICMPV6_ECHO_REPLY", "present", true, 0, "not declared"),
    // ws2ipdef.h: `short sin6_family` instead of ADDRESS_FAMILY (USHORT).
    d!(
        "SOCKADDR_IN6",
        "type sin6_family",
        true,
        <i16>::CODE,
        "signed short, SDK USHORT"
    ),
];

/// mingw-w64's defects besides [`POINTER_32_WIDENED`].
const MINGW_W64_OWN: &[Defect] = joined!(MINGW_W64_ONLY + MINGW_W64_AND_WINE);

/// Wine 10.0's own headers (Debian 13 `libwine-dev`, `include/wine/windows`),
/// through the mingw-w64 C compiler (`tests/c-layout`): written apart from
/// mingw-w64's (other authors, LGPL), and much less complete: no
/// `IPV6_ADDRESS_EX`, no `*32` structures, no IP_STATUS code from 11023 to
/// 11049 but `IP_GENERAL_FAILURE`; every layout and prototype they do have
/// agrees with the SDK.
pub const WINE_HEADERS: &[Defect] = joined!(WINE_ONLY + MINGW_W64_AND_WINE);

/// Wine's defects besides [`MINGW_W64_AND_WINE`].
const WINE_ONLY: &[Defect] = &[
    d!("IP_OPTION_INFORMATION32", "present", W64, 0, "not declared"),
    d!(
        "PIP_OPTION_INFORMATION32",
        "present",
        W64,
        0,
        "not declared"
    ),
    d!("ICMP_ECHO_REPLY32", "present", W64, 0, "not declared"),
    d!("PICMP_ECHO_REPLY32", "present", W64, 0, "not declared"),
    d!("IPV6_ADDRESS_EX", "present", true, 0, "not declared"),
    d!("PIPV6_ADDRESS_EX", "present", true, 0, "not declared"),
    d!("IP_FLAG_REVERSE", "present", true, 0, "not defined"),
    d!("IP_OPT_ROUTER_ALERT", "present", true, 0, "not defined"),
    d!("IP_DEST_NO_ROUTE", "present", true, 0, "not defined"),
    d!(
        "IP_DEST_ADDR_UNREACHABLE",
        "present",
        true,
        0,
        "not defined"
    ),
    d!("IP_DEST_PROHIBITED", "present", true, 0, "not defined"),
    d!("IP_HOP_LIMIT_EXCEEDED", "present", true, 0, "not defined"),
    d!(
        "IP_REASSEMBLY_TIME_EXCEEDED",
        "present",
        true,
        0,
        "not defined"
    ),
    d!("IP_PARAMETER_PROBLEM", "present", true, 0, "not defined"),
    d!("IP_ADDR_ADDED", "present", true, 0, "not defined"),
    d!("IP_MEDIA_CONNECT", "present", true, 0, "not defined"),
    d!("IP_MEDIA_DISCONNECT", "present", true, 0, "not defined"),
    d!("IP_BIND_ADAPTER", "present", true, 0, "not defined"),
    d!("IP_UNBIND_ADAPTER", "present", true, 0, "not defined"),
    d!(
        "IP_DEVICE_DOES_NOT_EXIST",
        "present",
        true,
        0,
        "not defined"
    ),
    d!("IP_DUPLICATE_ADDRESS", "present", true, 0, "not defined"),
    d!(
        "IP_INTERFACE_METRIC_CHANGE",
        "present",
        true,
        0,
        "not defined"
    ),
    d!("IP_RECONFIG_SECFLTR", "present", true, 0, "not defined"),
    d!("IP_NEGOTIATING_IPSEC", "present", true, 0, "not defined"),
    d!(
        "IP_INTERFACE_WOL_CAPABILITY_CHANGE",
        "present",
        true,
        0,
        "not defined"
    ),
    d!("IP_DUPLICATE_IPADD", "present", true, 0, "not defined"),
    d!("IP_DEST_UNREACHABLE", "present", true, 0, "not defined"),
    d!("IP_TIME_EXCEEDED", "present", true, 0, "not defined"),
    d!("IP_BAD_HEADER", "present", true, 0, "not defined"),
    d!(
        "IP_UNRECOGNIZED_NEXT_HEADER",
        "present",
        true,
        0,
        "not defined"
    ),
    d!("IP_ICMP_ERROR", "present", true, 0, "not defined"),
    d!("IP_DEST_SCOPE_MISMATCH", "present", true, 0, "not defined"),
];

/// The Windows SDK itself (bindgen on a Windows host with the `msvc`
/// target): no known defect.
pub const SDK: &[Defect] = &[];

/// windows-sys 0.61.
pub const WINDOWS_SYS: &[Defect] = joined!(POINTER_32_WIDENED + WINDOWS_SYS_OWN);

/// windows-sys's defects besides [`POINTER_32_WIDENED`].
const WINDOWS_SYS_OWN: &[Defect] = &[
    // No IP_OPT_* at all.
    d!("IP_OPT_EOL", "present", true, 0, "not generated"),
    d!("IP_OPT_NOP", "present", true, 0, "not generated"),
    d!("IP_OPT_RR", "present", true, 0, "not generated"),
    d!("IP_OPT_TS", "present", true, 0, "not generated"),
    d!("IP_OPT_SECURITY", "present", true, 0, "not generated"),
    d!("IP_OPT_LSRR", "present", true, 0, "not generated"),
    d!("IP_OPT_SID", "present", true, 0, "not generated"),
    d!("IP_OPT_SSRR", "present", true, 0, "not generated"),
    d!("IP_OPT_ROUTER_ALERT", "present", true, 0, "not generated"),
    // IP_FLAG_* typed u32, but stored in the UCHAR `Flags` field.
    d!(
        "IP_FLAG_REVERSE",
        "type",
        true,
        <u32>::CODE,
        "u32 for a UCHAR field"
    ),
    d!(
        "IP_FLAG_DF",
        "type",
        true,
        <u32>::CODE,
        "u32 for a UCHAR field"
    ),
];

/// winapi 0.3.9.
pub const WINAPI: &[Defect] = &[
    d!(
        "ICMPV6_ECHO_REPLY_LH",
        "type RoundTripTime",
        true,
        <i32>::CODE,
        "INT, SDK unsigned int"
    ),
    d!(
        "functions",
        "present",
        true,
        0,
        "no icmpapi module: none of the nine functions"
    ),
    d!(
        "IP_OPTION_INFORMATION32",
        "present",
        AARCH64,
        0,
        "defined for x86_64 only, SDK _WIN64"
    ),
    d!(
        "ICMP_ECHO_REPLY32",
        "present",
        AARCH64,
        0,
        "defined for x86_64 only, SDK _WIN64"
    ),
];
