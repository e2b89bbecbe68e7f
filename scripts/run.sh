#!/usr/bin/env bash
# run.sh - README command 1: install what is missing, build, and run the whole
# stack on loopback: a private redis-server (AOF on) and the four services,
# each on a free port, logs under .run/<timestamp>/, in replay mode; then
# replays a demo trust's school year (scripts/gen-year.sh: three schools,
# their calendars, pupils, parents and a year of registers with the clock
# moving, docs/replay.md) through ingest's HTTP API, and shows what the
# schools' policies raised.
#   scripts/run.sh           run until Ctrl-C
#   scripts/run.sh --check   start everything, check it is up, stop (also when CI=true)
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") [ "${CI:-}" = "true" ] && check=1 ;;
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

scripts/install-deps.sh
echo "== build (preset dev)"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
bin=build/dev/services

run=".run/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run"
pids=() names=()

# free_port prints a loopback TCP port nobody is listening on.
taken=" "
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000)) # below the kernel's ephemeral range (32768+)
    case "$taken" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken="$taken$p "
      echo "$p"
      return 0
    fi
  done
  echo "run.sh: no free port found" >&2
  return 1
}

stop_all() {
  local i status=0
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    if wait "${pids[$i]}"; then
      echo "   stopped ${names[$i]}"
    else
      echo "   ${names[$i]} exited with status $? (log: $run/${names[$i]}.log)"
      status=1
    fi
  done
  pids=()
  return $status
}
trap 'stop_all || true' EXIT
trap 'echo; echo "== stopping"; stop_all; trap - EXIT; exit 0' INT TERM

# The SMS and email gateways are outside services: the demo runs the
# project's simulator of GOV.UK Notify and Twilio (sim/README.md), with
# credentials made up for this run. Nothing leaves this machine.
uuid() { cat /proc/sys/kernel/random/uuid; }
notify_service=$(uuid)
export ROLLCALL_SIM_NOTIFY_API_KEY="rollcall_demo-$notify_service-$(uuid)"
export ROLLCALL_NOTIFY_API_KEY="$ROLLCALL_SIM_NOTIFY_API_KEY"
twilio_sid="AC$(uuid | tr -d - | cut -c1-32)"
export ROLLCALL_SIM_TWILIO_AUTH_TOKEN
ROLLCALL_SIM_TWILIO_AUTH_TOKEN=$(uuid | tr -d -)
export ROLLCALL_TWILIO_AUTH_TOKEN="$ROLLCALL_SIM_TWILIO_AUTH_TOKEN"
export ROLLCALL_SIM_NOTIFY_CALLBACK_TOKEN
ROLLCALL_SIM_NOTIFY_CALLBACK_TOKEN=$(uuid | tr -d -)
export ROLLCALL_NOTIFY_CALLBACK_TOKEN="$ROLLCALL_SIM_NOTIFY_CALLBACK_TOKEN"
sim_port=$(free_port) notify_http=$(free_port)
echo "== gateway simulator on 127.0.0.1:$sim_port (GOV.UK Notify and Twilio APIs)"
build/dev/sim/rollcall-gateway-sim --port "$sim_port" --notify-service-id "$notify_service" \
  --twilio-account-sid "$twilio_sid" \
  --notify-callback-url "http://127.0.0.1:$notify_http/v1/receipts/notify" 2>"$run/sim.log" &
pids+=($!) names+=(sim)
for _ in $(seq 100); do
  grep -q '"sim.ready"' "$run/sim.log" 2>/dev/null && break
  sleep 0.1
done
grep -q '"sim.ready"' "$run/sim.log" || { echo "the simulator did not start: $run/sim.log" >&2; exit 1; }
# Texts go through Twilio's API (rendered here), emails through GOV.UK
# Notify's, which needs its template ids: the demo gives the alerts' templates
# made-up ones.
mkdir -p "$run/templates"
cp -r templates/. "$run/templates/"
find "$run/templates" -name first_day_absence.yaml -o -name social_worker_absence.yaml |
  while read -r t; do printf 'notify: {email_template_id: %s}\n' "$(uuid)" >>"$t"; done

# A reports token for this run (stored hashed, docs/reports-api.md).
admin_token=$(uuid | tr -d -)
printf '%s admin demo-admin\n' "$(printf %s "$admin_token" | sha256sum | cut -d' ' -f1)" \
  >"$run/reports_tokens"

# CURVE keys for the LA referral feed (docs/la-feed.md): reports' pair and LA 909's.
build/dev/cli/rollcall keygen "$run/la_curve" >/dev/null
# The services' own links are CURVE too: one key for the deployment.
build/dev/cli/rollcall keygen "$run/link" >/dev/null
export ROLLCALL_CURVE_SECRET_FILE="$PWD/$run/link.key"
build/dev/cli/rollcall keygen "$run/la909" >/dev/null
printf '%s 909 demo-la909\n' "$(cat "$run/la909.pub")" >"$run/la_clients"

redis_port=$(free_port)
echo "== redis-server on 127.0.0.1:$redis_port (AOF, fsync always, in $run)"
redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$PWD/$run" \
  --appendonly yes --appendfsync always --save '' --daemonize no \
  --logfile "$PWD/$run/redis.log" &
pids+=($!) names+=(redis)
for _ in $(seq 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null || { echo "redis did not start: $run/redis.log" >&2; exit 1; }

ingest_pub=$(free_port) rules_pub=$(free_port) la_pub=$(free_port) la_replay=$(free_port) notify_pub=$(free_port)
ingest_http=$(free_port) reports_http=$(free_port)
declare -A args=(
  [ingest]="--pub_endpoint tcp://127.0.0.1:$ingest_pub --http_port $ingest_http --clock replay"
  [rules]="--ingest_endpoints tcp://127.0.0.1:$ingest_pub --pub_endpoint tcp://127.0.0.1:$rules_pub --policies_dir $PWD/policies --clock replay"
  [notify]="--rules_endpoints tcp://127.0.0.1:$rules_pub --pub_endpoint tcp://127.0.0.1:$notify_pub --templates_dir $PWD/$run/templates --clock replay --sms_gateway twilio --twilio_url http://127.0.0.1:$sim_port --twilio_account_sid $twilio_sid --twilio_from +447700900000 --email_gateway notify --notify_url http://127.0.0.1:$sim_port --http_port $notify_http --public_url http://127.0.0.1:$notify_http"
  [reports]="--rules_endpoints tcp://127.0.0.1:$rules_pub --la_pub_endpoint tcp://127.0.0.1:$la_pub --la_replay_endpoint tcp://127.0.0.1:$la_replay --la_curve_secret_file $PWD/$run/la_curve.key --la_clients_file $PWD/$run/la_clients --http_port $reports_http --tokens_file $PWD/$run/reports_tokens"
)
for svc in ingest rules notify reports; do
  # shellcheck disable=SC2086
  "$bin/rollcall-$svc" --config "deploy/$svc.conf" --redis_port "$redis_port" ${args[$svc]} \
    2>"$run/$svc.log" &
  pids+=($!) names+=("$svc")
done

echo "== waiting for the services"
for i in 2 3 4 5; do
  svc=${names[$i]}
  for _ in $(seq 150); do
    grep -q '"service.ready"' "$run/$svc.log" 2>/dev/null && break
    kill -0 "${pids[$i]}" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q '"service.ready"' "$run/$svc.log"; then
    echo "rollcall-$svc did not become ready; its log ($run/$svc.log) ends:" >&2
    tail -n 20 "$run/$svc.log" >&2
    exit 1
  fi
  printf '   %-8s ready (pid %s)\n' "$svc" "${pids[$i]}"
done

echo "== LA 909 subscribes to its referrals (rollcall subscribe --la 909, lines in $run/la909.jsonl)"
build/dev/cli/rollcall subscribe --la 909 --endpoint "tcp://127.0.0.1:$la_pub" \
  --replay "tcp://127.0.0.1:$la_replay" --server-key "$run/la_curve.pub" --key "$run/la909.key" \
  --state "$run/la909.state" --poll 2 >"$run/la909.jsonl" 2>"$run/subscribe.log" &
pids+=($!) names+=(subscribe)

echo "== replaying the demo trust's school year through ingest (scripts/gen-year.sh, rollcall import, rollcall replay)"
scripts/gen-year.sh "$run/demo" >/dev/null
for kind in schools calendar pupils contacts; do
  if ! out=$(build/dev/cli/rollcall import "$kind" "$run/demo/$kind.csv" --quiet \
      --url "http://127.0.0.1:$ingest_http" 2>&1); then
    echo "run.sh: loading $kind failed:" >&2
    echo "$out" >&2
    exit 1
  fi
  printf '   %-9s %s\n' "$kind" "$(echo "$out" | tr -s ' ' | paste -sd ',' | sed 's/,/, /g')"
done
if ! out=$(build/dev/cli/rollcall replay "$run/demo/replay.txt" --quiet \
    --url "http://127.0.0.1:$ingest_http" 2>&1); then
  echo "run.sh: the replay failed:" >&2
  echo "$out" >&2
  exit 1
fi
printf '   %-9s %s\n' "replay" "$(echo "$out" | tr -s ' ' | paste -sd ',' | sed 's/,/, /g')"

# rules applies every school's log and runs its policy; show that it has.
for _ in $(seq 600); do
  behind=0
  for urn in $(redis-cli -p "$redis_port" smembers rc:schools); do
    [ "$(redis-cli -p "$redis_port" get "rc:seq:{$urn}")" = \
      "$(redis-cli -p "$redis_port" hget "rs:school:{$urn}" pos)" ] || behind=1
  done
  [ $behind -eq 0 ] && break
  sleep 0.2
done
[ $behind -eq 0 ] || echo "   rules is still catching up (see $run/rules.log)"
for urn in $(redis-cli -p "$redis_port" smembers rc:schools | sort); do
  printf '   rules     %s (%s): %s pupils, %s events in its outbox, as of %s\n' "$urn" \
    "$(redis-cli -p "$redis_port" hget "rc:school:{$urn}" policy)" \
    "$(redis-cli -p "$redis_port" scard "rs:pupils:{$urn}")" \
    "$(redis-cli -p "$redis_port" xlen "rs:outbox:{$urn}")" \
    "$(redis-cli -p "$redis_port" hget "rs:school:{$urn}" today)"
done

# notify plans every event's messages and sends them through the simulator.
for _ in $(seq 300); do
  behind=0
  for urn in $(redis-cli -p "$redis_port" smembers rc:schools); do
    [ "$(redis-cli -p "$redis_port" get "rs:out:{$urn}")" = \
      "$(redis-cli -p "$redis_port" get "rn:pos:{$urn}")" ] || behind=1
  done
  [ $behind -eq 0 ] && break
  sleep 0.2
done
sleep 2
for urn in $(redis-cli -p "$redis_port" smembers rc:schools | sort); do
  printf '   notify    %s: %s messages planned, %s outcomes so far (sent, delivered, failed)\n' \
    "$urn" "$(redis-cli -p "$redis_port" --scan --pattern "rn:msg:{$urn}:*" | wc -l)" \
    "$(redis-cli -p "$redis_port" xlen "rn:outcomes:{$urn}")"
done

# reports logs each referral per LA and publishes it; the subscriber prints it.
for _ in $(seq 50); do
  [ "$(wc -l <"$run/la909.jsonl")" -ge "$(redis-cli -p "$redis_port" xlen "rp:ref:{909}")" ] && break
  sleep 0.2
done
printf '   subscribe LA 909 got %s referrals as JSON lines, the first:\n' "$(wc -l <"$run/la909.jsonl")"
head -n 3 "$run/la909.jsonl" | cut -c1-150 | sed 's/^/             /'

# reports answers for a pupil with their attendance, stages and timeline.
demo_upn=$(awk -F, '$1 == "100201" { print $2; exit }' "$run/demo/pupils.csv")
pupil_url="http://127.0.0.1:$reports_http/v1/schools/100201/pupils/$demo_upn"
if ! pupil_json=$(curl -sf -H "Authorization: Bearer $admin_token" "$pupil_url"); then
  echo "run.sh: reports did not answer $pupil_url (see $run/reports.log)" >&2
  exit 1
fi
printf '   reports   a pupil of 100201: %s...\n' "$(printf %s "$pupil_json" | cut -c1-110)"

# The trust's summary, a school's working list and the dashboard's page.
summary_url="http://127.0.0.1:$reports_http/v1/trusts/SMALL-TRUST/summary"
if ! summary_json=$(curl -sf -H "Authorization: Bearer $admin_token" "$summary_url"); then
  echo "run.sh: reports did not answer $summary_url (see $run/reports.log)" >&2
  exit 1
fi
printf '   reports   SMALL-TRUST in total: %s...\n' \
  "$(printf %s "$summary_json" | sed 's/.*"total":{//' | cut -c1-100)"
pa_count=$(curl -sf -o /dev/null -D - -H "Authorization: Bearer $admin_token" \
  "http://127.0.0.1:$reports_http/v1/schools/100201/pupils?pa=1&limit=1" |
  tr -d '\r' | awk -F': ' 'tolower($1) == "x-total-count" { print $2 }')
printf '   reports   100201 persistent absentees to work with: %s\n' "${pa_count:-?}"
dashboard_url="http://127.0.0.1:$reports_http/dashboard/trust/SMALL-TRUST#token=$admin_token"
if ! curl -sf -o /dev/null "http://127.0.0.1:$reports_http/dashboard/trust/SMALL-TRUST"; then
  echo "run.sh: reports did not serve the dashboard (see $run/reports.log)" >&2
  exit 1
fi

cat <<INFO

Rollcall is running on loopback:
  redis      127.0.0.1:$redis_port      (AOF in $run)
  ingest     http://127.0.0.1:$ingest_http (docs/ingest-api.md), PUB tcp://127.0.0.1:$ingest_pub
  rules      PUB tcp://127.0.0.1:$rules_pub
  notify     subscribed to rules; texts via Twilio's API, emails via GOV.UK Notify's
  gateways   simulator http://127.0.0.1:$sim_port (GET /_sim/messages lists what it took)
  reports    LA feed tcp://127.0.0.1:$la_pub (CURVE; replay tcp://127.0.0.1:$la_replay), HTTP http://127.0.0.1:$reports_http, e.g.
             curl -H 'Authorization: Bearer $admin_token' $pupil_url
  dashboard  $dashboard_url
             (school and LA pages too: docs/dashboard.md)
  LA 909     rollcall subscribe's lines in $run/la909.jsonl
  logs       $run/*.log (JSON lines)
INFO

if [ "$check" -eq 1 ]; then
  echo "== check mode: stopping"
  trap - EXIT
  stop_all
  echo "run.sh: all services started, reported ready and stopped cleanly"
  exit 0
fi
echo "Following the logs; Ctrl-C stops everything."
tail -q -n 0 -f "$run"/{ingest,rules,notify,reports}.log &
tail_pid=$!
wait "$tail_pid"
