#!/bin/sh
# run.sh: the read path's figures with wrk, each deskgate run next to a bare
# net/http handler answering the same bytes, in rounds.
#
#   cmd/deskgate-load/wrk/run.sh [users [rounds [seconds]]]    (defaults: 10000 3 5)
#
# Builds both commands into $DG_TMP (default /tmp/dg-wrk), seeds a database of
# that many users, serves it with the render cache (port 18080) and without
# (18081; DG_PORT moves both), and prints one line per run: requests a second, p99 latency. Then
# the two shows again, each in turns of one second with its bare handler, a
# user in groups in turns with one in none, and the cached server's memory as
# top shows it (RSS) and from smaps_rollup.
set -eu
users=${1:-10000} rounds=${2:-3} secs=${3:-5}
T=${DG_TMP:-/tmp/dg-wrk}
cached_port=${DG_PORT:-18080}
uncached_port=$((cached_port + 1))
here=$(dirname "$0")
mkdir -p "$T"
go build -o "$T/deskgate" ./cmd/deskgate
go build -o "$T/deskgate-load" ./cmd/deskgate-load
token=owner-api-token-0123456789
db="$T/users-$users.db"
if [ ! -f "$db" ]; then
	"$T/deskgate-load" -seed-users "$users" -db "$db" -user owner@example.com -password owner-secret -token $token
fi
pids=""
trap 'kill $pids 2>/dev/null' EXIT
# One after the other: the first start migrates the file, the second finds it done.
"$T/deskgate" -db "$db" -addr 127.0.0.1:$cached_port -rate-limit 0 2>"$T/cached.log" &
cached=$!
pids=$cached
until curl -fs http://127.0.0.1:$cached_port/healthz >/dev/null; do sleep 0.1; done
"$T/deskgate" -db "$db" -addr 127.0.0.1:$uncached_port -rate-limit 0 -render-cache 0 2>"$T/uncached.log" &
uncached=$!
pids="$cached $uncached"
until curl -fs http://127.0.0.1:$uncached_port/healthz >/dev/null; do sleep 0.1; done
sleep 0.2
kill -0 $cached && kill -0 $uncached # not another server's health check: a port in use stops ours
export DG_AUTH="Basic $(printf %s "owner@example.com/token:$token" | base64 -w0)" DG_USERS=$users
get() { curl -fsH "Authorization: $DG_AUTH" "http://127.0.0.1:$cached_port$1" >"$T/$2"; }
get /api/v2/users/2 v2-show.body
get /users/2.xml legacy-show.body
get '/api/v2/users?page%5Bsize%5D=100' v2-page.body
# A bare handler per body, each on a free port it prints.
for body in v2-show legacy-show v2-page; do
	"$T/deskgate-load" -serve-bare 127.0.0.1:0 -bare-body "$T/$body.body" >"$T/$body.addr" &
	pids="$pids $!"
done
for body in v2-show legacy-show v2-page; do
	until [ -s "$T/$body.addr" ]; do sleep 0.1; done
done
bare() { echo "http://$(cat "$T/$1.addr")/"; }

# one NAME URL [ENV...]: one wrk run, printed as NAME req/s p99.
one() {
	name=$1 url=$2
	shift 2
	out=$(env "$@" wrk -t1 -c16 -d"${secs}s" --latency -s "$here/users.lua" "$url")
	rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
	errs=$(echo "$out" | awk '/Non-2xx/ {print $5}')
	printf '%-28s %10s req/s  p99 %-8s %s\n' "$name" "$rate" "$p99" "${errs:+non-2xx $errs}"
}

# pair NAME BASE_URL BASE_ENV URL ENV: a case and the one it is measured
# against, in turns of one second, $secs turns each, printed as each side's
# requests a second and their ratio (URL's over BASE_URL's). The machine's
# speed can drift by a quarter within a minute; turns this short let the
# drift fall on both alike. Each ENV is one VAR=value for users.lua.
pair() {
	name=$1 base_url=$2 base_env=$3 url=$4 case_env=$5
	ours=0 theirs=0
	for _ in $(seq "$secs"); do
		theirs=$((theirs + $(env "$base_env" wrk -t1 -c16 -d1s -s "$here/users.lua" "$base_url" | awk '/requests in/ {print $1}')))
		ours=$((ours + $(env "$case_env" wrk -t1 -c16 -d1s -s "$here/users.lua" "$url" | awk '/requests in/ {print $1}')))
	done
	awk -v name="$name" -v ours=$ours -v theirs=$theirs -v n="$secs" \
		'BEGIN {printf "%-40s %10.0f req/s  against %10.0f req/s  ratio %.2f\n", name, ours / n, theirs / n, ours / theirs}'
}

# Fill the cache: every user once, through both APIs.
one warm-v2 http://127.0.0.1:$cached_port DG_PATH=/api/v2/users/%d >/dev/null
one warm-legacy http://127.0.0.1:$cached_port DG_PATH=/users/%d.xml >/dev/null
for r in $(seq "$rounds"); do
	echo "round $r"
	one "bare (v2 show bytes)" $(bare v2-show)
	one "v2 show" http://127.0.0.1:$cached_port DG_PATH=/api/v2/users/%d
	one "bare (legacy show bytes)" $(bare legacy-show)
	one "legacy show" http://127.0.0.1:$cached_port DG_PATH=/users/%d.xml
	one "v2 show, in groups" http://127.0.0.1:$cached_port DG_IDS=groups
	one "v2 show, no groups" http://127.0.0.1:$cached_port DG_IDS=plain
	one "uncached v2 show, in groups" http://127.0.0.1:$uncached_port DG_IDS=groups
	one "uncached v2 show, no groups" http://127.0.0.1:$uncached_port DG_IDS=plain
	one "v2 90% show / 10% update" http://127.0.0.1:$cached_port DG_WRITES=10
	one "bare (page of 100 bytes)" "$(bare v2-page)"
	one "v2 cursor page of 100" "http://127.0.0.1:$cached_port/api/v2/users?page%5Bsize%5D=100" DG_PATH='/api/v2/users?page%%5Bsize%%5D=100'
done
echo "in turns of 1 s, $secs each"
pair "v2 show / bare" "$(bare v2-show)" DG_IDS=all http://127.0.0.1:$cached_port DG_PATH=/api/v2/users/%d
pair "legacy show / bare" "$(bare legacy-show)" DG_IDS=all http://127.0.0.1:$cached_port DG_PATH=/users/%d.xml
pair "v2 show, cost in groups / none" http://127.0.0.1:$cached_port DG_IDS=groups http://127.0.0.1:$cached_port DG_IDS=plain
pair "uncached v2 show, cost in groups / none" http://127.0.0.1:$uncached_port DG_IDS=groups http://127.0.0.1:$uncached_port DG_IDS=plain
one refill http://127.0.0.1:$cached_port DG_PATH=/api/v2/users/%d >/dev/null
echo "cached server (pid $cached) memory, in kB:"
grep -E "^Vm(RSS|HWM)" "/proc/$cached/status"
grep -E '^(Rss|Pss|Pss_Anon|Pss_File|Anonymous):' "/proc/$cached/smaps_rollup"
