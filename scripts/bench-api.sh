#!/usr/bin/env bash
# API throughput/latency benchmark: localelb vs moto's server, driven by the same raw keep-alive
# HTTP/1.1 client (scripts/bench/api_client.rs, std-only Rust). Not part of the test suite.
#
# Measures CreateTargetGroup and DescribeTargetGroups (by name, and all 100 target groups),
# sequential (1 connection) and concurrent (8 connections), and prints req/s, p50 and p99 for both
# servers with the ratio localelb/moto req/s. Both servers run on loopback, one at a time, on free
# ports; every run is bounded in request count and seconds, and the servers are stopped on exit.
#
#   scripts/bench-api.sh
#
# Environment:
#   CARGO_TARGET_DIR   where the release build goes (default ~/.cache/localelb-target; the first
#                      release build compiles DuckDB from source, ~20+ minutes on 2 cores)
#   LOCALELB_BIN       benchmark this binary instead of building the release one
#   BENCH_SECS         per-run time cap in seconds (default 8)
#   BENCH_SCALE        multiply the per-run request counts (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/localelb-target}
SECS=${BENCH_SECS:-8}
SCALE=${BENCH_SCALE:-1}
T_START=$(date +%s)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/localelb-bench.XXXXXX")
SERVER_PID=""
CLIENT_PID=""

stop_server() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
cleanup() {
    if [[ -n "$CLIENT_PID" ]]; then kill "$CLIENT_PID" 2>/dev/null || true; wait "$CLIENT_PID" 2>/dev/null || true; fi
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench-api: $*" >&2; }
die() { log "$*"; exit 1; }

# --- localelb binary ---------------------------------------------------------------------------
if [[ -n "${LOCALELB_BIN:-}" ]]; then
    BIN=$LOCALELB_BIN
    BIN_NOTE="$BIN (LOCALELB_BIN)"
else
    log "cargo build --release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR; the first build compiles DuckDB, ~20+ min)"
    t0=$(date +%s)
    cargo build --release --bin localelb >&2
    log "release build took $(( $(date +%s) - t0 )) s"
    BIN=$CARGO_TARGET_DIR/release/localelb
    BIN_NOTE="$BIN (release)"
fi
[[ -x "$BIN" ]] || die "no localelb binary at $BIN"

# --- moto in .venv-bench -----------------------------------------------------------------------
VENV=$ROOT/.venv-bench
if [[ ! -x "$VENV/bin/moto_server" ]]; then
    log "creating $VENV with moto[server]"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check 'moto[server]' >&2
fi
MOTO_VERSION=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))')

# --- client ------------------------------------------------------------------------------------
CLIENT=$WORK/api_client
rustc -O --edition 2021 -o "$CLIENT" scripts/bench/api_client.rs

# client OUT ERR ARGS...: runs the client in the background and waits for it, so that a signal
# to this script is handled at once (bash defers traps while a foreground command runs).
# ERR "-" keeps this script's stderr (redirecting to /dev/stderr would truncate a log file).
client() {
    local out=$1 err=$2 rc=0
    shift 2
    if [[ $err == - ]]; then
        "$CLIENT" "$ADDR" "$@" >"$out" &
    else
        "$CLIENT" "$ADDR" "$@" >"$out" 2>"$err" &
    fi
    CLIENT_PID=$!
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=""
    return "$rc"
}

free_port() {
    "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_ready ADDR RESET_PATH: the server answers its reset endpoint (30 s at most).
wait_ready() {
    for _ in $(seq 300); do
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        "$CLIENT" "$1" reset "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

start_localelb() {
    local out=$WORK/localelb.log addr=""
    : >"$out"
    "$BIN" serve --listen 127.0.0.1:0 --ephemeral >"$out" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do
        addr=$(sed -n 's#^localelb listening on http://\([^ /]*\).*#\1#p' "$out" | head -n1 || true)
        [[ -n "$addr" ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n "$addr" ]] || { cat "$out" >&2; die "localelb did not start"; }
    wait_ready "$addr" /_localelb/reset || { cat "$out" >&2; die "localelb not ready"; }
    ADDR=$addr
}

start_moto() {
    local port out=$WORK/moto.log
    port=$(free_port)
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$out" 2>&1 &
    SERVER_PID=$!
    wait_ready "127.0.0.1:$port" /moto-api/reset || { tail -n 30 "$out" >&2; die "moto did not start"; }
    ADDR=127.0.0.1:$port
}

# reset_state: clears the server; for moto creates a VPC again (moto checks that VpcId exists).
reset_state() {
    "$CLIENT" "$ADDR" reset "$RESET_PATH" || die "$SERVER reset failed"
    if [[ $SERVER == moto ]]; then
        client "$WORK/vpc" - vpc || die "moto CreateVpc failed"
        BENCH_VPC_ID=$(cat "$WORK/vpc")
        export BENCH_VPC_ID
    else
        unset BENCH_VPC_ID
    fi
}
# seed: creates tg-seed-0..99 (a failure is reported; the describe runs then count errors).
seed() { client /dev/null - seed 100 || log "WARNING: $SERVER: creating 100 target groups failed"; }

declare -A RES
# measure KEY ARGS...: one run; stores "rps p50 p99 ok err reconnects" under SERVER:KEY
measure() {
    local key=$1 line
    shift
    client "$WORK/out" "$WORK/err" "$@" || die "client failed: $(cat "$WORK/err")"
    line=$(cat "$WORK/out")
    if [[ -s "$WORK/err" ]]; then log "$SERVER $key: $(head -c 400 "$WORK/err")"; fi
    # RESULT ok=.. err=.. total=.. secs=.. rps=.. p50_ms=.. p99_ms=.. reconnects=..
    local ok err rps p50 p99 rc
    ok=$(sed -n 's/.* ok=\([^ ]*\).*/\1/p' <<<"$line")
    err=$(sed -n 's/.* err=\([^ ]*\).*/\1/p' <<<"$line")
    rps=$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p' <<<"$line")
    rc=$(sed -n 's/.* reconnects=\([^ ]*\).*/\1/p' <<<"$line")
    RES[$SERVER:$key]="$rps $p50 $p99 $ok $err $rc"
    log "$SERVER $key: $line"
}

# Per-connection request counts (each run also stops after $SECS seconds).
# Creates stay under AWS's 3,000 target groups per region, which localelb enforces.
N_CREATE_1=$((2000 * SCALE)); N_CREATE_8=$((250 * SCALE))
N_NAME_1=$((20000 * SCALE)); N_NAME_8=$((2500 * SCALE))
N_ALL_1=$((5000 * SCALE)); N_ALL_8=$((625 * SCALE))

run_suite() {
    reset_state
    # warm-up (not measured)
    client /dev/null /dev/null create 2 100 "$SECS" w || true
    seed
    client /dev/null /dev/null describe-name 2 100 "$SECS" 100 || true
    client /dev/null /dev/null describe-all 2 10 "$SECS" || true

    reset_state; measure create:1 create 1 "$N_CREATE_1" "$SECS" s
    reset_state; measure create:8 create 8 "$N_CREATE_8" "$SECS" c
    reset_state; seed; measure name:1 describe-name 1 "$N_NAME_1" "$SECS" 100
    reset_state; seed; measure name:8 describe-name 8 "$N_NAME_8" "$SECS" 100
    reset_state; seed; measure all:1 describe-all 1 "$N_ALL_1" "$SECS"
    reset_state; seed; measure all:8 describe-all 8 "$N_ALL_8" "$SECS"
    "$CLIENT" "$ADDR" reset "$RESET_PATH" || true
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
SERVER=localelb; RESET_PATH=/_localelb/reset
log "starting localelb: $BIN_NOTE"
start_localelb
run_suite
stop_server

SERVER=moto; RESET_PATH=/moto-api/reset
log "starting moto_server $MOTO_VERSION"
start_moto
run_suite
stop_server

# --- table -------------------------------------------------------------------------------------
echo
echo "localelb: $BIN_NOTE"
echo "moto:     moto_server $MOTO_VERSION (Werkzeug; closes every connection, the client reconnects)"
echo "machine:  $(nproc) cores, shared by client and server; loopback; each run <= ${SECS}s; load avg before: $LOAD_BEFORE"
echo
printf '%-29s %4s | %14s %8s %8s | %10s %8s %8s | %s\n' \
    op conc "localelb req/s" "p50 ms" "p99 ms" "moto req/s" "p50 ms" "p99 ms" "ratio (localelb/moto req/s)"
printf '%s\n' "$(printf '%.0s-' $(seq 120))"
notes=()
for row in "create:CreateTargetGroup" "name:DescribeTargetGroups(name)" "all:DescribeTargetGroups(all 100)"; do
    key=${row%%:*}; op=${row#*:}
    for conc in 1 8; do
        read -r l_rps l_p50 l_p99 l_ok l_err _ <<<"${RES[localelb:$key:$conc]}"
        read -r m_rps m_p50 m_p99 m_ok m_err _ <<<"${RES[moto:$key:$conc]}"
        ratio=$(awk -v a="$l_rps" -v b="$m_rps" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }')
        printf '%-29s %4s | %14s %8s %8s | %10s %8s %8s | %s\n' \
            "$op" "$conc" "$l_rps" "$l_p50" "$l_p99" "$m_rps" "$m_p50" "$m_p99" "$ratio"
        if (( l_err > 0 )); then notes+=("$op conc=$conc: localelb $l_err error(s) of $((l_ok + l_err)) requests"); fi
        if (( m_err > 0 )); then notes+=("$op conc=$conc: moto $m_err error(s) of $((m_ok + m_err)) requests"); fi
    done
done
for n in "${notes[@]}"; do echo "ERRORS: $n"; done
echo
echo "requests/s count 200 answers only; total time $(( $(date +%s) - T_START )) s"
