//! Raw FFI bindings to the Windows ICMP Helper API — `icmpapi.h` and
//! `ipexport.h`, exported by `iphlpapi.dll` — with the SDK's names, widths
//! and layouts, proven at compile time for x86, x86_64 and aarch64.
//!
//! - [`ipexport`]: every ICMP type and constant of `ipexport.h`, plus the few
//!   outside types the signatures need.
//! - [`icmpapi`]: the nine functions, `unsafe extern "system"`.
//! - [`helper`]: safe reply-buffer sizing, alignment and bounds-checked
//!   reading, status names, an owned handle, `core::net` conversions.
//!
//! - `unix` (Linux, macOS, FreeBSD): the crate's own implementation of the
//!   nine functions over kernel ICMP sockets, with the Windows contract; the
//!   functions in `icmpapi` are the same names there.
//!
//! Everything is also re-exported at the crate root, as in the C headers,
//! except the WOW64 `*32` structures, which stay in `ipexport::wow64` so that
//! they cannot be mistaken for the native ones.
//! See the README for the pitfalls of this API; each item's documentation
//! names its Microsoft Learn page and its own pitfall.
#![no_std]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
// Unit tests may print and read the environment (the skip rule).
#[cfg(test)]
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
pub mod icmpapi;
pub mod ipexport;

#[cfg(icmp_api)]
pub use icmpapi::*;
#[cfg(all(icmp_api, unix))]
pub mod unix;
pub use ipexport::*;
