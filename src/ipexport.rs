//! Types and constants of `ipexport.h`, plus the few outside types the
//! `icmpapi.h` signatures need (`HANDLE`, `IO_STATUS_BLOCK`,
//! `PIO_APC_ROUTINE`, `SOCKADDR_IN6`), the Win32 error codes the API
//! reports through `GetLastError`, `TRUE`/`FALSE`, and the wait results of
//! the waits around an asynchronous send (`WAIT_OBJECT_0`, `WAIT_TIMEOUT`,
//! `WAIT_IO_COMPLETION`, `WAIT_FAILED`, `WAIT_ABANDONED(_0)`, `INFINITE`).
//!
//! Everything here compiles on every target, so that documentation, the
//! [`helper`](crate::helper) module and host tests work anywhere. Widths are
//! the SDK's: `ULONG`/`DWORD`/`IPAddr` are `u32` on every target (Windows is
//! LLP64), never `c_ulong`.
//!
//! Each struct is followed by its layout table (size, alignment, every field
//! offset for x86, x86_64 and aarch64), checked at compile time.

#![allow(non_camel_case_types, non_snake_case)]

use crate::layout::layout;
use core::ffi::c_void;

// ---------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------

/// `IPAddr`: an IPv4 address **in network byte order as laid out in memory**
/// (the `S_addr` of an `in_addr`).
///
/// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Address` member.
///
/// Pitfall: build it with `u32::from_ne_bytes(ip.octets())`, not
/// `u32::from(ip)`, which gives the reverse order on little-endian machines.
/// [`helper::ipaddr`](crate::helper::ipaddr) does it for you.
pub type IPAddr = u32;

/// `IPMask`: an IPv4 subnet mask, in the same byte order as [`IPAddr`].
///
/// No Microsoft Learn page: `ipexport.h` declares it beside `IPAddr`; no ICMP function takes it.
pub type IPMask = u32;

/// `IP_STATUS`: the status of an echo request, one of the `IP_*` status codes
/// of this module (`IP_SUCCESS`, `IP_REQ_TIMED_OUT`, ...).
///
/// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member (the table of codes).
///
/// Pitfall: keep it an open `u32`. Values below [`IP_STATUS_BASE`] are Win32
/// error codes, and newer Windows versions add codes.
pub type IP_STATUS = u32;

/// `HANDLE`: an opaque handle, here the ICMP handle of
/// [`IcmpCreateFile`](crate::icmpapi::IcmpCreateFile) or an event.
///
/// Pitfall: a failed `IcmpCreateFile` returns [`INVALID_HANDLE_VALUE`], not
/// null.
///
/// Microsoft Learn: [Windows Data Types](https://learn.microsoft.com/en-us/windows/win32/winprog/windows-data-types).
pub type HANDLE = *mut c_void;

/// `INVALID_HANDLE_VALUE` (`(HANDLE)-1`): what
/// [`IcmpCreateFile`](crate::icmpapi::IcmpCreateFile) and
/// [`Icmp6CreateFile`](crate::icmpapi::Icmp6CreateFile) return on failure.
///
/// Pitfall: never pass it (nor null) to
/// [`IcmpCloseHandle`](crate::icmpapi::IcmpCloseHandle): Windows returns
/// `FALSE`, Wine 8.0 crashes the process.
///
/// Microsoft Learn: [IcmpCreateFile function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpcreatefile), return value.
pub const INVALID_HANDLE_VALUE: HANDLE = usize::MAX as HANDLE;

/// `BOOL`: a 32-bit Win32 boolean, non-zero for true.
///
/// Microsoft Learn: [Windows Data Types](https://learn.microsoft.com/en-us/windows/win32/winprog/windows-data-types).
pub type BOOL = i32;

/// `TRUE` (1): the [`BOOL`] that Win32 functions return on success and take
/// for "yes" (e.g. `CreateEventW`'s `bManualReset`).
///
/// Microsoft Learn: [Windows Data Types](https://learn.microsoft.com/en-us/windows/win32/winprog/windows-data-types), `BOOL`.
///
/// Pitfall: a `BOOL` result is true when non-zero, not only when `TRUE`:
/// test `!= FALSE`, never `== TRUE`.
pub const TRUE: BOOL = 1;

/// `FALSE` (0): the [`BOOL`] that Win32 functions return on failure (then
/// read the last error).
///
/// Microsoft Learn: [Windows Data Types](https://learn.microsoft.com/en-us/windows/win32/winprog/windows-data-types), `BOOL`.
pub const FALSE: BOOL = 0;

/// `NTSTATUS`: a 32-bit NT status code, as stored in [`IO_STATUS_BLOCK`].
///
/// Microsoft Learn: [IO_STATUS_BLOCK structure (wdm.h)](https://learn.microsoft.com/en-us/windows-hardware/drivers/ddi/wdm/ns-wdm-_io_status_block), `Status` member.
pub type NTSTATUS = i32;

/// `STATUS_INVALID_PARAMETER` (`0xC000000D`): the `Status` an
/// [`IO_STATUS_BLOCK`] carries when an asynchronous send is refused by the
/// stack after it started, e.g. an IPv6 echo with a hop limit (`Ttl`) of 0:
/// the request completes (the APC runs, the event is signalled) with
/// `Information` = `size_of::<ICMPV6_ECHO_REPLY>()` and `reply[0].Status`
/// [`IP_GENERAL_FAILURE`] (Wine's conformance test `test_Icmp6SendEcho`,
/// which Windows passes).
///
/// Microsoft Learn: [NTSTATUS Values](https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-erref/596a1078-e883-4972-9bbc-49e60bebca55).
///
/// Pitfall: an `NTSTATUS`, not a Win32 error: compare it with the
/// `IO_STATUS_BLOCK`'s `Status`, never with `GetLastError`; a successful
/// completion carries 0 and the reply's `Status` still tells the outcome.
pub const STATUS_INVALID_PARAMETER: NTSTATUS = 0xC000_000D_u32 as NTSTATUS;

/// `ADDRESS_FAMILY`: the `sin6_family` field type of [`SOCKADDR_IN6`].
///
/// Microsoft Learn: [SOCKADDR_IN6_LH structure (ws2ipdef.h)](https://learn.microsoft.com/en-us/windows/win32/api/ws2ipdef/ns-ws2ipdef-sockaddr_in6_lh).
pub type ADDRESS_FAMILY = u16;

/// `AF_INET6` as Windows defines it: **23**.
///
/// Microsoft Learn: [SOCKADDR_IN6_LH structure (ws2ipdef.h)](https://learn.microsoft.com/en-us/windows/win32/api/ws2ipdef/ns-ws2ipdef-sockaddr_in6_lh).
///
/// Pitfall: Linux uses 10, macOS 30, FreeBSD 28; never take the value from
/// `libc` when filling a [`SOCKADDR_IN6`] for this API.
pub const AF_INET6: ADDRESS_FAMILY = 23;

// ---------------------------------------------------------------------------
// Structures
// ---------------------------------------------------------------------------

/// `IP_OPTION_INFORMATION`: the IP header options of a request, and of a
/// reply inside [`ICMP_ECHO_REPLY`].
///
/// Microsoft Learn: [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information).
///
/// Pitfall: a 64-bit caller passes this native-width struct, not
/// `IP_OPTION_INFORMATION32` (module `wow64`, 64-bit targets only), whatever
/// the docs suggest. `OptionsData`
/// holds RFC 791 wire-format options, at most [`MAX_OPT_SIZE`] bytes. `Tos`
/// may be ignored by Windows; `Ttl` = 0 means the default on Wine.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct IP_OPTION_INFORMATION {
    /// Time to live (IPv6: hop limit).
    pub Ttl: u8,
    /// Type of service.
    pub Tos: u8,
    /// IP header flags: [`IP_FLAG_DF`], [`IP_FLAG_REVERSE`].
    pub Flags: u8,
    /// Size of `OptionsData` in bytes.
    pub OptionsSize: u8,
    /// Options in wire format; in a reply, an absolute pointer into the reply
    /// buffer.
    pub OptionsData: *mut u8,
}

layout!(IP_OPTION_INFORMATION {
    //          x86 x86_64 aarch64
    size:         8, 16, 16;
    align:        4,  8,  8;
    Ttl:          0,  0,  0;
    Tos:          1,  1,  1;
    Flags:        2,  2,  2;
    OptionsSize:  3,  3,  3;
    OptionsData:  4,  8,  8;
});

/// `PIP_OPTION_INFORMATION`.
///
/// Microsoft Learn: [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information).
pub type PIP_OPTION_INFORMATION = *mut IP_OPTION_INFORMATION;

/// `ICMP_ECHO_REPLY`: one IPv4 reply, as written into the reply buffer by
/// [`IcmpSendEcho`](crate::icmpapi::IcmpSendEcho) and friends.
///
/// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
///
/// Pitfalls: `Data` and `Options.OptionsData` are **absolute pointers into the
/// reply buffer**, so the buffer must not move before they are read; read
/// `Data` only when `Status` is [`IP_SUCCESS`]; `RoundTripTime` 0 means
/// "< 1 ms"; `Reserved` holds the reply count that
/// [`IcmpParseReplies`](crate::icmpapi::IcmpParseReplies) consumes. The
/// [`helper::Replies`](crate::helper::Replies) reader checks all of it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ICMP_ECHO_REPLY {
    /// The replying node, or the node that reported an error.
    pub Address: IPAddr,
    /// An `IP_STATUS` code.
    pub Status: IP_STATUS,
    /// Round-trip time in milliseconds, truncated.
    pub RoundTripTime: u32,
    /// Bytes of echoed data at `Data`.
    pub DataSize: u16,
    /// Reserved: the reply count before `IcmpParseReplies`.
    pub Reserved: u16,
    /// Absolute pointer to the echoed data inside the reply buffer.
    pub Data: *mut c_void,
    /// Options of the received packet.
    pub Options: IP_OPTION_INFORMATION,
}

layout!(ICMP_ECHO_REPLY {
    //                   x86 x86_64 aarch64
    size:                 28, 40, 40;
    align:                 4,  8,  8;
    Address:               0,  0,  0;
    Status:                4,  4,  4;
    RoundTripTime:         8,  8,  8;
    DataSize:             12, 12, 12;
    Reserved:             14, 14, 14;
    Data:                 16, 16, 16;
    Options:              20, 24, 24;
    Options.Ttl:          20, 24, 24;
    Options.OptionsData:  24, 32, 32;
});

/// `PICMP_ECHO_REPLY`.
///
/// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply).
pub type PICMP_ECHO_REPLY = *mut ICMP_ECHO_REPLY;

/// The `*32` structures of `ipexport.h` (`_WIN64` only): the 32-bit
/// layouts with 4-byte `POINTER_32` fields, for **WOW64 thunking** — code
/// that translates a 32-bit process's requests (kernel drivers, WOW64
/// layers). A 64-bit user-mode caller never uses them.
///
/// Microsoft Learn: [ICMP_ECHO_REPLY32 structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply32),
/// and [IP_OPTION_INFORMATION32 structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information32).
///
/// Pitfall, and why they live here and not at the crate root: windows-sys and
/// the `windows` crate declare these structs with 8-byte pointers (40/16
/// bytes, the same as the native ones), so code ported from them often
/// writes `use ICMP_ECHO_REPLY32 as ICMP_ECHO_REPLY;` and "works" there. With
/// the SDK's real 28-byte layout that alias would compile and pass a
/// buffer laid out for the wrong struct. Here the alias does not compile:
///
/// ```compile_fail,E0432
/// use icmp_sys::ICMP_ECHO_REPLY32 as ICMP_ECHO_REPLY;
/// ```
/// ```compile_fail,E0432
/// use icmp_sys::ipexport::IP_OPTION_INFORMATION32 as IP_OPTION_INFORMATION;
/// ```
///
/// Use the native [`ICMP_ECHO_REPLY`] and [`IP_OPTION_INFORMATION`]; name
/// these only on purpose, by their full path:
///
/// ```
/// # #[cfg(target_pointer_width = "64")] {
/// use icmp_sys::ipexport::wow64::ICMP_ECHO_REPLY32;
/// assert_eq!(size_of::<ICMP_ECHO_REPLY32>(), 28);
/// assert_eq!(size_of::<icmp_sys::ICMP_ECHO_REPLY>(), 40);
/// # }
/// ```
#[cfg(target_pointer_width = "64")]
pub mod wow64 {
    use super::{IP_STATUS, IPAddr};
    use crate::layout::layout;

    /// `IP_OPTION_INFORMATION32`: the 32-bit layout of
    /// [`IP_OPTION_INFORMATION`](super::IP_OPTION_INFORMATION), defined on 64-bit targets only (`_WIN64`).
    ///
    /// Microsoft Learn: [IP_OPTION_INFORMATION32 structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information32).
    ///
    /// Pitfall: `OptionsData` is a `POINTER_32`, a 4-byte pointer, modelled as
    /// `u32` (mingw-w64 and windows-sys get this wrong with 8-byte pointers).
    /// These structs exist for WOW64 thunking; a 64-bit user-mode caller uses the
    /// native [`IP_OPTION_INFORMATION`](super::IP_OPTION_INFORMATION).
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct IP_OPTION_INFORMATION32 {
        /// Time to live.
        pub Ttl: u8,
        /// Type of service.
        pub Tos: u8,
        /// IP header flags.
        pub Flags: u8,
        /// Size of `OptionsData` in bytes.
        pub OptionsSize: u8,
        /// `UCHAR * POINTER_32`: a 32-bit pointer.
        pub OptionsData: u32,
    }

    layout!(IP_OPTION_INFORMATION32 {
        //          x86 x86_64 aarch64
        size:         -,  8,  8;
        align:        -,  4,  4;
        Ttl:          -,  0,  0;
        Tos:          -,  1,  1;
        Flags:        -,  2,  2;
        OptionsSize:  -,  3,  3;
        OptionsData:  -,  4,  4;
    });

    /// `PIP_OPTION_INFORMATION32`.
    ///
    /// Microsoft Learn: [IP_OPTION_INFORMATION32 structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information32).
    pub type PIP_OPTION_INFORMATION32 = *mut IP_OPTION_INFORMATION32;

    /// `ICMP_ECHO_REPLY32`: the 32-bit layout of [`ICMP_ECHO_REPLY`](super::ICMP_ECHO_REPLY), defined on
    /// 64-bit targets only (`_WIN64`).
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY32 structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply32).
    ///
    /// Pitfall: `Data` is a `POINTER_32` (`u32`); size 28, not 40. A 64-bit
    /// caller receives [`ICMP_ECHO_REPLY`](super::ICMP_ECHO_REPLY), not this.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct ICMP_ECHO_REPLY32 {
        /// The replying node.
        pub Address: IPAddr,
        /// An `IP_STATUS` code.
        pub Status: IP_STATUS,
        /// Round-trip time in milliseconds.
        pub RoundTripTime: u32,
        /// Bytes of echoed data.
        pub DataSize: u16,
        /// Reserved.
        pub Reserved: u16,
        /// `VOID * POINTER_32`: a 32-bit pointer to the data.
        pub Data: u32,
        /// Options of the received packet.
        pub Options: IP_OPTION_INFORMATION32,
    }

    layout!(ICMP_ECHO_REPLY32 {
        //                   x86 x86_64 aarch64
        size:                  -, 28, 28;
        align:                 -,  4,  4;
        Address:               -,  0,  0;
        Status:                -,  4,  4;
        RoundTripTime:         -,  8,  8;
        DataSize:              -, 12, 12;
        Reserved:              -, 14, 14;
        Data:                  -, 16, 16;
        Options:               -, 20, 20;
        Options.OptionsData:   -, 24, 24;
    });

    /// `PICMP_ECHO_REPLY32`.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY32 structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply32).
    pub type PICMP_ECHO_REPLY32 = *mut ICMP_ECHO_REPLY32;
}

/// `IPV6_ADDRESS_EX`: the address of an IPv6 reply, a `sockaddr_in6` without
/// its family, **packed to 1 byte** (26 bytes).
///
/// Microsoft Learn: [IPV6_ADDRESS_EX structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ipv6_address_ex).
///
/// Pitfalls: packed, so fields cannot be borrowed (E0793): copy them out.
/// `sin6_port` is network order; `sin6_addr` holds the address as 8
/// network-order words, i.e. the 16 address bytes in order (see
/// [`helper::ipv6_address`](crate::helper::ipv6_address)). mingw-w64 10
/// declares it unpacked (28 bytes).
#[repr(C, packed(1))]
#[derive(Clone, Copy, Debug, Default)]
pub struct IPV6_ADDRESS_EX {
    /// Port (unused for ICMP), network order.
    pub sin6_port: u16,
    /// Flow information.
    pub sin6_flowinfo: u32,
    /// The address, as network-order 16-bit words.
    pub sin6_addr: [u16; 8],
    /// Scope (zone) identifier.
    pub sin6_scope_id: u32,
}

layout!(IPV6_ADDRESS_EX {
    //            x86 x86_64 aarch64
    size:          26, 26, 26;
    align:          1,  1,  1;
    sin6_port:      0,  0,  0;
    sin6_flowinfo:  2,  2,  2;
    sin6_addr:      6,  6,  6;
    sin6_scope_id: 22, 22, 22;
});

/// `PIPV6_ADDRESS_EX`.
///
/// Microsoft Learn: [IPV6_ADDRESS_EX structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ipv6_address_ex).
pub type PIPV6_ADDRESS_EX = *mut IPV6_ADDRESS_EX;

/// `ICMPV6_ECHO_REPLY_LH`: one IPv6 reply, written by
/// [`Icmp6SendEcho2`](crate::icmpapi::Icmp6SendEcho2); the echoed data
/// follows it at offset 36.
///
/// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh).
///
/// Pitfalls: there is **no `DataSize`**: the data length is the request's
/// (or the APC's `Information` minus 36). `Status` sits at 28, after 2 bytes
/// of padding behind the packed address. `RoundTripTime` is unsigned (winapi
/// declares it signed).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ICMPV6_ECHO_REPLY_LH {
    /// The replying node.
    pub Address: IPV6_ADDRESS_EX,
    /// An `IP_STATUS` code.
    pub Status: IP_STATUS,
    /// Round-trip time in milliseconds.
    pub RoundTripTime: u32,
}

layout!(ICMPV6_ECHO_REPLY_LH {
    //            x86 x86_64 aarch64
    size:          36, 36, 36;
    align:          4,  4,  4;
    Address:        0,  0,  0;
    Status:        28, 28, 28;
    RoundTripTime: 32, 32, 32;
});

/// `PICMPV6_ECHO_REPLY_LH`.
///
/// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh).
pub type PICMPV6_ECHO_REPLY_LH = *mut ICMPV6_ECHO_REPLY_LH;

/// `ICMPV6_ECHO_REPLY`: the SDK's alias of [`ICMPV6_ECHO_REPLY_LH`].
///
/// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh).
pub type ICMPV6_ECHO_REPLY = ICMPV6_ECHO_REPLY_LH;

/// `PICMPV6_ECHO_REPLY`.
///
/// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh).
pub type PICMPV6_ECHO_REPLY = *mut ICMPV6_ECHO_REPLY;

/// The anonymous union at the head of [`IO_STATUS_BLOCK`].
///
/// Microsoft Learn: [IO_STATUS_BLOCK structure (wdm.h)](https://learn.microsoft.com/en-us/windows-hardware/drivers/ddi/wdm/ns-wdm-_io_status_block).
///
/// Pitfall: a union, so reading a field is `unsafe`; after an echo only `Status` is meaningful (`Pointer` is reserved).
#[repr(C)]
#[derive(Clone, Copy)]
pub union IO_STATUS_BLOCK_0 {
    /// Completion status.
    pub Status: NTSTATUS,
    /// Reserved for internal use.
    pub Pointer: *mut c_void,
}

/// `IO_STATUS_BLOCK`: what the APC routine of an asynchronous send receives.
///
/// Microsoft Learn: [IO_STATUS_BLOCK structure (wdm.h)](https://learn.microsoft.com/en-us/windows-hardware/drivers/ddi/wdm/ns-wdm-_io_status_block).
///
/// Pitfall: for an echo, `Information` is the number of bytes written to the
/// reply buffer (e.g. 72 = 40 + 32 for a 32-byte echo on x86_64).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IO_STATUS_BLOCK {
    /// `Status` / `Pointer`.
    pub Anonymous: IO_STATUS_BLOCK_0,
    /// Bytes transferred.
    pub Information: usize,
}

layout!(IO_STATUS_BLOCK {
    //          x86 x86_64 aarch64
    size:         8, 16, 16;
    align:        4,  8,  8;
    Anonymous:    0,  0,  0;
    Information:  4,  8,  8;
});

/// `PIO_STATUS_BLOCK`.
///
/// Microsoft Learn: [IO_STATUS_BLOCK structure (wdm.h)](https://learn.microsoft.com/en-us/windows-hardware/drivers/ddi/wdm/ns-wdm-_io_status_block).
pub type PIO_STATUS_BLOCK = *mut IO_STATUS_BLOCK;

/// `PIO_APC_ROUTINE`: the routine an asynchronous send queues to the calling
/// thread, `VOID NTAPI fn(PVOID ApcContext, PIO_STATUS_BLOCK, ULONG Reserved)`.
///
/// Microsoft Learn: [IcmpSendEcho2 function (icmpapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/icmpapi/nf-icmpapi-icmpsendecho2), `ApcRoutine` parameter.
///
/// Pitfall: it runs only while the calling thread is in an alertable wait
/// (`SleepEx(.., TRUE)`, `WaitForSingleObjectEx(.., TRUE)`). Without
/// `PIO_APC_ROUTINE_DEFINED` the C header declares `FARPROC` instead; the ABI
/// is the same.
pub type PIO_APC_ROUTINE = Option<
    unsafe extern "system" fn(
        ApcContext: *mut c_void,
        IoStatusBlock: *mut IO_STATUS_BLOCK,
        Reserved: u32,
    ),
>;

/// `IN6_ADDR`: an IPv6 address in network order.
///
/// Microsoft Learn: [IN6_ADDR structure (in6addr.h)](https://learn.microsoft.com/en-us/windows/win32/api/in6addr/ns-in6addr-in6_addr).
///
/// Pitfall: network byte order. Build it from `Ipv6Addr::octets()` (as
/// [`helper::sockaddr_in6`](crate::helper::sockaddr_in6) does), not from the
/// `u16` segments, which are in host order.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IN6_ADDR {
    /// The address as bytes or as 16-bit words.
    pub u: IN6_ADDR_0,
}

/// The union inside [`IN6_ADDR`].
///
/// Microsoft Learn: [IN6_ADDR structure (in6addr.h)](https://learn.microsoft.com/en-us/windows/win32/api/in6addr/ns-in6addr-in6_addr).
///
/// Pitfall: `Word` holds network-order words; read `Byte` for the address
/// bytes in order.
#[repr(C)]
#[derive(Clone, Copy)]
pub union IN6_ADDR_0 {
    /// The 16 address bytes in network order.
    pub Byte: [u8; 16],
    /// The address as 8 network-order words.
    pub Word: [u16; 8],
}

layout!(IN6_ADDR {
    //   x86 x86_64 aarch64
    size:  16, 16, 16;
    align:  2,  2,  2;
    u:      0,  0,  0;
});

/// `SOCKADDR_IN6` (`SOCKADDR_IN6_LH`): the source and destination of
/// [`Icmp6SendEcho2`](crate::icmpapi::Icmp6SendEcho2).
///
/// Microsoft Learn: [SOCKADDR_IN6_LH structure (ws2ipdef.h)](https://learn.microsoft.com/en-us/windows/win32/api/ws2ipdef/ns-ws2ipdef-sockaddr_in6_lh).
///
/// Pitfalls: `sin6_family` must be the Windows [`AF_INET6`] (23), whatever the
/// host OS; `sin6_port` is network order. The SDK's union of `sin6_scope_id`
/// and `sin6_scope_struct` (a bit-field view of the same `ULONG`) is the
/// single field `sin6_scope_id`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SOCKADDR_IN6 {
    /// Address family: [`AF_INET6`].
    pub sin6_family: ADDRESS_FAMILY,
    /// Port, network order (0 for ICMP).
    pub sin6_port: u16,
    /// Flow information.
    pub sin6_flowinfo: u32,
    /// The address.
    pub sin6_addr: IN6_ADDR,
    /// Scope (zone) identifier.
    pub sin6_scope_id: u32,
}

layout!(SOCKADDR_IN6 {
    //            x86 x86_64 aarch64
    size:          28, 28, 28;
    align:          4,  4,  4;
    sin6_family:    0,  0,  0;
    sin6_port:      2,  2,  2;
    sin6_flowinfo:  4,  4,  4;
    sin6_addr:      8,  8,  8;
    sin6_scope_id: 24, 24, 24;
});

/// `PSOCKADDR_IN6`.
///
/// Microsoft Learn: [SOCKADDR_IN6_LH structure (ws2ipdef.h)](https://learn.microsoft.com/en-us/windows/win32/api/ws2ipdef/ns-ws2ipdef-sockaddr_in6_lh).
pub type PSOCKADDR_IN6 = *mut SOCKADDR_IN6;

/// All-zero values: null pointers, zero numbers, `None` routines.
macro_rules! zeroed_default {
    ($($ty:ty),*) => {$(
        impl Default for $ty {
            #[inline]
            fn default() -> Self {
                // SAFETY: every field is an integer, a raw pointer or a union
                // of those, for which all-zero bytes are a valid value.
                unsafe { core::mem::zeroed() }
            }
        }
    )*};
}
zeroed_default!(
    IP_OPTION_INFORMATION,
    ICMP_ECHO_REPLY,
    IO_STATUS_BLOCK,
    IN6_ADDR,
    SOCKADDR_IN6
);

// ---------------------------------------------------------------------------
// IP_STATUS codes
// ---------------------------------------------------------------------------

/// Declares the `IP_STATUS` constants and, from the same lines, the table of
/// their names and descriptions that [`helper::status_name`](crate::helper::status_name)
/// reads (first entry of a value = its primary name; aliases follow).
macro_rules! ip_status {
    ($($(#[$doc:meta])* $name:ident = $value:expr => $text:literal;)*) => {
        $(
            $(#[$doc])*
            pub const $name: IP_STATUS = $value;
        )*
        /// `(value, name, description)` of every `IP_STATUS` constant.
        pub(crate) const IP_STATUS_TABLE: &[(IP_STATUS, &str, &str)] = &[$(($name, stringify!($name), $text)),*];
    };
}

/// `IP_STATUS_BASE` (11000): the first status code; smaller non-zero values
/// are Win32 error codes.
///
/// No Microsoft Learn page: defined only in `ipexport.h`; the status tables of the reply structures list the codes themselves.
pub const IP_STATUS_BASE: IP_STATUS = 11000;

ip_status! {
    /// `IP_SUCCESS` (0): the echo succeeded.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_SUCCESS = 0 => "Success.";
    /// `IP_BUF_TOO_SMALL` (11001): the reply buffer is too small (Windows
    /// 2003 and earlier; later versions report [`IP_GENERAL_FAILURE`]).
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_BUF_TOO_SMALL = IP_STATUS_BASE + 1 => "Reply buffer too small.";
    /// `IP_DEST_NET_UNREACHABLE` (11002): destination network unreachable.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_DEST_NET_UNREACHABLE = IP_STATUS_BASE + 2 => "Destination net unreachable.";
    /// `IP_DEST_HOST_UNREACHABLE` (11003): destination host unreachable.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_DEST_HOST_UNREACHABLE = IP_STATUS_BASE + 3 => "Destination host unreachable.";
    /// `IP_DEST_PROT_UNREACHABLE` (11004): destination protocol unreachable.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_DEST_PROT_UNREACHABLE = IP_STATUS_BASE + 4 => "Destination protocol unreachable.";
    /// `IP_DEST_PORT_UNREACHABLE` (11005): destination port unreachable
    /// (defined twice in the SDK, for IPv4 and IPv6, with this one value).
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_DEST_PORT_UNREACHABLE = IP_STATUS_BASE + 5 => "Destination port unreachable.";
    /// `IP_NO_RESOURCES` (11006): insufficient IP resources.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_NO_RESOURCES = IP_STATUS_BASE + 6 => "No resources.";
    /// `IP_BAD_OPTION` (11007): a bad IP option was specified.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_BAD_OPTION = IP_STATUS_BASE + 7 => "Bad option specified.";
    /// `IP_HW_ERROR` (11008): a hardware error occurred.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_HW_ERROR = IP_STATUS_BASE + 8 => "Hardware error.";
    /// `IP_PACKET_TOO_BIG` (11009): the packet was too big (fragmentation
    /// needed and DF set).
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_PACKET_TOO_BIG = IP_STATUS_BASE + 9 => "Packet needs to be fragmented but DF set.";
    /// `IP_REQ_TIMED_OUT` (11010): the request timed out.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_REQ_TIMED_OUT = IP_STATUS_BASE + 10 => "Request timed out.";
    /// `IP_BAD_REQ` (11011): a bad request.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_BAD_REQ = IP_STATUS_BASE + 11 => "Bad request.";
    /// `IP_BAD_ROUTE` (11012): a bad route (source route failed).
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_BAD_ROUTE = IP_STATUS_BASE + 12 => "Bad route.";
    /// `IP_TTL_EXPIRED_TRANSIT` (11013): the TTL expired in transit.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_TTL_EXPIRED_TRANSIT = IP_STATUS_BASE + 13 => "TTL expired in transit.";
    /// `IP_TTL_EXPIRED_REASSEM` (11014): the TTL expired during fragment
    /// reassembly.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_TTL_EXPIRED_REASSEM = IP_STATUS_BASE + 14 => "TTL expired during reassembly.";
    /// `IP_PARAM_PROBLEM` (11015): a parameter problem.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_PARAM_PROBLEM = IP_STATUS_BASE + 15 => "Parameter problem.";
    /// `IP_SOURCE_QUENCH` (11016): datagrams are arriving too fast.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_SOURCE_QUENCH = IP_STATUS_BASE + 16 => "Source quench received.";
    /// `IP_OPTION_TOO_BIG` (11017): an IP option was too big.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_OPTION_TOO_BIG = IP_STATUS_BASE + 17 => "Option too big.";
    /// `IP_BAD_DESTINATION` (11018): a bad destination (destination 0 on
    /// Windows 2003 and earlier; later versions fail with
    /// [`ERROR_INVALID_NETNAME`]).
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_BAD_DESTINATION = IP_STATUS_BASE + 18 => "Bad destination.";

    /// `IP_DEST_NO_ROUTE` (11002): IPv6 name of [`IP_DEST_NET_UNREACHABLE`].
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member.
    IP_DEST_NO_ROUTE = IP_STATUS_BASE + 2 => "No route to destination.";
    /// `IP_DEST_ADDR_UNREACHABLE` (11003): IPv6 name of
    /// [`IP_DEST_HOST_UNREACHABLE`].
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member.
    IP_DEST_ADDR_UNREACHABLE = IP_STATUS_BASE + 3 => "Destination address unreachable.";
    /// `IP_DEST_PROHIBITED` (11004): IPv6 name of [`IP_DEST_PROT_UNREACHABLE`]
    /// (communication administratively prohibited).
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member.
    IP_DEST_PROHIBITED = IP_STATUS_BASE + 4 => "Communication with destination administratively prohibited.";
    /// `IP_HOP_LIMIT_EXCEEDED` (11013): IPv6 name of
    /// [`IP_TTL_EXPIRED_TRANSIT`].
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member.
    IP_HOP_LIMIT_EXCEEDED = IP_STATUS_BASE + 13 => "Hop limit exceeded in transit.";
    /// `IP_REASSEMBLY_TIME_EXCEEDED` (11014): IPv6 name of
    /// [`IP_TTL_EXPIRED_REASSEM`].
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member.
    IP_REASSEMBLY_TIME_EXCEEDED = IP_STATUS_BASE + 14 => "Fragment reassembly time exceeded.";
    /// `IP_PARAMETER_PROBLEM` (11015): IPv6 name of [`IP_PARAM_PROBLEM`].
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member.
    IP_PARAMETER_PROBLEM = IP_STATUS_BASE + 15 => "Parameter problem.";

    /// `IP_ADDR_DELETED` (11019): status indication, address deleted.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_ADDR_DELETED = IP_STATUS_BASE + 19 => "Address deleted.";
    /// `IP_SPEC_MTU_CHANGE` (11020): status indication, specified MTU changed.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_SPEC_MTU_CHANGE = IP_STATUS_BASE + 20 => "Specified MTU changed.";
    /// `IP_MTU_CHANGE` (11021): status indication, MTU changed.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_MTU_CHANGE = IP_STATUS_BASE + 21 => "MTU changed.";
    /// `IP_UNLOAD` (11022): status indication, unloaded.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_UNLOAD = IP_STATUS_BASE + 22 => "Unloaded.";
    /// `IP_ADDR_ADDED` (11023): status indication, address added.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_ADDR_ADDED = IP_STATUS_BASE + 23 => "Address added.";
    /// `IP_MEDIA_CONNECT` (11024): status indication, media connected.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_MEDIA_CONNECT = IP_STATUS_BASE + 24 => "Media connected.";
    /// `IP_MEDIA_DISCONNECT` (11025): status indication, media disconnected.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_MEDIA_DISCONNECT = IP_STATUS_BASE + 25 => "Media disconnected.";
    /// `IP_BIND_ADAPTER` (11026): status indication, adapter bound.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_BIND_ADAPTER = IP_STATUS_BASE + 26 => "Adapter bound.";
    /// `IP_UNBIND_ADAPTER` (11027): status indication, adapter unbound.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_UNBIND_ADAPTER = IP_STATUS_BASE + 27 => "Adapter unbound.";
    /// `IP_DEVICE_DOES_NOT_EXIST` (11028): status indication, no such device.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_DEVICE_DOES_NOT_EXIST = IP_STATUS_BASE + 28 => "Device does not exist.";
    /// `IP_DUPLICATE_ADDRESS` (11029): status indication, duplicate address.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_DUPLICATE_ADDRESS = IP_STATUS_BASE + 29 => "Duplicate address.";
    /// `IP_INTERFACE_METRIC_CHANGE` (11030): status indication, interface
    /// metric changed.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_INTERFACE_METRIC_CHANGE = IP_STATUS_BASE + 30 => "Interface metric changed.";
    /// `IP_RECONFIG_SECFLTR` (11031): status indication, security filter
    /// reconfigured.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_RECONFIG_SECFLTR = IP_STATUS_BASE + 31 => "Security filter reconfigured.";
    /// `IP_NEGOTIATING_IPSEC` (11032): IPsec negotiation in progress.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_NEGOTIATING_IPSEC = IP_STATUS_BASE + 32 => "Negotiating IPsec.";
    /// `IP_INTERFACE_WOL_CAPABILITY_CHANGE` (11033): status indication,
    /// wake-on-LAN capability changed.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_INTERFACE_WOL_CAPABILITY_CHANGE = IP_STATUS_BASE + 33 => "Wake-on-LAN capability changed.";
    /// `IP_DUPLICATE_IPADD` (11034): status indication, duplicate IP address.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_DUPLICATE_IPADD = IP_STATUS_BASE + 34 => "Duplicate IP address.";

    /// `IP_DEST_UNREACHABLE` (11040): IPv6 only, destination unreachable.
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member (values defined in `ipexport.h`).
    IP_DEST_UNREACHABLE = IP_STATUS_BASE + 40 => "Destination unreachable.";
    /// `IP_TIME_EXCEEDED` (11041): IPv6 only, time exceeded.
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member (values defined in `ipexport.h`).
    IP_TIME_EXCEEDED = IP_STATUS_BASE + 41 => "Time exceeded.";
    /// `IP_BAD_HEADER` (11042): IPv6 only, bad header (erroneous header
    /// field).
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member (values defined in `ipexport.h`).
    IP_BAD_HEADER = IP_STATUS_BASE + 42 => "Bad header.";
    /// `IP_UNRECOGNIZED_NEXT_HEADER` (11043): IPv6 only, unrecognized next
    /// header.
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member (values defined in `ipexport.h`).
    IP_UNRECOGNIZED_NEXT_HEADER = IP_STATUS_BASE + 43 => "Unrecognized next header.";
    /// `IP_ICMP_ERROR` (11044): IPv6 only, ICMP error.
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member (values defined in `ipexport.h`).
    IP_ICMP_ERROR = IP_STATUS_BASE + 44 => "ICMP error.";
    /// `IP_DEST_SCOPE_MISMATCH` (11045): IPv6 only, destination scope
    /// mismatch (beyond the scope of the source address).
    ///
    /// Microsoft Learn: [ICMPV6_ECHO_REPLY_LH structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmpv6_echo_reply_lh), `Status` member (values defined in `ipexport.h`).
    IP_DEST_SCOPE_MISMATCH = IP_STATUS_BASE + 45 => "Destination scope mismatch.";

    /// `IP_GENERAL_FAILURE` (11050): general failure. Modern Windows and
    /// Wine report a too-small reply buffer with it, and use it as catch-all.
    ///
    /// Microsoft Learn: [ICMP_ECHO_REPLY structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-icmp_echo_reply), `Status` member.
    IP_GENERAL_FAILURE = IP_STATUS_BASE + 50 => "General failure.";
    /// `IP_PENDING` (11255): the request is pending.
    ///
    /// No Microsoft Learn page: defined only in `ipexport.h`; not a status the echo functions document.
    IP_PENDING = IP_STATUS_BASE + 255 => "Request pending.";
}

/// `MAX_IP_STATUS` (11050): the last regular status code
/// (= [`IP_GENERAL_FAILURE`]).
///
/// No Microsoft Learn page: defined only in `ipexport.h`; the status tables of the reply structures list the codes themselves.
pub const MAX_IP_STATUS: IP_STATUS = IP_GENERAL_FAILURE;

// ---------------------------------------------------------------------------
// IP header flags and options: typed as the UCHAR fields they are stored in
// ---------------------------------------------------------------------------

/// `IP_FLAG_REVERSE` (0x01): reverse the IP header (source-route) in the
/// reply; for [`IP_OPTION_INFORMATION::Flags`]. Vista and later.
///
/// Microsoft Learn: [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information), `Flags` member.
///
/// Pitfall: mingw-w64 10 lacks it; Linux has no equivalent.
pub const IP_FLAG_REVERSE: u8 = 0x01;

/// `IP_FLAG_DF` (0x02): set Don't Fragment; for
/// [`IP_OPTION_INFORMATION::Flags`].
///
/// Microsoft Learn: [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information), `Flags` member.
///
/// Pitfall: Wine 8.0 ignores it.
pub const IP_FLAG_DF: u8 = 0x02;

/// `IP_OPT_EOL` (0): end-of-option-list option type (RFC 791).
///
/// No Microsoft Learn page: defined only in `ipexport.h`; the option format is RFC 791's, as [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information) says for `OptionsData`.
pub const IP_OPT_EOL: u8 = 0;
/// `IP_OPT_NOP` (1): no-operation option type (RFC 791).
///
/// No Microsoft Learn page: defined only in `ipexport.h`; the option format is RFC 791's, as [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information) says for `OptionsData`.
pub const IP_OPT_NOP: u8 = 1;
/// `IP_OPT_RR` (0x07): record-route option type (RFC 791).
///
/// No Microsoft Learn page: defined only in `ipexport.h`; the option format is RFC 791's, as [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information) says for `OptionsData`.
pub const IP_OPT_RR: u8 = 0x07;
/// `IP_OPT_TS` (0x44): timestamp option type (RFC 791).
///
/// No Microsoft Learn page: defined only in `ipexport.h`; the option format is RFC 791's, as [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information) says for `OptionsData`.
pub const IP_OPT_TS: u8 = 0x44;
/// `IP_OPT_SECURITY` (0x82): security option type (RFC 791).
///
/// No Microsoft Learn page: defined only in `ipexport.h`; the option format is RFC 791's, as [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information) says for `OptionsData`.
pub const IP_OPT_SECURITY: u8 = 0x82;
/// `IP_OPT_LSRR` (0x83): loose source and record route option type (RFC 791).
///
/// No Microsoft Learn page: defined only in `ipexport.h`; the option format is RFC 791's, as [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information) says for `OptionsData`.
pub const IP_OPT_LSRR: u8 = 0x83;
/// `IP_OPT_SID` (0x88): stream identifier option type (RFC 791).
///
/// No Microsoft Learn page: defined only in `ipexport.h`; the option format is RFC 791's, as [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information) says for `OptionsData`.
pub const IP_OPT_SID: u8 = 0x88;
/// `IP_OPT_SSRR` (0x89): strict source and record route option type (RFC 791).
///
/// No Microsoft Learn page: defined only in `ipexport.h`; the option format is RFC 791's, as [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information) says for `OptionsData`.
pub const IP_OPT_SSRR: u8 = 0x89;
/// `IP_OPT_ROUTER_ALERT` (0x94): router alert option type (RFC 2113).
///
/// No Microsoft Learn page: defined only in `ipexport.h`; the option format is RFC 791's, as [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information) says for `OptionsData`.
pub const IP_OPT_ROUTER_ALERT: u8 = 0x94;

/// `MAX_OPT_SIZE` (40): the largest `OptionsSize`, the 40 bytes an IPv4
/// header can carry.
///
/// No Microsoft Learn page: defined only in `ipexport.h`; [IP_OPTION_INFORMATION structure (ipexport.h)](https://learn.microsoft.com/en-us/windows/win32/api/ipexport/ns-ipexport-ip_option_information) documents `OptionsSize`.
pub const MAX_OPT_SIZE: u8 = 40;

// ---------------------------------------------------------------------------
// Win32 error codes reported through GetLastError
// ---------------------------------------------------------------------------

/// `ERROR_SUCCESS` (0): no error, the value `GetLastError` gives after a
/// call that set no error.
///
/// Microsoft Learn: [System Error Codes (0-499) (WinError.h)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
///
/// Pitfall: a successful send need not reset the last error to it; judge a
/// send by its return value, never by `GetLastError() == ERROR_SUCCESS`.
pub const ERROR_SUCCESS: u32 = 0;
/// `ERROR_ACCESS_DENIED` (5): no permission to send ICMP (Wine or the Unix
/// backend without raw or ping sockets).
///
/// Microsoft Learn: [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
pub const ERROR_ACCESS_DENIED: u32 = 5;
/// `ERROR_TOO_MANY_OPEN_FILES` (4): "The system cannot open the file." On
/// Unix, [`helper::Event::create`](crate::helper::Event::create) reports it
/// when the process has no descriptor left (`EMFILE`/`ENFILE`: the
/// `RLIMIT_NOFILE` limit or the system's), as Wine reports `EMFILE`.
///
/// Microsoft Learn: [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
pub const ERROR_TOO_MANY_OPEN_FILES: u32 = 4;
/// `ERROR_INVALID_HANDLE` (6): an invalid ICMP handle (Windows 2003 and
/// earlier; later versions report [`ERROR_INVALID_PARAMETER`]).
///
/// Microsoft Learn: [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
pub const ERROR_INVALID_HANDLE: u32 = 6;
/// `ERROR_NOT_ENOUGH_MEMORY` (8): not enough memory.
///
/// Microsoft Learn: [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
pub const ERROR_NOT_ENOUGH_MEMORY: u32 = 8;
/// `ERROR_GEN_FAILURE` (31): `Icmp6ParseReplies` on a null or empty buffer.
///
/// Microsoft Learn: [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
pub const ERROR_GEN_FAILURE: u32 = 31;
/// `ERROR_NOT_SUPPORTED` (50): the request is not supported (e.g. no IPv6
/// stack).
///
/// Microsoft Learn: [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
pub const ERROR_NOT_SUPPORTED: u32 = 50;
/// `ERROR_INVALID_PARAMETER` (87): an invalid handle, a null reply buffer or
/// a `ReplySize` smaller than one reply (0 included).
///
/// Microsoft Learn: [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
pub const ERROR_INVALID_PARAMETER: u32 = 87;
/// `ERROR_CALL_NOT_IMPLEMENTED` (120): not implemented (IPv6 on Wine 8.0).
///
/// Microsoft Learn: [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
pub const ERROR_CALL_NOT_IMPLEMENTED: u32 = 120;
/// `ERROR_INSUFFICIENT_BUFFER` (122): `ReplySize` is 0, on Windows 2003 and
/// earlier (Vista and later, Wine and the Unix backend report
/// [`ERROR_INVALID_PARAMETER`]).
///
/// Microsoft Learn: [System Error Codes (0-499)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-).
pub const ERROR_INSUFFICIENT_BUFFER: u32 = 122;
/// `ERROR_IO_PENDING` (997): an asynchronous send was started. The send
/// returns 0 and `GetLastError` gives this value: it is not a failure.
///
/// Microsoft Learn: [System Error Codes (500-999)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--500-999-).
pub const ERROR_IO_PENDING: u32 = 997;
/// `ERROR_INVALID_NETNAME` (1214): the destination is 0.0.0.0 (Vista and
/// later).
///
/// Microsoft Learn: [System Error Codes (1000-1299)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--1000-1299-).
pub const ERROR_INVALID_NETNAME: u32 = 1214;

/// `ERROR_NETWORK_UNREACHABLE` (1231): "The network location cannot be
/// reached", the Win32 counterpart of [`IP_DEST_NET_UNREACHABLE`].
///
/// Microsoft Learn: [System Error Codes (1000-1299) (WinError.h)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--1000-1299-).
///
/// Pitfall: the ICMP functions do not report it; they give
/// `IP_DEST_NET_UNREACHABLE` (11002) in `Status`. Higher-level crates map
/// the `IP_STATUS` to this code (e.g. for `std::io::Error::from_raw_os_error`).
pub const ERROR_NETWORK_UNREACHABLE: u32 = 1231;
/// `ERROR_HOST_UNREACHABLE` (1232): the remote host cannot be reached, the
/// Win32 counterpart of [`IP_DEST_HOST_UNREACHABLE`].
///
/// Microsoft Learn: [System Error Codes (1000-1299) (WinError.h)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--1000-1299-).
///
/// Pitfall: as [`ERROR_NETWORK_UNREACHABLE`]: the ICMP functions report
/// `IP_DEST_HOST_UNREACHABLE` (11003) instead.
pub const ERROR_HOST_UNREACHABLE: u32 = 1232;
/// `ERROR_PROTOCOL_UNREACHABLE` (1233): the protocol is unreachable at the
/// remote system, the Win32 counterpart of [`IP_DEST_PROT_UNREACHABLE`].
///
/// Microsoft Learn: [System Error Codes (1000-1299) (WinError.h)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--1000-1299-).
///
/// Pitfall: as [`ERROR_NETWORK_UNREACHABLE`]: the ICMP functions report
/// `IP_DEST_PROT_UNREACHABLE` (11004) instead.
pub const ERROR_PROTOCOL_UNREACHABLE: u32 = 1233;
/// `ERROR_PORT_UNREACHABLE` (1234): no service at the destination port of
/// the remote system, the Win32 counterpart of [`IP_DEST_PORT_UNREACHABLE`].
///
/// Microsoft Learn: [System Error Codes (1000-1299) (WinError.h)](https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--1000-1299-).
///
/// Pitfall: as [`ERROR_NETWORK_UNREACHABLE`]: the ICMP functions report
/// `IP_DEST_PORT_UNREACHABLE` (11005) instead.
pub const ERROR_PORT_UNREACHABLE: u32 = 1234;

// ---------------------------------------------------------------------------
// Wait results and timeouts (winbase.h, winerror.h): what the waits around an
// asynchronous send return (helper::Event, helper::sleep_alertable)
// ---------------------------------------------------------------------------

/// `WAIT_OBJECT_0` (0): `WaitForSingleObject` returned because the object
/// (here the `Event` of an asynchronous send) is signalled.
///
/// Microsoft Learn: [WaitForSingleObject function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-waitforsingleobject).
///
/// Pitfall: signalled means the request completed, not that the host
/// answered: read the count with
/// [`IcmpParseReplies`](crate::icmpapi::IcmpParseReplies) and each reply's
/// `Status`. [`helper::Event::wait`](crate::helper::Event::wait) returns
/// `true` for this value.
pub const WAIT_OBJECT_0: u32 = 0;

/// `WAIT_IO_COMPLETION` (192, `0xC0`): an alertable wait (`SleepEx(ms,
/// TRUE)`, [`helper::sleep_alertable`](crate::helper::sleep_alertable))
/// returned because one or more APCs (the `ApcRoutine` of an asynchronous
/// send) ran on the calling thread.
///
/// Microsoft Learn: [SleepEx function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-sleepex).
///
/// Pitfall: an APC runs only on the thread that issued the send, and only
/// while that thread waits alertably; a wait on any other thread, or a
/// non-alertable one (`Sleep`, `std::thread::sleep`), never runs it.
pub const WAIT_IO_COMPLETION: u32 = 0xC0;

/// `WAIT_TIMEOUT` (258): the wait's time elapsed and the object is not
/// signalled.
///
/// Microsoft Learn: [WaitForSingleObject function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-waitforsingleobject).
///
/// Pitfall: not `IP_REQ_TIMED_OUT` (11010): the request's own timeout
/// completes it (the event is signalled, the count is 0, the last error and
/// `Status` are 11010); `WAIT_TIMEOUT` only says your wait ended first.
pub const WAIT_TIMEOUT: u32 = 258;

/// `INFINITE` (`0xFFFFFFFF`): a wait time that never elapses, for
/// [`helper::Event::wait`](crate::helper::Event::wait) and
/// [`helper::sleep_alertable`](crate::helper::sleep_alertable).
///
/// Microsoft Learn: [SleepEx function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-sleepex).
///
/// Pitfall: never pass it as a send's `Timeout` (Vista and later may reject
/// `0xFFFFFFFF` with `ERROR_INVALID_PARAMETER`), and bound your own waits
/// anyway: the request's timeout completes it.
pub const INFINITE: u32 = 0xFFFF_FFFF;

/// `WAIT_FAILED` (`0xFFFFFFFF`): a wait function failed (e.g. an invalid
/// handle); the error is in `GetLastError`.
///
/// Microsoft Learn: [WaitForSingleObjectEx function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-waitforsingleobjectex).
///
/// Pitfall: the same value as [`INFINITE`], in the other direction: a
/// result, never a timeout to pass.
pub const WAIT_FAILED: u32 = 0xFFFF_FFFF;

/// `WAIT_ABANDONED_0` (`0x80`): the wait ended because the thread that
/// owned the awaited mutex object exited without releasing it.
///
/// Microsoft Learn: [WaitForSingleObjectEx function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-waitforsingleobjectex).
///
/// Pitfall: only mutex objects are abandoned; an event wait (the only
/// object of this crate) never returns it.
pub const WAIT_ABANDONED_0: u32 = 0x80;

/// `WAIT_ABANDONED` (`0x80`): the name `WaitForSingleObject(Ex)` documents
/// for [`WAIT_ABANDONED_0`].
///
/// Microsoft Learn: [WaitForSingleObjectEx function (synchapi.h)](https://learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-waitforsingleobjectex).
pub const WAIT_ABANDONED: u32 = WAIT_ABANDONED_0;
