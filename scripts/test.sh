#!/usr/bin/env bash
# Runs every test on a fresh Debian machine: installs what the tests need, starts the local Ceph S3 server,
# builds, runs unit + property + fuzz-corpus + end-to-end tests, and prints "N passed, N failed".
# Usage: scripts/test.sh [extra dotnet test args, e.g. --filter FullyQualifiedName~Chunking]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if ! command -v dotnet >/dev/null; then
  echo "test.sh: the .NET 10 SDK is required (dotnet not on PATH)." >&2
  exit 1
fi

# Tools the tests need, installed only when missing (the tests fail, never skip, without them):
# - setfattr/getfattr (attr) and setfacl/getfacl (acl): restore tests check extended attributes and POSIX ACLs with
#   tools independent of Dedup's own code;
# - FUSE 3 for the mount tests (libfuse3.so.3 for the binding, fusermount3 to unmount).
need=()
command -v setfattr >/dev/null || need+=(attr)
command -v setfacl >/dev/null || need+=(acl)
dpkg -s fuse3 >/dev/null 2>&1 || need+=(fuse3)
dpkg -s libfuse3-3 >/dev/null 2>&1 || need+=(libfuse3-3)
if ((${#need[@]})); then
  echo "test.sh: installing ${need[*]}" >&2
  [[ $(id -u) == 0 ]] || { echo "test.sh: run as root to install ${need[*]}" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The real S3 server (Ceph RADOS Gateway from Debian's packages) for the S3 tests.
scripts/s3-server.sh start
eval "$(scripts/s3-server.sh env)"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build Dedup.sln -c Release -nologo -v quiet

log=$(mktemp)
status=0
# One project at a time: the machine has two cores and the end-to-end tests start real processes.
for proj in tests/Dedup.Tests tests/Dedup.EndToEnd tests/Dedup.Reliability; do
  dotnet test "$proj" -c Release --no-build -nologo "$@" 2>&1 | tee -a "$log" || status=1
done

# Sum the per-assembly summary lines ("Failed!  - Failed: 1, Passed: 2, Skipped: 0, Total: 3").
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
if [ "$passed" -eq 0 ]; then status=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
