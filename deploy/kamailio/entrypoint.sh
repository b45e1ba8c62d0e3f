#!/bin/sh
# Starts Kamailio in front of the Roombridge nodes listed in $GATEWAYS
# (SIP URIs, space separated, e.g. "sip:gw1:5060 sip:gw2:5060"): writes the
# dispatcher list, then runs kamailio in the foreground, logging to stderr.
# Further arguments go to kamailio, e.g. -A 'PROBE_INTERVAL=2'.
# Environment: GATEWAYS (required), KAMAILIO_CFG (default next to this
# script), DISPATCHER_LIST (file to write, default /tmp/dispatcher.list),
# LISTEN (host:port, default 0.0.0.0:5060), ADVERTISE (host:port put in
# Record-Route and Via when phones reach Kamailio through NAT).
set -eu
: "${GATEWAYS:?set GATEWAYS to the gateway nodes SIP URIs, space separated}"
cfg=${KAMAILIO_CFG:-$(dirname "$0")/kamailio.cfg}
list=${DISPATCHER_LIST:-/tmp/dispatcher.list}
listen=${LISTEN:-0.0.0.0:5060}

tmp="$list.tmp"
: >"$tmp"
for gw in $GATEWAYS; do
	case "$gw" in
	sip:*) ;;
	*) echo "entrypoint: $gw is not a sip: URI" >&2; exit 2 ;;
	esac
	printf '1 %s 0 0\n' "$gw" >>"$tmp"
done
mv "$tmp" "$list"

adv=""
if [ -n "${ADVERTISE:-}" ]; then
	adv=" advertise $ADVERTISE"
fi
exec kamailio -DD -E -f "$cfg" \
	-A "DISPATCHER_LIST=\"$list\"" \
	-A "LISTEN_UDP=udp:$listen$adv" -A "LISTEN_TCP=tcp:$listen$adv" "$@"
