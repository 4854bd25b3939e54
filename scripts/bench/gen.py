#!/usr/bin/env python3
"""Deterministic benchmark datasets for scripts/bench/compare.sh.

  gen.py big  OUT TOTAL_BYTES SEED   "big": 4 files: 1/2 incompressible random, 2 x 3/16 synthetic logs,
                                     1/8 source-like text (real text files from TEXT_POOL concatenated in a
                                     seeded order; generated text when the pool runs out).
                                     Also OUT.edit/ (edited copies: 32 small inserts/deletes over the set) and
                                     OUT.orig/ (hard links to the originals of the edited files).
  gen.py src  OUT TOTAL_BYTES SEED   "src": many small real text files (system headers, python libraries,
                                     docs) picked in a seeded order from TEXT_POOL until TOTAL_BYTES; relative
                                     paths keep their source tree. OUT.edit/ holds modified copies of 1% of the
                                     files (a line inserted, a line changed or a tail appended), OUT.orig/ hard
                                     links to their originals.

Same SEED + same machine (same TEXT_POOL contents) gives the same bytes. A manifest (OUT.manifest) lists
every file with its size and SHA-256 prefix, so runs on different machines can tell whether data matched.
"""
import hashlib
import os
import random
import shutil
import sys

TEXT_POOL = os.environ.get(
    "TEXT_POOL",
    "/usr/include:/usr/share/doc:/usr/lib/python3:/usr/lib/python3.11:/usr/share/perl:/usr/share/cmake-3.25",
).split(":")
MAX_SMALL = 1 << 20  # files above 1 MiB are not "small"

LEVELS = ["INFO"] * 5 + ["DEBUG"] * 3 + ["WARN", "ERROR"]
SERVICES = ["api", "auth", "db", "cache", "worker", "scheduler", "gateway", "billing", "search"]
MESSAGES = [
    "request completed path=/v1/items/{} status=200",
    "cache miss key=user:{}:profile",
    "connection established peer=10.0.{}.17:5432",
    "retrying after timeout attempt={}",
    "user logged in uid={}",
    "slow query detected table=orders rows={}",
    "job finished queue=default jid={}",
    "upstream returned status=503 backend=pool-{}",
    "queue depth={} threshold=1000",
    "GET /static/app.{}.js 304",
]


def pool_files():
    """Regular, non-empty, readable files under TEXT_POOL, sorted (deterministic)."""
    out = []
    for root in TEXT_POOL:
        if not os.path.isdir(root):
            continue
        for d, dirs, files in os.walk(root):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(d, f)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if os.path.islink(p) or not os.path.isfile(p) or st.st_size == 0 or st.st_size > MAX_SMALL:
                    continue
                if not os.access(p, os.R_OK):
                    continue
                out.append((p, st.st_size))
    return out


def write_random(path, size, rng):
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 16 << 20)
            f.write(rng.randbytes(n))
            left -= n


def write_logs(path, size, rng):
    t = 1_700_000_000  # seconds
    ms = 0
    with open(path, "wb") as f:
        written = 0
        while written < size:
            lines = []
            for _ in range(20000):
                ms += rng.randrange(0, 400)
                if ms >= 1000:
                    t += ms // 1000
                    ms %= 1000
                r = rng.getrandbits(64)
                lines.append(
                    "%d.%03d %s [%s] %s req=%016x dur_ms=%d\n"
                    % (t, ms, LEVELS[r % 10], SERVICES[(r >> 8) % 9], MESSAGES[(r >> 16) % 10].format((r >> 24) % 100000),
                       r, (r >> 40) % 5000)
                )
            block = "".join(lines).encode()
            if written + len(block) > size:
                block = block[: size - written]
            f.write(block)
            written += len(block)


def write_text(path, size, rng, files):
    order = list(range(len(files)))
    rng.shuffle(order)
    with open(path, "wb") as f:
        written = 0
        for i in order:
            if written >= size:
                break
            try:
                with open(files[i][0], "rb") as src:
                    data = src.read()
            except OSError:
                continue
            data = data[: size - written]
            f.write(data)
            written += len(data)
        words = [b"static", b"int", b"return", b"const", b"char", b"struct", b"if", b"else", b"for", b"self", b"def", b"the"]
        while written < size:  # the pool ran out: generated text
            line = b" ".join(rng.choice(words) for _ in range(rng.randrange(2, 12))) + b";\n"
            line = line[: size - written]
            f.write(line)
            written += len(line)


def edit_stream(src, dst, edits, rng):
    """Copies src to dst applying (position, kind) edits: insert or delete 1..64 bytes."""
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        pos = 0
        for p, kind in sorted(edits):
            if p < pos:
                continue
            shutil.copyfileobj(_Limited(fi, p - pos), fo, 1 << 20)
            pos = p
            n = rng.randrange(1, 65)
            if kind == "ins":
                fo.write(rng.randbytes(n))
            else:
                fi.read(n)
                pos += n
        shutil.copyfileobj(fi, fo, 1 << 20)


class _Limited:
    def __init__(self, f, n):
        self.f, self.n = f, n

    def read(self, size=-1):
        if self.n <= 0:
            return b""
        size = self.n if size < 0 else min(size, self.n)
        b = self.f.read(size)
        self.n -= len(b)
        return b


def manifest(out):
    with open(out + ".manifest", "w") as m:
        for d, dirs, files in os.walk(out):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(d, f)
                h = hashlib.sha256()
                with open(p, "rb") as fh:
                    for b in iter(lambda: fh.read(1 << 20), b""):
                        h.update(b)
                m.write("%s\t%d\t%s\n" % (os.path.relpath(p, out), os.path.getsize(p), h.hexdigest()[:16]))


def gen_big(out, total, seed):
    rng = random.Random(seed)
    os.makedirs(out)
    files = pool_files()
    parts = [
        ("random.bin", total // 2, "random"),
        ("app-1.log", total * 3 // 16, "logs"),
        ("app-2.log", total * 3 // 16, "logs"),
        ("source.txt", total - total // 2 - 2 * (total * 3 // 16), "text"),
    ]
    for name, size, kind in parts:
        p = os.path.join(out, name)
        r = random.Random("%d/%s" % (seed, name))
        if kind == "random":
            write_random(p, size, r)
        elif kind == "logs":
            write_logs(p, size, r)
        else:
            write_text(p, size, r, files)
    # 32 small inserts/deletes spread over the set: 8 per file.
    os.makedirs(out + ".edit")
    os.makedirs(out + ".orig")
    for name, size, _ in parts:
        edits = [(rng.randrange(0, max(1, size)), rng.choice(["ins", "del"])) for _ in range(8)]
        edit_stream(os.path.join(out, name), os.path.join(out + ".edit", name), edits, rng)
        os.link(os.path.join(out, name), os.path.join(out + ".orig", name))
    manifest(out)


def gen_src(out, total, seed):
    rng = random.Random(seed)
    files = pool_files()
    order = list(range(len(files)))
    rng.shuffle(order)
    os.makedirs(out)
    written, chosen = 0, []
    for i in order:
        if written >= total:
            break
        p, size = files[i]
        rel = p.lstrip("/")
        dst = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        try:
            shutil.copyfile(p, dst)
        except OSError:
            continue
        os.utime(dst, (1_700_000_000, 1_700_000_000))
        chosen.append(rel)
        written += size
    if written < total:
        # The pool ran out: top up with generated source-like files.
        gen_dir = os.path.join(out, "generated")
        os.makedirs(gen_dir, exist_ok=True)
        words = ["static", "int", "return", "const", "char", "struct", "if", "else", "for", "self", "def", "the", "data"]
        k = 0
        while written < total:
            size = min(total - written, rng.randrange(200, 40000))
            text = []
            n = 0
            while n < size:
                line = " ".join(rng.choice(words) for _ in range(rng.randrange(2, 12))) + ";\n"
                text.append(line)
                n += len(line)
            rel = os.path.join("generated", "d%03d" % (k // 200), "f%06d.c" % k)
            os.makedirs(os.path.join(out, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(out, rel), "w") as f:
                f.write("".join(text)[:size])
            chosen.append(rel)
            written += size
            k += 1
    chosen.sort()
    # 1% of the files modified.
    os.makedirs(out + ".edit")
    os.makedirs(out + ".orig")
    for rel in rng.sample(chosen, max(1, len(chosen) // 100)):
        src = os.path.join(out, rel)
        with open(src, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        how = rng.randrange(3)
        at = rng.randrange(len(lines))
        if how == 0:
            lines.insert(at, b"/* edited for the benchmark %d */" % rng.getrandbits(32))
        elif how == 1:
            lines[at] = lines[at][: len(lines[at]) // 2] + b" changed"
        else:
            lines.append(b"appended line %d" % rng.getrandbits(32))
        dst = os.path.join(out + ".edit", rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(b"\n".join(lines))
        o = os.path.join(out + ".orig", rel)
        os.makedirs(os.path.dirname(o), exist_ok=True)
        os.link(src, o)
    manifest(out)


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("big", "src"):
        sys.exit(__doc__)
    kind, out, total, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for d in (out, out + ".edit", out + ".orig"):
        if os.path.exists(d):
            shutil.rmtree(d)
    (gen_big if kind == "big" else gen_src)(out, total, seed)


if __name__ == "__main__":
    main()
