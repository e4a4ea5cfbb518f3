//! The tests' ICMP handle: a [`helper::IcmpHandle`] whose close is checked.
//!
//! The behaviour suite (`tests/echo.rs`) and the Unix backend's tests
//! (`tests/unix_echo.rs`) open every handle through the crate's public owned
//! handle, so `open_v4`/`open_v6`, `from_raw`, `as_raw`, `into_raw` and its
//! `Send + Sync` (the threads of `concurrent_echoes_on_one_handle`) are
//! exercised by every test. `IcmpHandle`'s own drop cannot report a failed
//! close, so on drop this one takes the raw handle back with `into_raw` and
//! closes it itself, asserting that `IcmpCloseHandle` returned TRUE.

use core::mem::ManuallyDrop;
use core::ops::Deref;
use icmp_sys::helper::{IcmpHandle, last_error};
use icmp_sys::{HANDLE, IcmpCloseHandle};

/// An open ICMP handle, closed (and the close asserted) on drop; derefs to
/// the [`IcmpHandle`] (`.as_raw()` is what the send functions take).
#[derive(Debug)]
pub struct Icmp(ManuallyDrop<IcmpHandle>);

impl Icmp {
    /// `IcmpCreateFile`, or a panic with the Win32 error.
    pub fn open() -> Self {
        let h =
            IcmpHandle::open_v4().unwrap_or_else(|e| panic!("IcmpCreateFile failed: error {e}"));
        Self(ManuallyDrop::new(h))
    }

    /// `Icmp6CreateFile`: the handle, or the Win32 error (no IPv6 is a
    /// skip or an asserted difference for the callers, not a panic).
    pub fn open_v6() -> Result<Self, u32> {
        IcmpHandle::open_v6().map(|h| Self(ManuallyDrop::new(h)))
    }

    /// Takes ownership of a raw handle (e.g. `icmp_sys::unix::create_handle`'s),
    /// asserting it is neither null nor `INVALID_HANDLE_VALUE`.
    ///
    /// # Safety
    /// As [`IcmpHandle::from_raw`]: an open handle that nothing else closes.
    pub unsafe fn from_raw(raw: HANDLE) -> Self {
        assert!(
            raw != icmp_sys::INVALID_HANDLE_VALUE && !raw.is_null(),
            "not a handle: {raw:?}"
        );
        // SAFETY: the caller's contract.
        Self(ManuallyDrop::new(unsafe { IcmpHandle::from_raw(raw) }))
    }
}

impl Deref for Icmp {
    type Target = IcmpHandle;

    fn deref(&self) -> &IcmpHandle {
        &self.0
    }
}

impl Drop for Icmp {
    fn drop(&mut self) {
        // SAFETY: `self.0` is taken once, here, and never used again.
        let raw = unsafe { ManuallyDrop::take(&mut self.0) }.into_raw();
        // SAFETY: a valid handle owned by `self`, closed once.
        let ok = unsafe { IcmpCloseHandle(raw) };
        if !std::thread::panicking() {
            assert_eq!(ok, 1, "IcmpCloseHandle failed: error {}", last_error());
        }
    }
}
