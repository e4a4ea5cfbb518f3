//! Raw FFI bindings to the Windows ICMP Helper API — `icmpapi.h` and
//! `ipexport.h`, exported by `iphlpapi.dll` — with the SDK's names, widths
//! and layouts, proven at compile time for x86, x86_64 and aarch64.
//!
//! - [`ipexport`]: every ICMP type and constant of `ipexport.h`, plus the few
//!   outside types the signatures need.
//! - [`icmpapi`]: the nine functions, `unsafe extern "system"`.
//! - [`helper`]: safe reply-buffer sizing, alignment and bounds-checked
//!   reading, status names, an owned handle, `core::net` conversions;
//!   `Event` and `sleep_alertable`, the two things an asynchronous send
//!   needs around it, on every OS.
//!
//! - `unix` (Linux, macOS, FreeBSD): the crate's own implementation of the
//!   nine functions over kernel ICMP sockets, with the Windows contract; the
//!   functions in `icmpapi` are the same names there.
//!
//! Everything is also re-exported at the crate root, as in the C headers,
//! except the WOW64 `*32` structures, which stay in `ipexport::wow64` so that
//! they cannot be mistaken for the native ones.
//! See the README for the pitfalls of this API. Every public item of
//! [`ipexport`], [`icmpapi`] and [`helper`] names its Microsoft Learn page
//! (title and link), or says `No Microsoft Learn page:` and why; every struct,
//! union and function of the API also names its pitfall (`Pitfall:`).
//! `tests/docs.rs` checks both.
#![no_std]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// docs.rs badges. `icmp_api` is the build script's name for "Windows, Linux,
// macOS or FreeBSD": items gated on it carry that list explicitly below
// (`tests/docs.rs` checks it against build.rs). `unix` is hidden too: the
// nine functions of `icmpapi` come from the `unix` module on Unix, and would
// otherwise be badged "Unix" although every listed OS has them; the `unix`
// module's own items carry their OS list explicitly.
#![cfg_attr(docsrs, doc(auto_cfg(hide(icmp_api, unix))))]

#[cfg(feature = "alloc")]
extern crate alloc;
// Unit tests may print and read the environment (the skip rule); the
// `std` feature adds the standard handle/descriptor traits of
// `helper::Event` (`AsFd`/`AsRawFd`, `AsHandle`/`AsRawHandle`), which `core`
// lacks.
#[cfg(any(test, feature = "std"))]
extern crate std;

mod layout;

/// The README's code blocks, compiled by `cargo test --doc` so they cannot rot.
#[cfg(all(doctest, icmp_api))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
#[cfg(all(feature = "bindgen", windows))]
mod verify;

pub mod helper;
#[cfg(icmp_api)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        windows,
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))
)]
pub mod icmpapi;
pub mod ipexport;

#[cfg(icmp_api)]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        windows,
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))
)]
pub use icmpapi::*;
#[cfg(all(icmp_api, unix))]
pub mod unix;
pub use ipexport::*;
