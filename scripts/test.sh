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

# Debian packages the tests need, installed only when missing (the tests fail, never skip, without them):
# - attr (setfattr/getfattr) and acl (setfacl/getfacl): restore tests check extended attributes and POSIX ACLs with
#   tools independent of Dedup's own code;
# - fuse3 and libfuse3-3 for the mount tests (libfuse3.so.3 for the binding, fusermount3 to unmount);
# - gcc and libc6-dev for the NativeAOT link, systemd for systemd-analyze (schedule units), man-db for the man page.
need=()
for pkg in attr acl fuse3 libfuse3-3 gcc libc6-dev systemd man-db; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
if ((${#need[@]})); then
  echo "test.sh: installing ${need[*]} from Debian" >&2
  [[ $(id -u) == 0 ]] || { echo "test.sh: run as root to install ${need[*]}" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
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

# The release build (scripts/release.sh): the native binary must install and run a profile without .NET, and pass
# the round-trip, S3 (doctor included), mount (libfuse3 through P/Invoke) and every CLI test as the JIT build did.
rel=$(mktemp -d)
if scripts/release.sh "$rel/artifacts" 2>&1 | tee -a "$log" && scripts/check-install.sh "$rel"/artifacts/dedup-*-linux-x64.tar.gz 2>&1 | tee -a "$log"; then
  mkdir -p "$rel/prefix" && tar -xzf "$rel"/artifacts/dedup-*-linux-x64.tar.gz -C "$rel/prefix"
  DEDUP_TEST_BINARY="$rel/prefix/bin/dedup" dotnet test tests/Dedup.EndToEnd -c Release --no-build -nologo \
    --filter "FullyQualifiedName~RoundTripTests|FullyQualifiedName~S3CliTests|FullyQualifiedName~S3WriteOnlyTests|FullyQualifiedName~S3DoctorTests|FullyQualifiedName~MountTests|FullyQualifiedName~Dedup.EndToEnd.Cli." \
    2>&1 | tee -a "$log" || status=1
else
  echo "test.sh: the release build or its install check failed" | tee -a "$log"
  status=1
fi
rm -rf "$rel"

# Sum the per-assembly summary lines ("Failed!  - Failed: 1, Passed: 2, Skipped: 0, Total: 3").
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
if [ "$passed" -eq 0 ]; then status=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
