#!/usr/bin/env bash
# make perf: builds the gateway (no race detector), starts it with a
# generated config, runs `roombridge load` against it with a probe room,
# and prints the report: CPU and RSS per leg, late hub ticks, admission
# refusals (503s), and the bad frames the probe's listener heard.
#
# Parameters (environment, or make variables): LEGS (600), RATE calls/s
# (100), ROOM_SIZE (10), HOLD (30s), CODEC (pcma), MAX_CPU, MAX_LATE_TICKS
# and MAX_LEGS (the gateway's limits.max_cpu, max_late_ticks and max_legs:
# 80, 1, 0; 100 and 100 switch admission control off, to measure past the
# point where the gateway would refuse), PERF_DIR (a new temporary folder;
# the gateway's log and config stay there).
set -euo pipefail

LEGS=${LEGS:-600}
RATE=${RATE:-100}
ROOM_SIZE=${ROOM_SIZE:-10}
HOLD=${HOLD:-30s}
CODEC=${CODEC:-pcma}
MAX_CPU=${MAX_CPU:-80}
MAX_LATE_TICKS=${MAX_LATE_TICKS:-1}
MAX_LEGS=${MAX_LEGS:-0}
HTTP_PORT=${HTTP_PORT:-18080}
SIP_PORT=${SIP_PORT:-15060}
GO=${GO:-go}
dir=${PERF_DIR:-$(mktemp -d /tmp/roombridge-perf.XXXXXX)}
mkdir -p "$dir"

for tool in espeak-ng sox curl; do
  command -v "$tool" >/dev/null || { echo "perf: $tool is needed (make deps-test installs it)" >&2; exit 2; }
done

echo "perf: building into $dir"
"$GO" build -trimpath -o "$dir/roombridge" ./cmd/roombridge

# Continuous speech: espeak-ng, made the way test/fixtures are, looped by
# every caller.
espeak-ng -v en-us -s 165 -w "$dir/raw.wav" \
  "This is the Roombridge load test. Every phone in this room speaks without a pause, and everyone hears everyone else. One, two, three, four, five, six, seven, eight, nine, ten."
sox -R -D "$dir/raw.wav" -r 8000 -c 1 -b 16 "$dir/speech.wav" norm -3

# The gateway's RTP ports: a pair per leg and some spare; the callers'
# ports sit above them.
rtp_min=20000
rtp_max=$((rtp_min + 2 * LEGS + 200))
call_min=$((rtp_max + 1000))
call_max=$((call_min + 2 * LEGS + 200))
cat > "$dir/roombridge.yaml" <<YAML
log: { level: warn }
http: { listen: 127.0.0.1:$HTTP_PORT }
sip: { listen: [udp://127.0.0.1:$SIP_PORT] }
rtp: { port_min: $rtp_min, port_max: $rtp_max }
api: { keys: [perf-key-0123456789] }
store: { path: $dir/roombridge.db }
limits: { max_cpu: $MAX_CPU, max_late_ticks: $MAX_LATE_TICKS, max_legs: $MAX_LEGS }
YAML

# Every leg holds sockets on both sides.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

"$dir/roombridge" serve --config "$dir/roombridge.yaml" >"$dir/gateway.log" 2>&1 &
gw=$!
stop() {
  kill -TERM "$gw" 2>/dev/null || true
  wait "$gw" 2>/dev/null || true
}
trap stop EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$gw" 2>/dev/null || { cat "$dir/gateway.log" >&2; exit 1; }
  sleep 0.1
done

echo "perf: $LEGS legs of $CODEC speech in rooms of $ROOM_SIZE at $RATE calls/s, held $HOLD, plus a probe room; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
"$dir/roombridge" load --target "127.0.0.1:$SIP_PORT" --legs "$LEGS" --room-size "$ROOM_SIZE" --rate "$RATE" \
  --hold "$HOLD" --codec "$CODEC" --wav "$dir/speech.wav" --probe --local-ip 127.0.0.1 \
  --port-min "$call_min" --port-max "$call_max" \
  --api "http://127.0.0.1:$HTTP_PORT" --api-key perf-key-0123456789 || status=$?
# 1: some calls were refused or heard nothing, which is what a run past
# the gateway's headroom is for; 2: the run could not start.
echo "perf: roombridge load exited $status; gateway log and config in $dir"
[ "$status" -le 1 ]
