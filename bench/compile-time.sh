#!/usr/bin/env bash
# Compile-time benchmark (issue 8, item 19): clean build of a tiny dependent
# of icmp-sys vs the same dependent of windows-sys 0.61 with the features the
# same API needs, for x86_64-pc-windows-gnu. Goal: the net ratio (below)
# (icmp - no-deps) / (windows-sys - no-deps) <= 0.2 (issue 16: stay within
# 0.25 while adding the async helpers). The whole ratio
# icmp / windows-sys is printed too, against issue 2's old goal (<= 0.15).
#
# Usage: bench/compile-time.sh [RUNS]      (RUNS per side, default 5)
#   BENCH_TARGET=<triple>   target to build for (default x86_64-pc-windows-gnu)
#   BENCH_PROFILE=release   build with --release (default: dev profile)
#   BENCH_ICMP_PATH=<dir>   icmp-sys checkout to measure (default: this repo),
#                           e.g. a variant without build.rs
#   BENCH_TIMINGS=1         after the timed runs, one extra clean build per
#                           side with `cargo build --timings`, printing each
#                           unit's compile time (not counted in the medians)
#
# Both dependents are binaries whose `main` takes the address of all nine
# functions and the size of the main structs and passes them to
# `black_box`, so both bindings are really compiled, linked and imported.
# A third, "no-deps", is the same binary without any dependency: the floor
# (cargo start-up, the dependent's own compile and link), which the "net"
# ratio subtracts from both sides. All three build with `incremental =
# false`, as a crates.io dependency is built (a path dependency would
# otherwise be built incrementally, which costs a little more).
# Dependencies are fetched first (`cargo fetch`, the only step that may use
# the network) and one untimed warm-up build of each side unpacks sources and
# warms the file cache; every timed run is `cargo build --offline` into a
# fresh, empty target dir. Runs alternate icmp, windows-sys, icmp, ... so
# drift of the machine hits both sides alike. Times are seconds of the whole
# `cargo build` (resolution, build scripts, rustc, link): wall clock (the
# goal's measure) and CPU, user + sys of cargo and its children (less
# sensitive to other load on the machine). The ratio is of the medians.
# It prints numbers; it is not a test and exits 0 whatever the ratio.
set -euo pipefail
[[ -n "${BENCH_ICMP_PATH:-}" ]] && BENCH_ICMP_PATH=$(realpath "$BENCH_ICMP_PATH")
cd "$(dirname "$0")/.."
repo=$PWD
icmp_path=${BENCH_ICMP_PATH:-$repo}

runs=${1:-${BENCH_RUNS:-5}}
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]] || ((runs > 50)); then
    echo "usage: $0 [RUNS]   (1..50, default 5)" >&2
    exit 2
fi
target=${BENCH_TARGET:-x86_64-pc-windows-gnu}
profile_args=()
[[ "${BENCH_PROFILE:-dev}" == release ]] && profile_args=(--release)

work=$repo/target/bench-compile
rm -rf "$work"
mkdir -p "$work/icmp/src" "$work/winsys/src" "$work/none/src"
unset RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_TARGET_DIR CARGO_INCREMENTAL RUSTC_WRAPPER

# --- the two dependents ----------------------------------------------------
cat >"$work/icmp/Cargo.toml" <<EOF
[package]
name = "bench-icmp"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
icmp-sys = { path = "$icmp_path" }

[workspace]

[profile.dev]
incremental = false
EOF
cat >"$work/icmp/src/main.rs" <<'EOF'
use core::mem::size_of;
use icmp_sys::*;

fn main() {
    let functions: [*const (); 9] = [
        IcmpCreateFile as *const (),
        Icmp6CreateFile as *const (),
        IcmpCloseHandle as *const (),
        IcmpSendEcho as *const (),
        IcmpSendEcho2 as *const (),
        IcmpSendEcho2Ex as *const (),
        Icmp6SendEcho2 as *const (),
        IcmpParseReplies as *const (),
        Icmp6ParseReplies as *const (),
    ];
    let sizes = [
        size_of::<ICMP_ECHO_REPLY>(),
        size_of::<ICMPV6_ECHO_REPLY_LH>(),
        size_of::<IP_OPTION_INFORMATION>(),
        size_of::<SOCKADDR_IN6>(),
        size_of::<IO_STATUS_BLOCK>(),
    ];
    let constants = (IP_SUCCESS, IP_REQ_TIMED_OUT, INVALID_HANDLE_VALUE);
    std::hint::black_box((functions, sizes, constants));
}
EOF

cat >"$work/winsys/Cargo.toml" <<'EOF'
[package]
name = "bench-winsys"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
windows-sys = { version = "0.61", features = [
    "Win32_NetworkManagement_IpHelper",
    "Win32_Foundation",
    "Win32_Networking_WinSock",
    "Win32_System_IO",
] }

[workspace]

[profile.dev]
incremental = false
EOF
cat >"$work/winsys/src/main.rs" <<'EOF'
use core::mem::size_of;
use windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE;
use windows_sys::Win32::NetworkManagement::IpHelper::*;
use windows_sys::Win32::Networking::WinSock::SOCKADDR_IN6;
use windows_sys::Win32::System::IO::IO_STATUS_BLOCK;

fn main() {
    let functions: [*const (); 9] = [
        IcmpCreateFile as *const (),
        Icmp6CreateFile as *const (),
        IcmpCloseHandle as *const (),
        IcmpSendEcho as *const (),
        IcmpSendEcho2 as *const (),
        IcmpSendEcho2Ex as *const (),
        Icmp6SendEcho2 as *const (),
        IcmpParseReplies as *const (),
        Icmp6ParseReplies as *const (),
    ];
    let sizes = [
        size_of::<ICMP_ECHO_REPLY>(),
        size_of::<ICMPV6_ECHO_REPLY_LH>(),
        size_of::<IP_OPTION_INFORMATION>(),
        size_of::<SOCKADDR_IN6>(),
        size_of::<IO_STATUS_BLOCK>(),
    ];
    let constants = (IP_SUCCESS, IP_REQ_TIMED_OUT, INVALID_HANDLE_VALUE);
    std::hint::black_box((functions, sizes, constants));
}
EOF

# The floor: the same binary with no dependency at all (cargo start-up,
# compiling and linking the dependent itself). No bindings crate can build
# faster than this, so the "net" ratio subtracts it from both sides.
cat >"$work/none/Cargo.toml" <<'EOF'
[package]
name = "bench-none"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[profile.dev]
incremental = false
EOF
cat >"$work/none/src/main.rs" <<'EOF'
fn main() {
    let functions: [*const (); 1] = [main as *const ()];
    std::hint::black_box((functions, [core::mem::size_of::<u32>()], (0u32, 11010u32)));
}
EOF

# --- fetch (network allowed here only) and warm up -------------------------
build() { # build SIDE TARGET_DIR [extra cargo args...]
    local side=$1 dir=$2
    shift 2
    rm -rf "$dir"
    (cd "$work/$side" && CARGO_TARGET_DIR="$dir" cargo build --offline --quiet \
        --target "$target" "${profile_args[@]}" "$@")
}
sides=(icmp winsys none)
declare -A label=([icmp]=icmp-sys [winsys]=windows-sys [none]=no-deps)
# Every platform's dependencies, not only the target's: cargo also wants the
# host's (libc, on a Linux host) when it builds for another target.
for side in "${sides[@]}"; do
    (cd "$work/$side" && cargo fetch --quiet)
done
echo "rustc: $(rustc --version); target: $target; profile: ${BENCH_PROFILE:-dev}; runs per side: $runs"
echo "icmp-sys: $icmp_path, $(cd "$icmp_path" && git describe --always --dirty 2>/dev/null || echo '?'); $(nproc) CPUs"
for side in "${sides[@]}"; do
    build "$side" "$work/target-warmup"
done
rm -rf "$work/target-warmup"

# --- timed, alternating clean builds ---------------------------------------
TIMEFORMAT='%3R %3U %3S'
declare -A wall cpu_s
for ((i = 1; i <= runs; i++)); do
    for side in "${sides[@]}"; do
        dir=$work/target-$side-$i
        rm -rf "$dir"
        # bash's `time` reports wall, user and sys (children included).
        { time build "$side" "$dir" 2>&3; } 3>&2 2>"$work/time.txt"
        read -r secs user sys <"$work/time.txt"
        cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')
        # The binary must exist: a run that built nothing is no measurement.
        exe=$(find "$dir/$target" -maxdepth 2 -name "bench-$side.exe" -print -quit)
        if [[ -z "$exe" ]]; then
            echo "FAIL: run $i $side produced no bench-$side.exe" >&2
            exit 1
        fi
        rm -rf "$dir"
        wall[$side]+="$secs " cpu_s[$side]+="$cpu "
        printf 'run %2d  %-12s wall %7.3f s  cpu %7.3f s\n' "$i" "${label[$side]}" "$secs" "$cpu"
    done
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
declare -A mw mc
for side in "${sides[@]}"; do
    # shellcheck disable=SC2086 # the run lists are meant to be split
    mw[$side]=$(median ${wall[$side]})
    # shellcheck disable=SC2086
    mc[$side]=$(median ${cpu_s[$side]})
    printf 'median  %-12s wall %7.3f s  cpu %7.3f s\n' "${label[$side]}" "${mw[$side]}" "${mc[$side]}"
done
ratio=$(div "${mw[icmp]}" "${mw[winsys]}")
cpu_ratio=$(div "${mc[icmp]}" "${mc[winsys]}")
floor=$(div "${mw[none]}" "${mw[winsys]}")
net_icmp=$(sub "${mw[icmp]}" "${mw[none]}")
net_winsys=$(sub "${mw[winsys]}" "${mw[none]}")
net_ratio=$(div "$net_icmp" "$net_winsys")
net_cpu_ratio=$(div "$(sub "${mc[icmp]}" "${mc[none]}")" "$(sub "${mc[winsys]}" "${mc[none]}")")
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.15 ? "meets" : "misses") }')
net_verdict=$(awk -v r="$net_ratio" 'BEGIN { print (r <= 0.2 ? "meets" : "MISSES") }')
bound_verdict=$(awk -v r="$net_ratio" 'BEGIN { print (r <= 0.25 ? "within" : "OUTSIDE") }')
echo "ratio   icmp-sys / windows-sys  wall $ratio ($verdict issue 2's old goal <= 0.15), cpu $cpu_ratio"
echo "floor   no-deps / windows-sys   wall $floor (the best ratio any dependency could reach)"
echo "net     (icmp-sys - no-deps) / (windows-sys - no-deps) = $net_icmp / $net_winsys s = $net_ratio ($net_verdict the goal <= 0.2, issue 8 item 19; $bound_verdict issue 16's bound <= 0.25), cpu $net_cpu_ratio"

# --- optional per-unit breakdown -------------------------------------------
if [[ "${BENCH_TIMINGS:-0}" == 1 ]]; then
    for side in icmp winsys; do
        dir=$work/target-timings-$side
        build "$side" "$dir" --timings
        html=$dir/cargo-timings/cargo-timing.html
        echo "per-unit times, $side (cargo --timings, extra run, not in the medians):"
        python3 - "$html" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
m = re.search(r"const UNIT_DATA = (\[.*?\]);", text, re.S)
if not m:
    sys.exit("  (no UNIT_DATA in the timings report)")
units = json.loads(m.group(1))
print(f"  {'unit':<36} {'start':>6} {'time':>6}")
for u in units:
    name = f"{u['name']} {u.get('target', '').strip()}".strip()
    print(f"  {name:<36} {u['start']:6.2f} {u['duration']:6.2f}")
total = re.search(r"<td>Total time:</td><td>([^<]*)</td>", text)
print(f"  total (cargo): {total.group(1) if total else '?'}; first unit started at "
      f"{min(u['start'] for u in units):.2f} s (cargo start-up: resolve, rustc queries)")
PY
        rm -rf "$dir"
    done
fi
