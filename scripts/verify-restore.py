#!/usr/bin/env python3
"""Compares a restored tree with its source: type, permission bits, nanosecond mtimes (files, links and
directories), symlink targets and file contents. Usage: scripts/verify-restore.py SOURCE RESTORED
Prints one line per difference and a count; exits 1 when anything differs."""
import os, sys, stat
a, b = sys.argv[1], sys.argv[2]
bad = 0; n = 0
for root, dirs, files in os.walk(a):
    for name in dirs + files:
        p = os.path.join(root, name); q = os.path.join(b, os.path.relpath(p, a)); n += 1
        sa = os.lstat(p)
        try:
            sb = os.lstat(q)
        except FileNotFoundError:
            bad += 1; print("missing", p); continue
        if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode) or stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode): bad += 1; print("mode", p); continue
        if not stat.S_ISDIR(sa.st_mode) and sa.st_mtime_ns != sb.st_mtime_ns: bad += 1; print("mtime", p, sa.st_mtime_ns, sb.st_mtime_ns); continue
        if stat.S_ISLNK(sa.st_mode):
            if os.readlink(p) != os.readlink(q): bad += 1; print("link", p)
        elif stat.S_ISREG(sa.st_mode):
            if open(p,'rb').read() != open(q,'rb').read(): bad += 1; print("content", p)
    for d in dirs:
        p = os.path.join(root, d); q = os.path.join(b, os.path.relpath(p, a))
        if os.path.islink(p) or not os.path.exists(q): continue
        if os.lstat(p).st_mtime_ns != os.lstat(q).st_mtime_ns: bad += 1; print("dir mtime", p)
print(f"{n} entries compared, {bad} differences")
sys.exit(1 if bad else 0)
