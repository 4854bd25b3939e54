#!/usr/bin/env bash
# Used for the "spills to disk" figures in docs/performance.md (Scale): the plan at 10M blobs under a memory limit.
# run-limited.sh LIMIT_BYTES NAME CMD... : runs CMD in a fresh memory cgroup (v1) with that limit; prints usage figures.
set -u
limit=$1 name=$2; shift 2
base=/sys/fs/cgroup/memory$(grep ':memory:' /proc/self/cgroup | cut -d: -f3)
cg="$base/dedup-$name"
rmdir "$cg" 2>/dev/null; mkdir "$cg"
echo "$limit" > "$cg/memory.limit_in_bytes"
bash -c "echo \$\$ > $cg/cgroup.procs; exec \"\$@\"" _ "$@"
rc=$?
echo "cgroup $name: limit $((limit>>20)) MiB, max usage $(( $(cat $cg/memory.max_usage_in_bytes) >> 20 )) MiB, limit hit $(cat $cg/memory.failcnt) times, rc=$rc"
grep -E "^(total_)?(rss|cache|mapped_file) " "$cg/memory.stat" | tr '\n' ' '; echo
sleep 1; rmdir "$cg" 2>/dev/null
exit $rc
