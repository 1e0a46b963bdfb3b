#!/usr/bin/env bash
# Data-plane benchmark: localelb's HTTP listener vs nginx as a reverse proxy, both in front of the
# SAME backend (an nginx server block answering `200 ok`). Measured with wrk on loopback, one run
# at a time: backend direct (reference), nginx proxy, localelb listener. Prints req/s, p50, p99 and
# the ratio localelb/nginx. Not part of the test suite.
#
#   scripts/bench-proxy.sh
#
# Environment:
#   CARGO_TARGET_DIR   where the release build goes (default ~/.cache/localelb-target)
#   LOCALELB_BIN       benchmark this binary instead of building the release one
#   BENCH_SECS         seconds per measured wrk run (default 10)
#   BENCH_CONNS        wrk connections (default 64)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_ROUNDS       nginx-proxy and localelb measured alternately this many times (default 1);
#                      each round is printed, the summary uses the median of the rounds
#   BENCH_LOCALELB_ARGS  extra `localelb serve` flags (e.g. "--proxy-threads 1")
#   BENCH_NGINX_LAYOUT separate (default: backend and proxy are two nginx instances) or shared
#                      (one nginx serves both, its workers proxying to themselves)
# Installs nginx and wrk with apt-get when missing (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/localelb-target}
SECS=${BENCH_SECS:-10}
CONNS=${BENCH_CONNS:-64}
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-1}
# shellcheck disable=SC2206
EXTRA_ARGS=(${BENCH_LOCALELB_ARGS:-})

log() { echo "bench-proxy: $*" >&2; }
die() { log "$*"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/localelb-bench-proxy.XXXXXX")
NGINX_PID=""
LB_PID=""
WRK_PID=""
stop_pid() {
    local pid=$1
    [[ -n "$pid" ]] || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$WRK_PID"
    stop_pid "$LB_PID"
    stop_pid "$NGINX_PID"   # nginx master; SIGTERM makes it stop its workers
    if [[ -n ${NGINX_PROXY_PID:-} ]]; then stop_pid "$NGINX_PROXY_PID"; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ---------------------------------------------------------------------------------------
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    log "installing nginx and wrk with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq nginx wrk >&2
fi
command -v nginx >/dev/null || die "nginx not found"
command -v wrk >/dev/null || die "wrk not found"

# --- localelb binary -----------------------------------------------------------------------------
if [[ -n "${LOCALELB_BIN:-}" ]]; then
    BIN=$LOCALELB_BIN
else
    log "cargo build --release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    cargo build --release --bin localelb >&2
    BIN=$CARGO_TARGET_DIR/release/localelb
fi
[[ -x "$BIN" ]] || die "no localelb binary at $BIN"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
# wait_http URL: answers 200 within 10 s
wait_http() {
    for _ in $(seq 100); do
        [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" || true)" == 200 ]] && return 0
        sleep 0.1
    done
    return 1
}

# --- nginx: backend (B) and reverse proxy (P) ---------------------------------------------------
# Separate nginx instances by default, so the nginx proxy, like localelb, is its own process in
# front of the backend's; BENCH_NGINX_LAYOUT=shared serves both from one nginx (its workers then
# proxy to themselves without a context switch, which no separate proxy can match).
B=$(free_port)
P=$(free_port)
while [[ $P == "$B" ]]; do P=$(free_port); done
nginx_conf() { # nginx_conf DIR SERVER_BLOCKS...
    local dir=$1
    shift
    mkdir -p "$dir/logs" "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
user root;
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_timeout 65;
    keepalive_requests 1000000;
$*
}
EOF
}
BACKEND_BLOCK="    server {
        listen 127.0.0.1:$B;
        location / { default_type text/plain; return 200 \"ok\\n\"; }
    }"
PROXY_BLOCK="    upstream backend_upstream {
        server 127.0.0.1:$B;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$P;
        location / {
            proxy_pass http://backend_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"
NGINX_LAYOUT=${BENCH_NGINX_LAYOUT:-separate}
NGINX_PROXY_PID=
if [[ $NGINX_LAYOUT == shared ]]; then
    nginx_conf "$WORK/nginx" "$BACKEND_BLOCK" "$PROXY_BLOCK"
    nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/logs/stdout.log" 2>&1 &
    NGINX_PID=$!
else
    nginx_conf "$WORK/nginx" "$BACKEND_BLOCK"
    nginx_conf "$WORK/nginx-proxy" "$PROXY_BLOCK"
    nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/logs/stdout.log" 2>&1 &
    NGINX_PID=$!
    nginx -p "$WORK/nginx-proxy" -c "$WORK/nginx-proxy/nginx.conf" >"$WORK/nginx-proxy/logs/stdout.log" 2>&1 &
    NGINX_PROXY_PID=$!
fi
wait_http "http://127.0.0.1:$B/" || { cat "$WORK"/nginx*/logs/* >&2; die "nginx backend did not start"; }
wait_http "http://127.0.0.1:$P/" || { cat "$WORK"/nginx*/logs/* >&2; die "nginx proxy did not start"; }
log "nginx $(nginx -v 2>&1 | sed 's#.*/##') ($NGINX_LAYOUT): backend 127.0.0.1:$B, proxy 127.0.0.1:$P"

# --- localelb: LB + target group (ip 127.0.0.1:B) + HTTP listener -------------------------------
# Health checks every 30 s x 0.05 = 1.5 s, so the target turns healthy quickly; their load on the
# backend is negligible.
"$BIN" serve --listen 127.0.0.1:0 --ephemeral --health-check-time-scale 0.05 "${EXTRA_ARGS[@]}" >"$WORK/localelb.log" 2>&1 &
LB_PID=$!
API=""
for _ in $(seq 300); do
    API=$(sed -n 's#^localelb listening on \(http://[^ /]*\).*#\1#p' "$WORK/localelb.log" | head -n1 || true)
    [[ -n "$API" ]] && break
    kill -0 "$LB_PID" 2>/dev/null || break
    sleep 0.1
done
[[ -n "$API" ]] || { cat "$WORK/localelb.log" >&2; die "localelb did not start"; }

api() {
    local out
    out=$(curl -s --max-time 10 -X POST "$API/" --data "Version=2015-12-01&$1") || die "API call failed: $1"
    if grep -q '<Error' <<<"$out"; then die "API error for $1: $out"; fi
    printf '%s' "$out"
}
arn() { sed -n "s#.*<$1>\([^<]*\)</$1>.*#\1#p" | head -n1; }

LB_ARN=$(api 'Action=CreateLoadBalancer&Name=bench&Subnets.member.1=subnet-aaaa1111&Subnets.member.2=subnet-bbbb2222' | arn LoadBalancerArn)
TG_ARN=$(api 'Action=CreateTargetGroup&Name=bench-tg&Protocol=HTTP&Port=80&VpcId=vpc-12345678&TargetType=ip' | arn TargetGroupArn)
[[ -n "$LB_ARN" && -n "$TG_ARN" ]] || die "could not create the load balancer / target group"
api "Action=RegisterTargets&TargetGroupArn=$TG_ARN&Targets.member.1.Id=127.0.0.1&Targets.member.1.Port=$B" >/dev/null
L=$(free_port)
LISTENER_ARN=$(api "Action=CreateListener&LoadBalancerArn=$LB_ARN&Protocol=HTTP&Port=$L&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn=$TG_ARN" | arn ListenerArn)
[[ -n "$LISTENER_ARN" ]] || die "could not create the listener"
EP=$(curl -s --max-time 5 "$API/_localelb/endpoints")
LB_ADDR=$(python3 -c '
import json, sys
arn = sys.argv[1]
for e in json.loads(sys.argv[2]):
    if e.get("listenerArn") == arn:
        if e.get("address"): print(e["address"])
        else: print("ERROR: " + str(e.get("error")), file=sys.stderr)
' "$LISTENER_ARN" "$EP")
[[ -n "$LB_ADDR" ]] || die "listener not served: $EP"
# wait for the target to be healthy (only healthy targets get traffic), at most 60 s
for i in $(seq 600); do
    state=$(api "Action=DescribeTargetHealth&TargetGroupArn=$TG_ARN" | arn State)
    [[ $state == healthy ]] && break
    [[ $i == 600 ]] && die "target never became healthy (state: $state)"
    sleep 0.1
done
wait_http "http://$LB_ADDR/" || die "localelb listener at $LB_ADDR does not answer 200"
log "localelb $BIN: API $API, listener $LB_ADDR -> 127.0.0.1:$B"

# --- measurements --------------------------------------------------------------------------------
# run_wrk SECS URL OUT: wrk in the background (so a signal is handled at once), bounded by timeout.
run_wrk() {
    local rc=0
    timeout $(($1 + 15)) wrk -t"$THREADS" -c"$CONNS" -d"$1"s --latency "$2" >"$3" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || rc=$?
    WRK_PID=""
    return "$rc"
}
# to_ms VALUE-with-unit -> milliseconds
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n *= 1; else if (v ~ /s$/) n *= 1000
        printf "%.3f", n }'
}
declare -A RPS P50 P99 ERRS
# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {m = int((NR + 1) / 2); if (NR % 2) print v[m]; else printf "%.3f\n", (v[m] + v[m + 1]) / 2}'; }
measure() {
    local name=$1 url=$2 out=$WORK/wrk-$1.txt
    log "$name: warm-up 2 s"
    run_wrk 2 "$url" /dev/null || true
    log "$name: wrk -t$THREADS -c$CONNS -d${SECS}s --latency $url"
    run_wrk "$SECS" "$url" "$out" || { cat "$out" >&2; die "wrk failed against $name"; }
    RPS[$name]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
    P50[$name]=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
    P99[$name]=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    local e
    e=$(grep -E 'Non-2xx|Socket errors' "$out" | tr -s ' ' | paste -sd';' || true)
    ERRS[$name]=${e:-none}
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
measure backend-direct "http://127.0.0.1:$B/"
declare -a N_RPS N_P50 N_P99 L_RPS L_P50 L_P99
for r in $(seq "$ROUNDS"); do
    measure nginx-proxy "http://127.0.0.1:$P/"
    measure localelb "http://$LB_ADDR/"
    N_RPS+=("${RPS[nginx-proxy]}"); N_P50+=("${P50[nginx-proxy]}"); N_P99+=("${P99[nginx-proxy]}")
    L_RPS+=("${RPS[localelb]}"); L_P50+=("${P50[localelb]}"); L_P99+=("${P99[localelb]}")
    if ((ROUNDS > 1)); then
        awk -v r="$r" -v n="${RPS[nginx-proxy]}" -v l="${RPS[localelb]}" -v np="${P99[nginx-proxy]}" -v lp="${P99[localelb]}" \
            -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
            printf "round %d: nginx %s req/s (p99 %s ms), localelb %s req/s (p99 %s ms), ratio %.2f, load %s\n", r, n, np, l, lp, (n > 0 ? l / n : 0), load }'
    fi
done
if ((ROUNDS > 1)); then
    RPS[nginx-proxy]=$(median "${N_RPS[@]}"); P50[nginx-proxy]=$(median "${N_P50[@]}"); P99[nginx-proxy]=$(median "${N_P99[@]}")
    RPS[localelb]=$(median "${L_RPS[@]}"); P50[localelb]=$(median "${L_P50[@]}"); P99[localelb]=$(median "${L_P99[@]}")
fi

# --- report --------------------------------------------------------------------------------------
echo
SUFFIX=""
((ROUNDS > 1)) && SUFFIX=", medians of $ROUNDS alternating rounds"
echo "proxy benchmark: wrk -t$THREADS -c$CONNS -d${SECS}s --latency, loopback, $(nproc) cores, load before: $LOAD_BEFORE$SUFFIX"
[[ ${#EXTRA_ARGS[@]} -gt 0 ]] && echo "localelb serve flags: ${EXTRA_ARGS[*]}"
echo "backend: nginx return 200 \"ok\\n\" on 127.0.0.1:$B (keepalive); nginx proxy upstream keepalive 64; nginx layout: $NGINX_LAYOUT"
printf '%-16s %12s %10s %10s  %s\n' target "req/s" "p50(ms)" "p99(ms)" errors
for t in backend-direct nginx-proxy localelb; do
    printf '%-16s %12s %10s %10s  %s\n' "$t" "${RPS[$t]}" "${P50[$t]}" "${P99[$t]}" "${ERRS[$t]}"
done
awk -v l="${RPS[localelb]}" -v n="${RPS[nginx-proxy]}" -v lp="${P99[localelb]}" -v np="${P99[nginx-proxy]}" \
    -v l5="${P50[localelb]}" -v n5="${P50[nginx-proxy]}" 'BEGIN {
    printf "ratio localelb/nginx req/s: %.2f\n", (n > 0 ? l / n : 0)
    printf "p50 localelb/nginx: %.2fx (%s ms vs %s ms)\n", (n5 > 0 ? l5 / n5 : 0), l5, n5
    printf "p99 localelb/nginx: %.2fx (%s ms vs %s ms)\n", (np > 0 ? lp / np : 0), lp, np }'
