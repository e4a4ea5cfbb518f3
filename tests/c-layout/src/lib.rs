//! The C compiler's view of the headers, compared with the crate on the
//! target (issue 9). `probe.c`, compiled by the target's mingw-w64 compiler,
//! holds rows computed by that compiler (sizeof, _Alignof, offsetof, type
//! classes, constants, documented prototypes asserted against the headers);
//! the test reads them at run time (under Wine for the `*-windows-gnu`
//! targets: `.ci/wine`) and compares them with the crate's items through the
//! ONE item table of `src/verify/check.rs` (the same macros as the bindgen
//! check and the peer check), allowing only the mingw-w64 defects of the ONE
//! list `src/verify/defects.rs`, each asserted to still hold.
//!
//! Independent of bindgen: no clang, the compiler that builds C programs
//! for the target does the arithmetic.
#![cfg(windows)]
#![allow(dead_code, non_camel_case_types, clippy::all)]

#[path = "../../../src/verify/check.rs"]
mod check;
#[path = "../../../src/verify/defects.rs"]
mod defects;

use check::{Kind, Obs, Sig, aggregate, field, kind_aggregate, kind_aggregate_ours};
use check::{
    error_codes, functions, ip_opt_codes, ip_status_codes, structure, strukt, types, values,
};
use check::{sig0, sig1, sig2, sig8, sig11, sig12};
use core::ffi::{CStr, c_char};
use core::mem::offset_of;

/// The crate's items, as the item table names them (`ours::NAME`): the root,
/// plus the `*32` structures, which live apart in `ipexport::wow64`.
mod ours {
    #[cfg(target_pointer_width = "64")]
    pub use icmp_sys::ipexport::wow64::*;
    pub use icmp_sys::*;
}

kind_aggregate_ours!();

/// `struct probe_type` of probe.c.
#[repr(C)]
struct ProbeType {
    kind: i32,
    is_signed: i32,
    size: u32,
    align: u32,
    count: u32,
    elem: *const ProbeType,
    nparams: u32,
    params: [*const ProbeType; 3],
}

/// `struct probe_row` of probe.c.
#[repr(C)]
struct ProbeRow {
    item: *const c_char,
    what: *const c_char,
    value: i64,
    ty: *const ProbeType,
}

unsafe extern "C" {
    static icmp_sys_probe_rows: [ProbeRow; 0];
    static icmp_sys_probe_count: u32;
}

/// The [`Kind::CODE`] of a type the C compiler described (the same
/// encoding: kind, signedness, size, alignment, element, parameters); -1
/// where the compiler's class was not the one probe.c names.
fn code(t: &ProbeType) -> i128 {
    // SAFETY: probe.c's descriptors point to static descriptors.
    let elem = || code(unsafe { &*t.elem });
    match t.kind {
        1 => (if t.is_signed != 0 { 2 } else { 1 }) * 1000 + t.size as i128,
        3 => check::pointer_code(elem()),
        4 => t.params[..t.nparams as usize]
            .iter()
            // SAFETY: as above.
            .fold(4, |acc, p| check::mix(acc, code(unsafe { &**p }))),
        5 => 5_000_000 + t.align as i128 * 1000 + t.size as i128,
        6 => check::mix(check::mix(6, t.count as i128), elem()),
        7 => 7000,
        _ => -1,
    }
}

/// probe.c's `ICMP_SYS_ABSENT`: the value of a constant the headers lack.
const ABSENT: i128 = 0x7fff_abcd;

/// The headers compared and their known defects (the one list).
#[cfg(c_headers = "mingw-w64")]
const SOURCE: (&str, &[check::Defect]) = (
    "the mingw-w64 C compiler over the mingw-w64 headers",
    defects::MINGW_W64,
);
#[cfg(c_headers = "wine")]
const SOURCE: (&str, &[check::Defect]) = (
    "the mingw-w64 C compiler over Wine 10's headers",
    defects::WINE_HEADERS,
);

/// The C rows, consumed by the item table's observations.
struct CView {
    rows: Vec<(String, String, i128, bool)>,
    obs: Obs,
    missing: Vec<String>,
}

impl CView {
    fn load() -> Self {
        // SAFETY: probe.c defines the array and its length.
        let rows = unsafe {
            core::slice::from_raw_parts(
                (&raw const icmp_sys_probe_rows).cast::<ProbeRow>(),
                icmp_sys_probe_count as usize,
            )
        };
        let rows = rows
            .iter()
            .map(|r| {
                // SAFETY: NUL-terminated string literals and static descriptors.
                let s = |p| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
                let v = if r.ty.is_null() {
                    r.value as i128
                } else {
                    code(unsafe { &*r.ty })
                };
                (s(r.item), s(r.what), v, false)
            })
            .collect();
        CView {
            rows,
            obs: Obs::new(),
            missing: Vec::new(),
        }
    }

    /// The C compiler's value of `item`/`what`, or `default` (then a
    /// missing row is recorded unless `default` is given).
    fn theirs(&mut self, item: &str, what: &str, default: Option<i128>) -> i128 {
        match self
            .rows
            .iter_mut()
            .find(|r| r.0 == item && r.1 == what && !r.3)
        {
            Some(r) => {
                r.3 = true;
                r.2
            }
            None => default.unwrap_or_else(|| {
                self.missing.push(format!("{item} {what}"));
                i128::MIN
            }),
        }
    }

    // The observation methods the item table calls (as on `Obs`), with the
    // source's value taken from the C rows instead of a Rust type.

    fn add(&mut self, item: &'static str, what: &'static str, ours: i128, _: i128) {
        let theirs = self.theirs(item, what, None);
        if what == "value" && theirs == ABSENT {
            // A constant the headers do not define (probe.c's absent.h).
            self.obs.add(item, "present", 1, 0);
        } else {
            self.obs.add(item, what, ours, theirs);
        }
    }

    fn ty<A: Kind, B>(&mut self, item: &'static str) {
        self.add(item, "size", size_of::<A>() as i128, 0);
        self.add(item, "align", align_of::<A>() as i128, 0);
        self.add(item, "type", A::CODE, 0);
    }

    fn sig(&mut self, item: &'static str, ours: Sig, _: Sig) {
        self.add(item, "arity", ours.0 as i128, 0);
        self.add(item, "return", ours.1, 0);
        for (i, what) in check::PARAM.iter().enumerate() {
            let theirs = self.theirs(item, what, Some(0));
            self.obs.add(item, what, ours.2[i], theirs);
        }
    }

    fn present(&mut self, item: &'static str, ours: bool) {
        self.add(item, "present", ours as i128, 0);
    }
}

/// The comparison: every item of the table, as verify.rs lists them for
/// bindgen, with the C compiler's values.
fn observe() -> CView {
    let mut c = CView::load();
    let l = &mut c;
    types!(l, ours; IPAddr, IPMask, IP_STATUS, HANDLE, NTSTATUS, ADDRESS_FAMILY);

    structure!(l, ours::IP_OPTION_INFORMATION);
    structure!(l, ours::ICMP_ECHO_REPLY);
    types!(l, ours; PIP_OPTION_INFORMATION, PICMP_ECHO_REPLY);

    let w64 = cfg!(target_pointer_width = "64");
    l.present("IP_OPTION_INFORMATION32", w64);
    l.present("PIP_OPTION_INFORMATION32", w64);
    l.present("ICMP_ECHO_REPLY32", w64);
    l.present("PICMP_ECHO_REPLY32", w64);
    #[cfg(all(target_pointer_width = "64", c_has = "IP_OPTION_INFORMATION32"))]
    {
        structure!(l, ours::IP_OPTION_INFORMATION32);
        structure!(l, ours::ICMP_ECHO_REPLY32);
        types!(l, ours; PIP_OPTION_INFORMATION32, PICMP_ECHO_REPLY32);
    }

    l.present("IPV6_ADDRESS_EX", true);
    l.present("PIPV6_ADDRESS_EX", true);
    #[cfg(c_has = "IPV6_ADDRESS_EX")]
    {
        structure!(l, ours::IPV6_ADDRESS_EX);
        types!(l, ours; PIPV6_ADDRESS_EX);
    }

    l.present("ICMPV6_ECHO_REPLY_LH", true);
    l.present("ICMPV6_ECHO_REPLY", true);
    l.present("PICMPV6_ECHO_REPLY_LH", true);
    l.present("PICMPV6_ECHO_REPLY", true);
    #[cfg(c_has = "ICMPV6_ECHO_REPLY_LH")]
    {
        structure!(l, ours::ICMPV6_ECHO_REPLY_LH);
        types!(l, ours; ICMPV6_ECHO_REPLY, PICMPV6_ECHO_REPLY_LH, PICMPV6_ECHO_REPLY);
    }

    structure!(l, ours::IO_STATUS_BLOCK, anonymous = Anonymous);
    types!(l, ours; PIO_STATUS_BLOCK, PIO_APC_ROUTINE);
    structure!(l, ours::IN6_ADDR);
    structure!(l, ours::SOCKADDR_IN6);
    types!(l, ours; PSOCKADDR_IN6);

    l.present("IcmpSendEcho2Ex", true);
    functions!(
        l,
        ours,
        #[cfg(c_has = "IcmpSendEcho2Ex")]
        IcmpSendEcho2Ex
    );

    ip_status_codes!(values!(l, ours;));
    ip_opt_codes!(values!(l, ours;));
    values!(l, ours; IP_FLAG_DF, MAX_OPT_SIZE);
    l.present("IP_FLAG_REVERSE", true);
    #[cfg(c_has = "IP_FLAG_REVERSE")]
    values!(l, ours; IP_FLAG_REVERSE);
    l.present("IP_NO_FURTHER_SENDS", false);
    error_codes!(values!(l, ours;));
    values!(l, ours; AF_INET6);
    c
}

#[test]
fn c_compiler_agrees_with_the_crate() {
    let c = observe();
    assert!(
        c.missing.is_empty(),
        "observations with no row in probe.c: {:?}",
        c.missing
    );
    let unused: Vec<String> = c
        .rows
        .iter()
        .filter(|r| !r.3)
        .map(|r| format!("{} {}", r.0, r.1))
        .collect();
    assert!(
        unused.is_empty(),
        "rows of probe.c the item table does not compare: {unused:?}"
    );
    let n = c.obs.as_slice().len();
    // Every disagreement, listed or not, for the reader (check() stops at
    // the first unlisted one).
    for o in c.obs.as_slice().iter().filter(|o| o.ours != o.theirs) {
        println!(
            "differs: {} {}: ours {}, C {}",
            o.item, o.what, o.ours, o.theirs
        );
    }
    check::check(SOURCE.0, SOURCE.1, &c.obs);
    println!(
        "{}: {n} observations from {} C rows agree ({} listed defects, each still holds)",
        SOURCE.0,
        c.rows.len(),
        SOURCE.1.iter().filter(|d| d.when).count()
    );
}
