#!/usr/bin/env bash
# Builds Dedup and shows its main job on a local-folder repository: init, backup, snapshots, restore.
# Usage: scripts/try.sh [DIRECTORY_TO_BACK_UP]   (default: this repository's src/ folder)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(realpath "${1:-src}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dotnet publish src/Dedup.Cli -c Release -o "$work/bin" -nologo -v quiet
dedup="$work/bin/dedup"

export DEDUP_REPOSITORY="$work/repo"
printf 'correct horse battery staple\n' > "$work/password"
chmod 600 "$work/password"
export DEDUP_PASSWORD_FILE="$work/password"
export DEDUP_CACHE_DIR="$work/cache"      # keep the local cache with the throwaway repository

set -x
"$dedup" init
"$dedup" backup "$src"
"$dedup" backup "$src"            # nothing changed: nothing new is stored
"$dedup" snapshots
"$dedup" restore latest --target "$work/restored"
diff -r "$src" "$work/restored$src" && echo "restored copy is identical"
"$dedup" check --read-data
