//! The compile-time comparison engine shared by the bindgen check
//! (`src/verify.rs`) and the peer check (`tests/peers.rs`, which includes
//! this file with `#[path]`).
//!
//! A check fills an [`Obs`] list — one observation per aspect of an item
//! (`size`, `align`, `offset F`, `type F`, `value`, `param N`, `present`):
//! our value and the source's — then [`check`] asserts, in a `const`, that
//! every observation agrees unless the source's list of known defects
//! (`defects.rs`) names it with exactly the source's value, and that every
//! listed defect was observed and still holds.
//!
//! Types are compared by [`Kind::CODE`]: an integer encoding the kind
//! (unsigned, signed, pointer and pointee, function pointer and its
//! parameters, aggregate), size and alignment.
//!
//! What is compared is ONE item table, the macros at the end of this file
//! (`structure!`, `types!`, `functions!`, `values!` and the constant lists):
//! each source names the module its items are in and, where its Rust
//! spelling differs, the mapping (the name of an anonymous union).
#![allow(dead_code)]

use core::ffi::c_void;

/// One compared aspect of one item: ours (the crate's) and theirs (the
/// source's).
#[derive(Clone, Copy)]
pub struct Ob {
    /// Item name (the SDK's).
    pub item: &'static str,
    /// Aspect: `size`, `align`, `offset F`, `type F`, `value`, `param N`, ...
    pub what: &'static str,
    /// The crate's value.
    pub ours: i128,
    /// The source's value.
    pub theirs: i128,
}

/// A known defect of a source: on targets where `when` holds, the source's
/// value of `item`/`what` is `theirs` (and differs from the SDK's).
#[derive(Clone, Copy)]
pub struct Defect {
    /// Item name.
    pub item: &'static str,
    /// Aspect, as in [`Ob::what`].
    pub what: &'static str,
    /// Whether the defect applies to the target being checked.
    pub when: bool,
    /// The source's (wrong) value.
    pub theirs: i128,
    /// Why it is wrong, for the reader.
    pub why: &'static str,
}

const CAP: usize = 1024;

/// A fixed-capacity list of observations, filled in a `const` block.
pub struct Obs {
    list: [Ob; CAP],
    len: usize,
}

impl Obs {
    /// An empty list.
    pub const fn new() -> Self {
        Obs {
            list: [Ob {
                item: "",
                what: "",
                ours: 0,
                theirs: 0,
            }; CAP],
            len: 0,
        }
    }
    /// Adds one observation.
    pub const fn add(&mut self, item: &'static str, what: &'static str, ours: i128, theirs: i128) {
        assert!(self.len < CAP, "observation list full");
        self.list[self.len] = Ob {
            item,
            what,
            ours,
            theirs,
        };
        self.len += 1;
    }
    /// Adds the size, alignment and type code of a type.
    pub const fn ty<A: Kind, B: Kind>(&mut self, item: &'static str) {
        self.add(item, "size", size_of::<A>() as i128, size_of::<B>() as i128);
        self.add(
            item,
            "align",
            align_of::<A>() as i128,
            align_of::<B>() as i128,
        );
        self.add(item, "type", A::CODE, B::CODE);
    }
    /// Adds a function signature (see [`Sig`]).
    pub const fn sig(&mut self, item: &'static str, ours: Sig, theirs: Sig) {
        self.add(item, "arity", ours.0 as i128, theirs.0 as i128);
        self.add(item, "return", ours.1, theirs.1);
        let mut i = 0;
        while i < 12 {
            self.add(item, PARAM[i], ours.2[i], theirs.2[i]);
            i += 1;
        }
    }
    /// The observations.
    pub const fn as_slice(&self) -> &[Ob] {
        self.list.split_at(self.len).0
    }
    /// Whether some observation is about `item`.
    pub const fn observes(&self, item: &str) -> bool {
        let mut i = 0;
        while i < self.len {
            if eq(self.list[i].item, item) {
                return true;
            }
            i += 1;
        }
        false
    }
}

/// The aspect names of the parameters, `param 1` to `param 12`.
pub const PARAM: [&str; 12] = [
    "param 1", "param 2", "param 3", "param 4", "param 5", "param 6", "param 7", "param 8",
    "param 9", "param 10", "param 11", "param 12",
];

/// Const string equality.
pub const fn eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `list` contains `name`.
pub const fn contains(list: &[&str], name: &str) -> bool {
    let mut i = 0;
    while i < list.len() {
        if eq(list[i], name) {
            return true;
        }
        i += 1;
    }
    false
}

/// A panic message built at compile time.
pub struct Msg {
    buf: [u8; 256],
    len: usize,
}

impl Msg {
    /// An empty message.
    pub const fn new() -> Self {
        Msg {
            buf: [0; 256],
            len: 0,
        }
    }
    /// Appends a string (truncated at 256 bytes).
    pub const fn s(mut self, s: &str) -> Self {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() && self.len < self.buf.len() {
            self.buf[self.len] = b[i];
            self.len += 1;
            i += 1;
        }
        self
    }
    /// Appends a number.
    pub const fn n(mut self, v: i128) -> Self {
        if v < 0 {
            self = self.s("-");
        }
        let mut u = v.unsigned_abs();
        let mut digits = [0u8; 40];
        let mut k = 0;
        loop {
            digits[k] = b'0' + (u % 10) as u8;
            k += 1;
            u /= 10;
            if u == 0 {
                break;
            }
        }
        while k > 0 && self.len < self.buf.len() {
            k -= 1;
            self.buf[self.len] = digits[k];
            self.len += 1;
        }
        self
    }
    /// Panics with the message.
    pub const fn fail(&self) -> ! {
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => panic!("{}", s),
            Err(_) => panic!("verify: message is not UTF-8"),
        }
    }
}

/// The comparison: every observation agrees with ours unless `defects`
/// lists it (then the source must still have exactly the listed value), and
/// every defect that applies to this target was observed.
pub const fn check(source: &str, defects: &[Defect], obs: &Obs) {
    let obs = obs.as_slice();
    let mut i = 0;
    while i < obs.len() {
        let o = obs[i];
        let mut listed = None;
        let mut d = 0;
        while d < defects.len() {
            if defects[d].when && eq(defects[d].item, o.item) && eq(defects[d].what, o.what) {
                listed = Some(defects[d]);
            }
            d += 1;
        }
        match listed {
            None if o.ours != o.theirs => Msg::new()
                .s(source)
                .s(" disagrees and it is not a listed defect: ")
                .s(o.item)
                .s(" ")
                .s(o.what)
                .s(": ours ")
                .n(o.ours)
                .s(", theirs ")
                .n(o.theirs)
                .fail(),
            Some(def) if def.theirs != o.theirs || o.ours == o.theirs => Msg::new()
                .s(source)
                .s(": listed defect no longer holds (fixed upstream? update defects.rs): ")
                .s(o.item)
                .s(" ")
                .s(o.what)
                .s(": listed ")
                .n(def.theirs)
                .s(", theirs now ")
                .n(o.theirs)
                .s(", ours ")
                .n(o.ours)
                .fail(),
            _ => {}
        }
        i += 1;
    }
    let mut d = 0;
    while d < defects.len() {
        let def = defects[d];
        let mut seen = !def.when;
        let mut i = 0;
        while i < obs.len() {
            seen |= eq(obs[i].item, def.item) && eq(obs[i].what, def.what);
            i += 1;
        }
        if !seen {
            Msg::new()
                .s(source)
                .s(": listed defect was not observed (stale entry?): ")
                .s(def.item)
                .s(" ")
                .s(def.what)
                .fail();
        }
        d += 1;
    }
}

/// A type code: kind, size, alignment, and for pointers and function
/// pointers the codes of what they point to.
pub trait Kind {
    /// The code.
    const CODE: i128;
}

/// Combines two codes into one (order matters).
pub const fn mix(a: i128, b: i128) -> i128 {
    (a.wrapping_mul(1_000_003) ^ b) % 1_000_000_000_000_000_000_000_000
}

macro_rules! kind_int {
    ($($t:ty => $k:literal),*) => {$(
        impl Kind for $t {
            const CODE: i128 = $k * 1000 + size_of::<$t>() as i128;
        }
    )*};
}
kind_int!(u8 => 1, u16 => 1, u32 => 1, u64 => 1, usize => 1, i8 => 2, i16 => 2, i32 => 2, i64 => 2, isize => 2);

impl Kind for c_void {
    const CODE: i128 = 7000;
}
/// The code of a pointer to a type of code `pointee` (`*mut` = `*const`).
pub const fn pointer_code(pointee: i128) -> i128 {
    mix(3, pointee)
}
impl<T: Kind> Kind for *mut T {
    const CODE: i128 = pointer_code(T::CODE);
}
impl<T: Kind> Kind for *const T {
    const CODE: i128 = pointer_code(T::CODE);
}
impl<T: Kind, const N: usize> Kind for [T; N] {
    const CODE: i128 = mix(mix(6, N as i128), T::CODE);
}
impl<A: Kind, B: Kind, C: Kind> Kind for Option<unsafe extern "system" fn(A, B, C)> {
    const CODE: i128 = mix(mix(mix(4, A::CODE), B::CODE), C::CODE);
}

/// Code of an aggregate (struct or union): kind 5, alignment, size.
pub const fn aggregate<T>() -> i128 {
    5_000_000 + align_of::<T>() as i128 * 1000 + size_of::<T>() as i128
}

/// Implements [`Kind`] for structs and unions by their size and alignment;
/// fields are compared one by one. `Kind` and `aggregate` must be in scope.
macro_rules! kind_aggregate {
    ($($t:ty),* $(,)?) => {$(
        impl Kind for $t {
            const CODE: i128 = aggregate::<$t>();
        }
    )*};
}
pub(crate) use kind_aggregate;

/// Compares a type (size, alignment, code) and the listed fields (offset and
/// type code), each given as `"name" = our.path / their.path`. `field` and
/// `offset_of` must be in scope.
macro_rules! strukt {
    ($l:ident, $name:expr, $ours:ty, $theirs:ty $(, $f:literal = $($o:ident).+ / $($t:ident).+)* $(,)?) => {
        $l.ty::<$ours, $theirs>($name);
        $(
            $l.add(
                $name,
                concat!("offset ", $f),
                offset_of!($ours, $($o).+) as i128,
                offset_of!($theirs, $($t).+) as i128,
            );
            $l.add(
                $name,
                concat!("type ", $f),
                field::<$ours, _>(|p| unsafe { &raw const (*p).$($o).+ }),
                field::<$theirs, _>(|p| unsafe { &raw const (*p).$($t).+ }),
            );
        )*
    };
}
pub(crate) use strukt;

/// The code of field `F` of `T`, given `|p| &raw const (*p).field`.
pub const fn field<T, F: Kind>(_: fn(*const T) -> *const F) -> i128 {
    F::CODE
}

/// A function signature: arity, return code, parameter codes (0 = none).
pub type Sig = (usize, i128, [i128; 12]);

/// Signatures of `unsafe extern "system" fn`s by arity: passing a function
/// item coerces it, and a function of another ABI does not compile.
macro_rules! sig_fns {
    ($($name:ident($($p:ident),*) [$n:literal]);* $(;)?) => {$(
        /// The [`Sig`] of an `unsafe extern "system" fn` of this arity.
        #[allow(non_snake_case, unused_mut, unused_variables, unused_assignments)]
        pub const fn $name<$($p: Kind,)* R: Kind>(_: unsafe extern "system" fn($($p),*) -> R) -> Sig {
            let mut p = [0i128; 12];
            let mut i = 0;
            $( p[i] = $p::CODE; i += 1; )*
            ($n, R::CODE, p)
        }
    )*};
}
sig_fns! {
    sig0() [0];
    sig1(A1) [1];
    sig2(A1, A2) [2];
    sig8(A1, A2, A3, A4, A5, A6, A7, A8) [8];
    sig11(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11) [11];
    sig12(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12) [12];
}

// The item tables: what is compared, by the SDK's names, ONE table for every
// source (the bindgen check and each peer). A source passes the module its
// items are in (`$p`) and, where its Rust spelling differs, the mapping (the
// name of an anonymous union). `ours::` resolves at the call site: a module
// `ours` must be in scope re-exporting the crate root and, on 64-bit targets,
// `ipexport::wow64` (where the `*32` structures live, kept out of the root),
// with `field` and `offset_of` for `strukt!`.

/// The layout types compared by size, alignment and [`Kind::CODE`]:
/// `types!(l, p; A, B)` compares `ours::A` with `p::A`, and so on.
macro_rules! types {
    ($l:ident, $p:ident; $($t:ident),* $(,)?) => {$(
        $l.ty::<ours::$t, $p::$t>(stringify!($t));
    )*};
}
pub(crate) use types;

/// The structures and their compared fields: `structure!(l, p::NAME)`
/// compares `ours::NAME` with `p::NAME`; a `*32` structure has the fields of
/// its twin. `IO_STATUS_BLOCK` and `SOCKADDR_IN6` take the source's name of
/// their anonymous union: `structure!(l, p::NAME, anonymous = NAME)`
/// (`SOCKADDR_IN6` without it: a direct `sin6_scope_id`, as the crate's).
macro_rules! structure {
    ($l:ident, $p:ident::IP_OPTION_INFORMATION) => {
        structure!(@ip_option_information $l, $p::IP_OPTION_INFORMATION)
    };
    ($l:ident, $p:ident::IP_OPTION_INFORMATION32) => {
        structure!(@ip_option_information $l, $p::IP_OPTION_INFORMATION32)
    };
    (@ip_option_information $l:ident, $p:ident::$s:ident) => {
        strukt!(
            $l,
            stringify!($s),
            ours::$s,
            $p::$s,
            "Ttl" = Ttl / Ttl,
            "Tos" = Tos / Tos,
            "Flags" = Flags / Flags,
            "OptionsSize" = OptionsSize / OptionsSize,
            "OptionsData" = OptionsData / OptionsData
        )
    };
    ($l:ident, $p:ident::ICMP_ECHO_REPLY) => {
        structure!(@icmp_echo_reply $l, $p::ICMP_ECHO_REPLY)
    };
    ($l:ident, $p:ident::ICMP_ECHO_REPLY32) => {
        structure!(@icmp_echo_reply $l, $p::ICMP_ECHO_REPLY32)
    };
    (@icmp_echo_reply $l:ident, $p:ident::$s:ident) => {
        strukt!(
            $l,
            stringify!($s),
            ours::$s,
            $p::$s,
            "Address" = Address / Address,
            "Status" = Status / Status,
            "RoundTripTime" = RoundTripTime / RoundTripTime,
            "DataSize" = DataSize / DataSize,
            "Reserved" = Reserved / Reserved,
            "Data" = Data / Data,
            "Options" = Options / Options,
            "Options.OptionsData" = Options.OptionsData / Options.OptionsData
        )
    };
    ($l:ident, $p:ident::IPV6_ADDRESS_EX) => {
        strukt!(
            $l,
            "IPV6_ADDRESS_EX",
            ours::IPV6_ADDRESS_EX,
            $p::IPV6_ADDRESS_EX,
            "sin6_port" = sin6_port / sin6_port,
            "sin6_flowinfo" = sin6_flowinfo / sin6_flowinfo,
            "sin6_addr" = sin6_addr / sin6_addr,
            "sin6_scope_id" = sin6_scope_id / sin6_scope_id
        )
    };
    ($l:ident, $p:ident::ICMPV6_ECHO_REPLY_LH) => {
        strukt!(
            $l,
            "ICMPV6_ECHO_REPLY_LH",
            ours::ICMPV6_ECHO_REPLY_LH,
            $p::ICMPV6_ECHO_REPLY_LH,
            "Address" = Address / Address,
            "Status" = Status / Status,
            "RoundTripTime" = RoundTripTime / RoundTripTime
        )
    };
    ($l:ident, $p:ident::IO_STATUS_BLOCK, anonymous = $a:ident) => {
        strukt!(
            $l,
            "IO_STATUS_BLOCK",
            ours::IO_STATUS_BLOCK,
            $p::IO_STATUS_BLOCK,
            "Status" = Anonymous.Status / $a.Status,
            "Pointer" = Anonymous.Pointer / $a.Pointer,
            "Information" = Information / Information
        )
    };
    ($l:ident, $p:ident::IN6_ADDR) => {
        strukt!(
            $l,
            "IN6_ADDR",
            ours::IN6_ADDR,
            $p::IN6_ADDR,
            "Byte" = u.Byte / u.Byte,
            "Word" = u.Word / u.Word
        )
    };
    ($l:ident, $p:ident::SOCKADDR_IN6, anonymous = $a:ident) => {
        structure!(@sockaddr_in6 $l, $p, $a.sin6_scope_id)
    };
    // A source whose sin6_scope_id is a direct field (the crate itself).
    ($l:ident, $p:ident::SOCKADDR_IN6) => {
        structure!(@sockaddr_in6 $l, $p, sin6_scope_id)
    };
    (@sockaddr_in6 $l:ident, $p:ident, $($scope:ident).+) => {
        strukt!(
            $l,
            "SOCKADDR_IN6",
            ours::SOCKADDR_IN6,
            $p::SOCKADDR_IN6,
            "sin6_family" = sin6_family / sin6_family,
            "sin6_port" = sin6_port / sin6_port,
            "sin6_flowinfo" = sin6_flowinfo / sin6_flowinfo,
            "sin6_addr" = sin6_addr / sin6_addr,
            "sin6_scope_id" = sin6_scope_id / $($scope).+
        )
    };
}
pub(crate) use structure;

/// The crate's structures and unions, with [`Kind`] by
/// [`kind_aggregate!`] (`Kind` and `aggregate` must be in scope).
macro_rules! kind_aggregate_ours {
    () => {
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
        );
        #[cfg(target_pointer_width = "64")]
        kind_aggregate!(ours::IP_OPTION_INFORMATION32, ours::ICMP_ECHO_REPLY32);
    };
}
pub(crate) use kind_aggregate_ours;

/// The functions' signatures (arity, ABI, return and parameter types):
/// `functions!(l, p)` compares all nine with `p`'s; a source that may lack
/// `IcmpSendEcho2Ex` passes the condition:
/// `functions!(l, p, #[cfg(...)] IcmpSendEcho2Ex)`.
macro_rules! functions {
    ($l:ident, $p:ident $(, #[$ex:meta] IcmpSendEcho2Ex)?) => {
        functions!(@sig $l, $p; IcmpCreateFile: sig0, Icmp6CreateFile: sig0,
            IcmpCloseHandle: sig1, IcmpSendEcho: sig8, IcmpSendEcho2: sig11,
            Icmp6SendEcho2: sig12, IcmpParseReplies: sig2, Icmp6ParseReplies: sig2);
        $(#[$ex])?
        functions!(@sig $l, $p; IcmpSendEcho2Ex: sig12);
    };
    (@sig $l:ident, $p:ident; $($f:ident: $sig:ident),*) => {$(
        $l.sig(stringify!($f), $sig(ours::$f), $sig($p::$f));
    )*};
}
pub(crate) use functions;

/// Compares constant values, `ours::NAME` with `p::NAME`: `values!(l, p;
/// NAME, ...)`.
macro_rules! values {
    ($l:ident, $p:ident; $($name:ident),* $(,)?) => {$(
        $l.add(stringify!($name), "value", ours::$name as i128, $p::$name as i128);
    )*};
}
pub(crate) use values;

/// The IP_STATUS codes, `IP_STATUS_BASE` to `MAX_IP_STATUS`, handed to a
/// comparison: `ip_status_codes!(m!(args;))` is `m!(args; IP_STATUS_BASE, ...)`.
macro_rules! ip_status_codes {
    ($m:ident!($($a:tt)*)) => {
        $m!($($a)* IP_STATUS_BASE, IP_SUCCESS, IP_BUF_TOO_SMALL, IP_DEST_NET_UNREACHABLE,
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
            IP_GENERAL_FAILURE, IP_PENDING, MAX_IP_STATUS)
    };
}
pub(crate) use ip_status_codes;

/// The IP option codes `IP_OPT_*`, handed on as by [`ip_status_codes!`].
macro_rules! ip_opt_codes {
    ($m:ident!($($a:tt)*)) => {
        $m!($($a)* IP_OPT_EOL, IP_OPT_NOP, IP_OPT_RR, IP_OPT_TS, IP_OPT_SECURITY,
            IP_OPT_LSRR, IP_OPT_SID, IP_OPT_SSRR, IP_OPT_ROUTER_ALERT)
    };
}
pub(crate) use ip_opt_codes;

/// The Win32 error codes the API documents or its callers use, handed on as by
/// [`ip_status_codes!`].
macro_rules! error_codes {
    ($m:ident!($($a:tt)*)) => {
        $m!($($a)* ERROR_SUCCESS, ERROR_TOO_MANY_OPEN_FILES, ERROR_ACCESS_DENIED, ERROR_INVALID_HANDLE,
            ERROR_NOT_ENOUGH_MEMORY, ERROR_GEN_FAILURE, ERROR_NOT_SUPPORTED,
            ERROR_INVALID_PARAMETER, ERROR_CALL_NOT_IMPLEMENTED, ERROR_INSUFFICIENT_BUFFER,
            ERROR_IO_PENDING, ERROR_INVALID_NETNAME, ERROR_NETWORK_UNREACHABLE,
            ERROR_HOST_UNREACHABLE, ERROR_PROTOCOL_UNREACHABLE, ERROR_PORT_UNREACHABLE)
    };
}
pub(crate) use error_codes;
