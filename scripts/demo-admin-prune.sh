#!/bin/bash
# The README's admin-host scenario on the local test S3 server (issue 4): two client hosts back up with
# append-only credentials while the admin host runs forget + prune; then space is reclaimed, every kept
# snapshot restores identical, and a copy to a local folder restores the same files.
# Usage: scripts/demo-admin-prune.sh   (starts scripts/s3-server.sh if needed; works in /tmp/scn)
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/s3-server.sh" start
eval "$("$ROOT/scripts/s3-server.sh" env)"
D="$ROOT/src/Dedup.Cli/bin/Release/net10.0/dedup"
[ -x "$D" ] || dotnet build "$ROOT/src/Dedup.Cli" -c Release -nologo -v quiet
export DEDUP_REPOSITORY=s3:$DEDUP_TEST_S3_ENDPOINT/$DEDUP_TEST_S3_BUCKET/scenario-$(date +%s) DEDUP_PASSWORD_FILE=/tmp/scn-password
client() { AWS_ACCESS_KEY_ID=$DEDUP_TEST_S3_CLIENT_KEY AWS_SECRET_ACCESS_KEY=$DEDUP_TEST_S3_CLIENT_SECRET DEDUP_CACHE_DIR=/tmp/scn/cache-$1 "$D" "${@:2}"; }
admin() { AWS_ACCESS_KEY_ID=$DEDUP_TEST_S3_ADMIN_KEY AWS_SECRET_ACCESS_KEY=$DEDUP_TEST_S3_ADMIN_SECRET DEDUP_CACHE_DIR=/tmp/scn/cache-admin "$D" "$@"; }
rm -rf /tmp/scn; mkdir -p /tmp/scn/h1 /tmp/scn/h2; printf demo-password >/tmp/scn-password
client h1 init | tail -1
for round in 1 2 3 4; do
  for h in h1 h2; do rm -f /tmp/scn/$h/r*.bin; head -c 20000000 /dev/urandom > /tmp/scn/$h/r$round.bin; cp -r "$ROOT/spec" /tmp/scn/$h/spec$round; done
  client h1 backup --host h1 /tmp/scn/h1 > /tmp/scn/b1-$round.log 2>&1 & p1=$!
  client h2 backup --host h2 /tmp/scn/h2 > /tmp/scn/b2-$round.log 2>&1 & p2=$!
  if [ $round = 3 ]; then echo "round 3: admin forget+prune while both hosts back up"; admin forget --keep-daily 7 --keep-weekly 4 --prune | grep -E "^(found|marked|deleted|keep|remove)" ; fi
  wait $p1; e1=$?; wait $p2; e2=$?; echo "round $round: backups exit $e1 $e2"
done
client h1 snapshots
echo "== forget --keep-daily 7 --keep-weekly 4, prune --grace 0 (idle repository)"
admin forget --keep-daily 7 --keep-weekly 4 | tail -3
admin prune --grace 0 2>&1 | grep -E "^(found|unused|marked|deleted|marks)"
admin snapshots
admin check --read-data | tail -2
for h in h1 h2; do rm -rf /tmp/scn/restore-$h; admin restore latest --host $h --target /tmp/scn/restore-$h | tail -1; python3 "$ROOT/scripts/verify-restore.py" /tmp/scn/$h /tmp/scn/restore-$h/tmp/scn/$h; done
echo "== copy to a local folder"
rm -rf /tmp/scn/local; admin -r /tmp/scn/local init >/dev/null 2>&1
AWS_ACCESS_KEY_ID=$DEDUP_TEST_S3_ADMIN_KEY AWS_SECRET_ACCESS_KEY=$DEDUP_TEST_S3_ADMIN_SECRET "$D" -r /tmp/scn/local copy --from-repo "$DEDUP_REPOSITORY" --from-password-file /tmp/scn-password | tail -2
"$D" -r /tmp/scn/local restore latest --host h2 --target /tmp/scn/restore-local | tail -1; python3 "$ROOT/scripts/verify-restore.py" /tmp/scn/h2 /tmp/scn/restore-local/tmp/scn/h2
