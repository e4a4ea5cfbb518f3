//! `icmp-sys-fuzz`: a mutation-based fuzzer of icmp-sys' Unix reply
//! conversion (`icmp_sys::unix::reply`) that runs on stable Rust.
//!
//! Each execution builds a valid case (echo replies with and without IPv4
//! header and options, ICMPv4/ICMPv6 errors quoting our request, Linux
//! error-queue messages, foreign traffic), mutates it with a seeded PRNG in
//! most executions (bit flips, interesting bytes at header offsets,
//! truncation, extension, header-length and length-field edits, splices,
//! expectation and cmsg edits), runs it through every entry point of
//! reply.rs as the backend does, and writes the outcome into a reply buffer
//! of a random `ReplySize` between guard bytes. Checked: no panic (library
//! debug assertions and overflow checks on), guard bytes intact, results
//! equal to a reference model, what is written reads back through
//! `helper::Replies` / `Reply6` with `Data` inside the buffer.
//!
//! Usage: `icmp-sys-fuzz [smoke|full|EXECS] [--seed N] [--threads N]
//! [--max-seconds S] [--replay ITERATION]`.

mod case;
mod check;

use std::cell::Cell;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

thread_local! {
    static CURRENT: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

const SMOKE: u64 = 10_000_000;
const FULL: u64 = 100_000_000;

struct Args {
    execs: u64,
    seed: u64,
    threads: usize,
    max_seconds: u64,
    replay: Option<u64>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        execs: SMOKE,
        seed: 0x1c3b_5eed,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        max_seconds: 900,
        replay: None,
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>, what: &str| -> Result<u64, String> {
        let v = v.ok_or(format!("{what} needs a value"))?;
        let r = match v.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16),
            None => v.replace('_', "").parse(),
        };
        r.map_err(|_| format!("bad number for {what}: {v}"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "smoke" => a.execs = SMOKE,
            "full" => a.execs = FULL,
            "--seed" => a.seed = num(it.next(), "--seed")?,
            "--threads" => a.threads = num(it.next(), "--threads")?.clamp(1, 64) as usize,
            "--max-seconds" => a.max_seconds = num(it.next(), "--max-seconds")?,
            "--replay" => a.replay = Some(num(it.next(), "--replay")?),
            "-h" | "--help" => return Err(String::new()),
            n => a.execs = num(Some(n.to_string()), "EXECS")?,
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("error: {msg}");
            }
            eprintln!(
                "usage: icmp-sys-fuzz [smoke|full|EXECS] [--seed N] [--threads N] \
                 [--max-seconds S] [--replay ITERATION]\n  smoke = {SMOKE} executions, full = {FULL}"
            );
            return ExitCode::from(2);
        }
    };
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        if let Some((seed, i)) = CURRENT.with(Cell::get) {
            eprintln!(
                "FUZZ FAILURE at iteration {i} of seed {seed:#x}; replay with: \
                 fuzz/run --seed {seed:#x} --replay {i}"
            );
        }
        std::process::exit(1);
    }));

    if let Some(i) = args.replay {
        let mut c = case::Case::new();
        let mut rng = case::make(&mut c, args.seed, i);
        println!("{c:#?}");
        println!("pkt = {}", hex(&c.pkt));
        CURRENT.with(|x| x.set(Some((args.seed, i))));
        let mut st = check::Stats::default();
        check::run(&c, &mut rng, &mut check::Arena::new(), &mut st);
        println!("replay of iteration {i}: all properties hold");
        return ExitCode::SUCCESS;
    }

    println!(
        "icmp-sys-fuzz: {} executions, seed {:#x}, {} threads, time limit {} s",
        args.execs, args.seed, args.threads, args.max_seconds
    );
    let t0 = Instant::now();
    let limit = Duration::from_secs(args.max_seconds);
    let stop = AtomicBool::new(false);
    let total = std::thread::scope(|s| {
        let workers: Vec<_> = (0..args.threads as u64)
            .map(|t| {
                let stop = &stop;
                let (n, seed, step) = (args.execs, args.seed, args.threads as u64);
                s.spawn(move || {
                    let mut c = case::Case::new();
                    let mut arena = check::Arena::new();
                    let mut st = check::Stats::default();
                    let mut i = t;
                    while i < n {
                        if st.execs % 65_536 == 0
                            && (stop.load(Ordering::Relaxed) || t0.elapsed() > limit)
                        {
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                        CURRENT.with(|x| x.set(Some((seed, i))));
                        let mut rng = case::make(&mut c, seed, i);
                        check::run(&c, &mut rng, &mut arena, &mut st);
                        i += step;
                    }
                    st
                })
            })
            .collect();
        let mut total = check::Stats::default();
        for w in workers {
            total.add(&w.join().expect("worker"));
        }
        total
    });
    let secs = t0.elapsed().as_secs_f64();
    report(&total);
    println!(
        "executions: {} in {secs:.1} s ({:.2} M/s), 0 failures",
        total.execs,
        total.execs as f64 / secs / 1e6
    );
    if stop.load(Ordering::Relaxed) {
        println!(
            "STOPPED at the time limit ({} s) before the {} executions asked for",
            args.max_seconds, args.execs
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn report(st: &check::Stats) {
    println!("reached (reply / error / ignore):");
    for (k, row) in case::KINDS.iter().zip(st.by_kind.iter()) {
        println!(
            "  {:<8} {:>11} {:>11} {:>11}",
            format!("{k:?}"),
            row[0],
            row[1],
            row[2]
        );
    }
    println!(
        "  unmutated seeds checked against their expected result: {}",
        st.seeds
    );
    println!(
        "  reply writes: {} written, {} refused (too small); options kept {}, dropped {}",
        st.write_ok, st.write_refused, st.opts_kept, st.opts_dropped
    );
    println!(
        "  status-only writes: {} written, {} without room; corrupted buffers parsed: {} replies read, {} refused",
        st.status_written, st.status_no_room, st.parsed_ok, st.parsed_refused
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
