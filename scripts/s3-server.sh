#!/usr/bin/env bash
# A throwaway single-host Ceph cluster + RADOS Gateway on 127.0.0.1 for the S3 tests.
# Why Ceph: it is the only S3 server packaged here that checks SigV4, enforces bucket
# policies and supports versioning/Object Lock (see /work/shared/notes/s3-server.md).
#
# Usage: scripts/s3-server.sh [start|stop|status|env]
#   start (default)  install if needed, create the cluster on first run, start daemons,
#                    create users/buckets; does nothing if the gateway already answers.
#   stop             kill the daemons by their PID files.
#   status           show daemons and whether S3 answers.
#   env              print `export` lines; use: eval "$(scripts/s3-server.sh env)"
# Settings (env): DEDUP_S3_STATE (default $REPO/.state/s3), DEDUP_S3_PORT (7480),
#                 DEDUP_S3_MON_PORT (16789).
# The access keys below are fixed, test-only values for this local server; never reuse them.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${DEDUP_S3_STATE:-$REPO/.state/s3}"
PORT="${DEDUP_S3_PORT:-7480}"
MON_PORT="${DEDUP_S3_MON_PORT:-16789}"
ENDPOINT="http://127.0.0.1:$PORT"
BUCKET="dedup-test"
VBUCKET="dedup-test-versioned"
LBUCKET="dedup-test-locked"
ADMIN_KEY="DEDUPTESTADMINKEY000"
ADMIN_SECRET="dedup-test-admin-secret-not-a-real-secret"
CLIENT_KEY="DEDUPTESTCLIENTKEY00"
CLIENT_SECRET="dedup-test-client-secret-not-a-real-secret"
# Every ceph tool reads this instead of /etc/ceph, so nothing outside $STATE is touched.
export CEPH_CONF="$STATE/ceph.conf"

log() { echo "s3-server: $*" >&2; }
die() { log "error: $*"; exit 1; }
# Any failing step (a daemon that cannot bind its port, say) ends the script with the command and the daemons' last
# log lines, never silently.
set -E
trap 'rc=$?; log "error: \"$BASH_COMMAND\" failed (exit $rc); last lines of the logs in $STATE/log:"; tail -n 3 "$STATE"/log/*.log >&2 2>/dev/null; exit $rc' ERR

answering() { curl -s -o /dev/null --max-time 2 "$ENDPOINT/"; }

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
  local missing=()
  for bin in ceph-mon ceph-osd radosgw ceph monmaptool radosgw-admin; do
    command -v "$bin" >/dev/null || missing+=("$bin")
  done
  command -v curl >/dev/null || missing+=(curl)
  ((${#missing[@]} == 0)) && return 0
  log "installing Ceph packages (missing: ${missing[*]})"
  [[ $(id -u) == 0 ]] || die "run as root to install packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    ceph-mon ceph-osd radosgw ceph-common curl uuid-runtime >/dev/null
}

write_conf() {
  mkdir -p "$STATE"/{run,log,mon,osd,rgw}
  [[ -f "$STATE/fsid" ]] || uuidgen >"$STATE/fsid"
  cat >"$CEPH_CONF" <<EOF
[global]
fsid = $(cat "$STATE/fsid")
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
public addr = 127.0.0.1
# Cephx off inside the cluster; S3 signatures are still checked by radosgw.
auth cluster required = none
auth service required = none
auth client required = none
# msgr v1 only: with v2 the OSD hangs on a non-default monitor port.
ms bind msgr2 = false
ms bind ipv6 = false
# One host, one OSD: one replica and few PGs.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
# With cephx off, automatic CRUSH registration fails ("wrong fsid"); we register by hand.
osd crush update on start = false
# For the same reason the OSD's start-up "osd crush set-device-class" can be refused (EPERM, "wrong fsid"), and the
# OSD then exits during init (exit 250, seen once in CI). The device class is not needed on a one-OSD cluster.
osd class update on start = false
# Otherwise the monitor warns below 30% free disk.
mon data avail warn = 1
mon data avail crit = 0
# All runtime state under one folder, so tests can stop by PID and wipe it.
run dir = $STATE/run
pid file = $STATE/run/\$cluster-\$name.pid
admin socket = $STATE/run/\$cluster-\$name.asok
log file = $STATE/log/\$cluster-\$name.log
mon data = $STATE/mon/\$cluster-\$name
osd data = $STATE/osd/\$cluster-\$name
keyring = $STATE/keyring
# bluestore on a sparse file survives restarts (memstore does not, and radosgw then hangs).
osd objectstore = bluestore
bluestore block path = $STATE/osd/\$cluster-\$name.block
bluestore block create = true
bluestore block size = 21474836480
osd memory target = 1073741824

[client.rgw.a]
# tcp_nodelay: without it beast sends response headers and body in two segments, and the second waits ~40 ms
# for the client's delayed ACK, which makes every GET with a body take 40+ ms.
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw data = $STATE/rgw
EOF
  touch "$STATE/keyring"
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out waiting for $what (logs: $STATE/log)"
    sleep 0.5
  done
}

ceph_q() { timeout 20 ceph --connect-timeout 10 "$@"; }

start_mon() {
  if [[ ! -f "$STATE/mon/ceph-mon.a/done" ]]; then
    rm -rf "$STATE/mon/ceph-mon.a" && mkdir -p "$STATE/mon/ceph-mon.a"
    # --addv with a v1 address: a plain --add registers the wrong address type.
    monmaptool --create --clobber --fsid "$(cat "$STATE/fsid")" \
      --addv a "[v1:127.0.0.1:$MON_PORT]" "$STATE/monmap" >/dev/null
    ceph-mon --mkfs -i a --monmap "$STATE/monmap"
    touch "$STATE/mon/ceph-mon.a/done"
  fi
  pid_alive "$STATE/run/ceph-mon.a.pid" || ceph-mon -i a 2>>"$STATE/log/daemon-stderr.log"
  wait_for 60 "ceph-mon" ceph_q -s
}

start_osd() {
  local dir="$STATE/osd/ceph-osd.0"
  if [[ ! -f "$dir/done" ]]; then
    rm -rf "$dir" && mkdir -p "$dir"
    local uuid; uuid="$(uuidgen)"
    # Manual registration; see "osd crush update on start" above.
    [[ "$(ceph_q osd new "$uuid")" == 0 ]] || die "expected osd id 0 (stale cluster? wipe $STATE)"
    ceph_q osd crush add osd.0 1 root=default >/dev/null 2>&1
    ceph-osd -i 0 --mkfs --osd-uuid "$uuid" >/dev/null 2>&1 || die "ceph-osd --mkfs failed"
    touch "$dir/done"
  fi
  pid_alive "$STATE/run/ceph-osd.0.pid" || ceph-osd -i 0 2>>"$STATE/log/daemon-stderr.log"
  wait_for 90 "osd.0 up" bash -c 'ceph --connect-timeout 10 osd dump 2>/dev/null | grep -q "^osd.0 up"'
}

start_rgw() {
  pid_alive "$STATE/run/ceph-client.rgw.a.pid" || radosgw -n client.rgw.a 2>>"$STATE/log/daemon-stderr.log"
  # The first start creates the RGW pools and takes 10-15 s.
  wait_for 120 "radosgw on $ENDPOINT" answering
  ensure_glacier_class
}

# A GLACIER storage class, so that puts may ask for it and HEAD reports it. RGW keeps such objects readable: the archive
# semantics (403 InvalidObjectState until a restore request) come from the tests' emulating layer. The zone exists only
# after radosgw's first start, and radosgw reads placement at start, so it restarts once when the class is new.
ensure_glacier_class() {
  radosgw-admin zonegroup get 2>/dev/null | grep -q '"GLACIER"' && return 0
  radosgw-admin zonegroup placement add --rgw-zonegroup default --placement-id default-placement \
    --storage-class GLACIER >/dev/null
  radosgw-admin zone placement add --rgw-zone default --placement-id default-placement \
    --storage-class GLACIER --data-pool default.rgw.glacier.data >/dev/null
  local pidf="$STATE/run/ceph-client.rgw.a.pid"
  kill "$(cat "$pidf")"
  for _ in $(seq 1 40); do pid_alive "$pidf" || break; sleep 0.25; done
  if pid_alive "$pidf"; then kill -9 "$(cat "$pidf")"; fi
  rm -f "$pidf"
  radosgw -n client.rgw.a 2>>"$STATE/log/daemon-stderr.log"
  wait_for 60 "radosgw on $ENDPOINT after adding GLACIER" answering
  log "added storage class GLACIER"
}

ensure_user() { # uid key secret [caps]
  if ! radosgw-admin user info --uid="$1" >/dev/null 2>&1; then
    radosgw-admin user create --uid="$1" --display-name="dedup test $1" \
      --access-key="$2" --secret-key="$3" >/dev/null
  fi
  [[ -z "${4:-}" ]] || radosgw-admin caps add --uid="$1" --caps="$4" >/dev/null
}

s3() { # s3 METHOD PATH [BODY [CONTENT-TYPE [HEADER]]] — signed as admin; fails on HTTP >= 400
  local method="$1" path="$2" body="${3:-}" ctype="${4:-application/octet-stream}" extra="${5:-X-Dedup-None: 1}"
  local out code sha
  out="$(mktemp)"
  # curl 7.88's --aws-sigv4 does not send x-amz-content-sha256, which RGW requires
  # (SignatureDoesNotMatch without it), so we hash the body and send it ourselves.
  # It also signs a bare "?policy" wrongly: callers write "?policy=".
  sha="$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)"
  code="$(curl -s -o "$out" -w '%{http_code}' -X "$method" \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ADMIN_KEY:$ADMIN_SECRET" \
    -H "x-amz-content-sha256: $sha" -H "Content-Type: $ctype" -H "$extra" --data-binary "$body" \
    "$ENDPOINT$path")" || { rm -f "$out"; die "curl $method $path failed"; }
  if ((code >= 400)) && ! grep -q BucketAlreadyOwnedByYou "$out"; then
    log "$method $path -> HTTP $code: $(cat "$out")"; rm -f "$out"; return 1
  fi
  rm -f "$out"
}

bucket_policy() { # bucket -> JSON
  cat <<EOF
{"Version":"2012-10-17","Statement":[
 {"Sid":"admin","Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/admin"]},
  "Action":["s3:*"],"Resource":["arn:aws:s3:::$1","arn:aws:s3:::$1/*"]},
 {"Sid":"clientObjects","Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/client"]},
  "Action":["s3:PutObject","s3:GetObject"],"Resource":["arn:aws:s3:::$1/*"]},
 {"Sid":"clientBucket","Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/client"]},
  "Action":["s3:ListBucket","s3:GetBucketVersioning","s3:GetBucketObjectLockConfiguration"],
  "Resource":["arn:aws:s3:::$1"]}]}
EOF
}

setup_s3() {
  ensure_user admin "$ADMIN_KEY" "$ADMIN_SECRET" "users=*;buckets=*;user-policy=*"
  ensure_user client "$CLIENT_KEY" "$CLIENT_SECRET"
  local b
  for b in "$BUCKET" "$VBUCKET"; do
    s3 PUT "/$b"
    # The client may write and read but never delete: that is what the tests check.
    s3 PUT "/$b?policy=" "$(bucket_policy "$b")" application/json
  done
  # Object Lock can only be enabled when a bucket is created; it turns versioning on. Tests set retention per object
  # or their own default, so the bucket has none.
  s3 PUT "/$LBUCKET" "" application/octet-stream "x-amz-bucket-object-lock-enabled: true"
  s3 PUT "/$LBUCKET?policy=" "$(bucket_policy "$LBUCKET")" application/json
  s3 PUT "/$VBUCKET?versioning=" \
    '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>' application/xml
  cat >"$STATE/env.tmp" <<EOF
export DEDUP_TEST_S3_ENDPOINT=$ENDPOINT
export DEDUP_TEST_S3_BUCKET=$BUCKET
export DEDUP_TEST_S3_VERSIONED_BUCKET=$VBUCKET
export DEDUP_TEST_S3_LOCKED_BUCKET=$LBUCKET
export DEDUP_TEST_S3_ADMIN_KEY=$ADMIN_KEY
export DEDUP_TEST_S3_ADMIN_SECRET=$ADMIN_SECRET
export DEDUP_TEST_S3_CLIENT_KEY=$CLIENT_KEY
export DEDUP_TEST_S3_CLIENT_SECRET=$CLIENT_SECRET
EOF
  mv "$STATE/env.tmp" "$STATE/env"
}

cmd_start() {
  local t0; t0=$(date +%s%N)
  if [[ -f "$STATE/env" ]] && answering; then
    log "already running at $ENDPOINT"; return 0
  fi
  install_packages
  write_conf
  start_mon
  start_osd
  start_rgw
  setup_s3
  local ms=$((($(date +%s%N) - t0) / 1000000))
  log "ready at $ENDPOINT in $((ms / 1000)).$((ms % 1000 / 100)) s; env: source $STATE/env"
}

cmd_stop() {
  local name pidf
  # Gateway first, monitor last, so nobody hangs waiting for a dead monitor.
  for name in client.rgw.a osd.0 mon.a; do
    pidf="$STATE/run/ceph-$name.pid"
    if pid_alive "$pidf"; then
      kill "$(cat "$pidf")"
      for _ in $(seq 1 40); do pid_alive "$pidf" || break; sleep 0.25; done
      if pid_alive "$pidf"; then kill -9 "$(cat "$pidf")"; fi
      log "stopped $name"
    fi
    rm -f "$pidf"
  done
}

cmd_status() {
  local name pidf rc=0
  for name in mon.a osd.0 client.rgw.a; do
    pidf="$STATE/run/ceph-$name.pid"
    if pid_alive "$pidf"; then echo "$name: running (pid $(cat "$pidf"))"; else echo "$name: stopped"; rc=1; fi
  done
  if answering; then echo "s3: answering at $ENDPOINT"; else echo "s3: not answering at $ENDPOINT"; rc=1; fi
  return $rc
}

cmd_env() {
  [[ -f "$STATE/env" ]] || die "no $STATE/env; run: $0 start"
  cat "$STATE/env"
}

case "${1:-start}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) die "usage: $0 [start|stop|status|env]" ;;
esac
