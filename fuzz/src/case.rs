//! Test cases: valid packets built from scratch (the seeds), and the
//! mutations applied to them. Everything is derived from one `u64`, so any
//! execution can be replayed from (seed, iteration).

use icmp_sys::unix::reply::{
    ICMP_ECHO, ICMP_ECHOREPLY, ICMP6_ECHO_REPLY, ICMP6_ECHO_REQUEST, SO_EE_ORIGIN_ICMP,
    SO_EE_ORIGIN_ICMP6, SO_EE_ORIGIN_LOCAL, echo_header, map_icmp4, map_icmp6,
};
use icmp_sys::{IP_GENERAL_FAILURE, IP_PACKET_TOO_BIG, IP_STATUS};

/// The host's `EMSGSIZE`, as the backend passes it to `classify_queued`.
pub const EMSGSIZE: u32 = 90;

/// xorshift64* seeded through splitmix64: small, fast, deterministic.
pub struct Rng(u64);

impl Rng {
    /// A generator for iteration `i` of the run seeded `seed`.
    pub fn for_iteration(seed: u64, i: u64) -> Self {
        let mut z = seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Rng(z | 1)
    }
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
    /// True with probability `num / den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }
    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
    /// One element of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
    /// Appends `n` random bytes.
    pub fn extend(&mut self, v: &mut Vec<u8>, n: usize) {
        for _ in 0..n {
            v.push(self.byte());
        }
    }
}

/// Which receive path a case goes through (the branches of `sock::echo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Linux raw / macOS / BSD IPv4 socket: IPv4 header + ICMP message.
    V4Raw,
    /// Linux ping socket, IPv4: ICMP message only, options from a cmsg.
    V4Dgram,
    /// ICMPv6 socket: ICMPv6 message only.
    V6,
    /// Linux `IP_RECVERR` error-queue message.
    Queued4,
    /// Linux `IPV6_RECVERR` error-queue message.
    Queued6,
}

/// All kinds, for the statistics.
pub const KINDS: [Kind; 5] = [
    Kind::V4Raw,
    Kind::V4Dgram,
    Kind::V6,
    Kind::Queued4,
    Kind::Queued6,
];

impl Kind {
    /// IPv6 reply buffer format.
    pub fn v6(self) -> bool {
        matches!(self, Kind::V6 | Kind::Queued6)
    }
}

/// What an unmutated seed must classify as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Our echo reply.
    Reply,
    /// An error about our request with this status.
    Error(IP_STATUS),
    /// Not about our request.
    Ignore,
    /// Mutated: unknown, only the invariants apply.
    Any,
}

/// One execution's input.
#[derive(Debug)]
pub struct Case {
    /// The receive path.
    pub kind: Kind,
    /// The received bytes (packet, or the error queue's quoted data).
    pub pkt: Vec<u8>,
    /// The sender (`msg_name`), or the queued error's offender.
    pub src: [u8; 16],
    /// The request's destination (4 or 16 bytes used).
    pub dst: [u8; 16],
    /// The request's identifier; `None` where the kernel owns it.
    pub id: Option<u16>,
    /// The request's sequence number.
    pub seq: u16,
    /// The request's data.
    pub payload: Vec<u8>,
    /// IPv4 options delivered by `IP_RECVOPTS` (datagram path).
    pub cmsg_opts: Vec<u8>,
    /// Queued error: `ee_errno`.
    pub q_errno: u32,
    /// Queued error: `ee_origin`.
    pub q_origin: u8,
    /// Queued error: `ee_type`.
    pub q_type: u8,
    /// Queued error: `ee_code`.
    pub q_code: u8,
    /// Queued error: the original destination (`msg_name`), 0/4/16 bytes.
    pub q_dst: Vec<u8>,
    /// TTL / TOS of the received packet (cmsg), RTT, IPv6 scope.
    pub ttl: u8,
    /// TOS.
    pub tos: u8,
    /// Round trip, ms.
    pub rtt: u32,
    /// `sin6_scope_id`.
    pub scope: u32,
    /// `ReplySize`.
    pub reply_size: usize,
    /// Offset of the reply buffer from an 8-aligned address (0..8).
    pub misalign: usize,
    /// The expected classification.
    pub want: Want,
    /// How many mutations were applied.
    pub mutations: u32,
}

impl Case {
    /// An empty case; buffers are reused across executions.
    pub fn new() -> Self {
        Case {
            kind: Kind::V4Raw,
            pkt: Vec::with_capacity(8192),
            src: [0; 16],
            dst: [0; 16],
            id: None,
            seq: 0,
            payload: Vec::with_capacity(8192),
            cmsg_opts: Vec::with_capacity(64),
            q_errno: 0,
            q_origin: 0,
            q_type: 0,
            q_code: 0,
            q_dst: Vec::with_capacity(16),
            ttl: 0,
            tos: 0,
            rtt: 0,
            scope: 0,
            reply_size: 0,
            misalign: 0,
            want: Want::Any,
            mutations: 0,
        }
    }

    /// The destination as the request's `Expect.dst` sees it.
    pub fn dst_bytes(&self) -> &[u8] {
        if self.kind.v6() {
            &self.dst
        } else {
            &self.dst[..4]
        }
    }
}

/// Documentation and loopback addresses only (the project's network rule:
/// these bytes never leave the process, but stay recognisable).
fn addr4(rng: &mut Rng) -> [u8; 4] {
    let p = rng.pick(&[[192u8, 0, 2], [198, 51, 100], [203, 0, 113], [127, 0, 0]]);
    [p[0], p[1], p[2], rng.byte()]
}

fn addr6(rng: &mut Rng) -> [u8; 16] {
    let mut a = [0u8; 16];
    if rng.chance(1, 8) {
        a[15] = 1; // ::1
    } else {
        a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        a[14] = rng.byte();
        a[15] = rng.byte();
    }
    a
}

fn put_addr(kind: Kind, rng: &mut Rng) -> [u8; 16] {
    let mut a = [0u8; 16];
    if kind.v6() {
        a = addr6(rng);
    } else {
        a[..4].copy_from_slice(&addr4(rng));
    }
    a
}

/// An IPv4 header with `opt_words` 32-bit words of options, protocol ICMP.
fn ipv4_header(v: &mut Vec<u8>, rng: &mut Rng, src: &[u8], dst: &[u8], opt_words: usize) {
    let start = v.len();
    v.extend_from_slice(&[0x45 + opt_words as u8, rng.byte(), 0, 0, 0, 0, 0x40, 0]);
    v.extend_from_slice(&[rng.byte(), 1, 0, 0]);
    v.extend_from_slice(&src[..4]);
    v.extend_from_slice(&dst[..4]);
    for w in 0..opt_words {
        // Plausible options: record route / timestamp headers, NOPs, EOL.
        let o = match (w, rng.below(3)) {
            (0, 0) => [7, (opt_words * 4 - 1).min(39) as u8, 4, 0],
            (0, 1) => [68, (opt_words * 4).min(40) as u8, 5, 0],
            _ => [1, 1, 1, rng.pick(&[0, 1])],
        };
        v.extend_from_slice(&o);
    }
    let total = (v.len() - start) as u16;
    v[start + 2..start + 4].copy_from_slice(&total.to_be_bytes());
}

/// An IPv6 header, next header ICMPv6.
fn ipv6_header(v: &mut Vec<u8>, src: &[u8; 16], dst: &[u8]) {
    v.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, 58, 1]);
    v.extend_from_slice(src);
    v.extend_from_slice(&dst[..16]);
}

const ERRORS4: &[(u8, u8)] = &[
    (3, 0),
    (3, 1),
    (3, 2),
    (3, 3),
    (3, 4),
    (3, 5),
    (3, 9),
    (3, 13),
    (4, 0),
    (11, 0),
    (11, 1),
    (12, 0),
    (12, 2),
];
const ERRORS6: &[(u8, u8)] = &[
    (1, 0),
    (1, 1),
    (1, 3),
    (1, 4),
    (1, 6),
    (2, 0),
    (3, 0),
    (3, 1),
    (4, 0),
    (4, 1),
    (4, 2),
];

/// Builds a valid, unmutated case into `c`.
pub fn seed(c: &mut Case, rng: &mut Rng) {
    c.kind = rng.pick(&KINDS);
    let v6 = c.kind.v6();
    c.pkt.clear();
    c.payload.clear();
    c.cmsg_opts.clear();
    c.q_dst.clear();
    c.mutations = 0;
    c.dst = put_addr(c.kind, rng);
    c.seq = rng.next() as u16;
    let wire_id = rng.next() as u16;
    let kernel_ident = matches!(c.kind, Kind::V4Dgram | Kind::Queued4 | Kind::Queued6)
        || (c.kind == Kind::V6 && rng.chance(1, 2));
    c.id = if kernel_ident && !rng.chance(1, 8) {
        None
    } else {
        Some(wire_id)
    };
    let plen = match rng.below(20) {
        0..=1 => 0,
        2..=11 => 1 + rng.below(64),
        12..=18 => 64 + rng.below(1440),
        // Rarely, more than a u16 can count: the writers must refuse it.
        _ if rng.chance(1, 2000) => 65_536 + rng.below(4000),
        _ => 1500 + rng.below(2600),
    };
    if rng.chance(1, 2) {
        rng.extend(&mut c.payload, plen);
    } else {
        c.payload.extend((0..plen).map(|i| b'a' + (i % 23) as u8));
    }
    c.ttl = rng.byte();
    c.tos = rng.byte();
    c.rtt = rng.below(5000) as u32;
    c.scope = if rng.chance(1, 4) {
        rng.next() as u32
    } else {
        0
    };
    c.misalign = rng.below(8);
    // The scenario: ours (reply or error) most of the time, else something
    // that must be ignored.
    let scenario = rng.below(10);
    let foreign_seq = c.seq.wrapping_add(1 + rng.below(0xfffe) as u16);
    let seq_on_wire = if scenario == 8 { foreign_seq } else { c.seq };
    let (req_type, rep_type) = if v6 {
        (ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY)
    } else {
        (ICMP_ECHO, ICMP_ECHOREPLY)
    };
    let request = echo_header(req_type, wire_id, seq_on_wire, &c.payload, !v6);
    let is_error = scenario >= 4 && scenario != 9;
    let (etype, ecode) = if v6 {
        rng.pick(ERRORS6)
    } else {
        rng.pick(ERRORS4)
    };
    let emap = if v6 {
        map_icmp6(etype, ecode)
    } else {
        map_icmp4(etype, ecode)
    };
    let router = put_addr(c.kind, rng);
    match c.kind {
        Kind::V4Raw | Kind::V4Dgram | Kind::V6 => {
            let from = if is_error { router } else { c.dst };
            c.src = from;
            let opt_words = if c.kind == Kind::V4Raw && rng.chance(1, 3) {
                1 + rng.below(10)
            } else {
                0
            };
            if c.kind == Kind::V4Raw {
                let me = addr4(rng);
                ipv4_header(&mut c.pkt, rng, &from[..4], &me, opt_words);
            }
            if c.kind == Kind::V4Dgram && rng.chance(1, 3) {
                let n = 4 * (1 + rng.below(10));
                rng.extend(&mut c.cmsg_opts, n);
            }
            if !is_error {
                let mut h = echo_header(rep_type, wire_id, seq_on_wire, &c.payload, !v6);
                if scenario == 9 {
                    h = request; // our own request, looped back
                }
                c.pkt.extend_from_slice(&h);
                c.pkt.extend_from_slice(&c.payload);
                c.want = if scenario == 8 || scenario == 9 {
                    Want::Ignore
                } else {
                    Want::Reply
                };
            } else {
                let redirect = scenario == 7;
                let (t, code) = if redirect {
                    (if v6 { 137 } else { 5 }, 1)
                } else {
                    (etype, ecode)
                };
                c.pkt.extend_from_slice(&[t, code, 0, 0, 0, 0, 0x05, 0xdc]);
                if v6 {
                    ipv6_header(&mut c.pkt, &addr6(rng), &c.dst);
                } else {
                    let qopt = if rng.chance(1, 4) {
                        1 + rng.below(10)
                    } else {
                        0
                    };
                    let me = addr4(rng);
                    ipv4_header(&mut c.pkt, rng, &me, &c.dst[..4], qopt);
                }
                c.pkt.extend_from_slice(&request);
                let q = rng
                    .below(c.payload.len() + 1)
                    .min(if rng.chance(1, 2) { 8 } else { 1400 });
                c.pkt.extend_from_slice(&c.payload[..q]);
                c.want = if redirect || scenario == 8 {
                    Want::Ignore
                } else {
                    Want::Error(emap.expect("table entry"))
                };
            }
        }
        Kind::Queued4 | Kind::Queued6 => {
            c.src = router;
            c.pkt.extend_from_slice(&request);
            let q = rng.below(c.payload.len() + 1);
            c.pkt.extend_from_slice(&c.payload[..q]);
            if rng.chance(3, 4) {
                let n = if v6 { 16 } else { 4 };
                c.q_dst.extend_from_slice(&c.dst[..n]);
            }
            c.q_errno = rng.pick(&[113, 101, 111, 71, 90]);
            let icmp_origin = if v6 {
                SO_EE_ORIGIN_ICMP6
            } else {
                SO_EE_ORIGIN_ICMP
            };
            (c.q_origin, c.q_type, c.q_code) = (icmp_origin, etype, ecode);
            c.want = match scenario {
                0..=3 => Want::Error(emap.expect("table entry")),
                4 => {
                    c.q_origin = SO_EE_ORIGIN_LOCAL;
                    c.q_errno = EMSGSIZE;
                    Want::Error(IP_PACKET_TOO_BIG)
                }
                5 => {
                    c.q_origin = SO_EE_ORIGIN_LOCAL;
                    c.q_errno = 105;
                    Want::Error(IP_GENERAL_FAILURE)
                }
                6 => {
                    // Another destination.
                    c.q_dst.clear();
                    let mut other = c.dst;
                    other[3] ^= 0x40;
                    let n = if v6 { 16 } else { 4 };
                    c.q_dst.extend_from_slice(&other[..n]);
                    Want::Ignore
                }
                7 => {
                    // Redirect, or the other family's origin.
                    if rng.chance(1, 2) {
                        c.q_type = if v6 { 137 } else { 5 };
                    } else if v6 {
                        c.q_origin = SO_EE_ORIGIN_ICMP;
                    } else {
                        c.q_origin = SO_EE_ORIGIN_ICMP6;
                    }
                    Want::Ignore
                }
                _ => Want::Ignore, // 8: foreign sequence; 9: handled below
            };
            if scenario == 9 {
                c.pkt[0] = rep_type; // quotes a reply, not our request
                c.want = Want::Ignore;
            }
        }
    }
    // What the BSD kernels deliver (macOS, iOS, FreeBSD: never run here;
    // issue 15 item 4). A raw-like IPv4 socket there gets the IPv4 header
    // with `ip_len` in network order (Linux, FreeBSD 10+) or in host order
    // without the header length (xnu), and `ip_off` likewise; an in-band
    // error may quote our request's header with both fields byte-swapped.
    // The parsers must read neither.
    if c.kind == Kind::V4Raw && c.pkt.len() >= 20 {
        let hl = usize::from(c.pkt[0] & 0x0f) * 4;
        let total = c.pkt.len() as u16;
        let (len, off) = match rng.below(3) {
            0 => (total.to_be_bytes(), [0x40, 0]),
            1 => ((total - hl as u16).to_le_bytes(), [0, 0x40]),
            _ => (total.to_le_bytes(), [0, 0x40]),
        };
        c.pkt[2..4].copy_from_slice(&len);
        c.pkt[6..8].copy_from_slice(&off);
        let q = hl + 8;
        if is_error && rng.chance(1, 2) && c.pkt.len() >= q + 8 {
            c.pkt.swap(q + 2, q + 3);
            c.pkt.swap(q + 6, q + 7);
        }
    }
    // Every socket there receives every ICMP message of the host (no kernel
    // filter): some seeds are other traffic, all of it to be ignored.
    if matches!(c.kind, Kind::V4Raw | Kind::V6) && rng.chance(1, 6) {
        foreign(c, rng, wire_id);
    }
    // ReplySize: mostly near the edges that decide success, option room and
    // the status-only write.
    let head = if v6 { 36 } else { size_of_reply4() };
    let data = if matches!(c.want, Want::Reply) {
        c.payload.len()
    } else {
        0
    };
    let fit = head + data;
    let jitter = |rng: &mut Rng, x: usize, r: usize| (x + rng.below(2 * r + 1)).saturating_sub(r);
    c.reply_size = match rng.below(8) {
        0 => jitter(rng, fit, 4),
        1 => jitter(rng, fit.next_multiple_of(8) + 40, 12),
        2 => jitter(rng, head, 4),
        3 => rng.below(fit + 64),
        4 => fit + rng.below(600),
        5 => rng.below(16),
        _ => head + c.payload.len() + rng.below(64), // what the API requires
    }
    .min(crate::check::MAX_REPLY);
}

/// Replaces `c`'s packet by another message a BSD raw-like socket receives
/// (the host's other ICMP traffic): never about the request.
fn foreign(c: &mut Case, rng: &mut Rng, wire_id: u16) {
    let v6 = c.kind.v6();
    let (req_type, rep_type) = if v6 {
        (ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY)
    } else {
        (ICMP_ECHO, ICMP_ECHOREPLY)
    };
    let other_id = wire_id.wrapping_add(1 + rng.below(0xfffe) as u16);
    let mut other_host = put_addr(c.kind, rng);
    if other_host == c.dst {
        other_host[3] ^= 0x80;
    }
    let mut msg = Vec::with_capacity(c.payload.len() + 80);
    let mut from = c.dst;
    match rng.below(5) {
        // Another process's echo request.
        0 => {
            from = put_addr(c.kind, rng);
            msg.extend_from_slice(&echo_header(req_type, other_id, c.seq, &c.payload, !v6));
            msg.extend_from_slice(&c.payload);
        }
        // Another process's reply, same sequence (where the identifier is
        // ours to check; else: ours from another host).
        1 if c.id.is_some() => {
            msg.extend_from_slice(&echo_header(rep_type, other_id, c.seq, &c.payload, !v6));
            msg.extend_from_slice(&c.payload);
        }
        // Our pair, from another host.
        1 | 2 => {
            from = other_host;
            msg.extend_from_slice(&echo_header(rep_type, wire_id, c.seq, &c.payload, !v6));
            msg.extend_from_slice(&c.payload);
        }
        // An informational type: router advertisement, timestamp, address
        // mask (IPv4); MLD, router / neighbour discovery, redirect (IPv6).
        3 => {
            let t = if v6 {
                rng.pick(&[130u8, 131, 132, 133, 134, 135, 136, 137, 143])
            } else {
                rng.pick(&[9u8, 10, 13, 14, 15, 16, 17, 18])
            };
            msg.extend_from_slice(&[t, 0, 0, 0]);
            let n = 4 + rng.below(40);
            rng.extend(&mut msg, n);
        }
        // An error about a request to another host.
        _ => {
            from = put_addr(c.kind, rng);
            let (t, code) = if v6 {
                rng.pick(ERRORS6)
            } else {
                rng.pick(ERRORS4)
            };
            msg.extend_from_slice(&[t, code, 0, 0, 0, 0, 0, 0]);
            if v6 {
                ipv6_header(&mut msg, &addr6(rng), &other_host);
            } else {
                let me = addr4(rng);
                ipv4_header(&mut msg, rng, &me, &other_host[..4], 0);
            }
            msg.extend_from_slice(&echo_header(req_type, wire_id, c.seq, &c.payload, !v6));
        }
    }
    c.pkt.clear();
    if c.kind == Kind::V4Raw {
        let me = addr4(rng);
        ipv4_header(&mut c.pkt, rng, &from[..4], &me, 0);
    }
    c.pkt.extend_from_slice(&msg);
    c.src = from;
    c.want = Want::Ignore;
}

/// `size_of::<ICMP_ECHO_REPLY>()`.
pub fn size_of_reply4() -> usize {
    core::mem::size_of::<icmp_sys::ICMP_ECHO_REPLY>()
}

/// Values that tend to sit on decision edges.
const INTERESTING: &[u8] = &[
    0, 1, 2, 3, 4, 5, 6, 8, 11, 12, 0x0f, 0x10, 0x14, 0x3f, 0x40, 0x44, 0x45, 0x46, 0x4f, 0x5f,
    0x60, 0x6f, 58, 0x7f, 0x80, 128, 129, 137, 0xfe, 0xff,
];

/// Offsets where the parsers look (outer IP header, ICMP header, quoted
/// headers), so that mutations hit them often.
fn hot_offset(c: &Case, rng: &mut Rng) -> usize {
    let base = if c.kind == Kind::V4Raw && !c.pkt.is_empty() {
        usize::from(c.pkt[0] & 0x0f) * 4
    } else {
        0
    };
    let rel = rng.pick(&[
        0usize, 1, 4, 5, 6, 7, 8, 9, 14, 17, 24, 28, 32, 39, 40, 47, 48, 49, 54, 55,
    ]);
    match rng.below(3) {
        0 => rel,
        1 => base + rel,
        _ => base + 8 + rng.below(48),
    }
}

/// Applies 1..=8 random mutations to `c`.
pub fn mutate(c: &mut Case, rng: &mut Rng) {
    let n = 1 + rng.below(8);
    c.mutations = n as u32;
    c.want = Want::Any;
    for _ in 0..n {
        let len = c.pkt.len();
        match rng.below(16) {
            0 | 1 if len > 0 => {
                let i = rng.below(len);
                c.pkt[i] ^= 1 << rng.below(8);
            }
            2 | 3 if len > 0 => {
                let i = if rng.chance(1, 2) {
                    hot_offset(c, rng).min(len - 1)
                } else {
                    rng.below(len)
                };
                c.pkt[i] = if rng.chance(2, 3) {
                    rng.pick(INTERESTING)
                } else {
                    rng.byte()
                };
            }
            4 => {
                let to = if rng.chance(1, 2) {
                    rng.below(len.min(80) + 1)
                } else {
                    rng.below(len + 1)
                };
                c.pkt.truncate(to);
            }
            5 => {
                let n = rng.pick(&[1, 3, 4, 8, 20, 40, 300]);
                rng.extend(&mut c.pkt, n);
            }
            6 if len > 0 => {
                // Header length nibble of the outer or a quoted IPv4 header.
                let at = rng.pick(&[0usize, 8, 28, 8 + usize::from(c.pkt[0] & 15) * 4]);
                if at < len {
                    c.pkt[at] = (c.pkt[at] & 0xf0) | rng.below(16) as u8;
                }
            }
            7 if len >= 6 => {
                // The IPv4 total length / IPv6 payload length fields.
                let v = (rng.next() as u16).to_be_bytes();
                let at = rng.pick(&[2usize, 4]);
                c.pkt[at] = v[0];
                c.pkt[at + 1] = v[1];
            }
            8 => c.seq = c.seq.wrapping_add(rng.pick(&[1u16, 0xffff, 0x100])),
            9 => {
                c.id = if rng.chance(1, 2) {
                    None
                } else {
                    Some(rng.next() as u16)
                }
            }
            10 if !c.payload.is_empty() => {
                if rng.chance(1, 2) {
                    let i = rng.below(c.payload.len());
                    c.payload[i] ^= 0x20;
                } else {
                    let to = rng.below(c.payload.len());
                    c.payload.truncate(to);
                }
            }
            11 => {
                let i = rng.below(16);
                if rng.chance(1, 2) {
                    c.src[i] ^= 1;
                } else {
                    c.dst[i] ^= 1;
                }
            }
            12 => match rng.below(5) {
                0 => c.q_origin = rng.below(6) as u8,
                1 => c.q_type = rng.pick(INTERESTING),
                2 => c.q_code = rng.byte(),
                3 => c.q_errno = rng.pick(&[0, EMSGSIZE, 113, u32::MAX]),
                _ => {
                    let n = rng.pick(&[0usize, 1, 3, 4, 5, 15, 16]);
                    c.q_dst.clear();
                    let d = c.dst;
                    c.q_dst.extend_from_slice(&d[..n]);
                }
            },
            13 => {
                let n = rng.pick(&[0usize, 3, 4, 39, 40, 41, 44, 60]);
                c.cmsg_opts.clear();
                rng.extend(&mut c.cmsg_opts, n);
            }
            14 if len > 8 => {
                // Splice: copy a chunk over another place.
                let a = rng.below(len);
                let b = rng.below(len);
                let n = rng.below(len - a.max(b)).min(48);
                c.pkt.copy_within(a..a + n, b);
            }
            _ => {
                c.reply_size = rng.below(c.reply_size + 64);
            }
        }
    }
}

/// Fills `c` with iteration `i`'s case: a seed, mutated in most iterations;
/// one in 64 is pure noise.
pub fn make(c: &mut Case, seed_v: u64, i: u64) -> Rng {
    let mut rng = Rng::for_iteration(seed_v, i);
    seed(c, &mut rng);
    match rng.below(64) {
        0 => {
            // Noise: random bytes of a random length.
            let n = rng.below(200);
            c.pkt.clear();
            rng.extend(&mut c.pkt, n);
            c.want = Want::Any;
            c.mutations = u32::MAX;
        }
        1..=9 => {} // an unmutated seed: the expected result is checked
        _ => mutate(c, &mut rng),
    }
    rng
}
