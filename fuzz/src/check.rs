//! One execution: the case goes through the same calls as `sock::echo` and
//! the API layer (`api.rs`) make, into a reply buffer with guard bytes on
//! both sides, and every result is checked against the specification.

use crate::case::{Case, EMSGSIZE, Kind, Rng, Want, size_of_reply4};
use icmp_sys::helper::{Replies, Reply6};
use icmp_sys::unix::reply::{
    Classified, Expect, OutBuf, QueuedError, Reply4, SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6,
    SO_EE_ORIGIN_LOCAL, classify_queued, classify4, classify6, echo_key, map_icmp4, map_icmp6,
    split_ipv4, write_reply4, write_reply6, write_status4, write_status6,
};
use icmp_sys::{
    IP_GENERAL_FAILURE, IP_PACKET_TOO_BIG, IP_REQ_TIMED_OUT, IP_STATUS, IP_SUCCESS,
    IP_TTL_EXPIRED_TRANSIT, Icmp6ParseReplies, IcmpParseReplies,
};

/// Guard bytes before and after the reply buffer.
pub const GUARD_BEFORE: usize = 16;
/// Guard bytes after `ReplySize`.
pub const GUARD_AFTER: usize = 64;
/// The largest `ReplySize` a case may ask for.
pub const MAX_REPLY: usize = 16 * 1024;

/// Counters of what the executions reached, to show the fuzzer gets deep.
#[derive(Default, Clone, Debug)]
pub struct Stats {
    /// Executions.
    pub execs: u64,
    /// Unmutated seeds whose expected classification was checked.
    pub seeds: u64,
    /// Per kind: reply, error, ignore.
    pub by_kind: [[u64; 3]; 5],
    /// `write_reply4/6` succeeded / refused (too small).
    pub write_ok: u64,
    /// See `write_ok`.
    pub write_refused: u64,
    /// Options written / dropped (did not fit) in successful IPv4 replies.
    pub opts_kept: u64,
    /// See `opts_kept`.
    pub opts_dropped: u64,
    /// Status-only writes that wrote / had no room.
    pub status_written: u64,
    /// See `status_written`.
    pub status_no_room: u64,
    /// Random buffers parsed by `helper::Replies`: replies accepted, refused.
    pub parsed_ok: u64,
    /// See `parsed_ok`.
    pub parsed_refused: u64,
}

impl Stats {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &Stats) {
        self.execs += o.execs;
        self.seeds += o.seeds;
        for k in 0..5 {
            for j in 0..3 {
                self.by_kind[k][j] += o.by_kind[k][j];
            }
        }
        self.write_ok += o.write_ok;
        self.write_refused += o.write_refused;
        self.opts_kept += o.opts_kept;
        self.opts_dropped += o.opts_dropped;
        self.status_written += o.status_written;
        self.status_no_room += o.status_no_room;
        self.parsed_ok += o.parsed_ok;
        self.parsed_refused += o.parsed_refused;
    }
}

/// The classification a packet received: what `sock::echo` turns into an
/// `Outcome`.
#[derive(Debug, Clone, Copy)]
enum Res<'a> {
    Reply {
        from: [u8; 16],
        ttl: u8,
        tos: u8,
        options: &'a [u8],
    },
    Error {
        status: IP_STATUS,
        from: [u8; 16],
        ttl: u8,
    },
    Ignore,
}

fn id_seq_ok(h: &[u8], e: &Expect<'_>) -> bool {
    let id = u16::from_be_bytes([h[4], h[5]]);
    let seq = u16::from_be_bytes([h[6], h[7]]);
    seq == e.seq && e.id.is_none_or(|w| w == id)
}

/// Reference model of an ICMPv4 message's meaning (RFC 792 layout; the
/// matching rules of reference §7.3): written from the specification, not
/// from reply.rs, so the two are compared.
fn ref_classify4(icmp: &[u8], src: [u8; 4], e: &Expect<'_>) -> Option<Result<(), IP_STATUS>> {
    if icmp.len() < 8 {
        return None;
    }
    if icmp[0] == 0 {
        let ours =
            icmp[1] == 0 && id_seq_ok(icmp, e) && src[..] == *e.dst && icmp[8..] == *e.payload;
        return ours.then_some(Ok(()));
    }
    let status = map_icmp4(icmp[0], icmp[1])?;
    // Quoted: the request's IPv4 header (IHL words) then ≥ 8 bytes of ICMP.
    let q = icmp.get(8..)?;
    let ihl = usize::from(*q.first()? & 0x0f) * 4;
    let ok = q[0] >> 4 == 4
        && ihl >= 20
        && q.len() >= ihl + 8
        && q[9] == 1
        && q[16..20] == *e.dst
        && q[ihl] == 8
        && q[ihl + 1] == 0
        && id_seq_ok(&q[ihl..], e);
    ok.then_some(Err(status))
}

/// Reference model for ICMPv6 (RFC 4443): an error quotes a fixed 40-byte
/// IPv6 header whose next header is ICMPv6 (58), then our echo request.
fn ref_classify6(icmp: &[u8], src: [u8; 16], e: &Expect<'_>) -> Option<Result<(), IP_STATUS>> {
    if icmp.len() < 8 {
        return None;
    }
    if icmp[0] == 129 {
        let ours =
            icmp[1] == 0 && id_seq_ok(icmp, e) && src[..] == *e.dst && icmp[8..] == *e.payload;
        return ours.then_some(Ok(()));
    }
    let status = map_icmp6(icmp[0], icmp[1])?;
    let q = &icmp[8..];
    let ok = q.len() >= 48
        && q[0] >> 4 == 6
        && q[6] == 58
        && q[24..40] == *e.dst
        && q[40] == 128
        && q[41] == 0
        && id_seq_ok(&q[40..], e);
    ok.then_some(Err(status))
}

/// Reference model of a queued (IP_RECVERR) error.
fn ref_queued(c: &Case, e: &Expect<'_>) -> Option<IP_STATUS> {
    let v6 = c.kind.v6();
    if !c.q_dst.is_empty() && c.q_dst[..] != *e.dst {
        return None;
    }
    let q = &c.pkt;
    let req = if v6 { 128 } else { 8 };
    if q.len() < 8 || q[0] != req || q[1] != 0 || !id_seq_ok(q, e) {
        return None;
    }
    match c.q_origin {
        SO_EE_ORIGIN_ICMP if !v6 => map_icmp4(c.q_type, c.q_code),
        SO_EE_ORIGIN_ICMP6 if v6 => map_icmp6(c.q_type, c.q_code),
        SO_EE_ORIGIN_LOCAL if c.q_errno == EMSGSIZE => Some(IP_PACKET_TOO_BIG),
        SO_EE_ORIGIN_LOCAL => Some(IP_GENERAL_FAILURE),
        _ => None,
    }
}

fn same<T: PartialEq + core::fmt::Debug>(what: &str, got: T, want: T) {
    assert!(got == want, "{what}: got {got:?}, want {want:?}");
}

/// What the async engine relies on: a message the classification accepts
/// for `e` names `e` by its demultiplexing key (identifier, sequence).
fn check_key(icmp: &[u8], v6: bool, got: Classified<'_>, e: &Expect<'_>) {
    if matches!(got, Classified::Ignore) {
        return;
    }
    let Some((id, seq)) = echo_key(icmp, v6) else {
        panic!("echo_key: none for a message classified {got:?}");
    };
    same("echo_key sequence", seq, e.seq);
    if let Some(want) = e.id {
        same("echo_key identifier", id, want);
    }
}

/// The receive path of `sock::echo` for the case, checked against the
/// reference models.
fn classify<'a>(c: &'a Case, e: &Expect<'_>) -> Res<'a> {
    let pkt = &c.pkt[..];
    match c.kind {
        Kind::V4Raw => {
            let split = split_ipv4(pkt);
            let ihl = pkt.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
            let want =
                !pkt.is_empty() && pkt[0] >> 4 == 4 && ihl >= 20 && pkt.len() >= ihl && pkt[9] == 1;
            same("split_ipv4 accepts", split.is_some(), want);
            let Some(p) = split else { return Res::Ignore };
            same("split src", p.src, [pkt[12], pkt[13], pkt[14], pkt[15]]);
            same("split ttl/tos", (p.ttl, p.tos), (pkt[8], pkt[1]));
            same("split options", p.options, &pkt[20..ihl]);
            same("split payload", p.payload, &pkt[ihl..]);
            let got = classify4(p.payload, p.src, e);
            check4(got, p.payload, p.src, e);
            check_key(p.payload, false, got, e);
            let mut from = [0u8; 16];
            from[..4].copy_from_slice(&p.src);
            match got {
                Classified::Reply(_) => Res::Reply {
                    from,
                    ttl: p.ttl,
                    tos: p.tos,
                    options: &p.options[..p.options.len().min(40)],
                },
                Classified::Error(status) => Res::Error {
                    status,
                    from,
                    ttl: p.ttl,
                },
                Classified::Ignore => Res::Ignore,
            }
        }
        Kind::V4Dgram => {
            let src = [c.src[0], c.src[1], c.src[2], c.src[3]];
            let got = classify4(pkt, src, e);
            check4(got, pkt, src, e);
            check_key(pkt, false, got, e);
            match got {
                Classified::Reply(_) => Res::Reply {
                    from: c.src,
                    ttl: c.ttl,
                    tos: c.tos,
                    // sock.rs keeps at most 40 bytes of IP_RECVOPTS.
                    options: &c.cmsg_opts[..c.cmsg_opts.len().min(40)],
                },
                Classified::Error(status) => Res::Error {
                    status,
                    from: c.src,
                    ttl: c.ttl,
                },
                Classified::Ignore => Res::Ignore,
            }
        }
        Kind::V6 => {
            let got = classify6(pkt, c.src, e);
            check_key(pkt, true, got, e);
            let want = ref_classify6(pkt, c.src, e);
            match (got, want) {
                (Classified::Reply(d), Some(Ok(()))) => {
                    same(
                        "v6 reply data is the packet's",
                        d.as_ptr(),
                        pkt[8..].as_ptr(),
                    );
                }
                (Classified::Error(s), Some(Err(w))) => same("v6 error status", s, w),
                (Classified::Ignore, None) => {}
                (g, w) => panic!("classify6 = {g:?}, reference = {w:?}"),
            }
            match got {
                Classified::Reply(_) => Res::Reply {
                    from: c.src,
                    ttl: c.ttl,
                    tos: c.tos,
                    options: &[],
                },
                Classified::Error(status) => Res::Error {
                    status,
                    from: c.src,
                    ttl: c.ttl,
                },
                Classified::Ignore => Res::Ignore,
            }
        }
        Kind::Queued4 | Kind::Queued6 => {
            let q = QueuedError {
                errno: c.q_errno,
                origin: c.q_origin,
                icmp_type: c.q_type,
                code: c.q_code,
                dst: &c.q_dst,
                quoted: pkt,
            };
            let got = classify_queued(&q, c.kind.v6(), EMSGSIZE, e);
            same("classify_queued", got, ref_queued(c, e));
            match got {
                Some(status) => Res::Error {
                    status,
                    from: c.src,
                    ttl: c.ttl,
                },
                None => Res::Ignore,
            }
        }
    }
}

fn check4(got: Classified<'_>, icmp: &[u8], src: [u8; 4], e: &Expect<'_>) {
    match (got, ref_classify4(icmp, src, e)) {
        (Classified::Reply(d), Some(Ok(()))) => {
            same(
                "v4 reply data is the packet's",
                d.as_ptr(),
                icmp[8..].as_ptr(),
            );
            same("v4 reply data", d, e.payload);
        }
        (Classified::Error(s), Some(Err(w))) => same("v4 error status", s, w),
        (Classified::Ignore, None) => {}
        (g, w) => panic!("classify4 = {g:?}, reference = {w:?}"),
    }
}

/// A reply buffer of `size` bytes at `misalign` from an 8-aligned address,
/// between guard bytes.
pub struct Arena {
    store: Vec<u64>,
}

impl Arena {
    /// Room for the largest case.
    pub fn new() -> Self {
        Arena {
            store: vec![0; (GUARD_BEFORE + 8 + MAX_REPLY + GUARD_AFTER) / 8 + 1],
        }
    }
    fn bytes(&mut self) -> &mut [u8] {
        let n = self.store.len() * 8;
        // SAFETY: a u64 slice viewed as bytes, same lifetime and length.
        unsafe { core::slice::from_raw_parts_mut(self.store.as_mut_ptr().cast(), n) }
    }
}

fn guards_intact(b: &[u8], start: usize, size: usize, g: u8, what: &str) {
    assert!(
        b[..start].iter().all(|&x| x == g),
        "{what}: wrote before the reply buffer"
    );
    assert!(
        b[start + size..start + size + GUARD_AFTER]
            .iter()
            .all(|&x| x == g),
        "{what}: wrote past ReplySize ({size})"
    );
}

/// Runs one case; panics (with a message) on any violated property.
pub fn run(c: &Case, rng: &mut Rng, arena: &mut Arena, st: &mut Stats) {
    st.execs += 1;
    let e = Expect {
        dst: c.dst_bytes(),
        id: c.id,
        seq: c.seq,
        payload: &c.payload,
    };
    let res = classify(c, &e);
    let k = c.kind as usize;
    match (res, c.want) {
        (Res::Reply { .. }, Want::Reply) | (Res::Ignore, Want::Ignore) => st.seeds += 1,
        (Res::Error { status, .. }, Want::Error(w)) => {
            same("seed's error status", status, w);
            st.seeds += 1;
        }
        (_, Want::Any) => {}
        (r, w) => panic!("an unmutated seed classified as {r:?}, want {w:?}"),
    }
    st.by_kind[k][match res {
        Res::Reply { .. } => 0,
        Res::Error { .. } => 1,
        Res::Ignore => 2,
    }] += 1;

    // The API layer's write of the outcome.
    assert!(c.reply_size <= MAX_REPLY, "case asks for a huge ReplySize");
    let size = c.reply_size;
    let start = GUARD_BEFORE + c.misalign;
    let g = rng.byte();
    let b = arena.bytes();
    b[..start + size + GUARD_AFTER].fill(g);
    let v6 = c.kind.v6();
    // (status, from, data, ttl, tos, options) of what is written, or the
    // failure code.
    let what = match res {
        Res::Reply {
            from,
            ttl,
            tos,
            options,
        } => Ok((IP_SUCCESS, from, &c.payload[..], ttl, tos, options)),
        Res::Error { status, from, ttl } => Ok((status, from, &[][..], ttl, 0, &[][..])),
        Res::Ignore => Err(IP_REQ_TIMED_OUT),
    };
    let region_addr = b[start..].as_ptr() as usize;
    let written = match what {
        Ok((status, from, data, ttl, tos, options)) => {
            // As api.rs: the caller's ReplyBuffer / ReplySize as a raw range.
            let p = b[start..start + size].as_mut_ptr();
            // SAFETY: p is valid for writes of size bytes until `out` dies.
            let mut out = unsafe { OutBuf::from_raw(p, size) };
            same("OutBuf len", (out.len(), out.is_empty()), (size, size == 0));
            let r = if v6 {
                let scope = if status == IP_SUCCESS { c.scope } else { 0 };
                write_reply6(&mut out, from, scope, status, c.rtt, data.into())
            } else {
                let r4 = Reply4 {
                    address: u32::from_ne_bytes([from[0], from[1], from[2], from[3]]),
                    status,
                    round_trip_time: c.rtt,
                    ttl,
                    tos,
                    options,
                    data: data.into(),
                };
                write_reply4(&mut out, &r4)
            };
            guards_intact(b, start, size, g, "write_reply");
            let head = if v6 { 36 } else { size_of_reply4() };
            same(
                "write succeeds iff it fits",
                r.is_ok(),
                size >= head + data.len(),
            );
            match r {
                Ok(()) => {
                    st.write_ok += 1;
                    let region = &b[start..start + size];
                    if v6 {
                        check_reply6(region, from, status, c, data);
                    } else {
                        check_reply4(
                            region,
                            region_addr,
                            from,
                            status,
                            c.rtt,
                            data,
                            ttl,
                            tos,
                            options,
                            st,
                        );
                        // IcmpParseReplies reads Reserved (0: a synchronous
                        // send) and sets the last error to the status.
                        let p = b[start..start + size].as_mut_ptr().cast();
                        // SAFETY: p is writable for size bytes.
                        let n = unsafe { IcmpParseReplies(p, size as u32) };
                        let err = icmp_sys::helper::last_error();
                        same("IcmpParseReplies", (n, err), (0, status));
                        guards_intact(b, start, size, g, "IcmpParseReplies");
                    }
                }
                Err(code) => {
                    st.write_refused += 1;
                    same("refusal code", code, IP_GENERAL_FAILURE);
                    assert!(
                        b[start..start + size].iter().all(|&x| x == g),
                        "write_reply wrote into a buffer too small"
                    );
                }
            }
            r
        }
        Err(code) => Err(code),
    };
    if let Err(code) = written {
        // api.rs: a failed call stores its status in reply[0] if it fits.
        let mut out = OutBuf::new(&mut b[start..start + size]);
        if v6 {
            write_status6(&mut out, code);
        } else {
            write_status4(&mut out, code);
        }
        guards_intact(b, start, size, g, "write_status");
        let head = if v6 { 36 } else { size_of_reply4() };
        let region = &b[start..start + size];
        if size < head {
            st.status_no_room += 1;
            assert!(
                region.iter().all(|&x| x == g),
                "status written without room"
            );
        } else {
            st.status_written += 1;
            if v6 {
                let r = Reply6::new(region, 0).expect("status reply");
                same("status6", r.raw.Status, code);
                same("status6 address", r.address().octets(), [0; 16]);
            } else {
                let r = Replies::new(region, 1).expect("room").next().unwrap();
                let r = r.expect("status reply4 readable");
                same("status4", r.raw.Status, code);
                same(
                    "status4 sizes",
                    (r.raw.DataSize, r.raw.Options.OptionsSize),
                    (0, 0),
                );
                same("status4 Data", r.raw.Data as usize, region_addr + head);
            }
        }
    }

    // helper::Replies on corrupted buffers: never out of bounds.
    if rng.chance(1, 4) && size > 0 {
        let region = &mut b[start..start + size];
        for _ in 0..1 + rng.below(6) {
            let i = rng.below(size);
            region[i] = rng.byte();
        }
        let count = rng.below(4) as u32;
        let lo = region.as_ptr() as usize;
        let hi = lo + size;
        match Replies::new(region, count) {
            Ok(reps) => {
                for r in reps {
                    match r {
                        Ok(r) => {
                            st.parsed_ok += 1;
                            for s in [r.data, r.options] {
                                let p = s.as_ptr() as usize;
                                assert!(
                                    s.is_empty() || (p >= lo && p + s.len() <= hi),
                                    "Replies returned a slice outside the buffer"
                                );
                            }
                        }
                        Err(_) => st.parsed_refused += 1,
                    }
                }
            }
            Err(_) => st.parsed_refused += 1,
        }
        let n = rng.below(64) as u16;
        same(
            "Reply6::new accepts iff it fits",
            Reply6::new(region, n).is_ok(),
            size >= 36 + usize::from(n),
        );
        guards_intact(b, start, size, g, "parsing");
    }
}

#[allow(clippy::too_many_arguments)]
fn check_reply4(
    region: &[u8],
    region_addr: usize,
    from: [u8; 16],
    status: IP_STATUS,
    rtt: u32,
    data: &[u8],
    ttl: u8,
    tos: u8,
    options: &[u8],
    st: &mut Stats,
) {
    let head = size_of_reply4();
    let size = region.len();
    let r = Replies::new(region, 1)
        .expect("room for one reply")
        .next()
        .unwrap()
        .expect("the written reply reads back in bounds");
    let raw = r.raw;
    same(
        "Address",
        raw.Address,
        u32::from_ne_bytes([from[0], from[1], from[2], from[3]]),
    );
    same("Status", raw.Status, status);
    same("RoundTripTime", raw.RoundTripTime, rtt);
    same("DataSize", usize::from(raw.DataSize), data.len());
    same("Reserved", raw.Reserved, 0);
    same("Data pointer", raw.Data as usize, region_addr + head);
    same("data", r.data, data);
    same(
        "Ttl/Tos/Flags",
        (raw.Options.Ttl, raw.Options.Tos, raw.Options.Flags),
        (ttl, tos, 0),
    );
    let opt_at = (head + data.len()).next_multiple_of(8);
    let kept = !options.is_empty() && options.len() <= 40 && opt_at + options.len() <= size;
    if kept {
        st.opts_kept += 1;
        same(
            "OptionsData",
            raw.Options.OptionsData as usize,
            region_addr + opt_at,
        );
        same("options", r.options, options);
    } else {
        if !options.is_empty() {
            st.opts_dropped += 1;
        }
        same("OptionsSize (dropped)", raw.Options.OptionsSize, 0);
        assert!(
            raw.Options.OptionsData.is_null(),
            "OptionsData without options"
        );
    }
}

fn check_reply6(region: &[u8], from: [u8; 16], status: IP_STATUS, c: &Case, data: &[u8]) {
    let r = Reply6::new(region, data.len() as u16).expect("room for the IPv6 reply");
    same("v6 Status", r.raw.Status, status);
    same("v6 RoundTripTime", r.raw.RoundTripTime, c.rtt);
    same("v6 Address", r.address().octets(), from);
    let a = r.raw.Address;
    let scope = if status == IP_SUCCESS { c.scope } else { 0 };
    same(
        "v6 port/flow/scope",
        (a.sin6_port, a.sin6_flowinfo, a.sin6_scope_id),
        (0, 0, scope),
    );
    same("v6 data", r.data, data);
    // SAFETY: region is readable for its length; Icmp6ParseReplies only reads.
    let n = unsafe { Icmp6ParseReplies(region.as_ptr().cast_mut().cast(), region.len() as u32) };
    same(
        "Icmp6ParseReplies",
        n,
        u32::from(status == IP_SUCCESS || status == IP_TTL_EXPIRED_TRANSIT),
    );
}
