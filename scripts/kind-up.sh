#!/usr/bin/env bash
# The traefik-kube data plane end to end on a local kind cluster:
#   1. creates the kind cluster "localelb" (kind-config/cluster.yaml: ports 30000-30031 on 127.0.0.1),
#   2. installs the Traefik v3.7.9 CRDs and RBAC (translators/crds/) and Traefik (kind-config/traefik.yaml),
#   3. starts localelb with --dataplane traefik-kube (state applied to namespace "elbv2"),
#   4. runs the Rust tests that need a cluster (#[ignore]d elsewhere) and a smoke test through Traefik:
#      an HTTP backend on the host, a target group/load balancer/listener created with the aws CLI,
#      a request to the listener's pool port answered by the backend, a fixed response answered by
#      localelb's responder.
#
#   scripts/kind-up.sh            # everything; leaves the cluster running
#   scripts/kind-up.sh --down     # deletes the cluster
#
# Needs kind, kubectl, a container engine kind can use (docker or podman), the Rust toolchain and
# the e2e venv (.venv, see scripts/test.sh) for the aws CLI.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
cluster=localelb
context=kind-$cluster
namespace=elbv2
api_port=${LOCALELB_KIND_API_PORT:-4566}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/localelb-target}"

if [ "${1:-}" = "--down" ]; then
    kind delete cluster --name "$cluster"
    exit 0
fi

for tool in kind kubectl; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done
engine=$(command -v docker || command -v podman || true)
[ -n "$engine" ] || { echo "error: kind needs docker or podman" >&2; exit 1; }

# --- cluster, CRDs, Traefik ----------------------------------------------------------------------
if ! kind get clusters | grep -qx "$cluster"; then
    kind create cluster --config kind-config/cluster.yaml
fi
kubectl --context "$context" apply --server-side -f translators/crds/kubernetes-crd-definition-v1.v3.7.9.yml
kubectl --context "$context" apply -f translators/crds/kubernetes-crd-rbac.v3.7.9.yml
kubectl --context "$context" apply -f kind-config/traefik.yaml
kubectl --context "$context" -n default rollout status deployment/traefik --timeout=180s

# Pods reach the host (localelb's responder, targets) through the kind network's IPv4 gateway.
gateway=$("$engine" network inspect kind \
    -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -E '^[0-9]+\.' | head -1)
[ -n "$gateway" ] || { echo "error: no IPv4 gateway on the kind network" >&2; exit 1; }
echo "==> kind network gateway: $gateway"

# --- localelb ------------------------------------------------------------------------------------
cargo build
bin=$CARGO_TARGET_DIR/debug/localelb
log=$(mktemp -t localelb-kind.XXXXXX.log)
"$bin" serve --ephemeral --listen "0.0.0.0:$api_port" \
    --dataplane traefik-kube --kube-context "$context" --traefik-namespace "$namespace" \
    --traefik-responder-url "http://$gateway:$api_port" \
    --traefik-port-pool 30000-30031 >"$log" 2>&1 &
localelb_pid=$!
backend_pid=
cleanup() {
    kill "$localelb_pid" 2>/dev/null || true
    [ -z "$backend_pid" ] || kill "$backend_pid" 2>/dev/null || true
}
trap cleanup EXIT
deadline=$((SECONDS + 30))
until curl -sf "http://127.0.0.1:$api_port/_localelb/health" >/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "localelb did not start:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.2
done

# --- tests that need the cluster ----------------------------------------------------------------
LOCALELB_KUBE_CONTEXT=$context cargo test --lib traefik::kube -- --ignored

# --- smoke test through Traefik -----------------------------------------------------------------
backend_dir=$(mktemp -d)
echo "hello from the backend" >"$backend_dir/index.html"
backend_port=$("$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
"$root/.venv/bin/python" -m http.server "$backend_port" --bind 0.0.0.0 --directory "$backend_dir" >/dev/null 2>&1 &
backend_pid=$!

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
aws() { "$root/.venv/bin/aws" elbv2 --endpoint-url "http://127.0.0.1:$api_port" --output text "$@"; }
tg=$(aws create-target-group --name kind-web --protocol HTTP --port 80 --vpc-id vpc-1 \
    --target-type ip --query 'TargetGroups[0].TargetGroupArn')
aws register-targets --target-group-arn "$tg" --targets "Id=$gateway,Port=$backend_port" >/dev/null
lb=$(aws create-load-balancer --name kind-alb --subnets subnet-a subnet-b \
    --query 'LoadBalancers[0].LoadBalancerArn')
listener=$(aws create-listener --load-balancer-arn "$lb" --protocol HTTP --port 80 \
    --default-actions "Type=forward,TargetGroupArn=$tg" --query 'Listeners[0].ListenerArn')
aws create-rule --listener-arn "$listener" --priority 10 \
    --conditions 'Field=path-pattern,Values=/fixed' \
    --actions 'Type=fixed-response,FixedResponseConfig={StatusCode=418,ContentType=text/plain,MessageBody=teapot}' >/dev/null

address=$(curl -sf "http://127.0.0.1:$api_port/_localelb/endpoints" |
    "$root/.venv/bin/python" -c 'import json,sys; print([e for e in json.load(sys.stdin) if e["listenerArn"]==sys.argv[1]][0]["address"])' "$listener")
echo "==> listener served on $address"
deadline=$((SECONDS + 60))
until [ "$(curl -s "http://$address/" || true)" = "hello from the backend" ]; do
    [ $SECONDS -lt $deadline ] || { echo "Traefik did not route to the backend" >&2; kubectl --context "$context" -n "$namespace" get all,endpointslices,ingressroutes,traefikservices,middlewares >&2; exit 1; }
    sleep 0.5
done
echo "ok: forward through Traefik"
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$address/fixed" || true)" = 418 ]; do
    [ $SECONDS -lt $deadline ] || { echo "the fixed response was not served" >&2; exit 1; }
    sleep 0.5
done
[ "$(curl -s "http://$address/fixed")" = teapot ] || { echo "wrong fixed-response body" >&2; exit 1; }
echo "ok: fixed response through Traefik and localelb's responder"
