#!/usr/bin/env bash
# Browsing a mounted snapshot: dedup mount against restic mount on the same data (issue 16).
#
# Usage: scripts/bench/mount.sh            (settings through the environment)
#   SRC_MIB=100   size of the "src" dataset: many small real text files (scripts/bench/gen.py src)
#   REPS=3        repetitions; medians are reported, and the tool that goes first alternates
#   TOOLS="dedup restic"
#   WORK=/tmp/dedup-bench-mount   dataset, repositories, mount points, results
#   DEDUP=...     a dedup binary to use instead of publishing src/Dedup.Cli; SKIP_BUILD=1 reuses the last one
#
# For each repetition and tool, each on a fresh mount (the repository's files warm in the page cache, the mount
# cold): `ls -R` of the snapshot; `cp -a` of it, then `diff -r` against the source; and, as the yardstick, a restore
# of the same snapshot. The mount process runs under /usr/bin/time, which gives its CPU and peak RSS; the ls and cp
# figures are wall seconds of ls and cp. Both repositories use their tool's default key derivation (Argon2id 64 MiB
# for dedup), which sets the mount's peak memory at start.
# restic 0.14 mounts through `fusermount`; where only fuse3 is installed, a shim directory links it to fusermount3.
# Output: $WORK/results/<stamp>/raw.tsv and table.md (also printed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC_MIB="${SRC_MIB:-100}"
REPS="${REPS:-3}"
TOOLS="${TOOLS:-dedup restic}"
WORK="${WORK:-/tmp/dedup-bench-mount}"

log() { echo "mount-bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

for t in /usr/bin/time fusermount3 python3; do command -v "$t" >/dev/null || die "$t is missing (apt-get install time fuse3 python3)"; done
[[ " $TOOLS " != *" restic "* ]] || command -v restic >/dev/null || die "restic is missing (apt-get install restic), or set TOOLS=dedup"

mkdir -p "$WORK"
if [[ " $TOOLS " == *" dedup "* && -z "${DEDUP:-}" ]]; then
  if [[ "${SKIP_BUILD:-0}" != 1 || ! -x "$WORK/dedup-bin/dedup" ]]; then
    log "publishing src/Dedup.Cli (Release)"
    dotnet publish "$ROOT/src/Dedup.Cli" -c Release -o "$WORK/dedup-bin" -v quiet -nologo >"$WORK/publish.log" 2>&1 \
      || { tail -30 "$WORK/publish.log" >&2; die "dotnet publish failed (log: $WORK/publish.log)"; }
  fi
  DEDUP="$WORK/dedup-bin/dedup"
fi

SRC="$WORK/src-${SRC_MIB}m"
if [[ ! -f "$SRC.done" ]]; then
  log "generating src ($SRC_MIB MiB) in $SRC"
  rm -rf "$SRC"
  python3 "$ROOT/scripts/bench/gen.py" src "$SRC" $((SRC_MIB << 20)) 1 >/dev/null
  touch "$SRC.done"
fi

STAMP=$(date -u +%Y%m%d-%H%M%S)
RUN="$WORK/results/$STAMP"
mkdir -p "$RUN" "$WORK/mnt"
RAW="$RUN/raw.tsv"
MNT="$WORK/mnt"
SHIM="$WORK/shim"
mkdir -p "$SHIM"
command -v fusermount >/dev/null || ln -sf "$(command -v fusermount3)" "$SHIM/fusermount"
export DEDUP_PASSWORD=bench-password RESTIC_PASSWORD=bench-password DEDUP_CACHE_DIR="$RUN/cache"
DREPO="$RUN/dedup-repo"
RREPO="$RUN/restic-repo"
trap 'fusermount3 -uz "$MNT" 2>/dev/null || true' EXIT

log "files: $(find "$SRC" -type f | wc -l), directories: $(find "$SRC" -type d | wc -l), $(du -sh "$SRC" | cut -f1)"
if [[ " $TOOLS " == *" dedup "* ]]; then
  "$DEDUP" -r "$DREPO" init >/dev/null
  "$DEDUP" -r "$DREPO" backup "$SRC" --host bench -q
fi
if [[ " $TOOLS " == *" restic "* ]]; then
  restic -r "$RREPO" init -q >/dev/null
  restic -r "$RREPO" backup -q --host bench "$SRC" >/dev/null
fi

MOUNT_PID=""
start_mount() { # TOOL
  : >"$RUN/mount.out"
  case $1 in
    dedup) /usr/bin/time -f "%e %U %S %M" -o "$RUN/mount.time" "$DEDUP" -r "$DREPO" mount "$MNT" >"$RUN/mount.out" 2>&1 & ;;
    restic) PATH="$SHIM:$PATH" /usr/bin/time -f "%e %U %S %M" -o "$RUN/mount.time" restic -r "$RREPO" mount "$MNT" >"$RUN/mount.out" 2>&1 & ;;
  esac
  MOUNT_PID=$!
  local ready="Mounted "
  [[ $1 == restic ]] && ready="Now serving"
  for _ in $(seq 600); do
    grep -q "$ready" "$RUN/mount.out" && return 0
    kill -0 "$MOUNT_PID" 2>/dev/null || die "$1 mount ended: $(cat "$RUN/mount.out")"
    sleep 0.1
  done
  die "$1 mount not ready after 60 s: $(cat "$RUN/mount.out")"
}

stop_mount() {
  fusermount3 -u "$MNT"
  wait "$MOUNT_PID" || true
}

snapshot_dir() { # TOOL
  if [[ $1 == dedup ]]; then echo "$MNT/latest$SRC"; else echo "$MNT/snapshots/latest$SRC"; fi
}

now() { date +%s.%N; }

# measure_mounted TOOL OP REP -- command: wall seconds of the command; CPU and peak RSS of the mount process
measure_mounted() {
  local tool=$1 op=$2 rep=$3
  shift 4
  start_mount "$tool"
  local s e
  s=$(now)
  "$@" >/dev/null
  e=$(now)
  stop_mount
  local wall user sys rss
  read -r wall user sys rss < <(tail -1 "$RUN/mount.time")
  printf '%s\t%s\t%s\t%.2f\t%.2f\t%d\n' "$tool" "$op" "$rep" "$(echo "$e - $s" | bc)" "$(echo "$user + $sys" | bc)" "$((rss / 1024))" >>"$RAW"
}

measure_restore() { # TOOL REP
  local tool=$1 rep=$2 target="$RUN/restore-$1-$2"
  local cmd=("$DEDUP" -r "$DREPO" restore latest --target "$target" -q)
  [[ $tool == restic ]] && cmd=(restic -r "$RREPO" restore latest --target "$target" -q)
  /usr/bin/time -f "%e %U %S %M" -o "$RUN/restore.time" "${cmd[@]}" >/dev/null
  local wall user sys rss
  read -r wall user sys rss < <(tail -1 "$RUN/restore.time")
  printf '%s\t%s\t%s\t%.2f\t%.2f\t%d\n' "$tool" restore "$rep" "$wall" "$(echo "$user + $sys" | bc)" "$((rss / 1024))" >>"$RAW"
  rm -rf "$target"
}

printf 'tool\top\trep\twall_s\tcpu_s\tpeak_mib\n' >"$RAW"
read -r -a tools <<<"$TOOLS"
for rep in $(seq "$REPS"); do
  order=("${tools[@]}")
  ((rep % 2 == 0)) && order=($(printf '%s\n' "${tools[@]}" | tac))
  for tool in "${order[@]}"; do
    log "rep $rep: $tool"
    measure_mounted "$tool" "ls -R" "$rep" -- ls -R "$(snapshot_dir "$tool")"
    copy="$RUN/copy-$tool"
    rm -rf "$copy"
    measure_mounted "$tool" "cp -a" "$rep" -- cp -a "$(snapshot_dir "$tool")" "$copy"
    diff -r "$SRC" "$copy" >/dev/null || die "$tool: the copy differs from the source"
    rm -rf "$copy"
    measure_restore "$tool" "$rep"
  done
done

python3 - "$RAW" >"$RUN/table.md" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
ops = ["ls -R", "cp -a", "restore"]
tools = list(dict.fromkeys(r["tool"] for r in rows))
print("| operation | " + " | ".join(f"{t}: wall s / CPU s / peak MiB" for t in tools) + " |")
print("|---|" + "---|" * len(tools))
for op in ops:
    cells = []
    for t in tools:
        sel = [r for r in rows if r["tool"] == t and r["op"] == op]
        if not sel:
            cells.append("n/a")
            continue
        med = lambda k: statistics.median(float(r[k]) for r in sel)
        cells.append(f"{med('wall_s'):.2f} / {med('cpu_s'):.2f} / {med('peak_mib'):.0f}")
    print(f"| {op} | " + " | ".join(cells) + " |")
print()
print("ls -R and cp -a: wall seconds of the command on a fresh mount; CPU and peak memory of the mount process for the")
print("whole mount (start, key derivation and index load included). restore: the restore process. Medians of " + str(len({r['rep'] for r in rows})) + " runs.")
EOF
cat "$RUN/table.md"
log "raw figures: $RAW"
