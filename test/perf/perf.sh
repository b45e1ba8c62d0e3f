#!/usr/bin/env bash
# make perf: builds the gateway (no race detector), starts it with a
# generated config, runs `roombridge load` against it with a probe room,
# and prints the report: CPU and RSS per leg, late hub ticks, admission
# refusals (503s), and the bad frames the probe's listener heard.
#
# Parameters (environment, or make variables): LEGS (600), RATE calls/s
# (100), ROOM_SIZE (10), HOLD (30s), CODEC (pcma), MAX_CPU, MAX_MACHINE_CPU,
# MAX_LATE_TICKS and MAX_LEGS (the gateway's limits.max_cpu,
# max_machine_cpu, max_late_ticks and max_legs: 80, 90, 1, 0; 100, 100 and
# 100 switch admission control off, to measure past the point where the
# gateway would refuse), CONCURRENT_JOINS
# (limits.concurrent_joins, 16), LOG_LEVEL (warn), PERF_DIR (a new temporary folder;
# the gateway's log and config stay there), BACKEND (embedded, or livekit:
# the script starts livekit-server, found as $LIVEKIT_SERVER,
# livekit-server on PATH or GOPATH/bin/server, and the gateway uses it),
# PPROF (true: heap and CPU profiles of the gateway with every leg up, in
# the run's folder; `go tool pprof -top DIR/roombridge DIR/heap.pprof`;
# ramp: a CPU profile and a trace while the calls come in).
#
# With BACKEND=livekit everything runs in a network namespace of its own
# with a veth pair, as the tests do (test/internal/netns): LiveKit's SDK
# gathers no loopback ICE candidates, so the gateway's participants reach
# livekit-server on 198.18.0.1. SIP and the callers' RTP stay on 127.0.0.1
# inside it.
set -euo pipefail

LEGS=${LEGS:-600}
RATE=${RATE:-100}
ROOM_SIZE=${ROOM_SIZE:-10}
HOLD=${HOLD:-30s}
CODEC=${CODEC:-pcma}
MAX_CPU=${MAX_CPU:-80}
MAX_MACHINE_CPU=${MAX_MACHINE_CPU:-90}
MAX_LATE_TICKS=${MAX_LATE_TICKS:-1}
MAX_LEGS=${MAX_LEGS:-0}
CONCURRENT_JOINS=${CONCURRENT_JOINS:-16}
HTTP_PORT=${HTTP_PORT:-18080}
SIP_PORT=${SIP_PORT:-15060}
GO=${GO:-go}
BACKEND=${BACKEND:-embedded}
dir=${PERF_DIR:-$(mktemp -d /tmp/roombridge-perf.XXXXXX)}
mkdir -p "$dir"

for tool in espeak-ng sox curl; do
  command -v "$tool" >/dev/null || { echo "perf: $tool is needed (make deps-test installs it)" >&2; exit 2; }
done
case $BACKEND in
embedded | livekit) ;;
*) echo "perf: BACKEND must be embedded or livekit, not $BACKEND" >&2; exit 2 ;;
esac

if [ "${PERF_NETNS:-}" != 1 ]; then
  # Built outside the namespace, which has no network for the module proxy.
  echo "perf: building into $dir"
  "$GO" build -trimpath -o "$dir/roombridge" ./cmd/roombridge
fi

# lk_addr is livekit-server's address in the namespace (netns.Addr).
lk_addr=198.18.0.1
if [ "$BACKEND" = livekit ] && [ "${PERF_NETNS:-}" != 1 ]; then
  lk_bin=${LIVEKIT_SERVER:-$(command -v livekit-server || true)}
  [ -n "$lk_bin" ] || lk_bin="$("$GO" env GOPATH | cut -d: -f1)/bin/server"
  "$lk_bin" --version 2>&1 | grep -q livekit || {
    echo "perf: livekit-server not found (go install github.com/livekit/livekit-server/cmd/server@v1.13.5, or set LIVEKIT_SERVER)" >&2
    exit 2
  }
  for tool in unshare ip; do
    command -v "$tool" >/dev/null || { echo "perf: $tool is needed for BACKEND=livekit" >&2; exit 2; }
  done
  # Root makes the namespace directly; others through a user namespace.
  ns=(unshare -n)
  "${ns[@]}" true 2>/dev/null || ns=(unshare -r -n)
  PERF_NETNS=1 PERF_DIR=$dir LIVEKIT_SERVER=$lk_bin exec "${ns[@]}" bash "$0" "$@"
fi

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
log: { level: ${LOG_LEVEL:-warn} }
http: { listen: 127.0.0.1:$HTTP_PORT }
sip: { listen: [udp://127.0.0.1:$SIP_PORT] }
rtp: { port_min: $rtp_min, port_max: $rtp_max }
api: { keys: [perf-key-0123456789] }
store: { path: $dir/roombridge.db }
limits: { max_cpu: $MAX_CPU, max_machine_cpu: $MAX_MACHINE_CPU, max_late_ticks: $MAX_LATE_TICKS, max_legs: $MAX_LEGS, concurrent_joins: $CONCURRENT_JOINS }
metrics: { pprof: $([ "${PPROF:-false}" = false ] && echo false || echo true) }
YAML

# The processes the script starts, stopped when it exits however it does.
gw= lk=
stop() {
  for pid in $gw $lk; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap stop EXIT

# await_http waits up to 20 s for url to answer 2xx while process pid
# lives; when it dies its log is shown and the script fails.
await_http() {
  local url=$1 pid=$2 log=$3
  for _ in $(seq 200); do
    curl -fs "$url" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "perf: $url did not answer within 20 s" >&2
  exit 1
}

if [ "$BACKEND" = livekit ]; then
  ip link set lo up
  ip link add rb0 type veth peer name rb1
  ip addr add "$lk_addr/24" dev rb0
  ip addr add 198.18.0.2/24 dev rb1
  ip link set rb0 up
  ip link set rb1 up
  lk_secret=perf-secret-0123456789abcdef0123456789
  # ips: LiveKit gathers only on the address it announces, so it answers
  # ICE checks from it (on both veth ends, it answered from 198.18.0.2,
  # which pion nominates as peer-reflexive only after 1 s).
  cat >"$dir/livekit.yaml" <<YAML
port: 7880
bind_addresses: ["$lk_addr"]
rtc: { node_ip: "$lk_addr", tcp_port: 7881, udp_port: 7882, use_external_ip: false, ips: { includes: ["$lk_addr/32"] } }
keys: { perf-key: $lk_secret }
room: { empty_timeout: 10 }
logging: { level: warn }
YAML
  "$LIVEKIT_SERVER" --config "$dir/livekit.yaml" >"$dir/livekit.log" 2>&1 &
  lk=$!
  await_http "http://$lk_addr:7880/" "$lk" "$dir/livekit.log"
  cat >>"$dir/roombridge.yaml" <<YAML
backend: livekit
livekit: { url: "ws://$lk_addr:7880", api_key: perf-key, api_secret: $lk_secret }
YAML
fi

# Every leg holds sockets on both sides.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

"$dir/roombridge" serve --config "$dir/roombridge.yaml" >"$dir/gateway.log" 2>&1 &
gw=$!
await_http "http://127.0.0.1:$HTTP_PORT/readyz" "$gw" "$dir/gateway.log"

echo "perf: $LEGS legs of $CODEC speech in rooms of $ROOM_SIZE at $RATE calls/s, held $HOLD, plus a probe room; backend $BACKEND; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# cpu_ticks is a process's user+system CPU time in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
lk_start=0
[ -z "$lk" ] || lk_start=$(cpu_ticks "$lk")
load_start=$(date +%s.%N)
# PPROF=true: once every leg is up, a heap profile and 10 s of CPU
# profile of the gateway land in the run's directory.
if [ "${PPROF:-false}" = true ]; then
  (
    until curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" |
      awk -v n="$LEGS" '$1 == "roombridge_sip_legs" && $2 >= n { up = 1 } END { exit !up }'; do
      kill -0 "$gw" 2>/dev/null || exit 0
      sleep 0.5
    done
    curl -fs -o "$dir/heap.pprof" "http://127.0.0.1:$HTTP_PORT/debug/pprof/heap?gc=1"
    curl -fs -o "$dir/cpu.pprof" "http://127.0.0.1:$HTTP_PORT/debug/pprof/profile?seconds=10"
    echo "perf: profiles with $LEGS legs up: $dir/heap.pprof, $dir/cpu.pprof"
  ) &
fi
# PPROF=ramp: a CPU profile and an execution trace of the gateway while
# the calls come in (the first RAMP_SECONDS, default LEGS/RATE + 2 s), for
# what answering and joining cost under the burst
# (`go tool trace DIR/ramp.trace`, its scheduler latency profile).
if [ "${PPROF:-false}" = ramp ]; then
  ramp=${RAMP_SECONDS:-$(((LEGS + RATE - 1) / RATE + 2))}
  curl -fs -o "$dir/ramp-cpu.pprof" "http://127.0.0.1:$HTTP_PORT/debug/pprof/profile?seconds=$ramp" &
  curl -fs -o "$dir/ramp.trace" "http://127.0.0.1:$HTTP_PORT/debug/pprof/trace?seconds=$ramp" &
  echo "perf: CPU profile and trace of the first $ramp s: $dir/ramp-cpu.pprof, $dir/ramp.trace"
fi
status=0
"$dir/roombridge" load --target "127.0.0.1:$SIP_PORT" --legs "$LEGS" --room-size "$ROOM_SIZE" --rate "$RATE" \
  --hold "$HOLD" --codec "$CODEC" --wav "$dir/speech.wav" --probe --local-ip 127.0.0.1 \
  --port-min "$call_min" --port-max "$call_max" \
  --api "http://127.0.0.1:$HTTP_PORT" --api-key perf-key-0123456789 || status=$?
# 1: some calls were refused or heard nothing, which is what a run past
# the gateway's headroom is for; 2: the run could not start.
if [ -n "$lk" ]; then
  # livekit-server's share of a core over the whole load run (set-up,
  # steady window and hang-ups), beside the gateway's own in the report.
  awk -v t0="$load_start" -v t1="$(date +%s.%N)" -v c0="$lk_start" -v c1="$(cpu_ticks "$lk")" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "perf: livekit-server used %.0f %% of a core during the run\n", 100 * (c1 - c0) / hz / (t1 - t0) }'
fi
echo "perf: roombridge load exited $status; gateway log and config in $dir"
[ "$status" -le 1 ]
