#!/usr/bin/env bash
# How backup cost grows with the number of files (issue 6, "Scale").
#
# Usage: scripts/bench/scale.sh            (settings through the environment)
#   COUNTS="10000 100000 1000000"   file counts; files are 0-64 bytes, 1,000 per directory
#   TOOLS="dedup restic"            which tools (restic is installed from Debian when missing); TOOLS= only makes the trees
#   WORK=/tmp/dedup-scale           trees, repositories and results
#   DEDUP=...                       a dedup binary instead of publishing src/Dedup.Cli
#
# For each count and tool: a fresh local repository, a first backup, then a no-change backup, each measured
# with /usr/bin/time (wall, user+sys CPU, peak RSS). Prints a Markdown table; raw figures in $WORK/scale.tsv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
COUNTS="${COUNTS:-10000 100000 1000000}"
TOOLS="${TOOLS-dedup restic}"
WORK="${WORK:-/tmp/dedup-scale}"

log() { echo "scale: $*" >&2; }
die() { log "error: $*"; exit 1; }

mkdir -p "$WORK"
if [[ " $TOOLS " == *" restic "* ]] && ! command -v restic >/dev/null; then
  [[ $(id -u) == 0 ]] || die "run as root to install restic"
  apt-get install -y -qq restic >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq restic >/dev/null; }
fi
[[ -x /usr/bin/time ]] || { apt-get install -y -qq time >/dev/null 2>&1 || die "/usr/bin/time is missing"; }
if [[ " $TOOLS " == *" dedup "* && -z "${DEDUP:-}" ]]; then
  log "publishing src/Dedup.Cli (Release)"
  dotnet publish "$ROOT/src/Dedup.Cli" -c Release -o "$WORK/dedup-bin" -v quiet -nologo >"$WORK/publish.log" 2>&1 \
    || { tail -30 "$WORK/publish.log" >&2; die "dotnet publish failed"; }
  DEDUP="$WORK/dedup-bin/dedup"
fi

# Deterministic trees: file i holds the first (i mod 65) bytes of its own name, so most files are distinct
# but tiny, and the cost measured is per file, not per byte.
make_tree() {
  local n=$1 dir=$2
  [[ -f "$dir.done" ]] && return 0
  log "creating $n files in $dir"
  rm -rf "$dir"
  python3 - "$n" "$dir" <<'PY'
import os, sys
n, root = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:05d}")
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    name = f"file-{i:08d}.txt"
    with open(os.path.join(d, name), "wb") as f:
        f.write((name * 4).encode()[: i % 65])
PY
  touch "$dir.done"
}

TSV="$WORK/scale.tsv"
printf 'files\ttool\top\twall_s\tcpu_s\tmaxrss_mib\n' >"$TSV"
export RESTIC_PASSWORD_FILE="$WORK/password" DEDUP_PASSWORD_FILE="$WORK/password"
printf 'scale-password' >"$WORK/password"

measure() { # FILES TOOL OP -- command...
  local files=$1 tool=$2 op=$3
  shift 4
  local tf="$WORK/time.$$"
  /usr/bin/time -f "%e %U %S %M" -o "$tf" "$@" >"$WORK/last-$tool-$op.log" 2>&1 \
    || die "$tool $op on $files files failed: $(tail -3 "$WORK/last-$tool-$op.log")"
  read -r wall user sys rss <"$tf"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$files" "$tool" "$op" "$wall" \
    "$(python3 -c "print(round($user + $sys, 2))")" "$((rss / 1024))" >>"$TSV"
  log "$files files, $tool $op: ${wall}s wall, $((rss / 1024)) MiB"
}

for n in $COUNTS; do
  tree="$WORK/tree-$n"
  make_tree "$n" "$tree"
  for tool in $TOOLS; do
    # Warm the dentry and page caches right before each tool's first backup, so that neither reads cold files
    # (the second tool would otherwise find the files the first one read in the page cache).
    find "$tree" -type f -print0 | xargs -0 -r cat >/dev/null
    repo="$WORK/repo-$tool-$n"
    rm -rf "$repo" "$WORK/cache-$tool-$n"
    if [[ $tool == dedup ]]; then
      export DEDUP_CACHE_DIR="$WORK/cache-$tool-$n"
      cmd=("$DEDUP" -r "$repo")
      "${cmd[@]}" init >/dev/null
    else
      cmd=(restic -r "$repo" --cache-dir "$WORK/cache-$tool-$n")
      "${cmd[@]}" init --repository-version 2 >/dev/null
    fi
    measure "$n" "$tool" backup -- "${cmd[@]}" backup "$tree"
    measure "$n" "$tool" backup-nochange -- "${cmd[@]}" backup "$tree"
    rm -rf "$repo"
  done
done

echo
echo "| files | tool | operation | wall | CPU | peak RSS |"
echo "|---|---|---|---|---|---|"
tail -n +2 "$TSV" | while IFS=$'\t' read -r files tool op wall cpu rss; do
  echo "| $files | $tool | $op | ${wall} s | ${cpu} s | ${rss} MiB |"
done
