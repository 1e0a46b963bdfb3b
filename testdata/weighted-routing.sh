#!/usr/bin/env bash
# ALB weighted routing walkthrough, as aws CLI commands:
#   1. a rule splitting /app/* 50/50 between blue and green,
#   2. a canary rule (header X-Canary: true AND path /api/*) at 95/5,
#   3. a progressive shift of the canary: 90/10 → 75/25 → 50/50,
#   4. a blue/green cut-over of /app/* with target group stickiness: 100/0 → 0/100,
#   5. a three-way split of /shop/* 40/35/25.
# It creates its own load balancer, target groups and listener.
#
# Environment:
#   ENDPOINT       the ELBv2 endpoint (required), e.g. http://127.0.0.1:4566
#   AWS            the aws CLI command (default: aws); may be several words, e.g. "python3 -m awscli"
#   REGION         default us-east-1
#   LB_NAME        load balancer name (default weighted-demo); target groups are LB_NAME-blue/-green/-canary
#   SUBNETS        subnet ids, space separated (default: two made-up ids the emulator accepts)
#   LISTENER_PORT  default 80
set -euo pipefail

: "${ENDPOINT:?set ENDPOINT to the ELBv2 endpoint URL}"
AWS=${AWS:-aws}
REGION=${REGION:-us-east-1}
LB_NAME=${LB_NAME:-weighted-demo}
SUBNETS=${SUBNETS:-subnet-0a1b2c3d4e5f60001 subnet-0a1b2c3d4e5f60002}
LISTENER_PORT=${LISTENER_PORT:-80}

elbv2() {
    # shellcheck disable=SC2086  # $AWS may be a multi-word command
    $AWS elbv2 "$@" --endpoint-url "$ENDPOINT" --region "$REGION"
}

step() { printf '\n== %s\n' "$*"; }

# forward_json [--sticky SECONDS] TG_ARN WEIGHT [TG_ARN WEIGHT ...] → a --actions JSON document
forward_json() {
    local sticky='{"Enabled":false}'
    if [ "$1" = "--sticky" ]; then
        sticky="{\"Enabled\":true,\"DurationSeconds\":$2}"
        shift 2
    fi
    local groups="" sep=""
    while [ $# -gt 0 ]; do
        groups+="$sep{\"TargetGroupArn\":\"$1\",\"Weight\":$2}"
        sep=","
        shift 2
    done
    printf '[{"Type":"forward","ForwardConfig":{"TargetGroups":[%s],"TargetGroupStickinessConfig":%s}}]' "$groups" "$sticky"
}

step "load balancer $LB_NAME"
# shellcheck disable=SC2086  # one word per subnet
LB_ARN=$(elbv2 create-load-balancer --name "$LB_NAME" --type application --subnets $SUBNETS \
    --query 'LoadBalancers[0].LoadBalancerArn' --output text)
VPC_ID=$(elbv2 describe-load-balancers --load-balancer-arns "$LB_ARN" --query 'LoadBalancers[0].VpcId' --output text)
echo "$LB_ARN ($VPC_ID)"

step "target groups"
create_tg() {
    elbv2 create-target-group --name "$1" --protocol HTTP --port 80 --vpc-id "$VPC_ID" --target-type ip \
        --health-check-path /health --query 'TargetGroups[0].TargetGroupArn' --output text
}
BLUE=$(create_tg "$LB_NAME-blue")
GREEN=$(create_tg "$LB_NAME-green")
CANARY=$(create_tg "$LB_NAME-canary")
printf '%s\n' "$BLUE" "$GREEN" "$CANARY"

step "listener on port $LISTENER_PORT (default: forward to blue)"
LISTENER_ARN=$(elbv2 create-listener --load-balancer-arn "$LB_ARN" --protocol HTTP --port "$LISTENER_PORT" \
    --default-actions "Type=forward,TargetGroupArn=$BLUE" \
    --query 'Listeners[0].ListenerArn' --output text)
echo "$LISTENER_ARN"

step "1. /app/* split 50/50 between blue and green"
APP_RULE=$(elbv2 create-rule --listener-arn "$LISTENER_ARN" --priority 10 \
    --conditions '[{"Field":"path-pattern","PathPatternConfig":{"Values":["/app/*"]}}]' \
    --actions "$(forward_json "$BLUE" 50 "$GREEN" 50)" \
    --query 'Rules[0].RuleArn' --output text)
echo "$APP_RULE"

step "2. canary: X-Canary: true on /api/* → 95/5"
CANARY_RULE=$(elbv2 create-rule --listener-arn "$LISTENER_ARN" --priority 20 \
    --conditions '[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName":"X-Canary","Values":["true"]}},{"Field":"path-pattern","PathPatternConfig":{"Values":["/api/*"]}}]' \
    --actions "$(forward_json "$BLUE" 95 "$GREEN" 5)" \
    --query 'Rules[0].RuleArn' --output text)
echo "$CANARY_RULE"

step "3. progressive shift of the canary: 90/10 → 75/25 → 50/50"
for split in "90 10" "75 25" "50 50"; do
    read -r b g <<<"$split"
    elbv2 modify-rule --rule-arn "$CANARY_RULE" --actions "$(forward_json "$BLUE" "$b" "$GREEN" "$g")" \
        --query 'Rules[0].Actions[0].ForwardConfig.TargetGroups[].Weight' --output text
done

step "4. blue/green cut-over of /app/* with stickiness: 100/0 → 0/100"
elbv2 modify-rule --rule-arn "$APP_RULE" --actions "$(forward_json --sticky 3600 "$BLUE" 100 "$GREEN" 0)" \
    --query 'Rules[0].Actions[0].ForwardConfig.TargetGroups[].Weight' --output text
elbv2 modify-rule --rule-arn "$APP_RULE" --actions "$(forward_json --sticky 3600 "$BLUE" 0 "$GREEN" 100)" \
    --query 'Rules[0].Actions[0].ForwardConfig.TargetGroups[].Weight' --output text

step "5. /shop/* split three ways: 40/35/25"
elbv2 create-rule --listener-arn "$LISTENER_ARN" --priority 30 \
    --conditions '[{"Field":"path-pattern","PathPatternConfig":{"Values":["/shop/*"]}}]' \
    --actions "$(forward_json "$BLUE" 40 "$GREEN" 35 "$CANARY" 25)" \
    --query 'Rules[0].RuleArn' --output text

step "rules"
elbv2 describe-rules --listener-arn "$LISTENER_ARN" --output table \
    --query 'Rules[?!IsDefault].{Priority:Priority,Weights:join(`/`,Actions[0].ForwardConfig.TargetGroups[].to_string(Weight)),Sticky:Actions[0].ForwardConfig.TargetGroupStickinessConfig.Enabled}'
