#!/usr/bin/env bash
# Echo-rate benchmark (issue 11, item 2): sequential echoes/s to 127.0.0.1
# through synchronous IcmpSendEcho2 (the path of IcmpSendEcho; Unix backend)
# vs a bare loop that keeps ONE socket open (sendmsg, poll, recvmsg per echo:
# the kernel's own round trip, the honest limit), and, as second lines, vs a
# bare loop making the syscalls the backend made per request before it
# reused per-thread sockets (a socket per request), and IcmpSendEcho2 with an event waited for at once
# (the async engine). Same run, alternating blocks (benches/echo_rate.rs);
# raw sockets (host namespace, needs root) and Linux ping sockets
# (SOCK_DGRAM) inside a network namespace of its own whose
# net.ipv4.ping_group_range is widened (needs root for unshare -n).
# Goals: sync / one socket >= 0.8; IcmpSendEcho2 + event / one socket >= 0.5
# (issue 14, item 3). Then (issue 14, item 3) the completion side: 40 000
# async echoes kept 8 000 in flight (32 and 1000 bytes), the CPU of the
# engine's completion thread per echo (goal <= 5 us) vs a bare receiver
# thread on one socket in the same run (~2-4 s per kind and size).
# Prints the numbers; fails only on errors
# (build failure, failed echoes), never on a missed ratio. Loopback only;
# bounded.
#
# Usage: bench/echo-rate.sh [ROUNDS [COUNT]]   (default 6 rounds x 3000 echoes per side)
# A part that cannot run prints SKIPPED; in CI's strict mode
# (ICMP_SYS_STRICT=1, set by .ci/test) that is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-6}
COUNT=${2:-3000}
ARGS=(--rounds "$ROUNDS" --count "$COUNT" --max-seconds 60)
INFLIGHT=${INFLIGHT:-40000}
export ICMP_SYS_STRICT=${ICMP_SYS_STRICT:-0}
# skipped MESSAGE: says what did not run; fails in strict mode.
skipped() {
    echo "echo-rate: SKIPPED: $*"
    [[ "$ICMP_SYS_STRICT" != 1 ]] || { echo "echo-rate: strict mode (ICMP_SYS_STRICT=1): nothing may be skipped" >&2; exit 1; }
}

if [[ "$(uname -s)" != Linux ]]; then
    skipped "the bare loop is Linux-only"
    exit 0
fi
exe=$(cargo bench --bench echo_rate --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*echo_rate[^"]*\)".*/\1/p' | tail -n1)
if [[ -z "$exe" || ! -x "$exe" ]]; then
    echo "echo-rate: could not build benches/echo_rate.rs" >&2
    cargo bench --bench echo_rate --no-run >&2
    exit 1
fi
echo "cpu: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1); load: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ $(id -u) -eq 0 ]]; then
    timeout 120 "$exe" raw "${ARGS[@]}"
    for size in 32 1000; do
        timeout 120 "$exe" raw --in-flight 8000 --count "$INFLIGHT" --size "$size" --max-seconds 60
    done
    if command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
        # shellcheck disable=SC2016
        timeout 120 unshare -n -- bash -c '
            ip link set lo up 2>/dev/null || { echo "echo-rate ping sockets: SKIPPED: no ip(8) to bring lo up"; [ "$ICMP_SYS_STRICT" != 1 ]; exit; }
            sysctl -qw net.ipv4.ping_group_range="0 2147483647"
            "$0" dgram "${@:2}" || exit
            for size in 32 1000; do
                "$0" dgram --in-flight 8000 --count "$1" --size "$size" --max-seconds 60 || exit
            done' "$exe" "$INFLIGHT" "${ARGS[@]}"
    else
        skipped "ping sockets: unshare -n not permitted here"
    fi
else
    skipped "raw sockets: not root"
    timeout 120 "$exe" dgram "${ARGS[@]}"
fi
