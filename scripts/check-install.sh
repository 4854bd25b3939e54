#!/usr/bin/env bash
# Checks the release tarball as a user without .NET would meet it: the README's install command (into a scratch
# prefix instead of /usr/local), then 'dedup -p home backup' of a profile with hooks, all in a mount namespace where
# the .NET installation is hidden (tmpfs over it, dotnet off PATH), so nothing can quietly use the SDK.
# Usage: scripts/check-install.sh artifacts/dedup-VERSION-linux-x64.tar.gz     (as root: it needs unshare -m)
set -euo pipefail
tarball=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ "${DEDUP_CHECK_INSIDE:-}" != 1 ]]; then
  exec env DEDUP_CHECK_INSIDE=1 unshare --mount --propagation private "$0" "$@"
fi
for d in /usr/share/dotnet /usr/lib/dotnet /root/.dotnet "${DOTNET_ROOT:-}"; do
  [[ -n "$d" && -d "$d" ]] && mount -t tmpfs none "$d"
done
unset DOTNET_ROOT
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if command -v dotnet >/dev/null && dotnet --info >/dev/null 2>&1; then echo "check-install: .NET is still reachable" >&2; exit 1; fi

prefix="$work/prefix"
mkdir -p "$prefix"
tar -xzf "$tarball" -C "$prefix"                       # the README's command, with $prefix for /usr/local
export PATH="$prefix/bin:$PATH" HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
mkdir -p "$HOME/.config/dedup" "$work/data"
echo "some data" > "$work/data/file.txt"
printf 'install check\n' > "$HOME/.config/dedup/home.pass"
cat > "$HOME/.config/dedup/config.toml" <<TOML
[profiles.home]
repository = "$work/repo"
password-file = "home.pass"
paths = ["$work/data"]

[profiles.home.hooks]
before = 'echo "before \$DEDUP_PROFILE" >> "$work/hooks.log"'
after = 'echo "after \$DEDUP_SNAPSHOT_ID" >> "$work/hooks.log"'
always = 'echo "always \$DEDUP_EXIT_CODE" >> "$work/hooks.log"'
TOML

dedup version
dedup -p home init --argon2-memory 8192 --argon2-iterations 1 >/dev/null
id=$(dedup -p home backup --json | tail -n 1 | sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p')
[[ ${#id} == 64 ]] || { echo "check-install: no snapshot ID from the backup" >&2; exit 1; }
expected=$(printf 'before home\nafter %s\nalways 0' "$id")
[[ "$(cat "$work/hooks.log")" == "$expected" ]] || { echo "check-install: hooks ran as:" >&2; cat "$work/hooks.log" >&2; exit 1; }
dedup -p home restore latest --target "$work/restored" >/dev/null
cmp "$work/data/file.txt" "$work/restored$work/data/file.txt"
MANPATH="$prefix/share/man" man -w dedup >/dev/null 2>&1 || [[ -s "$prefix/share/man/man1/dedup.1" ]]
echo "check-install: ok (no .NET reachable; install, profile backup with hooks and restore worked)"
