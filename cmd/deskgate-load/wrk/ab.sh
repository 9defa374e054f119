#!/bin/bash
# ab.sh: two builds of deskgate and the bare handler answering the same bytes,
# in rotating turns of 2 s under wrk, each on its own copy of one database;
# prints each side's requests a second, its ratio to the bare handler and
# the server CPU a request (utime + stime from /proc).
#
#   cmd/deskgate-load/wrk/ab.sh A_BINARY B_BINARY DB TURNS PATH   (PATH: /api/v2/users/%d)
#
# The database is one run.sh seeded (its owner's token; DG_USERS users,
# default 10000); the load tool is built into $DG_TMP (default /tmp/dg-wrk).
set -eu
a=$1 b=$2 db=$3 turns=$4 path=$5
T=${DG_TMP:-/tmp/dg-wrk}
here=$(dirname "$0")
mkdir -p "$T"
go build -o "$T/deskgate-load" ./cmd/deskgate-load
export DG_AUTH="Basic $(printf %s "owner@example.com/token:owner-api-token-0123456789" | base64 -w0)" DG_PATH=$path
export DG_USERS=${DG_USERS:-10000} # ids drawn from 2 to this + 1: the users the database holds
declare -A url pid req cpu
cp "$db" "$T/ab-a.db" && cp "$db" "$T/ab-b.db"
trap 'kill ${pid[*]} 2>/dev/null' EXIT
"$a" -db "$T/ab-a.db" -addr 127.0.0.1:18100 -rate-limit 0 2>/dev/null & pid[A]=$!
"$b" -db "$T/ab-b.db" -addr 127.0.0.1:18101 -rate-limit 0 2>/dev/null & pid[B]=$!
url[A]=http://127.0.0.1:18100 url[B]=http://127.0.0.1:18101
until curl -fs "${url[A]}/healthz" >/dev/null && curl -fs "${url[B]}/healthz" >/dev/null; do sleep 0.1; done
# shellcheck disable=SC2059 # the path is the format
curl -fsH "Authorization: $DG_AUTH" "${url[B]}$(printf "$path" 2)" >"$T/ab.body"
rm -f "$T/ab-bare.addr"
"$T/deskgate-load" -serve-bare 127.0.0.1:0 -bare-body "$T/ab.body" >"$T/ab-bare.addr" & pid[bare]=$!
until [ -s "$T/ab-bare.addr" ]; do sleep 0.1; done
url[bare]=http://$(cat "$T/ab-bare.addr")
for m in A B; do wrk -t1 -c16 -d4s -s "$here/users.lua" "${url[$m]}" >/dev/null; done # fill the caches
for m in bare A B; do req[$m]=0 cpu[$m]=0; done
for _ in $(seq "$turns"); do
	for m in bare A B; do
		c0=$(awk '{print $14 + $15}' "/proc/${pid[$m]}/stat")
		n=$(wrk -t1 -c16 -d2s -s "$here/users.lua" "${url[$m]}" | awk '/requests in/ {print $1}')
		c1=$(awk '{print $14 + $15}' "/proc/${pid[$m]}/stat")
		req[$m]=$((req[$m] + n)) cpu[$m]=$((cpu[$m] + c1 - c0))
	done
done
for m in bare A B; do
	awk -v m=$m -v r=${req[$m]} -v bare=${req[bare]} -v c=${cpu[$m]} -v tick="$(getconf CLK_TCK)" -v t="$turns" \
		'BEGIN {printf "%-5s %8.0f req/s  ratio %.3f  %6.1f us CPU a request\n", m, r / (2 * t), r / bare, c / tick / r * 1e6}'
done
