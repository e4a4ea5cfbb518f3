#!/usr/bin/env bash
# Many-hosts benchmark (issue 11, item 3): examples/ping_many (async sends
# from one thread through the ICMP API) against fping, the tool people use
# to ping many hosts, on the same targets in one run, alternating runs:
#
#   loopback   1024 addresses, 127.0.0.0/22 (all answer)
#   half-silent  512 addresses in `.ci/netns many`: 198.51.100.0/24 answers
#              (a target namespace behind a router), 203.0.113.0/24 is
#              blackholed by the router (silent: every echo times out)
#   sweep      127.0.0.0/16 (all answer) without its first and last
#              address: 65 534 hosts, as `fping -g` makes them (fping 5.1
#              refuses a 65 536th host: "not enough sequence numbers
#              available"), one echo each; ping_many on ping sockets
#              (ICMP_SYS_SOCKET=dgram, the namespace's ping_group_range
#              widened), fping from a file (-f). Issue 14 item 3's goal: no
#              loss, no more wall time and no more CPU than fping.
#              SWEEP_RUNS runs per tool (default 1: ~10 s of CI)
#
# Both run inside one fresh `.ci/netns many` namespace (so no other ICMP
# traffic of the host reaches their raw sockets), as root, with the same
# work: COUNT echoes per host, TIMEOUT_MS per echo, SIZE bytes of data, no
# retries (fping -r 0), fping at the smallest send interval it allows (root:
# -i 0; fping(8)'s 1 ms minimum holds for other users only), and, as
# ping_many starts a round (one echo to every host) at least a second after
# the previous one started, fping's per-host period at 1000 ms (-p 1000; it
# matters only with COUNT > 1). ping_many keeps at most 256 requests in
# flight (Wine's limit, kept on every OS); fping has no such window. Prints, per tool and set: wall time (median of the runs),
# CPU time per echo (user + sys of the tool, from bash's `time`, i.e.
# getrusage of the child), echoes sent and lost. Goal (issue 11): ping_many
# finishes no later than fping with 0 loss on the loopback set, with no more
# CPU per echo. Fails only on errors (a tool's error exit, output it cannot
# read, a build failure), never on a figure. Packets go only to loopback and
# to the namespaces `.ci/netns many` creates (documentation ranges).
#
# Usage: [SWEEP_RUNS=N] bench/ping-many.sh [RUNS [COUNT [TIMEOUT_MS [SIZE]]]]
#        (default 3 runs per tool and set, 1 run of the sweep, 1 echo per
#        host, 1000 ms, 32 bytes)
# A part that cannot run prints SKIPPED; in CI's strict mode
# (ICMP_SYS_STRICT=1, set by .ci/test) that is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export ICMP_SYS_STRICT=${ICMP_SYS_STRICT:-0}
# skipped MESSAGE: says what did not run; fails in strict mode.
skipped() {
    echo "ping-many: SKIPPED: $*"
    [[ "$ICMP_SYS_STRICT" != 1 ]] || { echo "ping-many: strict mode (ICMP_SYS_STRICT=1): nothing may be skipped" >&2; exit 1; }
}
die() { echo "ping-many: error: $*" >&2; exit 1; }

# The addresses of an IPv4 CIDR block, every one (network and broadcast
# addresses included: on loopback and behind a local route they answer).
cidr() {
    local base=${1%/*} bits=${1#*/} a b c d n i
    IFS=. read -r a b c d <<<"$base"
    n=$(((a << 24) | (b << 16) | (c << 8) | d))
    for ((i = 0; i < 1 << (32 - bits); i++)); do
        local x=$((n + i))
        printf '%d.%d.%d.%d\n' $((x >> 24 & 255)) $((x >> 16 & 255)) $((x >> 8 & 255)) $((x & 255))
    done
}

# ---------------------------------------------------------------------------
# Inside `.ci/netns many`: _inside RUNS COUNT TIMEOUT_MS SIZE PING_MANY|-
# ---------------------------------------------------------------------------

# measure OUT TIMES CMD...: runs CMD (bounded), its output in OUT, "wall user
# sys" seconds in TIMES; returns CMD's status.
measure() {
    local out=$1 times=$2 rc=0 TIMEFORMAT='%R %U %S'
    shift 2
    { time timeout 300 "$@" >"$out" 2>&1 || rc=$?; } 2>"$times"
    return "$rc"
}

# fping_run OUT TIMES TARGETS...: prints "sent received".
fping_run() {
    local out=$1 times=$2 rc=0 sent recv
    shift 2
    if [[ -n "${FPING_FILE:-}" ]]; then
        set -- -f "$FPING_FILE"
    fi
    measure "$out" "$times" fping -q -s -c "$COUNT" -t "$TIMEOUT" -b "$SIZE" -i 0 -p 1000 -r 0 "$@" || rc=$?
    # 0: all answered, 1: some did not; more is an error (fping(8)).
    ((rc <= 1)) || { cat "$out" >&2; die "fping exited with $rc"; }
    sent=$(sed -n 's/^ *\([0-9]*\) ICMP Echos sent$/\1/p' "$out")
    recv=$(sed -n 's/^ *\([0-9]*\) ICMP Echo Replies received$/\1/p' "$out")
    [[ -n "$sent" && -n "$recv" ]] || { cat "$out" >&2; die "cannot read fping's statistics"; }
    echo "$sent $recv"
}

# ping_many_run OUT TIMES TARGETS...: prints "sent received".
ping_many_run() {
    local out=$1 times=$2 rc=0 sent recv
    shift 2
    measure "$out" "$times" env ${PING_MANY_SOCKET:+ICMP_SYS_SOCKET="$PING_MANY_SOCKET"} "$PING_MANY" -n "$COUNT" -w "$TIMEOUT" -l "$SIZE" "$@" || rc=$?
    # 0: some echo reply arrived (every set here has answering hosts); 1:
    # none, or a request stuck past its timeout; 2: bad arguments.
    ((rc == 0)) || { cat "$out" >&2; die "ping_many exited with $rc"; }
    read -r sent recv < <(sed -n 's/^ *Packets: Sent = \([0-9]*\), Received = \([0-9]*\),.*/\1 \2/p' "$out")
    [[ -n "${sent:-}" && -n "${recv:-}" ]] || { cat "$out" >&2; die "cannot read ping_many's summary"; }
    echo "$sent $recv"
}

# bench_set NAME EXPECTED_SILENT TARGETS...: alternating runs of the tools
# on the targets, then one line per tool.
bench_set() {
    local name=$1 silent=$2 tool r tmp
    shift 2
    local tools=(fping)
    [[ -n "$PING_MANY" ]] && tools+=(ping_many)
    tmp=$(mktemp -d)
    echo "$name: $# hosts ($silent silent), $COUNT echoes each, timeout $TIMEOUT ms, $SIZE bytes of data; $RUNS runs per tool, alternating"
    for ((r = 0; r < RUNS; r++)); do
        for tool in "${tools[@]}"; do
            "${tool}_run" "$tmp/out" "$tmp/times" "$@" >"$tmp/counts"
            echo "$(cat "$tmp/times") $(cat "$tmp/counts")" >>"$tmp/$tool"
        done
    done
    for tool in "${tools[@]}"; do
        # Lines: wall user sys sent received. Prints the tool's line; saves
        # "wall cpu_per_echo lost_beyond_silent" in $tmp/$tool.sum.
        sort -n "$tmp/$tool" | awk -v tool="$tool" -v silent="$silent" -v count="$COUNT" -v sum="$tmp/$tool.sum" '
            { wall[NR] = $1; cpu += $2 + $3; sent += $4; recv += $5 }
            END {
                med = wall[int((NR + 1) / 2)]; per = cpu / sent * 1e6; quiet = silent * count * NR
                printf "  %-10s wall %7.3f s (median; runs %.3f..%.3f)  CPU %6.2f us/echo  sent %d  lost %d (%.1f%%; %d to the silent hosts)\n",
                    tool, med, wall[1], wall[NR], per, sent, sent - recv, (sent - recv) * 100 / sent, quiet
                printf "%f %f %d\n", med, per, sent - recv - quiet > sum
            }'
    done
    if [[ -n "$PING_MANY" ]]; then
        # Issue 11's goal, as a figure (never a failure).
        read -r fw fc _ <"$tmp/fping.sum"
        read -r pw pc pl <"$tmp/ping_many.sum"
        awk -v fw="$fw" -v fc="$fc" -v pw="$pw" -v pc="$pc" -v pl="$pl" 'BEGIN {
            printf "  ping_many / fping: wall %.2f, CPU per echo %.2f, lost beyond the silent hosts %d; goal (<= 1, <= 1, 0): %s\n",
                pw / fw, pc / fc, pl, (pw <= fw && pc <= fc && pl == 0) ? "met" : "MISSED"
        }'
    fi
    rm -rf "$tmp"
}

inside() {
    RUNS=$1 COUNT=$2 TIMEOUT=$3 SIZE=$4 PING_MANY=$5 SWEEP_RUNS=${6:-1}
    [[ "$PING_MANY" == - ]] && PING_MANY=
    local lo net
    mapfile -t lo < <(cidr 127.0.0.0/22)
    mapfile -t net < <(cidr 198.51.100.0/24; cidr 203.0.113.0/24)
    bench_set "loopback 127.0.0.0/22" 0 "${lo[@]}"
    bench_set "half-silent (.ci/netns many) 198.51.100.0/24 + 203.0.113.0/24" 256 "${net[@]}"
    # The sweep: ping_many on ping sockets (this namespace's range widened).
    sysctl -qw net.ipv4.ping_group_range="0 2147483647"
    FPING_FILE=$(mktemp)
    cidr 127.0.0.0/16 | sed '1d;$d' >"$FPING_FILE"
    local sweep
    mapfile -t sweep <"$FPING_FILE"
    RUNS=$SWEEP_RUNS PING_MANY_SOCKET=dgram bench_set "sweep 127.0.0.0/16 less .0.0 and .255.255 (ping_many: ping sockets)" 0 "${sweep[@]}"
    rm -f "$FPING_FILE"
    FPING_FILE=
}

# ---------------------------------------------------------------------------
# Outside: checks, build, then the namespace
# ---------------------------------------------------------------------------

main() {
    if [[ "${1:-}" == _inside ]]; then
        shift
        inside "$@"
        return
    fi
    local runs=${1:-3} count=${2:-1} timeout=${3:-1000} size=${4:-32} exe=-
    if [[ "$(uname -s)" != Linux ]]; then
        skipped "the namespaces (.ci/netns) are Linux-only"
        return 0
    fi
    if ((EUID != 0)); then
        skipped "needs root (network namespaces, raw sockets)"
        return 0
    fi
    command -v fping >/dev/null || { skipped "fping is not installed (.ci/install installs it)"; return 0; }
    echo "cpu: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1); load: $(cut -d' ' -f1-3 /proc/loadavg); $(fping -v | head -n1)"
    if [[ -f examples/ping_many.rs ]]; then
        cargo build --release --features alloc --example ping_many >&2 || die "could not build examples/ping_many.rs"
        exe=$(cargo build --release --features alloc --example ping_many --message-format=json 2>/dev/null |
            sed -n 's/.*"executable":"\([^"]*ping_many[^"]*\)".*/\1/p' | tail -n1)
        [[ -n "$exe" && -x "$exe" ]] || die "could not find the ping_many executable"
    else
        skipped "ping_many: examples/ping_many.rs is not on this branch yet (issue 10, item 6): fping alone"
    fi
    ICMP_SYS_NETNS_TIMEOUT=600 .ci/netns many "$(pwd)/bench/ping-many.sh" _inside "$runs" "$count" "$timeout" "$size" "$exe" "${SWEEP_RUNS:-1}"
}

main "$@"
