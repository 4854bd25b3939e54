#!/usr/bin/env bash
# Side-by-side benchmark of Dedup and restic on the same deterministic data (issue 6).
#
# Usage: scripts/bench/compare.sh            (settings through the environment)
#   SIZE=1        scale factor: 1 = full size ("big" 2 GiB in 4 files, "src" ~1 GiB of small files);
#                 SIZE=0.05 is a CI-size run (~100 MiB + ~50 MiB)
#   BIG_MIB, SRC_MIB   override the size of one dataset in MiB (e.g. BIG_MIB=1024 SRC_MIB=300)
#   REPS=3        repetitions per tool (medians are reported; at least 3 for the issue's figures)
#   DATASETS="big src"      which datasets
#   BACKENDS="local"        "local", "s3" or "local s3" (s3 starts scripts/s3-server.sh)
#   TOOLS="dedup restic"    which tools
#   WORK=/tmp/dedup-bench   datasets (cached per SIZE/SEED), repositories, restores, results
#   SEED=1        dataset seed
#   COLD=0        1: drop the page cache (echo 3 > /proc/sys/vm/drop_caches) before every measured step;
#                 this is global to the machine, so it disturbs other users. 0 (default): every measured step
#                 that reads the dataset runs right after the dataset was read once (warm), like the notes.
#   DEDUP=...     a dedup binary to use instead of publishing src/Dedup.Cli
#   BUILD=native  native: the NativeAOT binary users install (scripts/release.sh); jit: the ReadyToRun JIT build
#   SKIP_BUILD=1  reuse the last published dedup (of that BUILD)
#   KEEP=0        1: keep repositories and restores after the run
#
# Per repetition and dataset, each tool runs the same sequence on a fresh repository; the tool that goes
# first alternates between repetitions:
#   backup (first) -> snapshots (the start-up floor) -> backup (no change) -> edit dataset, backup (edits) -> revert -> restore latest
#   -> check with full data read -> forget --keep-last 1 + prune
# Measured with /usr/bin/time: wall, user+sys CPU, peak RSS; repository size with du -sb (local only).
# On S3, after Dedup's restore, the floors (issue #14): the time to plainly download Dedup's data/ objects from the
# same server with the same parallelism (aws s3 cp --recursive, S3_CONNECTIONS requests at once, one GET per
# object like Dedup's pack reads: no multipart), and to upload the same bytes again to a fresh prefix. The table
# prints Dedup's restore and check --read-data as a multiple of the download floor, its first backup as a multiple
# of the upload floor, beside the ratio to restic.
#   S3_CONNECTIONS=5   Dedup's --s3-connections (its default) and the floor's parallelism
# Output: $WORK/results/<stamp>/raw.tsv and table.md (also printed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/scripts/bench"
SIZE="${SIZE:-1}"
REPS="${REPS:-3}"
DATASETS="${DATASETS:-big src}"
BACKENDS="${BACKENDS:-local}"
TOOLS="${TOOLS:-dedup restic}"
WORK="${WORK:-/tmp/dedup-bench}"
SEED="${SEED:-1}"
COLD="${COLD:-0}"
KEEP="${KEEP:-0}"
S3_CONNECTIONS="${S3_CONNECTIONS:-5}"
BUILD="${BUILD:-native}"
[[ "$BUILD" == native || "$BUILD" == jit ]] || { echo "compare: BUILD is native or jit, not '$BUILD'" >&2; exit 2; }

log() { echo "compare: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- tools
ensure_tools() {
  local missing=()
  command -v restic >/dev/null || missing+=(restic)
  [[ -x /usr/bin/time ]] || missing+=(time)
  command -v python3 >/dev/null || missing+=(python3)
  if [[ " $BACKENDS " == *" s3 "* ]] && ! command -v aws >/dev/null; then missing+=(awscli); fi
  if ((${#missing[@]})); then
    log "installing ${missing[*]} from Debian"
    [[ $(id -u) == 0 ]] || die "run as root to install ${missing[*]}"
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
  fi
  if [[ " $TOOLS " == *" dedup "* ]]; then
    if [[ -n "${DEDUP:-}" ]]; then
      :
    elif [[ "${SKIP_BUILD:-0}" == 1 && -x "$WORK/dedup-bin-$BUILD/dedup" ]]; then
      DEDUP="$WORK/dedup-bin-$BUILD/dedup"
    else
      local flags=(-p:PublishAot=true)
      [[ "$BUILD" == jit ]] && flags=()
      log "publishing src/Dedup.Cli (Release, $BUILD)"
      dotnet publish "$ROOT/src/Dedup.Cli" -c Release "${flags[@]}" -o "$WORK/dedup-bin-$BUILD" -v quiet -nologo >"$WORK/publish.log" 2>&1 \
        || { tail -30 "$WORK/publish.log" >&2; die "dotnet publish failed (log: $WORK/publish.log)"; }
      DEDUP="$WORK/dedup-bin-$BUILD/dedup"
    fi
    [[ -x "$DEDUP" ]] || die "no dedup binary in $WORK/dedup-bin-$BUILD"
  fi
}

# ---------------------------------------------------------------- datasets
DATA=""
ensure_data() {
  local big src
  big=$(python3 -c "print(int(2 * 1024**3 * float('$SIZE')))")
  src=$(python3 -c "print(int(1024**3 * float('$SIZE')))")
  [[ -n "${BIG_MIB:-}" ]] && big=$((BIG_MIB << 20))
  [[ -n "${SRC_MIB:-}" ]] && src=$((SRC_MIB << 20))
  DATA="$WORK/data-big$((big >> 20))m-src$((src >> 20))m-seed$SEED"
  mkdir -p "$DATA"
  for ds in $DATASETS; do
    [[ -f "$DATA/$ds.done" ]] && continue
    local bytes=$big
    [[ $ds == src ]] && bytes=$src
    log "generating $ds ($((bytes >> 20)) MiB, seed $SEED) in $DATA"
    python3 "$HERE/gen.py" "$ds" "$DATA/$ds" "$bytes" "$SEED"
    touch "$DATA/$ds.done"
  done
}

# The edited variant replaces the edited files in place with hard links (no copying, the other files keep
# their inode and times, so both tools see exactly those files as changed); revert links the originals back.
apply_edit() { (cd "$DATA/$1.edit" && find . -type f -print0 | while IFS= read -r -d '' f; do ln -f "$f" "$DATA/$1/$f"; done); }
revert_edit() { (cd "$DATA/$1.orig" && find . -type f -print0 | while IFS= read -r -d '' f; do ln -f "$f" "$DATA/$1/$f"; done); }

warm() { ((COLD)) && return 0; find "$1" -type f -print0 | xargs -0 -P2 -n200 cat >/dev/null; }
cold() { ((COLD)) || return 0; sync; echo 3 >/proc/sys/vm/drop_caches; }

# ---------------------------------------------------------------- measurement
RAW=""
# measure BACKEND DATASET OP TOOL REP -- command...
# Records wall, user, sys, maxrss (KiB), exit status; the repository size is added by the caller.
LAST_STATUS=0
measure() {
  local backend=$1 ds=$2 op=$3 tool=$4 rep=$5
  shift 6
  local tf="$RUN/time.$$" out="$RUN/logs/$backend-$ds-$tool-$rep-$op.log"
  set +e
  /usr/bin/time -f "%e %U %S %M" -o "$tf" "$@" >"$out" 2>&1
  LAST_STATUS=$?
  set -e
  local wall user sys rss
  read -r wall user sys rss < <(tail -1 "$tf")
  if ((LAST_STATUS != 0)); then
    log "  $tool $op exited $LAST_STATUS (see $out): $(tail -2 "$out" | tr '\n' ' ' | cut -c1-200)"
    printf '%s\t%s\t%s\t%s\t%s\tn/a\tn/a\tn/a\tn/a\n' "$backend" "$ds" "$op" "$tool" "$rep" >>"$RAW"
  else
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$ds" "$op" "$tool" "$rep" "$wall" "$user" "$sys" "$rss" >>"$RAW"
  fi
}

# key,value pairs next to the timings (repository size, bytes added)
note() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$RUN/notes.tsv"; }

repo_size() { # BACKEND REPO_PATH
  if [[ $1 == local ]]; then du -sb "$2" | cut -f1; else echo n/a; fi
}

# ---------------------------------------------------------------- S3 floors
# measure_floors DATASET REP PREFIX: download PREFIX/data/ whole, then upload those bytes to a fresh prefix.
measure_floors() {
  local ds=$1 rep=$2 prefix=$3 dir="$RUN/floor"
  rm -rf "$dir"
  measure s3 "$ds" floor-download floor "$rep" -- aws --endpoint-url "$S3_ENDPOINT" s3 cp --recursive --only-show-errors \
    "s3://$S3_BUCKET/$prefix/data/" "$dir/"
  note s3 "$ds" floor "$rep" floor_bytes "$(du -sb "$dir" | cut -f1)"
  measure s3 "$ds" floor-upload floor "$rep" -- aws --endpoint-url "$S3_ENDPOINT" s3 cp --recursive --only-show-errors \
    "$dir/" "s3://$S3_BUCKET/$prefix-floor/data/"
  aws --endpoint-url "$S3_ENDPOINT" s3 rm --recursive --only-show-errors "s3://$S3_BUCKET/$prefix-floor/" >/dev/null 2>&1 || true
  rm -rf "$dir"
}

# ---------------------------------------------------------------- tool commands
run_sequence() { # BACKEND DATASET TOOL REP
  local backend=$1 ds=$2 tool=$3 rep=$4
  local name="$tool-$ds-r$rep" repo
  if [[ $backend == local ]]; then
    repo="$RUN/repos/$name"
  else
    repo="s3:$S3_ENDPOINT/$S3_BUCKET/bench-$STAMP/$name"
  fi
  local restore="$RUN/restore/$backend-$name"
  CACHE="$RUN/cache/$backend-$name"
  mkdir -p "$CACHE"
  export DEDUP_CACHE_DIR="$CACHE/dedup"
  local -a cmd
  # Both tools get a fresh cache per repository: restic's metadata cache, dedup's tree cache.
  if [[ $tool == dedup && $backend == s3 ]]; then cmd=("$DEDUP" -r "$repo" --s3-connections "$S3_CONNECTIONS");
  elif [[ $tool == dedup ]]; then cmd=("$DEDUP" -r "$repo"); else cmd=(restic -r "$repo" --cache-dir "$CACHE/restic"); fi
  local -a R=("$backend" "$ds")

  log "[$backend] rep $rep: $tool on $ds"
  if [[ $tool == dedup ]]; then
    "${cmd[@]}" init >"$RUN/logs/$backend-$ds-$tool-$rep-init.log" 2>&1 || die "dedup init failed: $(tail -3 "$RUN/logs/$backend-$ds-$tool-$rep-init.log")"
  else
    "${cmd[@]}" init --repository-version 2 >"$RUN/logs/$backend-$ds-$tool-$rep-init.log" 2>&1 || die "restic init failed"
  fi
  local s0 s1 s2 s3
  s0=$(repo_size "$backend" "$repo")

  warm "$DATA/$ds"; cold
  measure "${R[@]}" backup "$tool" "$rep" -- "${cmd[@]}" backup "$DATA/$ds"
  s1=$(repo_size "$backend" "$repo")
  note "$backend" "$ds" "$tool" "$rep" repo_size "$s1"
  # The start-up floor: opening the repository (the key derivation) and listing one snapshot. The targets' bounds
  # subtract it, and its peak RSS is each tool's floor.
  measure "${R[@]}" open "$tool" "$rep" -- "${cmd[@]}" snapshots

  warm "$DATA/$ds"; cold
  measure "${R[@]}" backup-nochange "$tool" "$rep" -- "${cmd[@]}" backup "$DATA/$ds"
  s2=$(repo_size "$backend" "$repo")

  apply_edit "$ds"
  warm "$DATA/$ds"; cold
  measure "${R[@]}" backup-edit "$tool" "$rep" -- "${cmd[@]}" backup "$DATA/$ds"
  revert_edit "$ds"
  s3=$(repo_size "$backend" "$repo")
  if [[ $s2 != n/a ]]; then note "$backend" "$ds" "$tool" "$rep" edit_added $((s3 - s2)); fi

  cold
  measure "${R[@]}" restore "$tool" "$rep" -- "${cmd[@]}" restore latest --target "$restore"
  if [[ $backend == s3 && $tool == dedup ]]; then measure_floors "$ds" "$rep" "bench-$STAMP/$name"; fi
  cold
  measure "${R[@]}" check-read-data "$tool" "$rep" -- "${cmd[@]}" check --read-data
  cold
  if [[ $tool == dedup ]]; then
    measure "${R[@]}" forget-prune "$tool" "$rep" -- "${cmd[@]}" forget --keep-last 1 --prune --grace 0
  else
    measure "${R[@]}" forget-prune "$tool" "$rep" -- "${cmd[@]}" forget --keep-last 1 --prune
  fi
  if ((LAST_STATUS == 0)); then note "$backend" "$ds" "$tool" "$rep" size_after_prune "$(repo_size "$backend" "$repo")"; fi

  # Repositories go now (few, large files); restores stay until the end, because creating many files soon
  # after deleting many is 2-4x slower on this ext4 (notes: recently_deleted) and would skew the next restore.
  if [[ $backend == local && $KEEP != 1 ]]; then rm -rf "$repo"; fi
}

# ---------------------------------------------------------------- main
mkdir -p "$WORK"
ensure_tools
ensure_data
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUN="$WORK/results/$STAMP"
mkdir -p "$RUN"/{logs,repos,restore,cache}
RAW="$RUN/raw.tsv"
printf 'backend\tdataset\top\ttool\trep\twall_s\tuser_s\tsys_s\tmaxrss_kib\n' >"$RAW"
printf 'backend\tdataset\ttool\trep\tkey\tvalue\n' >"$RUN/notes.tsv"
export RESTIC_PASSWORD_FILE="$RUN/password" DEDUP_PASSWORD_FILE="$RUN/password"
printf 'bench-password-%s' "$SEED" >"$RUN/password"
unset DEDUP_PASSWORD RESTIC_PASSWORD DEDUP_REPOSITORY RESTIC_REPOSITORY

for backend in $BACKENDS; do
  if [[ $backend == s3 ]]; then
    "$ROOT/scripts/s3-server.sh" start >&2
    eval "$("$ROOT/scripts/s3-server.sh" env)"
    S3_ENDPOINT="$DEDUP_TEST_S3_ENDPOINT" S3_BUCKET="$DEDUP_TEST_S3_BUCKET"
    export AWS_ACCESS_KEY_ID="$DEDUP_TEST_S3_ADMIN_KEY" AWS_SECRET_ACCESS_KEY="$DEDUP_TEST_S3_ADMIN_SECRET"
    export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
    # The floor's parallelism is Dedup's; no multipart, as Dedup reads and writes each pack in one request.
    export AWS_CONFIG_FILE="$RUN/aws-config"
    printf '[default]\ns3 =\n  max_concurrent_requests = %s\n  multipart_threshold = 5GB\n' "$S3_CONNECTIONS" >"$AWS_CONFIG_FILE"
  fi
  for ((rep = 1; rep <= REPS; rep++)); do
    # Alternate which tool goes first, so neither always gets the colder cache or the quieter machine.
    order=($TOOLS)
    if ((rep % 2 == 0)); then order=($(printf '%s\n' "${order[@]}" | tac)); fi
    for ds in $DATASETS; do
      for tool in "${order[@]}"; do
        run_sequence "$backend" "$ds" "$tool" "$rep"
      done
    done
  done
done

{
  echo "# Dedup vs restic, $(date -u +'%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/{print $2}') GiB RAM;" \
    "restic $(restic version | awk '{print $2}'), dedup $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet -- src || echo '+dirty') ($("$DEDUP" version --json | sed -n 's/.*"build":"\([a-z]*\)".*/\1/p'))."
  echo "Data: $(basename "$DATA") (big in $(find "$DATA/big" -type f 2>/dev/null | wc -l) files, src in $(find "$DATA/src" -type f 2>/dev/null | wc -l) files), REPS=$REPS, backends: $BACKENDS," \
    "page cache: $([[ $COLD == 1 ]] && echo 'dropped before every step (cold)' || echo 'warm (dataset read right before each backup; restore/check read the repository as the previous step left it)')."
  echo
  python3 "$HERE/report.py" "$RAW" "$RUN/notes.tsv" "$DATA"
} | tee "$RUN/table.md"

if [[ $KEEP != 1 ]]; then rm -rf "$RUN/restore" "$RUN/repos" "$RUN/cache"; fi
log "results: $RUN (raw.tsv, notes.tsv, table.md, logs/)"
