//! Shared pieces of the behaviour tests (`tests/echo.rs`) and of the Unix
//! backend's own tests (`tests/unix_echo.rs`): guarded reply buffers,
//! request payloads, the send wrappers, the namespace guard, the
//! [`Backend`] table of asserted differences and (on Windows) Wine
//! detection.
//!
//! Portable on purpose: only the Wine probe is Windows-only, so a native
//! (Unix) backend can run the same tests.
#![allow(dead_code)]

pub mod example;
pub mod handle;
#[cfg(target_os = "linux")]
pub mod observer;

use core::ffi::c_void;
use core::mem::size_of;
use core::net::Ipv4Addr;
use core::ptr;
use icmp_sys::helper::{self, Reply};
use icmp_sys::{
    HANDLE, ICMP_ECHO_REPLY, IP_OPTION_INFORMATION, IPAddr, Icmp6SendEcho2, IcmpSendEcho,
    SOCKADDR_IN6,
};

/// 127.0.0.1 as an `IPAddr`.
pub const LOOPBACK: u32 = helper::ipaddr(Ipv4Addr::LOCALHOST);

/// Bytes of guard pattern after the reply area.
pub const GUARD_LEN: usize = 64;
/// The guard pattern (and the initial content of the whole buffer).
pub const FILL: u8 = 0xA5;

/// A reply buffer of `reply_size` bytes, aligned for `ICMP_ECHO_REPLY`,
/// followed by [`GUARD_LEN`] guard bytes. The whole allocation starts filled
/// with [`FILL`], so "untouched" and "guard intact" can both be checked.
pub struct Guarded {
    words: Vec<u64>,
    reply_size: usize,
}

impl Guarded {
    /// A buffer whose reply area is `reply_size` bytes.
    pub fn new(reply_size: usize) -> Self {
        let total = reply_size + GUARD_LEN;
        let fill = u64::from_ne_bytes([FILL; 8]);
        Self {
            words: vec![fill; total.div_ceil(8)],
            reply_size,
        }
    }

    /// `ReplyBuffer` (null never: use `ptr::null_mut()` for that case).
    pub fn ptr(&mut self) -> *mut c_void {
        self.words.as_mut_ptr().cast()
    }

    /// `ReplySize`.
    pub fn size(&self) -> u32 {
        u32::try_from(self.reply_size).expect("ReplySize is a u32")
    }

    /// The whole allocation: reply area, guard, rounding.
    pub fn all(&self) -> &[u8] {
        // SAFETY: the Vec holds words.len() * 8 initialized bytes.
        unsafe { core::slice::from_raw_parts(self.words.as_ptr().cast(), self.words.len() * 8) }
    }

    /// The whole allocation, writable: to plant bytes a test needs (a
    /// stored count, a status).
    pub fn all_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `all`.
        unsafe {
            core::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast(), self.words.len() * 8)
        }
    }

    /// The reply area, for `helper::Replies`.
    pub fn reply_bytes(&self) -> &[u8] {
        &self.all()[..self.reply_size]
    }

    /// Panics unless every byte after the reply area still holds [`FILL`].
    #[track_caller]
    pub fn assert_guard_intact(&self) {
        let after = &self.all()[self.reply_size..];
        if let Some(i) = after.iter().position(|&b| b != FILL) {
            panic!(
                "guard byte {i} after the {}-byte reply area was overwritten (0x{:02x})",
                self.reply_size, after[i]
            );
        }
    }

    /// Panics unless the whole allocation still holds [`FILL`].
    #[track_caller]
    pub fn assert_untouched(&self) {
        if let Some(i) = self.all().iter().position(|&b| b != FILL) {
            panic!("byte {i} of the reply buffer was written; expected it untouched");
        }
    }

    /// The first reply, read with the helper (no count check).
    pub fn first_reply(&self) -> Reply<'_> {
        helper::Replies::new(self.reply_bytes(), 1)
            .expect("room for one reply")
            .get(0)
            .expect("one reply")
            .expect("reply pointers inside the buffer")
    }

    /// Offset of an absolute pointer the API stored, from the buffer start.
    pub fn offset_of(&self, p: *const c_void) -> isize {
        (p as isize).wrapping_sub(self.words.as_ptr() as isize)
    }
}

/// A request payload of `len` bytes, distinct for each `seed`.
pub fn payload(len: usize, seed: u32) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(31)
                .wrapping_add(seed.wrapping_mul(131)) as u8
        })
        .collect()
}

/// Sets the calling thread's last error (`SetLastError`; on Unix the
/// backend's store, `errno`).
pub fn set_last_error(code: u32) {
    #[cfg(windows)]
    // SAFETY: no preconditions.
    unsafe {
        windows_sys::Win32::Foundation::SetLastError(code)
    };
    #[cfg(target_os = "linux")]
    // SAFETY: the calling thread's errno location.
    unsafe {
        *libc::__errno_location() = code as i32
    };
    #[cfg(target_os = "android")]
    // SAFETY: as above.
    unsafe {
        *libc::__errno() = code as i32
    };
    #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
    // SAFETY: as above.
    unsafe {
        *libc::__error() = code as i32
    };
}

/// `IcmpSendEcho` into `buf`: the count and the last error, read right
/// after the call whatever the count (Windows defines it only for a count
/// of 0; Wine 8.0 and the Unix backend set 0 on success:
/// `last_error_after_successful_calls` in tests/echo.rs).
pub fn send_echo(
    h: HANDLE,
    dst: IPAddr,
    data: &[u8],
    opts: Option<&IP_OPTION_INFORMATION>,
    buf: &mut Guarded,
    timeout: u32,
) -> (u32, u32) {
    let size = u16::try_from(data.len()).expect("RequestSize is a u16");
    let opts = opts.map_or(ptr::null(), |o| o as *const IP_OPTION_INFORMATION);
    // SAFETY: data and buf outlive the synchronous call; sizes match.
    let n = unsafe {
        IcmpSendEcho(
            h,
            dst,
            data.as_ptr().cast(),
            size,
            opts,
            buf.ptr(),
            buf.size(),
            timeout,
        )
    };
    (n, helper::last_error())
}

/// `Icmp6SendEcho2` without event or APC into `buf`: the count and the last
/// error, read right after the call. `data` `None` passes a NULL
/// `RequestData` with `RequestSize` 0.
pub fn send6(
    h: HANDLE,
    src: &SOCKADDR_IN6,
    dst: &SOCKADDR_IN6,
    data: Option<&[u8]>,
    buf: &mut Guarded,
    timeout: u32,
) -> (u32, u32) {
    let (ptr, size) = match data {
        Some(d) => (
            d.as_ptr().cast(),
            u16::try_from(d.len()).expect("RequestSize is a u16"),
        ),
        None => (ptr::null(), 0),
    };
    // SAFETY: addresses, data and buf outlive the synchronous call; sizes
    // match.
    let n = unsafe {
        Icmp6SendEcho2(
            h,
            ptr::null_mut(),
            None,
            ptr::null(),
            src,
            dst,
            ptr,
            size,
            ptr::null(),
            buf.ptr(),
            buf.size(),
            timeout,
        )
    };
    (n, helper::last_error())
}

/// Checks one successful echo reply from `from` carrying `data`, and that
/// `Data` points inside the reply area, after the reply structure.
#[track_caller]
pub fn assert_echo_reply(buf: &Guarded, count: u32, from: Ipv4Addr, data: &[u8], timeout_ms: u32) {
    assert_eq!(count, 1, "one reply expected");
    let mut replies = helper::Replies::new(buf.reply_bytes(), count).expect("room for the replies");
    let r = replies
        .next()
        .expect("one reply")
        .expect("reply pointers inside the buffer");
    assert_eq!(
        r.status(),
        icmp_sys::IP_SUCCESS,
        "Status {} ({:?})",
        r.status(),
        helper::status_name(r.status())
    );
    assert_eq!(r.address(), from, "Address");
    assert_eq!(usize::from(r.raw.DataSize), data.len(), "DataSize");
    if r.data != data {
        let i = r
            .data
            .iter()
            .zip(data)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        // The 32 bytes from the first difference (the head alone would
        // hide what came instead).
        let from = |d: &[u8]| {
            d.iter()
                .skip(i)
                .take(32)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        panic!(
            "echoed bytes differ from the request ({} bytes) from byte {i}: got {}.., sent {}..",
            data.len(),
            from(r.data),
            from(data)
        );
    }
    if !data.is_empty() {
        let off = buf.offset_of(r.raw.Data);
        let end = off + data.len() as isize;
        assert!(
            off >= size_of::<ICMP_ECHO_REPLY>() as isize && end <= buf.size() as isize,
            "Data at offset {off} is not inside the {}-byte buffer after the reply",
            buf.size()
        );
    }
    assert!(
        r.round_trip_time() < timeout_ms,
        "RoundTripTime {} ms to loopback",
        r.round_trip_time()
    );
    buf.assert_guard_intact();
}

/// The environment variable that makes every skip a failure: `.ci/test`
/// sets it to `1` (CI's strict mode), so a test that cannot run fails
/// there instead of passing by printing `SKIPPED`.
pub const STRICT_VAR: &str = "ICMP_SYS_STRICT";

/// Whether this run is strict ([`STRICT_VAR`] = `1`).
pub fn strict() -> bool {
    std::env::var_os(STRICT_VAR).is_some_and(|v| v == "1")
}

/// A test that cannot run here: prints `SKIPPED <test>: <reason>` and
/// returns, so the caller returns; in strict mode ([`STRICT_VAR`]) it panics
/// instead, so CI never passes a test that did not run.
#[track_caller]
pub fn skip(test: &str, reason: &str) {
    assert!(
        !strict(),
        "{test} cannot run: {reason} ({STRICT_VAR}=1: nothing may be skipped; \
         CI must provide what the test needs)"
    );
    println!("SKIPPED {test}: {reason}");
}

/// Whether the process runs as root (Unix).
#[cfg(unix)]
pub fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// An [`in_netns`] setup that lets every group open ping sockets.
#[cfg(target_os = "linux")]
pub const PING_OK: &str = "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range";

/// Runs `f` on a thread that entered a new network namespace (loopback up,
/// then `setup` run by `sh -c`); `None` when not possible ([`skip`]: a
/// failure in strict mode). Setup needs root.
#[cfg(target_os = "linux")]
pub fn in_netns<R: Send + 'static>(
    what: &str,
    setup: &'static str,
    f: impl FnOnce() -> R + Send + 'static,
) -> Option<R> {
    if !is_root() {
        skip(what, "needs root for unshare(CLONE_NEWNET)");
        return None;
    }
    let r = std::thread::spawn(move || {
        // SAFETY: affects only this thread.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(format!(
                "unshare(CLONE_NEWNET): {}",
                std::io::Error::last_os_error()
            ));
        }
        let script = format!("set -e; ip link set lo up; {setup}");
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .status()
            .map_err(|e| e.to_string())?;
        if !st.success() {
            return Err(format!("setup failed: {script}"));
        }
        Ok(f())
    })
    .join()
    .expect("namespace thread panicked");
    match r {
        Ok(v) => Some(v),
        Err(e) if e.starts_with("unshare") || e.contains("No such file") => {
            skip(what, &e);
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// The environment variable `.ci/netns` (used natively and by
/// `.ci/wine netns`) sets to the namespace setup.
pub const NETNS_VAR: &str = "ICMP_SYS_NETNS";

/// Panics unless the harness runs this test inside its private network
/// namespace with `setup`, so a namespace test never passes vacuously.
#[track_caller]
pub fn require_netns(setup: &str) {
    match std::env::var(NETNS_VAR) {
        Ok(v) if v == setup => {}
        other => panic!(
            "this test needs the private network namespace '{setup}' of `.ci/netns` \
             (natively: `.ci/netns native`; under Wine: `.ci/wine netns`) \
             ({NETNS_VAR} = {other:?}); it is #[ignore]d for that reason"
        ),
    }
}

/// Which implementation of the API the behaviour suite runs against.
///
/// The suite asserts the same values on every backend wherever Windows
/// defines the behaviour. The legitimate differences are the methods below,
/// each asserted (never skipped):
///
/// | Case | Windows | Wine 8.0 | Wine 10.0 | Unix backend |
/// |---|---|---|---|---|
/// | `IcmpCloseHandle(NULL / INVALID_HANDLE_VALUE)` | FALSE + 6 | not called (crashes) | FALSE, last error untouched | FALSE + 6 |
/// | IPv6 (`Icmp6CreateFile`, `Icmp6SendEcho2` to ::1) | echo | 120 stubs | 120 stubs | echo |
/// | reply TTL of a loopback echo | non-zero | host default | host default | host default (Linux) |
/// | first 1400-byte echo over a 1280-MTU hop, `Flags` 0 | (no DF: fragmented) | 11009 (Linux PMTU sets DF) | 11009 | success (DF cleared) |
/// | then the same with `IP_FLAG_DF` | 11009 | success (flag ignored) | success | 11009 |
/// | `IcmpSendEcho2Ex` from 127.0.0.1 to an outside address | 11002 | success (source ignored) | success | 11002 (Linux `EINVAL`) |
/// | event-only async send completes | status block written | status block written into freed heap memory | same as 8.0 | status block written |
/// | event and APC together (`event_and_apc_runs_apc`) | event only | both | both | event only |
/// | non-local `IcmpSendEcho2Ex` source (`checks_source_address`) | 0 + 1214 | sent (ignored) | sent (ignored) | 0 + 1214 |
/// | async request after its thread exited (`completes_after_thread_exit`) | completes (11010) | event at once, buffer untouched | the same | completes (11010) |
///
/// Wine 10.0 runs x86_64 and i686 (`.ci/wine`, Debian 13 chroot); both
/// architectures behave the same in every case above.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Real Windows (`iphlpapi.dll`).
    Windows,
    /// Wine (this version), on Linux.
    Wine(String),
    /// The crate's own Unix backend (kernel ICMP sockets).
    Unix,
}

/// What an IPv6 echo to ::1 does on a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv6 {
    /// A real echo: one reply from ::1.
    Echo,
    /// Wine 8.0 and 10.0: `Icmp6CreateFile` gives `INVALID_HANDLE_VALUE`
    /// and `Icmp6SendEcho2` 0, both with this error; `Icmp6ParseReplies` is
    /// not exported.
    Stub(u32),
}

impl Backend {
    /// The backend of this test process. A Windows test binary under
    /// `.ci/wine`, which exports the Wine it meant to run (`ICMP_SYS_WINE`, 8
    /// or 10), panics unless that is the Wine running: a harness mix-up
    /// cannot pass as the other Wine's results.
    pub fn detect() -> Self {
        #[cfg(windows)]
        let backend = match wine_version() {
            Some(v) => Self::Wine(v),
            None => Self::Windows,
        };
        #[cfg(not(windows))]
        let backend = Self::Unix;
        // Only Windows test binaries are run by Wine (`.ci/wine cargo test`
        // without a Windows --target runs the host's natively).
        #[cfg(windows)]
        if let Ok(want) = std::env::var("ICMP_SYS_WINE") {
            assert_eq!(
                backend.wine_major().map(|m| m.to_string()),
                Some(want),
                "ICMP_SYS_WINE names the Wine .ci/wine meant to run; running: {backend:?}"
            );
        }
        backend
    }

    /// Wine's major version (`Wine("10.0")` is 10), `None` elsewhere.
    pub fn wine_major(&self) -> Option<u32> {
        match self {
            Self::Wine(v) => Some(
                v.split('.')
                    .next()
                    .and_then(|m| m.parse().ok())
                    .unwrap_or_else(|| panic!("Wine version {v:?}")),
            ),
            Self::Windows | Self::Unix => None,
        }
    }

    /// `IcmpCloseHandle(NULL / INVALID_HANDLE_VALUE)` after
    /// [`plant_last_error`]: (FALSE, `ERROR_INVALID_HANDLE`) on Windows and
    /// the Unix backend; (FALSE, [`UNTOUCHED_LAST_ERROR`]) on Wine 10, which
    /// fails without setting the last error; or `None` where the call must
    /// not be made (Wine 8.0 dereferences the handle: the process dies).
    pub fn close_invalid(&self) -> Option<(i32, u32)> {
        match self.wine_major() {
            Some(..9) => None,
            Some(_) => Some((0, UNTOUCHED_LAST_ERROR)),
            None => Some((0, icmp_sys::ERROR_INVALID_HANDLE)),
        }
    }

    /// What IPv6 does (reference §6.2 for Wine).
    pub fn ipv6(&self) -> Ipv6 {
        match self {
            Self::Windows | Self::Unix => Ipv6::Echo,
            Self::Wine(_) => Ipv6::Stub(icmp_sys::ERROR_CALL_NOT_IMPLEMENTED),
        }
    }

    /// The status of the first 1400-byte echo with `Flags` 0 over the
    /// router's 1280-byte hop. Wine ignores `IP_FLAG_DF` and Linux path-MTU
    /// discovery sets DF anyway, so the router answers "fragmentation
    /// needed"; the Unix backend clears DF unless `IP_FLAG_DF` is set, as
    /// Windows sends, so the echo is fragmented and answered.
    pub fn first_oversize_echo(&self) -> u32 {
        match self {
            Self::Wine(_) => icmp_sys::IP_PACKET_TOO_BIG,
            Self::Windows | Self::Unix => icmp_sys::IP_SUCCESS,
        }
    }

    /// Whether an event-only asynchronous `IcmpSendEcho2(Ex)` (an event, no
    /// APC) writes its `IO_STATUS_BLOCK` into freed heap memory when it
    /// completes. Wine 8.0 and 10.0 (`IcmpSendEcho2Ex` in their
    /// iphlpapi.dll, read in the binaries of both): the call allocates a
    /// 32-byte context from the process heap holding the status block at
    /// offset 16, passes that block to `NtDeviceIoControlFile`, and, when
    /// the request is pending with an event and no APC, frees the context
    /// before returning; the completion then writes `Status` and
    /// `Information` (16 bytes) into whatever now occupies that memory.
    /// With an APC the context lives until the APC runs (no fault); the
    /// synchronous path waits before freeing (no fault). Seen as a CI
    /// flake: a 32-byte `Vec` of a concurrent test got `00000000 xxxxxxxx
    /// 48000000 00000000` (status 0, Information 72 = this reply's length)
    /// in its bytes 16..32. Such sends run in a process of their own on
    /// these backends: [`run_alone_if_needed`].
    pub fn event_only_async_writes_freed_memory(&self) -> bool {
        matches!(self, Self::Wine(_))
    }

    /// Whether a callback of `RegisterWaitForSingleObject` can start after
    /// `UnregisterWaitEx(h, INVALID_HANDLE_VALUE)` returned, against the
    /// documented "waits for all callback functions to complete": Wine
    /// before 10.0 (Wine 8.0's `RtlDeregisterWaitEx` in
    /// dlls/ntdll/threadpool.c stops the wait and waits for the callbacks
    /// submitted so far before it detaches the wait from its wait-queue
    /// thread, and that thread, woken by the event just before, still
    /// submits the callback; Wine 10.0 drops it by a per-wait update
    /// serial). Rare (one late callback in about 3 000 set-racing drops on
    /// Wine 8.0 here), so only its absence is asserted, where it is
    /// absent. [`helper::RegisteredWait`]'s drop hides it on every backend
    /// (tests/helper.rs `register_wait_teardown_order_survives_set_racing_drop`).
    /// Wine 9 is not checked: treated as 8 (as the crate does).
    pub fn unregister_wait_may_return_before_a_callback(&self) -> bool {
        matches!(self.wine_major(), Some(..10))
    }

    /// The status of a 1400-byte echo with `IP_FLAG_DF` over the 1280-byte
    /// hop: "fragmentation needed" from the router where DF is honoured
    /// (Windows, the Unix backend); Wine (8.0, 10.0) ignores the flag, and the path
    /// MTU is known by then, so the echo is fragmented and answered.
    pub fn df_oversize_echo(&self) -> u32 {
        match self {
            Self::Wine(_) => icmp_sys::IP_SUCCESS,
            Self::Windows | Self::Unix => icmp_sys::IP_PACKET_TOO_BIG,
        }
    }

    /// Whether, given an event and an APC routine together, an asynchronous
    /// send runs the routine too. Windows signals the event and never runs
    /// the routine (Wine's conformance tests `testIcmpSendEcho` and
    /// `test_Icmp6SendEcho`: the routine's "Unexpected APC execution" check),
    /// as the Unix backend does; Wine 8.0 and 10.0 queue the routine as
    /// well (`tests/conformance.rs`, `wt_echo2_event_and_apc`).
    pub fn event_and_apc_runs_apc(&self) -> bool {
        matches!(self, Self::Wine(_))
    }

    /// Whether a source address that is not the host's is refused at the
    /// call with `ERROR_INVALID_NETNAME` (Windows: Wine's conformance tests,
    /// IPv4 and IPv6; the Unix backend). Wine 8.0 and 10.0 ignore
    /// `IcmpSendEcho2Ex`'s `SourceAddress`: the echo is sent from the
    /// stack's own address (`netns_silent_wt_echo2ex_source_not_local`).
    pub fn checks_source_address(&self) -> bool {
        !matches!(self, Self::Wine(_))
    }

    /// Whether an asynchronous request whose issuing thread has exited (and
    /// whose handle is closed) still completes as usual: Windows writes the
    /// reply (`Status` `IP_REQ_TIMED_OUT` for a silent host; Wine's
    /// `testIcmpSendEcho`, "completion is delivered even if icmp handle is
    /// closed"), as the Unix backend does. Wine 8.0 and 10.0 signal the event
    /// at once and leave the reply buffer untouched (the request is
    /// cancelled: `netns_silent_wt_echo2_timeout_after_close_and_thread_exit`).
    pub fn completes_after_thread_exit(&self) -> bool {
        !matches!(self, Self::Wine(_))
    }

    /// The status of an echo from the loopback source 127.0.0.1
    /// (`IcmpSendEcho2Ex`) to an address outside the host:
    /// `IP_DEST_NET_UNREACHABLE` where the source is honoured (Windows: the
    /// strong host send model, no route out of the loopback interface; the
    /// Unix backend: Linux's `EINVAL` mapped likewise); Wine ignores
    /// `SourceAddress`, so the echo leaves from the host's own address and
    /// is answered (`IP_SUCCESS`).
    pub fn loopback_source_to_outside(&self) -> u32 {
        match self {
            Self::Wine(_) => icmp_sys::IP_SUCCESS,
            Self::Windows | Self::Unix => icmp_sys::IP_DEST_NET_UNREACHABLE,
        }
    }
}

/// The environment variable naming the one test a child process of
/// [`run_alone_if_needed`] runs.
pub const ALONE_VAR: &str = "ICMP_SYS_ALONE";

/// The name of the running test (libtest names each test's thread after it).
fn current_test() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .expect("a libtest test thread, named after its test")
        .to_owned()
}

/// Whether this process is the child [`run_alone_if_needed`] started for
/// the running test.
pub fn running_alone() -> bool {
    std::env::var(ALONE_VAR).is_ok_and(|v| v == current_test())
}

/// For a test that makes event-only asynchronous sends: `true` where its
/// body is to run in this process. On a backend where
/// [`Backend::event_only_async_writes_freed_memory`] (Wine), the test is run
/// again in a child process, alone (this test binary with `--exact <name>
/// --include-ignored`, [`ALONE_VAR`] set), so the 16 bytes Wine writes into
/// freed memory cannot land in another test's memory; the child's output is
/// forwarded, its success asserted, and `false` returned: the caller
/// returns. In the child (and on every other backend) `true`.
#[track_caller]
pub fn run_alone_if_needed() -> bool {
    run_alone_tries(1)
}

/// One at a time: the child processes of [`run_alone_tries`], and the tests
/// that load Wine's one `winedevice.exe` most (many requests in flight at
/// once). Under Wine every process of a session is served by that one
/// process (256 requests in flight at most, all of them on raw sockets that
/// each receive every ICMP packet of the host); a child's 64 requests in
/// flight beside `concurrent_echoes_on_one_handle`'s 8 threads once timed
/// an echo of that test out (Wine 10.0, 1 run in about 100). The guard is
/// cheap everywhere else (no children there).
pub fn wine_heavy_lock() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// [`run_alone_if_needed`] for a test whose outcome depends on the heap's
/// choices in its process (the canary that watches Wine write freed
/// memory): up to `tries` child processes, until one passes; every failed
/// attempt's output is forwarded. Fails only when all of them fail.
#[track_caller]
pub fn run_alone_tries(tries: u32) -> bool {
    if !Backend::detect().event_only_async_writes_freed_memory() || running_alone() {
        return true;
    }
    let name = current_test();
    let exe = std::env::current_exe().expect("the test binary");
    let _one_at_a_time = wine_heavy_lock();
    for attempt in 1..=tries {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args([&name, "--exact", "--include-ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(ALONE_VAR, &name)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let out = start_child(&mut cmd)
            .and_then(|child| child.wait_with_output())
            .expect("starting the test binary again");
        let stdout = String::from_utf8_lossy(&out.stdout);
        print!("[{name}, alone in a child process, attempt {attempt} of {tries}]\n{stdout}");
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        let passed = out.status.success();
        if passed || attempt == tries {
            assert!(passed, "{name} failed in its own process: {}", out.status);
            assert!(
                stdout.contains("test result: ok. 1 passed"),
                "{name}: the child process did not run exactly this test"
            );
        }
        if passed {
            break;
        }
    }
    false
}

/// `CreateProcess`'s `ERROR_INTERNAL_ERROR` (1359) under Wine: the new
/// process ended before Wine recorded its start-up as done (Wine's
/// `NtCreateUserProcess` gets `success` false and exit code 0 from the
/// server's `get_new_process_info` and reports `STATUS_INTERNAL_ERROR`).
/// Seen once in a CI run (Wine, `tracert.exe -w -5 127.0.0.1` from
/// `tests/tracert_example.rs`); 0 times in 6 000 starts of the same binary
/// here. Nothing of the child's `main` ran, so such a start is tried again
/// ([`start_child`]).
pub const WINE_CHILD_DIED_STARTING: i32 = 1359;

/// Runs `start` (which starts a child process) up to `tries` times while it
/// fails with [`WINE_CHILD_DIED_STARTING`], handing each failed try's
/// message to `report`; any other error, and the last try's, is returned as
/// it is.
pub fn start_retrying<T>(
    tries: u32,
    mut start: impl FnMut() -> std::io::Result<T>,
    mut report: impl FnMut(String),
) -> std::io::Result<T> {
    let mut attempt = 1;
    loop {
        match start() {
            Err(e) if attempt < tries && e.raw_os_error() == Some(WINE_CHILD_DIED_STARTING) => {
                report(format!(
                    "[start attempt {attempt} of {tries}: {e}: the child died during its \
                     start-up under Wine; starting it again]"
                ));
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            result => return result,
        }
    }
}

/// Starts `cmd`. Under Wine a start that fails with
/// [`WINE_CHILD_DIED_STARTING`] is tried again, 3 times at most
/// ([`start_retrying`]), each retry reported on stderr (uncaptured: it shows
/// even when the test passes); everywhere else the first result is returned.
pub fn start_child(cmd: &mut std::process::Command) -> std::io::Result<std::process::Child> {
    let tries = match Backend::detect() {
        Backend::Wine(_) => 3,
        Backend::Windows | Backend::Unix => 1,
    };
    // Reported straight to the process's stderr, past the test harness's
    // capture: a retry shows in every log, passed tests' too.
    start_retrying(
        tries,
        || cmd.spawn(),
        |m| {
            let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{m}\n").as_bytes());
        },
    )
}

/// A last-error value no API call sets (bit 29: application-defined), planted
/// by [`plant_last_error`] to see whether a call sets the last error at all.
pub const UNTOUCHED_LAST_ERROR: u32 = 0x2000_1CE5;

/// Sets the calling thread's last error to [`UNTOUCHED_LAST_ERROR`], so a
/// call that leaves it alone shows.
pub fn plant_last_error() {
    set_last_error(UNTOUCHED_LAST_ERROR);
}

/// The Wine version (`wine_get_version` in ntdll), or `None` on Windows.
#[cfg(windows)]
pub fn wine_version() -> Option<String> {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: ntdll is loaded in every process; the names are NUL-terminated.
    let ntdll = unsafe { GetModuleHandleA(c"ntdll.dll".as_ptr().cast()) };
    assert!(!ntdll.is_null(), "ntdll.dll not loaded");
    // SAFETY: as above.
    let f = unsafe { GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()) }?;
    // SAFETY: Wine's `const char * CDECL wine_get_version(void)`.
    let f: unsafe extern "C" fn() -> *const core::ffi::c_char = unsafe { core::mem::transmute(f) };
    // SAFETY: a static NUL-terminated string.
    let v = unsafe { core::ffi::CStr::from_ptr(f()) };
    Some(v.to_string_lossy().into_owned())
}

/// Whether `name` is exported by `dll` (a module already loaded).
#[cfg(windows)]
pub fn exported(dll: &core::ffi::CStr, name: &core::ffi::CStr) -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: NUL-terminated names; a null module is checked.
    let m = unsafe { GetModuleHandleA(dll.as_ptr().cast()) };
    assert!(!m.is_null(), "{dll:?} not loaded");
    // SAFETY: as above.
    unsafe { GetProcAddress(m, name.as_ptr().cast()) }.is_some()
}

#[cfg(unix)]
pub mod pipes;
