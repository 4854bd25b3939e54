#!/usr/bin/env bash
# What dedup domains cost (issue 12): a fleet of similar hosts — a common OS-like base plus data of their own — backed
# up with write-only keys, once with every host in a domain of its own (the default), once with all hosts in one
# --group. Prints the repository size of each and the ratio.
# Usage: scripts/bench/fleet.sh            (env: HOSTS=4 BASE_MIB=60 UNIQUE_MIB=6 WORK=/tmp/dedup-fleet)
set -euo pipefail
cd "$(dirname "$0")/../.."
HOSTS=${HOSTS:-4}
BASE_MIB=${BASE_MIB:-60}
UNIQUE_MIB=${UNIQUE_MIB:-6}
WORK=${WORK:-/tmp/dedup-fleet}
rm -rf "$WORK"
mkdir -p "$WORK"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet publish src/Dedup.Cli -c Release -o "$WORK/bin" -nologo -v quiet >/dev/null
DEDUP="$WORK/bin/dedup"

# The base every host shares (system headers, libraries, docs), and a smaller tree of its own per host.
python3 scripts/bench/gen.py src "$WORK/base" $((BASE_MIB << 20)) 1 >/dev/null
for i in $(seq 1 "$HOSTS"); do
  mkdir -p "$WORK/host$i"
  cp -al "$WORK/base" "$WORK/host$i/base"
  python3 scripts/bench/gen.py src "$WORK/unique$i" $((UNIQUE_MIB << 20)) $((100 + i)) >/dev/null
  mv "$WORK/unique$i" "$WORK/host$i/own"
done
du_bytes() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }

printf 'admin password\n' >"$WORK/admin.pass"
for mode in isolated group; do
  repo="$WORK/repo-$mode"
  DEDUP_PASSWORD_FILE="$WORK/admin.pass" "$DEDUP" -r "$repo" init -q --argon2-memory 8192 --argon2-iterations 1
  for i in $(seq 1 "$HOSTS"); do
    printf 'host%s password\n' "$i" >"$WORK/host$i.pass"
    group=(); [[ $mode == group ]] && group=(--group fleet)
    id=$(DEDUP_PASSWORD_FILE="$WORK/admin.pass" "$DEDUP" -r "$repo" key add --write-only --host "host$i" "${group[@]}" \
      --new-password-file "$WORK/host$i.pass" --argon2-memory 8192 --argon2-iterations 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    DEDUP_PASSWORD_FILE="$WORK/host$i.pass" DEDUP_CACHE_DIR="$WORK/cache-$mode-$i" "$DEDUP" -r "$repo" --key "$id" backup -q "$WORK/host$i"
  done
  eval "size_$mode=$(du_bytes "$repo")"
done
source_bytes=$(du_bytes "$WORK/host1")
echo "| hosts | base per host | unique per host | data per host | repository, each host its own domain | repository, one group | isolated / group |"
echo "|---|---|---|---|---|---|---|"
awk -v h="$HOSTS" -v b="$BASE_MIB" -v u="$UNIQUE_MIB" -v d="$source_bytes" -v i="$size_isolated" -v g="$size_group" \
  'BEGIN { printf "| %d | %d MiB | %d MiB | %.1f MiB | %.1f MiB | %.1f MiB | %.2f |\n", h, b, u, d/1048576, i/1048576, g/1048576, i/g }'
