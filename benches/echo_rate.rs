//! Echo-rate benchmark (issue 11, item 2): sequential echoes per second to
//! 127.0.0.1 through synchronous `IcmpSendEcho2` (no event, no APC: the
//! path of `IcmpSendEcho`, which forwards to the same function) on the Unix
//! backend against two bare loops, in the same run, alternating blocks:
//!
//! - **one socket** (the baseline, goal ratio ≥ 0.8): the socket is opened
//!   and configured once; each echo is `sendmsg`, `poll`, `recvmsg` — the
//!   kernel's own round trip, the most any implementation with a timeout
//!   can reach;
//! - **socket per request** (second line): the syscalls `src/unix/sock.rs`
//!   made per request before synchronous requests reused per-thread
//!   sockets (socket, the same setsockopts, the raw-socket drain, sendmsg,
//!   poll, recvmsg, close): what the backend cost then, for comparison.
//!
//! A fourth side, `IcmpSendEcho2` with an event waited for at once, shows
//! what a sequential echo costs through the async engine (its completion
//! thread reads the reply and signals the event).
//!
//! With `--in-flight W` (issue 14, item 3), the completion side instead:
//! `--count N` asynchronous echoes (APCs, 32 bytes, 127.0.0.0/8) kept `W` in
//! flight through the engine — the CPU its completion thread spends per
//! echo (read on the thread's own CPU clock, goal ≤ 5 µs at 8 000 in
//! flight) — against the bare baseline in the same run: one receiver
//! thread reading the same traffic from one non-blocking socket (`poll`,
//! then `recvmsg` until empty) while this thread keeps `W` in flight.
//!
//! Run it through `bench/echo-rate.sh` (raw sockets, and ping sockets
//! inside a network namespace), or directly:
//! `cargo bench --bench echo_rate -- raw|dgram [--rounds R] [--count N]
//! [--max-seconds S] [--in-flight W [--size BYTES]]`. Loopback only; bounded in count and
//! time.

#[cfg(target_os = "linux")]
mod linux {
    use core::mem::{size_of, zeroed};
    use icmp_sys::helper::Event;
    use icmp_sys::unix::{SocketMode, create_handle};
    use icmp_sys::{ERROR_IO_PENDING, ICMP_ECHO_REPLY, IP_SUCCESS, IcmpSendEcho2};
    use libc::{c_int, c_void, socklen_t};
    use std::time::{Duration, Instant};

    const PAYLOAD: [u8; 32] = *b"abcdefghijklmnopqrstuvwabcdefghi";
    const RX_LEN: usize = 65536 + 64;
    const TIMEOUT_MS: u64 = 1000;
    /// Echoes per side before switching sides: small, so that the sides see
    /// the same load on a shared machine.
    const BLOCK: u32 = 20;

    #[derive(Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Kind {
        Dgram,
        Raw,
    }

    fn setsockopt(fd: c_int, level: c_int, name: c_int, val: *const c_void, len: usize) {
        // SAFETY: val points to len readable bytes.
        unsafe { libc::setsockopt(fd, level, name, val, len as socklen_t) };
    }

    fn setsockopt_int(fd: c_int, level: c_int, name: c_int, val: c_int) {
        setsockopt(fd, level, name, (&val as *const c_int).cast(), 4);
    }

    fn checksum(a: &[u8], b: &[u8]) -> u16 {
        let mut sum = 0u64;
        for s in [a, b] {
            let mut ch = s.chunks_exact(2);
            for c in &mut ch {
                sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
            }
            if let [x] = ch.remainder() {
                sum += u64::from(*x) << 8;
            }
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    pub(crate) fn thread_cpu_ns() -> u64 {
        clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
    }

    fn now_ns() -> u64 {
        clock_ns(libc::CLOCK_MONOTONIC)
    }

    fn clock_ns(clock: libc::clockid_t) -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid out-pointer.
        unsafe { libc::clock_gettime(clock, &mut ts) };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    /// A raw-socket BPF program: accept the echo replies with identifier
    /// `id` (and, with `seq`, that sequence too, as sock.rs does for its
    /// socket per request), drop other echo replies, accept the rest.
    fn attach_filter(fd: c_int, id: u16, seq: Option<u16>) {
        let f = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
        // X = IPv4 header length; then the identifier (half word at X+4) or
        // identifier and sequence (word at X+4).
        let (load, k) = match seq {
            Some(seq) => (0x40, (u32::from(id) << 16) | u32::from(seq)),
            None => (0x48, u32::from(id)),
        };
        let mut prog = [
            f(0xb1, 0, 0, 0),
            f(load, 0, 0, 4),
            f(0x15, 3, 0, k),
            f(0x50, 0, 0, 0),
            f(0x15, 0, 1, 0),
            f(0x06, 0, 0, 0),
            f(0x06, 0, 0, u32::MAX),
        ];
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_mut_ptr(),
        };
        setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            size_of::<libc::sock_fprog>(),
        );
    }

    /// Opens and configures a socket as sock.rs does for a request with no
    /// options (`seq` given: its filter is for that one request; `None`:
    /// for every request with identifier `id`). -1 on failure.
    pub(crate) fn open_bare(kind: Kind, id: u16, seq: Option<u16>) -> c_int {
        let ty = match kind {
            Kind::Dgram => libc::SOCK_DGRAM,
            Kind::Raw => libc::SOCK_RAW,
        };
        // SAFETY: plain syscalls on a descriptor we own; every pointer
        // passed is valid for the length given.
        unsafe {
            let fd = libc::socket(libc::AF_INET, ty | libc::SOCK_CLOEXEC, libc::IPPROTO_ICMP);
            if fd < 0 {
                return -1;
            }
            let l = libc::IPPROTO_IP;
            setsockopt_int(fd, l, libc::IP_MTU_DISCOVER, libc::IP_PMTUDISC_DONT);
            match kind {
                Kind::Dgram => {
                    setsockopt_int(fd, l, libc::IP_RECVERR, 1);
                    setsockopt_int(fd, l, libc::IP_RECVTTL, 1);
                    setsockopt_int(fd, l, libc::IP_RECVTOS, 1);
                }
                Kind::Raw => {
                    let pass: u32 = (1 << 0) | (1 << 3) | (1 << 4) | (1 << 11) | (1 << 12);
                    let mask = !pass;
                    setsockopt(fd, 255, 1, (&mask as *const u32).cast(), 4);
                    attach_filter(fd, id, seq);
                    let mut b = [0u8; 1];
                    for _ in 0..4096 {
                        if libc::recv(fd, b.as_mut_ptr().cast(), 1, libc::MSG_DONTWAIT) < 0 {
                            break;
                        }
                    }
                }
            }
            fd
        }
    }

    /// Sends one echo request (32-byte payload, identifier `id`, sequence
    /// `seq`) to `dst` (network order) without waiting; `false` if
    /// `sendmsg` failed.
    pub(crate) fn send_one(
        fd: c_int,
        kind: Kind,
        id: u16,
        seq: u16,
        dst: u32,
        data: &[u8],
    ) -> bool {
        let [i0, i1] = id.to_be_bytes();
        let [s0, s1] = seq.to_be_bytes();
        let mut h = [8u8, 0, 0, 0, i0, i1, s0, s1];
        if kind == Kind::Raw {
            let c = checksum(&h, data).to_be_bytes();
            h[2] = c[0];
            h[3] = c[1];
        }
        // SAFETY: all-zero is a valid sockaddr_in; every pointer passed is
        // valid for its length.
        unsafe {
            let mut sin: libc::sockaddr_in = zeroed();
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = dst;
            let mut iov = [
                libc::iovec {
                    iov_base: h.as_ptr() as *mut c_void,
                    iov_len: 8,
                },
                libc::iovec {
                    iov_base: data.as_ptr() as *mut c_void,
                    iov_len: data.len(),
                },
            ];
            let mut msg: libc::msghdr = zeroed();
            msg.msg_name = (&mut sin as *mut libc::sockaddr_in).cast();
            msg.msg_namelen = size_of::<libc::sockaddr_in>() as socklen_t;
            msg.msg_iov = iov.as_mut_ptr();
            msg.msg_iovlen = 2;
            libc::sendmsg(fd, &msg, 0) >= 0
        }
    }

    /// The socket-per-request loop's echo: what sock.rs did per request
    /// before the per-thread sockets. `true` on our echo reply.
    fn bare_echo_per_request(kind: Kind, id: u16, seq: u16, rx: &mut [u8]) -> bool {
        let fd = open_bare(kind, id, Some(seq));
        if fd < 0 {
            return false;
        }
        let ok = echo_on(fd, kind, id, seq, rx);
        // SAFETY: we own fd.
        unsafe { libc::close(fd) };
        ok
    }

    /// One echo on an open socket: sendmsg, poll, recvmsg (with the control
    /// messages sock.rs asks for) until our reply; `true` on our echo reply.
    fn echo_on(fd: c_int, kind: Kind, id: u16, seq: u16, rx: &mut [u8]) -> bool {
        let l = libc::IPPROTO_IP;
        // SAFETY: plain syscalls on a descriptor the caller owns; every
        // pointer passed is valid for the length given.
        unsafe {
            let [i0, i1] = id.to_be_bytes();
            let [s0, s1] = seq.to_be_bytes();
            let mut h = [8u8, 0, 0, 0, i0, i1, s0, s1];
            if kind == Kind::Raw {
                let c = checksum(&h, &PAYLOAD).to_be_bytes();
                h[2] = c[0];
                h[3] = c[1];
            }
            let mut dst: libc::sockaddr_storage = zeroed();
            let sin = &mut *(&mut dst as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>();
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
            let mut iov = [
                libc::iovec {
                    iov_base: h.as_ptr() as *mut c_void,
                    iov_len: 8,
                },
                libc::iovec {
                    iov_base: PAYLOAD.as_ptr() as *mut c_void,
                    iov_len: PAYLOAD.len(),
                },
            ];
            let mut msg: libc::msghdr = zeroed();
            msg.msg_name = (&mut dst as *mut libc::sockaddr_storage).cast();
            msg.msg_namelen = size_of::<libc::sockaddr_in>() as socklen_t;
            msg.msg_iov = iov.as_mut_ptr();
            msg.msg_iovlen = 2;
            let mut ok = libc::sendmsg(fd, &msg, 0) >= 0;
            let t0 = now_ns();
            let deadline = t0 + TIMEOUT_MS * 1_000_000;
            while ok {
                let now = now_ns();
                if now >= deadline {
                    ok = false;
                    break;
                }
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                let wait = (deadline - now).div_ceil(1_000_000) as c_int;
                if libc::poll(&mut pfd, 1, wait) <= 0 {
                    continue;
                }
                let mut name: libc::sockaddr_storage = zeroed();
                let mut control = [0u64; 64];
                let mut riov = libc::iovec {
                    iov_base: rx.as_mut_ptr().cast(),
                    iov_len: rx.len(),
                };
                let mut m: libc::msghdr = zeroed();
                m.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
                m.msg_namelen = size_of::<libc::sockaddr_storage>() as socklen_t;
                m.msg_iov = &mut riov;
                m.msg_iovlen = 1;
                m.msg_control = control.as_mut_ptr().cast();
                m.msg_controllen = 512;
                let n = libc::recvmsg(fd, &mut m, libc::MSG_DONTWAIT);
                if n < 0 {
                    continue;
                }
                let mut ttl = 0u8;
                let mut c = libc::CMSG_FIRSTHDR(&m);
                while !c.is_null() {
                    if (*c).cmsg_level == l && (*c).cmsg_type == libc::IP_TTL {
                        ttl = *libc::CMSG_DATA(c);
                    }
                    c = libc::CMSG_NXTHDR(&m, c);
                }
                std::hint::black_box(ttl);
                let pkt = &rx[..n as usize];
                let icmp = match kind {
                    Kind::Dgram => pkt,
                    Kind::Raw => {
                        let ihl = usize::from(pkt[0] & 15) * 4;
                        if pkt.len() < ihl || pkt[12..16] != [127, 0, 0, 1] {
                            continue;
                        }
                        &pkt[ihl..]
                    }
                };
                if icmp.len() >= 8
                    && icmp[0] == 0
                    && icmp[6..8] == [s0, s1]
                    && (kind == Kind::Dgram || icmp[4..6] == [i0, i1])
                    && icmp[8..] == PAYLOAD
                {
                    break;
                }
            }
            ok
        }
    }

    /// One echo through the API: `IcmpSendEcho2` without an event nor an
    /// APC is synchronous (the same path as `IcmpSendEcho`, which forwards
    /// to it); with `event`, an asynchronous echo through the async engine's
    /// shared socket, waited for at once. `true` on our echo reply.
    fn api_echo(h: icmp_sys::HANDLE, event: Option<&Event>, reply: &mut [u64; 16]) -> bool {
        if let Some(ev) = event {
            ev.reset();
        }
        // SAFETY: valid handle, event, data and reply buffer; the buffer
        // outlives an asynchronous request (waited for below, bounded by
        // its timeout).
        let n = unsafe {
            IcmpSendEcho2(
                h,
                event.map_or(core::ptr::null_mut(), Event::handle),
                None,
                core::ptr::null(),
                u32::from_ne_bytes([127, 0, 0, 1]),
                PAYLOAD.as_ptr().cast(),
                PAYLOAD.len() as u16,
                core::ptr::null(),
                reply.as_mut_ptr().cast(),
                size_of::<[u64; 16]>() as u32,
                TIMEOUT_MS as u32,
            )
        };
        let done = match event {
            None => n == 1,
            // The engine completes every request by its deadline.
            Some(ev) => {
                n == 0
                    && icmp_sys::helper::last_error() == ERROR_IO_PENDING
                    && ev.wait(TIMEOUT_MS as u32 + 10_000)
            }
        };
        // SAFETY: completed: the buffer holds one ICMP_ECHO_REPLY, 8-aligned.
        done && unsafe { (*reply.as_ptr().cast::<ICMP_ECHO_REPLY>()).Status } == IP_SUCCESS
    }

    /// The sides, run in alternating blocks.
    const SIDES: [&str; 4] = [
        "sync IcmpSendEcho2",
        "bare, one socket",
        "bare, socket per request",
        "IcmpSendEcho2 + event",
    ];

    pub fn main() -> i32 {
        let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
        let mut kind = Kind::Raw;
        let (mut rounds, mut count, mut max_s) = (6u32, 3000u32, 60u64);
        let mut in_flight = 0u32;
        let mut size = 32u16;
        while let Some(a) = args.next() {
            let mut num = || args.next().and_then(|v| v.parse::<u64>().ok());
            match a.as_str() {
                "raw" => kind = Kind::Raw,
                "dgram" => kind = Kind::Dgram,
                "--rounds" => rounds = num().unwrap_or(6).clamp(1, 100) as u32,
                "--count" => count = num().unwrap_or(3000).clamp(1, 1_000_000) as u32,
                "--max-seconds" => max_s = num().unwrap_or(60),
                "--in-flight" => in_flight = num().unwrap_or(8000).clamp(1, 16_000) as u32,
                "--size" => size = num().unwrap_or(32).clamp(8, 1400) as u16,
                other => {
                    eprintln!(
                        "usage: echo_rate raw|dgram [--rounds R] [--count N] [--max-seconds S] [--in-flight W [--size BYTES]] (got {other})"
                    );
                    return 2;
                }
            }
        }
        let strict = std::env::var("ICMP_SYS_STRICT").is_ok_and(|v| v == "1");
        let (name, mode) = match kind {
            Kind::Raw => ("raw sockets", SocketMode::Raw),
            Kind::Dgram => ("ping sockets (SOCK_DGRAM)", SocketMode::Datagram),
        };
        let h = create_handle(false, mode);
        let mut reply = [0u64; 16];
        let mut rx = vec![0u8; RX_LEN];
        let id = (std::process::id() as u16) | 0x8000;
        let mut seq = 0u16;
        // Probe: every side must work at all (permissions, loopback up).
        if !api_echo(h, None, &mut reply) {
            println!(
                "echo-rate {name}: SKIPPED: IcmpSendEcho to 127.0.0.1 failed (last error {}): no permission for this socket kind here?",
                icmp_sys::helper::last_error()
            );
            return i32::from(strict);
        }
        let Ok(ev) = Event::new() else {
            eprintln!("echo-rate {name}: Event::new failed");
            return 1;
        };
        if !api_echo(h, Some(&ev), &mut reply) {
            eprintln!(
                "echo-rate {name}: the IcmpSendEcho2 + event probe echo failed (last error {})",
                icmp_sys::helper::last_error()
            );
            return 1;
        }
        let fd = open_bare(kind, id, None);
        if fd < 0 || !echo_on(fd, kind, id, seq, &mut rx) {
            eprintln!("echo-rate {name}: the bare one-socket loop's probe echo failed");
            return 1;
        }
        if in_flight > 0 {
            // SAFETY: we own fd.
            unsafe { libc::close(fd) };
            return super::completion::run(name, h, kind, id, in_flight, count, max_s, size);
        }
        let mut one = |side: usize, seq: &mut u16, rx: &mut [u8]| -> bool {
            *seq = seq.wrapping_add(1);
            match side {
                0 => api_echo(h, None, &mut reply),
                1 => echo_on(fd, kind, id, *seq, rx),
                2 => bare_echo_per_request(kind, id, *seq, rx),
                _ => api_echo(h, Some(&ev), &mut reply),
            }
        };
        // Warm-up, not counted.
        for _ in 0..count.min(500) {
            for side in 0..SIDES.len() {
                one(side, &mut seq, &mut rx);
            }
        }
        println!(
            "echo-rate, {name}, 127.0.0.1, {}-byte payload: {rounds} rounds x {count} sequential echoes per side, alternating blocks of {BLOCK}",
            PAYLOAD.len()
        );
        let start = Instant::now();
        let limit = Duration::from_secs(max_s);
        let mut total = [Duration::ZERO; SIDES.len()];
        let mut cpu = [0u64; SIDES.len()];
        let mut done_rounds = 0u32;
        let mut failed = 0u64;
        let mut ratios = [Vec::new(), Vec::new()];
        for r in 0..rounds {
            if start.elapsed() > limit {
                println!("  time limit of {max_s} s reached after {r} rounds");
                break;
            }
            // Blocks of BLOCK echoes, the sides in turn; which side starts
            // rotates per round, so all see the same machine load.
            let mut t = [Duration::ZERO; SIDES.len()];
            let mut done = 0;
            while done < count {
                let n = BLOCK.min(count - done);
                for k in 0..SIDES.len() {
                    let side = (k + r as usize) % SIDES.len();
                    let c0 = thread_cpu_ns();
                    let t0 = Instant::now();
                    for _ in 0..n {
                        failed += u64::from(!one(side, &mut seq, &mut rx));
                    }
                    t[side] += t0.elapsed();
                    cpu[side] += thread_cpu_ns() - c0;
                }
                done += n;
            }
            let rate = |d: Duration| f64::from(count) / d.as_secs_f64();
            println!(
                "  round {r}: sync {:>7.0}/s  one socket {:>7.0}/s  socket per request {:>7.0}/s  async + event {:>7.0}/s  ratios {:.3} {:.3}",
                rate(t[0]),
                rate(t[1]),
                rate(t[2]),
                rate(t[3]),
                t[1].as_secs_f64() / t[0].as_secs_f64(),
                t[2].as_secs_f64() / t[0].as_secs_f64(),
            );
            ratios[0].push(t[1].as_secs_f64() / t[0].as_secs_f64());
            ratios[1].push(t[2].as_secs_f64() / t[0].as_secs_f64());
            for (sum, d) in total.iter_mut().zip(t) {
                *sum += d;
            }
            done_rounds += 1;
        }
        // SAFETY: we own fd.
        unsafe { libc::close(fd) };
        if done_rounds == 0 {
            println!("  no complete round");
            return 1;
        }
        let n = f64::from(done_rounds) * f64::from(count);
        let rates = total.map(|d| n / d.as_secs_f64());
        for ((side, rate), cpu) in SIDES.iter().zip(rates).zip(cpu) {
            println!(
                "  {:<26}{rate:>8.0} echoes/s ({:.2} us each, {:.2} us CPU of this thread)",
                format!("{side}:"),
                1e6 / rate,
                cpu as f64 / n / 1e3
            );
        }
        for r in &mut ratios {
            r.sort_by(f64::total_cmp);
        }
        let ratio = rates[0] / rates[1];
        // Thread CPU time per echo is less sensitive to other load on the
        // machine than the rates (the kernel's softirq work, done in this
        // thread or in ksoftirqd, is not all in it: a second opinion).
        println!(
            "  ratio sync IcmpSendEcho2 / bare one socket = {ratio:.3} (median of rounds {:.3}; of CPU per echo {:.3}); goal >= 0.8: {}",
            ratios[0][ratios[0].len() / 2],
            cpu[1] as f64 / cpu[0] as f64,
            if ratio >= 0.8 { "met" } else { "MISSED" }
        );
        println!(
            "  ratio sync IcmpSendEcho2 / bare socket per request = {:.3} (median of rounds {:.3}; of CPU per echo {:.3}): the syscalls of a socket per request, as the backend made them before it reused sockets",
            rates[0] / rates[2],
            ratios[1][ratios[1].len() / 2],
            cpu[2] as f64 / cpu[0] as f64,
        );
        println!(
            "  ratio IcmpSendEcho2 + event / bare one socket = {:.3} (CPU per echo of this thread {:.3}; the engine's completion thread not counted): sequential echoes through the async engine's shared socket; goal >= 0.5: {}",
            rates[3] / rates[1],
            cpu[1] as f64 / cpu[3] as f64,
            if rates[3] / rates[1] >= 0.5 {
                "met"
            } else {
                "MISSED"
            }
        );
        if failed > 0 {
            println!("  {failed} echoes failed (timeouts or errors)");
            return 1;
        }
        0
    }
}

#[cfg(target_os = "linux")]
mod completion {
    //! `--in-flight W`: the completion side's CPU per echo, engine vs bare.
    use super::linux::{Kind, open_bare, send_one, thread_cpu_ns};
    use icmp_sys::helper::{last_error, sleep_alertable};
    use icmp_sys::{
        ERROR_IO_PENDING, HANDLE, ICMP_ECHO_REPLY, IO_STATUS_BLOCK, IP_SUCCESS, IcmpSendEcho2,
    };
    use libc::c_int;
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
    use std::time::{Duration, Instant};

    /// The payload of every echo (`--size`, default 32 bytes).
    static PAYLOAD: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

    fn payload() -> &'static [u8] {
        PAYLOAD.get().map_or(&[], |p| &p[..])
    }

    /// The engine's completion thread's id (its name, src/unix/engine.rs).
    fn completion_tid() -> Option<i32> {
        for e in std::fs::read_dir("/proc/self/task").ok()? {
            let e = e.ok()?;
            let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            if comm.trim_end() == "icmp-sys-async" {
                return e.file_name().to_str()?.parse().ok();
            }
        }
        None
    }

    /// CPU time of thread `tid` of this process, ns: its CPU clock
    /// (`MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)`), else its
    /// `/proc/self/task/<tid>/stat` ticks.
    fn tid_cpu_ns(tid: i32) -> u64 {
        let clock = ((!(tid as libc::clockid_t)) << 3) | 6;
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid out-pointer.
        if unsafe { libc::clock_gettime(clock, &mut ts) } == 0 {
            return ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
        }
        let stat =
            std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<u64> = after
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        // utime, stime: fields 14, 15 (after "pid (comm) state": 11th, 12th numbers).
        let ticks = f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0);
        // SAFETY: no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        ticks * 1_000_000_000 / hz
    }

    struct Engine {
        h: HANDLE,
        bufs: Vec<Vec<u64>>,
        ctx: Vec<u32>,
        issued: u32,
        total: u32,
    }

    thread_local! {
        static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    }
    static DONE: AtomicU32 = AtomicU32::new(0);
    static FAILED: AtomicU32 = AtomicU32::new(0);

    fn dst(k: u32) -> u32 {
        u32::from_ne_bytes([
            127,
            20 + (k / 62_500 % 100) as u8,
            (k / 250 % 250) as u8,
            (k % 250) as u8 + 1,
        ])
    }

    /// Starts request `k` in slot `slot` (its buffer and context).
    fn issue(e: &mut Engine, slot: usize) -> bool {
        let k = e.issued;
        e.issued += 1;
        let ctx = (&e.ctx[slot] as *const u32).cast();
        let buf = &mut e.bufs[slot];
        // SAFETY: the slot's buffer and context live in ENGINE until the
        // run ends (after every APC ran or the time limit: then the process
        // exits).
        let n = unsafe {
            IcmpSendEcho2(
                e.h,
                core::ptr::null_mut(),
                Some(on_apc),
                ctx,
                dst(k),
                payload().as_ptr().cast(),
                payload().len() as u16,
                core::ptr::null(),
                buf.as_mut_ptr().cast(),
                (buf.len() * 8) as u32,
                10_000,
            )
        };
        n == 0 && last_error() == ERROR_IO_PENDING
    }

    unsafe extern "system" fn on_apc(ctx: *mut core::ffi::c_void, _: *mut IO_STATUS_BLOCK, _: u32) {
        // SAFETY: the slot index this request was issued with.
        let slot = unsafe { *(ctx as *const u32) } as usize;
        ENGINE.with_borrow_mut(|e| {
            let e = e.as_mut().expect("engine state");
            // SAFETY: completed: the buffer holds one ICMP_ECHO_REPLY.
            let ok =
                unsafe { (*e.bufs[slot].as_ptr().cast::<ICMP_ECHO_REPLY>()).Status } == IP_SUCCESS;
            if !ok {
                FAILED.fetch_add(1, SeqCst);
            }
            DONE.fetch_add(1, SeqCst);
            if e.issued < e.total && !issue(e, slot) {
                FAILED.fetch_add(1, SeqCst);
                DONE.fetch_add(1, SeqCst);
            }
        });
    }

    /// The engine side: (completion-thread CPU ns, wall, echoes done).
    fn engine_side(
        h: HANDLE,
        w: u32,
        n: u32,
        limit: Duration,
    ) -> Option<(u64, u64, Duration, u32)> {
        DONE.store(0, SeqCst);
        FAILED.store(0, SeqCst);
        ENGINE.with_borrow_mut(|e| {
            *e = Some(Engine {
                h,
                bufs: vec![vec![0u64; (payload().len() + 64).div_ceil(8) + 8]; w as usize],
                ctx: (0..w).collect(),
                issued: 0,
                total: n,
            })
        });
        // Started by the probe echoes; give it a moment to show up.
        let mut tid = completion_tid();
        for _ in 0..100 {
            if tid.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            tid = completion_tid();
        }
        let tid = tid?;
        let c0 = tid_cpu_ns(tid);
        let s0 = thread_cpu_ns();
        let t0 = Instant::now();
        ENGINE.with_borrow_mut(|e| {
            let e = e.as_mut().expect("engine state");
            for slot in 0..w.min(n) as usize {
                if !issue(e, slot) {
                    FAILED.fetch_add(1, SeqCst);
                    DONE.fetch_add(1, SeqCst);
                }
            }
        });
        while DONE.load(SeqCst) < n && t0.elapsed() < limit {
            sleep_alertable(100);
        }
        let wall = t0.elapsed();
        let cpu = tid_cpu_ns(tid) - c0;
        let sender = thread_cpu_ns() - s0;
        let done = DONE.load(SeqCst);
        if done < n {
            // Requests still in flight own their buffers: keep them.
            ENGINE.with_borrow_mut(|e| std::mem::forget(e.take()));
        }
        Some((cpu, sender, wall, done))
    }

    /// The bare side: one receiver thread on one socket; this thread keeps
    /// `w` in flight. (receiver CPU ns, wall, replies received).
    fn bare_side(
        kind: Kind,
        id: u16,
        w: u32,
        n: u32,
        limit: Duration,
    ) -> Option<(u64, u64, Duration, u32)> {
        let fd = open_bare(kind, id, None);
        if fd < 0 {
            return None;
        }
        // SAFETY: our descriptor; plain fcntl/setsockopt.
        unsafe {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
            let big: c_int = 4 << 20;
            if libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&big as *const c_int).cast(),
                4,
            ) != 0
            {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUF,
                    (&big as *const c_int).cast(),
                    4,
                );
            }
        }
        static INFLIGHT: AtomicU32 = AtomicU32::new(0);
        static GOT: AtomicU32 = AtomicU32::new(0);
        static STOP: AtomicBool = AtomicBool::new(false);
        static CPU: AtomicU64 = AtomicU64::new(0);
        INFLIGHT.store(0, SeqCst);
        GOT.store(0, SeqCst);
        STOP.store(false, SeqCst);
        let rx = std::thread::spawn(move || {
            let c0 = thread_cpu_ns();
            let mut buf = vec![0u8; 65536 + 64];
            let mut control = [0u64; 64];
            while !STOP.load(SeqCst) && GOT.load(SeqCst) < n {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
                    continue;
                }
                loop {
                    let mut name: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
                    let mut iov = libc::iovec {
                        iov_base: buf.as_mut_ptr().cast(),
                        iov_len: buf.len(),
                    };
                    // SAFETY: all-zero is a valid msghdr.
                    let mut m: libc::msghdr = unsafe { core::mem::zeroed() };
                    m.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
                    m.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                    m.msg_iov = &mut iov;
                    m.msg_iovlen = 1;
                    m.msg_control = control.as_mut_ptr().cast();
                    m.msg_controllen = 512;
                    // SAFETY: every pointer in m is valid for its length.
                    let r = unsafe { libc::recvmsg(fd, &mut m, libc::MSG_DONTWAIT) };
                    if r < 0 {
                        break;
                    }
                    let pkt = &buf[..r as usize];
                    let icmp = match kind {
                        Kind::Dgram => pkt,
                        Kind::Raw => &pkt[(usize::from(pkt[0] & 15) * 4).min(pkt.len())..],
                    };
                    if icmp.len() >= 8
                        && icmp[0] == 0
                        && (kind == Kind::Dgram || icmp[4..6] == id.to_be_bytes())
                    {
                        GOT.fetch_add(1, SeqCst);
                        INFLIGHT.fetch_sub(1, SeqCst);
                    }
                }
            }
            CPU.store(thread_cpu_ns() - c0, SeqCst);
        });
        let s0 = thread_cpu_ns();
        let t0 = Instant::now();
        let mut sent = 0u32;
        while GOT.load(SeqCst) < n && t0.elapsed() < limit {
            if sent < n && INFLIGHT.load(SeqCst) < w {
                INFLIGHT.fetch_add(1, SeqCst);
                if send_one(fd, kind, id, sent as u16, dst(sent), payload()) {
                    sent += 1;
                } else {
                    INFLIGHT.fetch_sub(1, SeqCst);
                    std::thread::sleep(Duration::from_micros(50));
                }
            } else if sent >= n {
                std::thread::sleep(Duration::from_millis(1));
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        let wall = t0.elapsed();
        STOP.store(true, SeqCst);
        rx.join().ok()?;
        // SAFETY: we own fd.
        unsafe { libc::close(fd) };
        Some((
            CPU.load(SeqCst),
            thread_cpu_ns() - s0,
            wall,
            GOT.load(SeqCst),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn run(
        name: &str,
        h: HANDLE,
        kind: Kind,
        id: u16,
        w: u32,
        n: u32,
        max_s: u64,
        size: u16,
    ) -> i32 {
        let limit = Duration::from_secs(max_s.max(1));
        PAYLOAD.get_or_init(|| (0..size).map(|k| b'a' + (k % 23) as u8).collect());
        println!(
            "echo-rate completion side, {name}, 127.0.0.0/8, {}-byte payload: {n} async echoes (APCs) kept {w} in flight, vs a bare receiver thread on one socket",
            payload().len()
        );
        let Some((ecpu, esend, ewall, edone)) = engine_side(h, w, n, limit) else {
            eprintln!("  the engine's completion thread (icmp-sys-async) was not found");
            return 1;
        };
        let Some((bcpu, bsend, bwall, bgot)) = bare_side(kind, id, w, n, limit) else {
            eprintln!("  the bare socket could not be opened");
            return 1;
        };
        let per = |cpu: u64, k: u32| cpu as f64 / f64::from(k.max(1)) / 1e3;
        println!(
            "  engine completion thread: {:.2} us CPU per echo ({edone} done in {ewall:.2?}, {} failed); sending thread {:.2} us (sends, APCs, and the quick answers it reads itself); total {:.2} us",
            per(ecpu, edone),
            FAILED.load(SeqCst),
            per(esend, edone),
            per(ecpu + esend, edone)
        );
        println!(
            "  bare receiver thread:     {:.2} us CPU per echo ({bgot} received in {bwall:.2?}); sending thread {:.2} us; total {:.2} us",
            per(bcpu, bgot),
            per(bsend, bgot),
            per(bcpu + bsend, bgot)
        );
        let e = per(ecpu, edone);
        println!(
            "  ratio engine / bare: completion thread {:.2}, total {:.2}; goal completion thread <= 5 us per echo at 8 000 in flight: {}",
            e / per(bcpu, bgot),
            per(ecpu + esend, edone) / per(bcpu + bsend, bgot),
            if e <= 5.0 { "met" } else { "MISSED" }
        );
        i32::from(edone < n || FAILED.load(SeqCst) > 0)
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    std::process::exit(linux::main());
    #[cfg(not(target_os = "linux"))]
    println!("echo_rate: SKIPPED: the bare-socket loop is written for Linux only");
}
