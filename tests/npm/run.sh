#!/usr/bin/env bash
# run.sh - ctest gateway_clients: the official GOV.UK Notify and Twilio Node
# clients (tests/npm/clients.mjs) against rollcall-gateway-sim.
#   tests/npm/run.sh SIM_BINARY WORK_DIR
# Installs package-lock.json's packages into WORK_DIR with `npm ci`, skipped
# while WORK_DIR/node_modules matches the lock, starts the simulator on a free
# port, runs the script, and stops the simulator (which must exit 0).
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 SIM_BINARY WORK_DIR" >&2
  exit 2
fi
sim=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)

fail() {
  echo "gateway_clients: FAIL: $*" >&2
  exit 1
}

# A missing toolchain is a failure, not a skip: CI must not pass without it.
for tool in node npm; do
  command -v "$tool" >/dev/null ||
    fail "'$tool' is not installed; run scripts/install-deps.sh (it installs nodejs and npm when missing)"
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] ||
  fail "node $(node --version) is too old (18 or later needed); run scripts/install-deps.sh or install a newer nodejs"
[ -x "$sim" ] || fail "no simulator binary at $sim (build the rollcall-gateway-sim target)"

mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$here/clients.mjs" "$work/"
stamp="$work/node_modules/.rollcall-lock.sha256"
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ]; then
  echo "gateway_clients: node_modules matches package-lock.json, npm ci skipped"
else
  echo "gateway_clients: npm ci into $work"
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed (is the npm registry reachable?)"
  echo "$want" >"$stamp"
fi

tmp=$(mktemp -d /tmp/rollcall-gateway-clients-XXXXXX)
sim_pid=""
cleanup() {
  if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

service_id=26785a09-ab16-4eb0-8407-a37497a57506
export NOTIFY_API_KEY="rollcall_clients-$service_id-3d844edf-8d35-48ac-975b-e847b4f122b0"
export NOTIFY_CALLBACK_TOKEN="receipt-token-$$"
export TWILIO_ACCOUNT_SID=AC0123456789abcdef0123456789abcdef
export TWILIO_AUTH_TOKEN=0123456789abcdef0123456789abcdef
printf '%s' "$NOTIFY_API_KEY" >"$tmp/notify-key"
printf '%s' "$NOTIFY_CALLBACK_TOKEN" >"$tmp/callback-token"
printf '%s' "$TWILIO_AUTH_TOKEN" >"$tmp/twilio-token"
RECEIPT_PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
  console.log(s.address().port); s.close(); })')
export RECEIPT_PORT

"$sim" --port 0 --notify-api-key-file "$tmp/notify-key" \
  --notify-callback-url "http://127.0.0.1:$RECEIPT_PORT/notify" \
  --notify-callback-token-file "$tmp/callback-token" \
  --twilio-account-sid "$TWILIO_ACCOUNT_SID" --twilio-auth-token-file "$tmp/twilio-token" \
  --deliver-after 100ms 2>"$tmp/sim.log" &
sim_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*"event":"sim.ready","port":\([0-9]*\).*/\1/p' "$tmp/sim.log")
  [ -n "$port" ] && break
  kill -0 "$sim_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/sim.log" >&2; fail "the simulator did not start"; }
export SIM_URL="http://127.0.0.1:$port"

status=0
(cd "$work" && node clients.mjs) || status=$?

kill -TERM "$sim_pid"
sim_status=0
wait "$sim_pid" || sim_status=$?
sim_pid=""
if [ $status -ne 0 ] || [ $sim_status -ne 0 ]; then
  echo "--- simulator log" >&2
  cat "$tmp/sim.log" >&2
  [ $sim_status -eq 0 ] || fail "the simulator exited $sim_status on SIGTERM"
  fail "tests/npm/clients.mjs failed"
fi
echo "gateway_clients: ok"
