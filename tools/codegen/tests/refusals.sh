#!/usr/bin/env bash
# Codegen's refusals (ctest test_codegen_refusals): each case is a small
# contract with one mistake; bw_codegen must refuse it, name the mistake on
# stderr and write nothing. A good contract beside them must pass, so that a
# refusal is the mistake's doing and not the harness's.
# Usage: refusals.sh <bw_codegen> <protoc> <repository's proto/ folder>
set -uo pipefail
codegen=$1 protoc=$2 protos=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

# contract NAME RPC-BODY: writes $work/NAME/bulwark/widgets/v1/widgets.proto
# with a Widget resource and the one RPC given.
contract() {
    local dir=$work/$1/bulwark/widgets/v1
    mkdir -p "$dir"
    cat >"$dir/widgets.proto" <<PROTO
// Widgets, a contract for the tests.
syntax = "proto3";
package ${3:-bulwark.widgets.v1};
import "bulwark/api/v1/http.proto";
import "google/protobuf/empty.proto";
message Widget { string id = 1; string name = 2; }
message GetWidgetRequest { string id = 1; Widget widget = 2; int32 count = 3; }
message ListWidgetsRequest { int32 page_size = 1; string page_token = 2; }
message ListWidgetsResponse { repeated Widget widgets = 1; string next_page_token = 2; }
// The widgets.
service WidgetService {
  $2
}
PROTO
}

# expect NAME MESSAGE RPC-BODY [PACKAGE]: codegen refuses, saying MESSAGE.
expect() {
    local name=$1 want=$2
    contract "$name" "$3" "${4:-}"
    local out=$work/$name/out
    mkdir -p "$out"
    if ! "$protoc" -I"$work/$name" -I"$protos" -I/usr/include --include_imports --include_source_info \
        --descriptor_set_out="$work/$name/set.pb" "$work/$name/bulwark/widgets/v1/widgets.proto" \
        2>"$work/$name/protoc.err"; then
        echo "FAIL $name: protoc refused the contract: $(cat "$work/$name/protoc.err")"
        failed=1
        return
    fi
    "$codegen" "$work/$name/set.pb" "$out" >/dev/null 2>"$work/$name/err"
    local rc=$?
    if [[ -z $want ]]; then
        if ((rc != 0)); then
            echo "FAIL $name: a good contract was refused: $(cat "$work/$name/err")"
            failed=1
        else
            echo "ok   $name: accepted"
        fi
    elif ((rc == 0)); then
        echo "FAIL $name: accepted, expected a refusal saying: $want"
        failed=1
    elif ! grep -qF -- "$want" "$work/$name/err"; then
        echo "FAIL $name: refused, but without \"$want\": $(cat "$work/$name/err")"
        failed=1
    elif [[ -n $(ls -A "$out") ]]; then
        echo "FAIL $name: refused, but wrote $(ls "$out")"
        failed=1
    else
        echo "ok   $name: $want"
    fi
}

expect good "" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { get: "/v1/widgets/{id}" roles: ["admin"] summary: "One" };
  }'
expect no-verb "sets no verb" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { roles: ["admin"] summary: "One" };
  }'
expect not-v1 "does not start with \"/v1/\"" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { get: "/widgets/{id}" roles: ["admin"] summary: "One" };
  }'
expect empty-segment "has an empty segment" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { get: "/v1/widgets//{id}" roles: ["admin"] summary: "One" };
  }'
expect unknown-variable "path variable \"{nope}\"" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { get: "/v1/widgets/{nope}" roles: ["admin"] summary: "One" };
  }'
expect variable-not-string "is not a top-level string field" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { get: "/v1/widgets/{count}" roles: ["admin"] summary: "One" };
  }'
expect get-with-body "cannot take a body" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { get: "/v1/widgets/{id}" body: "widget" roles: ["admin"] summary: "One" };
  }'
expect body-not-message "is not a message field" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { post: "/v1/widgets/{id}" body: "name" roles: ["admin"] summary: "One" };
  }'
expect unknown-role "unknown role \"owner\"" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { get: "/v1/widgets/{id}" roles: ["owner"] summary: "One" };
  }'
expect no-role "allows no role" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { get: "/v1/widgets/{id}" summary: "One" };
  }'
expect not-2xx "is not a 2xx status" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { get: "/v1/widgets/{id}" success_status: 302 roles: ["admin"] summary: "One" };
  }'
expect bad-package "is not \"bulwark.<backend>.<version>\"" 'rpc GetWidget(GetWidgetRequest) returns (Widget) {
    option (bulwark.api.v1.http) = { get: "/v1/widgets/{id}" roles: ["admin"] summary: "One" };
  }' acme.widgets
expect streaming "a streaming RPC cannot have an HTTP binding" 'rpc GetWidget(GetWidgetRequest) returns (stream Widget) {
    option (bulwark.api.v1.http) = { get: "/v1/widgets/{id}" roles: ["admin"] summary: "One" };
  }'
expect list-without-page "a list route" 'rpc ListWidgets(GetWidgetRequest) returns (ListWidgetsResponse) {
    option (bulwark.api.v1.http) = { get: "/v1/widgets" roles: ["admin"] summary: "All" list: { order_by: ["name"] default_order: "name" } };
  }'

exit "$failed"
