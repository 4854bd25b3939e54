#!/usr/bin/env bash
# Builds what users install (README, "Install"):
#   OUT/dedup-VERSION-linux-x64.tar.gz   the native binary (NativeAOT: one file, no .NET needed), its man page and
#                                        shell completions, laid out as a prefix: tar -xzf ... -C /usr/local
#   OUT/dedup.VERSION.nupkg              the .NET tool: dotnet tool install --global dedup --add-source OUT
# Usage: scripts/release.sh [OUT]        (default OUT: artifacts/)
# Needs the .NET 10 SDK and a C toolchain for the native link (gcc or clang; installed from Debian if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$(mkdir -p "${1:-artifacts}" && cd "${1:-artifacts}" && pwd)
VERSION=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
NAME="dedup-$VERSION-linux-x64"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! command -v gcc >/dev/null && ! command -v clang >/dev/null; then
  echo "release.sh: installing gcc for the NativeAOT link" >&2
  apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The native binary: PublishAot (the project sets linux-x64, self-contained, stripped symbols).
dotnet publish src/Dedup.Cli -c Release -p:PublishAot=true -o "$work/publish" -nologo -v quiet
stage="$work/$NAME"
install -D -m 0755 "$work/publish/dedup" "$stage/bin/dedup"
"$stage/bin/dedup" version >/dev/null
"$stage/bin/dedup" help --man > "$work/dedup.1"
install -D -m 0644 "$work/dedup.1" "$stage/share/man/man1/dedup.1"
"$stage/bin/dedup" completion bash > "$work/dedup.bash"
install -D -m 0644 "$work/dedup.bash" "$stage/share/bash-completion/completions/dedup"
"$stage/bin/dedup" completion zsh > "$work/_dedup"
install -D -m 0644 "$work/_dedup" "$stage/share/zsh/site-functions/_dedup"
"$stage/bin/dedup" completion fish > "$work/dedup.fish"
install -D -m 0644 "$work/dedup.fish" "$stage/share/fish/vendor_completions.d/dedup.fish"
install -D -m 0644 README.md "$stage/share/doc/dedup/README.md"
tar -C "$stage" --owner=0 --group=0 --mode=u+rwX,go+rX,go-w -czf "$OUT/$NAME.tar.gz" bin share

# The .NET tool (framework-dependent; runs wherever the .NET 10 runtime is).
dotnet pack src/Dedup.Cli -c Release -o "$OUT" -nologo -v quiet

echo "release.sh: $OUT/$NAME.tar.gz ($(du -h "$OUT/$NAME.tar.gz" | cut -f1)), $OUT/dedup.$VERSION.nupkg"
echo "install the binary: sudo tar -xzf $OUT/$NAME.tar.gz -C /usr/local"
echo "install the tool:   dotnet tool install --global dedup --add-source $OUT"
