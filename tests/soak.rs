//! The bounded soak of the asynchronous engine (issue 14, item 7): 100 000
//! mixed asynchronous echoes — events and APCs, IPv4 and IPv6 loopback,
//! 0–65 500 bytes of data, 4 threads with 32 requests in flight each —
//! asserting that every request completes exactly once, with its own reply
//! (each request's data is a pattern of its own: a reply given to the wrong
//! request fails the comparison), that no reply is reported as a timeout
//! (loopback answers every request, at once: a quarter of the requests
//! have timeout 0, a quarter 10 ms, the rest 10 s), and that the
//! process's descriptors, resident memory and mappings are flat (measured
//! after a warm-up of 10 000 echoes and at the end, each with the worker
//! threads joined). Prints wall time and CPU time per echo (a figure, not an
//! assertion).
//!
//! Its own test binary (one test): the descriptor, memory and mapping
//! counts are the process's, so nothing else may run beside it. Needs raw
//! sockets (root) or ping sockets; skipped otherwise (a failure in CI's
//! strict mode). About 20–40 s on a loaded 2-core machine (debug build).
#![cfg(target_os = "linux")]

mod common;

use common::Guarded;
use core::ffi::c_void;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::ptr;
use core::sync::atomic::{AtomicU32, Ordering};
use icmp_sys::helper::{self, Reply6, last_error, sleep_alertable};
use icmp_sys::*;
use std::time::{Duration, Instant};

const THREADS: usize = 4;
const WINDOW: usize = 32;
const WARMUP: usize = 10_000;
const TOTAL: usize = 100_000;
/// The timeouts, one picked per request: 0 (the answer there at the
/// request's first check wins, as for a synchronous send), 10 ms, 10 s.
const TIMEOUTS_MS: [u32; 4] = [0, 10, 10_000, 10_000];
const MAX_DATA: usize = 65_500;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The data size of request `n` of a thread: mostly up to one Ethernet
/// payload, some up to 8 KiB, a few up to 65 500; the first two of each
/// thread are 0 and 65 500 bytes.
fn size_of_request(n: usize, rng: &mut Rng) -> usize {
    match n {
        0 => 0,
        1 => MAX_DATA,
        _ => match rng.below(100) {
            0..90 => rng.below(1473) as usize,
            90..99 => 1473 + rng.below(8192 - 1473) as usize,
            _ => 8193 + rng.below((MAX_DATA - 8193 + 1) as u64) as usize,
        },
    }
}

/// The data of request `n` of thread `t`: a pattern no other request has.
fn fill(data: &mut Vec<u8>, len: usize, t: usize, n: usize) {
    let mut r = Rng(((t as u64) << 40 | n as u64 | 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    data.clear();
    while data.len() < len {
        let w = r.next().to_le_bytes();
        let k = (len - data.len()).min(8);
        data.extend_from_slice(&w[..k]);
    }
}

/// A request slot of a worker thread.
struct Slot {
    /// The request in flight (its number), if any.
    busy: Option<usize>,
    v6: bool,
    apc: bool,
    data: Vec<u8>,
    buf: Guarded,
    event: helper::Event,
    /// The APC's calls for the request in flight (boxed: its address is the
    /// APC context).
    calls: Box<AtomicU32>,
}

unsafe extern "system" fn count_apc(ctx: *mut c_void, _iosb: *mut IO_STATUS_BLOCK, _r: u32) {
    // SAFETY: the context is a slot's AtomicU32, alive until the thread ends.
    unsafe { &*(ctx as *const AtomicU32) }.fetch_add(1, Ordering::SeqCst);
}

/// What a worker saw.
#[derive(Default, Debug)]
struct Tally {
    echoes: usize,
    bytes: usize,
    v6: usize,
    apc: usize,
    failures: Vec<String>,
}

impl Tally {
    fn fail(&mut self, s: String) {
        if self.failures.len() < 20 {
            self.failures.push(s);
        }
    }
}

/// The poison the start of a free slot's buffer holds until its next send
/// (every completion writes the reply structure there): a second completion
/// of a request would overwrite it.
const POISON: u8 = 0x5A;
const MARK: usize = 64;

/// One worker: `count` echoes (request numbers `first..first + count`),
/// at most [`WINDOW`] in flight.
fn worker(t: usize, first: usize, count: usize, with_v6: bool) -> Tally {
    let h4 = helper::IcmpHandle::open_v4().expect("IcmpCreateFile");
    let h6 = with_v6.then(|| helper::IcmpHandle::open_v6().expect("Icmp6CreateFile"));
    let mut rng = Rng((t as u64 + 1) * 0x1234_5678_9ABC_DEF1);
    let mut slots: Vec<Slot> = (0..WINDOW)
        .map(|_| {
            let mut buf = Guarded::new(helper::reply_buffer_size_async(MAX_DATA as u16));
            buf.all_mut()[..MARK].fill(POISON);
            Slot {
                busy: None,
                v6: false,
                apc: false,
                data: Vec::with_capacity(MAX_DATA),
                buf,
                event: helper::Event::new().expect("Event::new"),
                calls: Box::new(AtomicU32::new(0)),
            }
        })
        .collect();
    let mut tally = Tally::default();
    let (mut next, end) = (first, first + count);
    let mut done = 0;
    let limit = Instant::now() + Duration::from_secs(300);
    while done < count && Instant::now() < limit {
        for s in &mut slots {
            if let Some(n) = s.busy {
                let finished = if s.apc {
                    s.calls.load(Ordering::SeqCst) > 0
                } else {
                    s.event.wait(0)
                };
                if !finished {
                    continue;
                }
                check(t, n, s, &mut tally);
                s.busy = None;
                done += 1;
            }
            if next < end {
                if !start(
                    t,
                    next - first,
                    next,
                    s,
                    &mut rng,
                    &h4,
                    h6.as_ref(),
                    &mut tally,
                ) {
                    done += 1; // failed at once (recorded)
                }
                next += 1;
            }
        }
        sleep_alertable(1);
    }
    if done < count {
        tally.fail(format!(
            "thread {t}: {} requests not completed within 300 s",
            count - done
        ));
        // Their buffers must outlive them.
        std::mem::forget(slots);
        return tally;
    }
    // Nothing more may come: a late second completion would show here.
    sleep_alertable(50);
    for (k, s) in slots.iter().enumerate() {
        if s.calls.load(Ordering::SeqCst) != 0 || s.event.wait(0) {
            tally.fail(format!(
                "thread {t} slot {k}: completed again after its request was done"
            ));
        }
        if s.buf.all()[..MARK].iter().any(|&b| b != POISON) {
            tally.fail(format!(
                "thread {t} slot {k}: buffer written after its request was done"
            ));
        }
    }
    tally
}

/// Starts request `n` (the `k`th of its thread) in a free slot: `false`
/// when the send failed at once (recorded).
#[allow(clippy::too_many_arguments)]
fn start(
    t: usize,
    k: usize,
    n: usize,
    s: &mut Slot,
    rng: &mut Rng,
    h4: &helper::IcmpHandle,
    h6: Option<&helper::IcmpHandle>,
    tally: &mut Tally,
) -> bool {
    // The slot's previous request is done: nothing may have touched it since.
    if s.calls.load(Ordering::SeqCst) != 0 || s.event.wait(0) {
        tally.fail(format!(
            "thread {t}: a slot completed again before request {n}"
        ));
    }
    if s.buf.all()[..MARK].iter().any(|&b| b != POISON) {
        tally.fail(format!(
            "thread {t}: a slot's buffer was written again before request {n}"
        ));
    }
    let len = size_of_request(k, rng);
    fill(&mut s.data, len, t, n);
    s.v6 = h6.is_some() && rng.below(2) == 1;
    s.apc = rng.below(2) == 1;
    let timeout = TIMEOUTS_MS[rng.below(TIMEOUTS_MS.len() as u64) as usize];
    s.busy = Some(n);
    let (event, apc, ctx) = if s.apc {
        (
            ptr::null_mut(),
            Some(count_apc as unsafe extern "system" fn(_, _, _)),
            &*s.calls as *const AtomicU32 as *const c_void,
        )
    } else {
        (s.event.handle(), None, ptr::null())
    };
    let size = if s.v6 {
        helper::reply6_buffer_size(len as u16)
    } else {
        helper::reply_buffer_size_async(len as u16)
    } as u32;
    let size = size.min(s.buf.size());
    // SAFETY: the slot (buffer, data copy, event, counter) outlives the
    // request: it is waited for before reuse, and leaked if never done.
    let r = unsafe {
        if s.v6 {
            let src = helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0);
            let dst = helper::sockaddr_in6(Ipv6Addr::LOCALHOST, 0);
            Icmp6SendEcho2(
                h6.unwrap().as_raw(),
                event,
                apc,
                ctx,
                &src,
                &dst,
                s.data.as_ptr().cast(),
                len as u16,
                ptr::null(),
                s.buf.ptr(),
                size,
                timeout,
            )
        } else {
            IcmpSendEcho2(
                h4.as_raw(),
                event,
                apc,
                ctx,
                helper::ipaddr(Ipv4Addr::LOCALHOST),
                s.data.as_ptr().cast(),
                len as u16,
                ptr::null(),
                s.buf.ptr(),
                size,
                timeout,
            )
        }
    };
    let err = last_error();
    if (r, err) != (0, ERROR_IO_PENDING) {
        tally.fail(format!("thread {t} request {n}: send returned {r} + {err}"));
        s.busy = None;
        s.buf.all_mut()[..MARK].fill(POISON);
        return false;
    }
    true
}

/// Checks a completed request and readies its slot.
fn check(t: usize, n: usize, s: &mut Slot, tally: &mut Tally) {
    let calls = s.calls.swap(0, Ordering::SeqCst);
    if s.apc && calls != 1 {
        tally.fail(format!("thread {t} request {n}: APC ran {calls} times"));
    }
    s.event.reset();
    s.buf.assert_guard_intact();
    let len = s.data.len();
    let (status, data_ok) = if s.v6 {
        // SAFETY: the completed buffer.
        let c = unsafe { Icmp6ParseReplies(s.buf.ptr(), s.buf.size()) };
        if c == 0 {
            (last_error(), false)
        } else {
            let r = Reply6::new(s.buf.reply_bytes(), len as u16).expect("IPv6 reply");
            (r.status(), r.data == &s.data[..])
        }
    } else {
        // SAFETY: the completed buffer.
        let c = unsafe { IcmpParseReplies(s.buf.ptr(), s.buf.size()) };
        if c == 0 {
            (last_error(), false)
        } else {
            let r = s.buf.first_reply();
            (r.status(), r.data == &s.data[..])
        }
    };
    if status == IP_SUCCESS && data_ok {
        tally.echoes += 1;
        tally.bytes += len;
        tally.v6 += usize::from(s.v6);
        tally.apc += usize::from(s.apc);
    } else {
        let v = if s.v6 { "::1" } else { "127.0.0.1" };
        let how = if s.apc { "APC" } else { "event" };
        let what = if status != IP_SUCCESS {
            "no reply"
        } else {
            "a reply with ANOTHER request's data"
        };
        tally.fail(format!(
            "thread {t} request {n} ({how}, {v}, {len} B): status {status} ({}): {what}",
            helper::status_name(status).unwrap_or("?"),
        ));
    }
    s.buf.all_mut()[..MARK].fill(POISON);
}

/// Runs `total` echoes over [`THREADS`] threads (request numbers from
/// `base`), threads joined at the end.
fn phase(base: usize, total: usize, with_v6: bool) -> Tally {
    let per = total / THREADS;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| std::thread::spawn(move || worker(t, base + t * per, per, with_v6)))
        .collect();
    let mut all = Tally::default();
    for h in handles {
        let r = h.join().expect("worker");
        all.echoes += r.echoes;
        all.bytes += r.bytes;
        all.v6 += r.v6;
        all.apc += r.apc;
        all.failures.extend(r.failures);
    }
    all
}

/// (descriptors, VmRSS kB, mapping lines) of the process.
fn resources() -> (usize, u64, usize) {
    let fds = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count();
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    let maps = std::fs::read_to_string("/proc/self/maps")
        .expect("/proc/self/maps")
        .lines()
        .count();
    (fds, rss, maps)
}

/// CPU time of the process (user + system), µs.
fn cpu_us() -> u64 {
    // SAFETY: all-zero is a valid rusage; filled by the call.
    let mut ru: libc::rusage = unsafe { core::mem::zeroed() };
    // SAFETY: a valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

#[test]
fn soak_100000_mixed_async_echoes() {
    // Can this process echo at all (raw or ping sockets)?
    {
        let h = helper::IcmpHandle::open_v4().expect("IcmpCreateFile");
        let mut buf = Guarded::new(helper::reply_buffer_size(8));
        let (n, err) =
            common::send_echo(h.as_raw(), common::LOOPBACK, &[1; 8], None, &mut buf, 2000);
        if n == 0 {
            common::skip(
                "soak_100000_mixed_async_echoes",
                &format!("no echo to 127.0.0.1 (error {err}): needs raw or ping sockets"),
            );
            return;
        }
    }
    let with_v6 = match helper::IcmpHandle::open_v6() {
        Ok(h) => {
            let mut buf = Guarded::new(helper::reply6_buffer_size(8));
            let (n, err) = common::send6(
                h.as_raw(),
                &helper::sockaddr_in6(Ipv6Addr::UNSPECIFIED, 0),
                &helper::sockaddr_in6(Ipv6Addr::LOCALHOST, 0),
                Some(&[1; 8]),
                &mut buf,
                2000,
            );
            if n == 0 {
                common::skip(
                    "soak_100000_mixed_async_echoes (IPv6 part)",
                    &format!("no echo to ::1 (error {err})"),
                );
            }
            n != 0
        }
        Err(e) => {
            common::skip(
                "soak_100000_mixed_async_echoes (IPv6 part)",
                &format!("Icmp6CreateFile: error {e}"),
            );
            false
        }
    };
    let warm = phase(0, WARMUP, with_v6);
    assert!(
        warm.failures.is_empty(),
        "warm-up:\n{}",
        warm.failures.join("\n")
    );
    let before = resources();
    let (t0, c0) = (Instant::now(), cpu_us());
    let main = phase(1_000_000, TOTAL - WARMUP, with_v6);
    let (wall, cpu) = (t0.elapsed(), cpu_us() - c0);
    let after = resources();
    let n = main.echoes.max(1) as f64;
    println!(
        "soak: {} + {} echoes ({} IPv6, {} APC, {:.1} MB of data) over {THREADS} threads × {WINDOW} in flight: \
         wall {:.1} µs/echo, CPU {:.1} µs/echo ({:.2} s, {:.2} s CPU)",
        warm.echoes,
        main.echoes,
        main.v6,
        main.apc,
        main.bytes as f64 / 1e6,
        wall.as_secs_f64() * 1e6 / n,
        cpu as f64 / n,
        wall.as_secs_f64(),
        cpu as f64 / 1e6,
    );
    println!(
        "soak: descriptors {} -> {}, VmRSS {} -> {} kB, mappings {} -> {}",
        before.0, after.0, before.1, after.1, before.2, after.2
    );
    assert!(
        main.failures.is_empty(),
        "soak:\n{}",
        main.failures.join("\n")
    );
    assert_eq!(main.echoes, TOTAL - WARMUP, "every request answered");
    assert!(
        after.0 <= before.0 + 2,
        "descriptors grew: {} -> {}",
        before.0,
        after.0
    );
    assert!(
        after.1 <= before.1 + (before.1 / 5).max(16 * 1024),
        "resident memory grew: {} -> {} kB",
        before.1,
        after.1
    );
    assert!(
        after.2 <= before.2 + 32,
        "mappings grew: {} -> {}",
        before.2,
        after.2
    );
}
