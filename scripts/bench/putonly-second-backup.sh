#!/usr/bin/env bash
# Issue 13, done when 2: a second backup of an unchanged 1 GiB tree from a put-only host uploads less than 1 MiB.
# On the local Ceph RGW (scripts/s3-server.sh): a radosgw user whose only grant is the bucket policy that
# 'dedup policy --role put-only' prints (s3:PutObject, create-only), an enrolled write-only key, two backups of the
# same tree. What each backup stored is counted by listing the repository with the admin credential before and after.
# Usage: scripts/bench/putonly-second-backup.sh     (env: MIB=1024 FILES=64 WORK=/tmp/dedup-putonly)
set -euo pipefail
cd "$(dirname "$0")/../.."
MIB=${MIB:-1024}
FILES=${FILES:-64}
WORK=${WORK:-/tmp/dedup-putonly}
export DEDUP_S3_STATE=${DEDUP_S3_STATE:-$PWD/.state/s3}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
scripts/s3-server.sh start >/dev/null
eval "$(scripts/s3-server.sh env)"
rm -rf "$WORK" && mkdir -p "$WORK"
dotnet publish src/Dedup.Cli -c Release -o "$WORK/bin" -nologo -v quiet >/dev/null
DEDUP="$WORK/bin/dedup"

HOST_USER=putonly-bench HOST_KEY=DEDUPBENCHPUTONLY000 HOST_SECRET=dedup-bench-putonly-secret-not-a-real-one
CEPH_CONF="$DEDUP_S3_STATE/ceph.conf" radosgw-admin user info --uid="$HOST_USER" >/dev/null 2>&1 ||
  CEPH_CONF="$DEDUP_S3_STATE/ceph.conf" radosgw-admin user create --uid="$HOST_USER" --display-name="dedup bench put-only host" \
    --access-key="$HOST_KEY" --secret-key="$HOST_SECRET" >/dev/null
BUCKET="dedup-bench-putonly-$(date +%s)"
URL="s3:$DEDUP_TEST_S3_ENDPOINT/$BUCKET/repo"

admin_s3() { # METHOD PATH [BODY] -> response body on stdout; fails on HTTP >= 400
  local sha out code
  sha="$(printf '%s' "${3:-}" | sha256sum | cut -d' ' -f1)"
  out="$(mktemp)"
  code="$(curl -s -o "$out" -w '%{http_code}' -X "$1" --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$DEDUP_TEST_S3_ADMIN_KEY:$DEDUP_TEST_S3_ADMIN_SECRET" -H "x-amz-content-sha256: $sha" \
    --data-binary "${3:-}" "$DEDUP_TEST_S3_ENDPOINT$2")"
  cat "$out"; rm -f "$out"
  ((code < 400)) || { echo "$1 $2: HTTP $code" >&2; return 1; }
}
# Bytes and objects under the repository prefix, as the admin lists them.
stored() {
  admin_s3 GET "/$BUCKET?list-type=2&max-keys=1000&prefix=repo%2F" | python3 -c '
import re, sys
sizes = [int(s) for s in re.findall(r"<Size>(\d+)</Size>", sys.stdin.read())]
print(sum(sizes), len(sizes))'
}

admin_s3 PUT "/$BUCKET" >/dev/null
# Exactly the statements the tool prints for the host, plus the admin's full access.
"$DEDUP" policy --bucket "$BUCKET" --prefix repo --role put-only --principal "arn:aws:iam:::user/$HOST_USER" |
  python3 -c '
import json, sys
p = json.load(sys.stdin)
p["Statement"].append({"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/admin"]},
  "Action": ["s3:*"], "Resource": ["arn:aws:s3:::'"$BUCKET"'", "arn:aws:s3:::'"$BUCKET"'/*"]})
print(json.dumps(p))' >"$WORK/policy.json"
admin_s3 PUT "/$BUCKET?policy=" "$(cat "$WORK/policy.json")" >/dev/null

printf 'admin password\n' >"$WORK/admin.pass"
printf 'db1 password\n' >"$WORK/db1.pass"
as_admin() { AWS_ACCESS_KEY_ID=$DEDUP_TEST_S3_ADMIN_KEY AWS_SECRET_ACCESS_KEY=$DEDUP_TEST_S3_ADMIN_SECRET \
  DEDUP_PASSWORD_FILE="$WORK/admin.pass" "$DEDUP" -r "$URL" "$@"; }
as_host() { AWS_ACCESS_KEY_ID=$HOST_KEY AWS_SECRET_ACCESS_KEY=$HOST_SECRET DEDUP_STATE_DIR="$WORK/state" \
  DEDUP_CACHE_DIR="$WORK/cache" DEDUP_PASSWORD_FILE="$WORK/db1.pass" "$DEDUP" -r "$URL" --enrollment "$WORK/db1.enrol" "$@"; }
as_admin init -q
as_admin key add --write-only --host db1 --new-password-file "$WORK/db1.pass" --enroll "$WORK/db1.enrol" >/dev/null

# Random (incompressible) files, so that nothing but deduplication can make the second backup small.
mkdir -p "$WORK/tree"
for i in $(seq 1 "$FILES"); do
  head -c $(((MIB << 20) / FILES)) /dev/urandom >"$WORK/tree/file$i"
done

read -r b0 n0 < <(stored)
t0=$(date +%s.%N); as_host backup -q "$WORK/tree"; t1=$(date +%s.%N)
read -r b1 n1 < <(stored)
as_host backup -q "$WORK/tree"; t2=$(date +%s.%N)
read -r b2 n2 < <(stored)
echo "| tree | first backup stored | first backup time | second backup stored | second backup objects | second backup time |"
echo "|---|---|---|---|---|---|"
awk -v m="$MIB" -v f="$FILES" -v b1=$((b1 - b0)) -v t1="$(echo "$t1 - $t0" | bc)" -v b2=$((b2 - b1)) -v n2=$((n2 - n1)) \
  -v t2="$(echo "$t2 - $t1" | bc)" \
  'BEGIN { printf "| %d MiB in %d files | %.1f MiB | %.1f s | %d bytes | %d | %.1f s |\n", m, f, b1/1048576, t1, b2, n2, t2 }'
if ((b2 - b1 >= 1 << 20)); then echo "the second backup stored 1 MiB or more" >&2; exit 1; fi
