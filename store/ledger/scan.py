"""One streaming pass over a ledger file: leaf hashes, strict parse, `seq` check, roots at chosen sizes.

Shared by start-up recovery (ledger.py) and `verify` (verify.py) so that both judge a line by the
same rules. It is the hot loop of a full verify (1 M entries in a few seconds), hence the inlined
compact range and orjson: a line is accepted on the fast path when orjson re-serialises it to the
same bytes (canonical form, so no duplicate keys); otherwise the stdlib parser decides, rejecting
duplicate keys and NaN, so a rare float spelling such as `1e-07` is still read correctly.

For `verify` of a large file, helper processes (`python -m store.ledger.scan FILE START END`) parse
byte ranges while this process hashes: parsing costs twice what hashing does, and a second core
halves it. Any disagreement or problem falls back to the serial pass, which names the first bad line.
"""
from __future__ import annotations

import contextlib

import gc
import json
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from hashlib import sha256
from pathlib import Path
from typing import Any, Collection, Iterator

import orjson

from store.ledger.merkle import EMPTY_ROOT, CompactRange

CHUNK = 8 << 20
PARALLEL_MIN_BYTES = 32 << 20
TS_BACKWARDS_TOLERANCE = timedelta(minutes=5)


class DuplicateKey(ValueError):
    """A JSON object with the same key twice: strict parsing rejects it (docs/ledger.md §7)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def strict_loads(line: bytes) -> Any:
    """The reference parser: stdlib json, duplicate keys and NaN/Infinity rejected."""
    return json.loads(line.decode("utf-8"), object_pairs_hook=_no_duplicates,
                      parse_constant=_reject_constant)


@dataclass
class Problem:
    """The first line that is not a valid entry at its place."""

    line_no: int        # 1-based line number in the file
    offset: int         # byte offset where that line starts
    kind: str           # "json" | "seq" | "partial"
    detail: str
    found_seq: Any = None


@dataclass
class Scan:
    entries: int = 0                       # valid lines before the first problem
    good_bytes: int = 0                    # bytes up to and including the last valid line's \n
    total_bytes: int = 0
    compact: CompactRange = field(default_factory=CompactRange)
    roots: dict[int, bytes] = field(default_factory=dict)
    problem: Problem | None = None
    first_ts: str | None = None
    last_ts: str | None = None
    ts_warnings: list[str] = field(default_factory=list)
    collected: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    leaves: list[bytes] | None = None


def scan_ledger(path: Path, want_roots: Collection[int] = (), collect_kinds: Collection[str] = (),
                keep_leaves: bool = False, start: CompactRange | None = None,
                start_offset: int = 0, parallel: bool = False,
                parallel_min_bytes: int = PARALLEL_MIN_BYTES, parse: bool = True) -> Scan:
    """Read `path` from `start_offset` (with `start` entries already hashed) to the first problem.

    `parse=False` only hashes (proof generation: the signed root vouches for the lines).
    `parallel` (verify of a large file on a multi-core machine): a second process parses and checks
    every line while this one hashes; if it finds a problem, the file is read again serially so the
    result describes the first bad line exactly.
    """
    path = Path(path)
    if (parallel and not collect_kinds and not keep_leaves and start is None and (os.cpu_count() or 1) > 1
            and path.exists() and path.stat().st_size >= parallel_min_bytes):
        import subprocess   # only a large file is verified in parallel; `ledger verify` is called in loops

        ranges = _split(path, os.cpu_count() or 2)
        env = {**os.environ, "PYTHONPATH": _import_root()}
        helpers = [subprocess.Popen([sys.executable, "-m", "store.ledger.scan", str(path), str(a), str(b)],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env) for a, b in ranges]
        hashed = _scan(path, want_roots, (), False, None, 0, parse=False)
        checked = []
        for helper in helpers:
            output, _ = helper.communicate()
            checked.append(json.loads(output) if helper.returncode == 0 and output else {"ok": False})
        if hashed.problem is None and _parts_agree(checked, hashed.entries):
            hashed.first_ts, hashed.last_ts = checked[0]["first_ts"], checked[-1]["last_ts"]
            hashed.ts_warnings = [w for part in checked for w in part["ts_warnings"]]
            return hashed
    return _scan(path, want_roots, collect_kinds, keep_leaves, start, start_offset, parse=parse)


def _split(path: Path, parts: int) -> list[tuple[int, int]]:
    """Byte ranges that start at line starts, one per helper process."""
    total = path.stat().st_size
    cuts = [0]
    with open(path, "rb") as handle:
        for k in range(1, parts):
            handle.seek(max(total * k // parts, cuts[-1]))
            handle.readline()
            cuts.append(min(handle.tell(), total))
    cuts.append(total)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _parts_agree(parts: list[dict[str, Any]], entries: int) -> bool:
    """Every range valid, each starting with the seq where the previous one ended, covering all lines."""
    expected = 0
    for part in parts:
        if not part["ok"] or part["first_seq"] != expected:
            return False
        expected += part["entries"]
    return expected == entries


def _import_root() -> str:
    """The directory that holds the `store` package, first on the helper's import path."""
    root = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])


def _check_range(path: Path, start: int, end: int) -> dict[str, Any]:
    """The parse-and-seq half of a parallel scan for bytes [start, end), run in a helper process.

    The range's first seq is read from its first line; the parent checks that the ranges chain up.
    A clock going back exactly at a range boundary is not warned about (it is a warning only).
    """
    with open(path, "rb") as handle:
        handle.seek(start)
        try:
            first_seq = orjson.loads(handle.readline())["seq"]
        except (ValueError, KeyError, TypeError):
            return {"ok": False}
    if type(first_seq) is not int:
        return {"ok": False}
    result = _scan(path, (), (), False, None, start, parse=True, hashing=False, first_seq=first_seq,
                   end_offset=end)
    return {"ok": result.problem is None, "first_seq": first_seq, "entries": result.entries - first_seq,
            "first_ts": result.first_ts, "last_ts": result.last_ts, "ts_warnings": result.ts_warnings}


def _scan(path: Path, want_roots: Collection[int], collect_kinds: Collection[str], keep_leaves: bool,
          start: CompactRange | None, start_offset: int, parse: bool, hashing: bool = True,
          first_seq: int | None = None, end_offset: int | None = None) -> Scan:
    result = Scan()
    compact = start.copy() if start is not None else CompactRange()
    nodes = compact.nodes
    size = compact.size if first_seq is None else first_seq
    want = set(want_roots)
    roots = result.roots
    if 0 in want:
        roots[0] = EMPTY_ROOT
    leaves: list[bytes] | None = [] if keep_leaves else None
    kinds = frozenset(collect_kinds)
    loads = orjson.loads
    dumps = partial(orjson.dumps, option=orjson.OPT_SORT_KEYS)
    offset = start_offset
    last_ts = None
    tail = b""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        result.compact = compact
        return result
    with handle, _gc_paused():
        handle.seek(start_offset)
        while True:
            chunk = handle.read(CHUNK if end_offset is None else min(CHUNK, end_offset - handle.tell()))
            if not chunk:
                break
            buf = tail + chunk if tail else chunk
            lines = buf.split(b"\n")
            tail = lines.pop()
            if parse:
                objs, bad = _parse_batch(lines, size, loads, dumps)
                last_ts = _check_ts(result, size, [o.get("ts") for o in objs], last_ts)
            else:
                objs, bad = [], None
            count = len(objs) if parse else len(lines)
            good_lines = lines[:count] if bad is not None else lines
            if not hashing:
                size += count
                offset += sum(map(len, good_lines)) + count
                if bad is not None:
                    result.problem = Problem(size + 1, offset, bad[0], "")
                    break
                continue
            batch_leaves = [sha256(b"\x00" + line).digest() for line in good_lines]
            if kinds:
                result.collected.extend((size + i, o) for i, o in enumerate(objs) if o.get("kind") in kinds)
            if leaves is not None:
                leaves.extend(batch_leaves)
            marks = sorted(w - size for w in want if size < w <= size + count)
            done = 0
            for mark in marks + [count]:
                for leaf in batch_leaves[done:mark]:
                    s = size
                    h = leaf
                    while s & 1:
                        h = sha256(b"\x01" + nodes.pop() + h).digest()
                        s >>= 1
                    nodes.append(h)
                    size += 1
                done = mark
                if size in want:
                    compact.size = size
                    roots[size] = compact.root()
            offset += sum(map(len, good_lines)) + count
            if bad is not None:
                line = lines[count]
                if bad[0] == "json":
                    result.problem = _classify(line, size + 1, offset)
                else:
                    result.problem = Problem(size + 1, offset, "seq", f"seq {bad[1]!r}", bad[1])
                break
    compact.size = size
    result.compact = compact
    result.entries = size
    result.good_bytes = offset
    result.total_bytes = path.stat().st_size
    result.last_ts = last_ts
    result.leaves = leaves
    if result.problem is None and tail:
        result.problem = Problem(size + 1, offset, "partial", f"{len(tail)} bytes without a newline")
    return result


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic GC would walk every parsed dict again and again (~1 s per million lines) although
    none of them can form a cycle; reference counting still frees them. Restored afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse_batch(lines: list[bytes], first_seq: int, loads, dumps) -> tuple[list[dict[str, Any]], tuple | None]:
    """Parse a chunk's lines; return the valid objects before the first bad line, and why it is bad.

    The fast path handles a whole chunk with C-level maps; only a chunk with a problem (or a line
    orjson re-serialises differently, such as `1e-07`) is walked line by line.
    """
    # Any failure of the fast path: find the first bad line below, with the reference parser's words.
    with contextlib.suppress(Exception):
        objs = list(map(loads, lines))
        canonical = list(map(dumps, objs))
        if canonical != lines:
            for i, (again, line) in enumerate(zip(canonical, lines)):
                if again != line:
                    objs[i] = strict_loads(line)
        seqs = [o["seq"] for o in objs]
        if seqs == list(range(first_seq, first_seq + len(seqs))) and set(map(type, seqs)) <= {int}:
            return objs, None
    good: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        try:
            obj = loads(line)
            if dumps(obj) != line:
                obj = strict_loads(line)
            seq = obj["seq"]
        except Exception:
            return good, ("json", None)
        if seq != first_seq + i or type(seq) is not int:
            return good, ("seq", seq)
        good.append(obj)
    return good, None


def _check_ts(result: Scan, first_seq: int, stamps: list[Any], last_ts: str | None) -> str | None:
    """Warn when `ts` goes back by more than 5 minutes; returns the last string ts seen."""
    if not stamps:
        return last_ts
    chain = ([last_ts] if last_ts is not None else []) + stamps
    try:
        ordered = chain == sorted(chain)
    except TypeError:
        ordered = False
    if not ordered:
        previous = last_ts
        for i, ts in enumerate(stamps):
            if not isinstance(ts, str):
                continue
            if previous is not None and ts < previous:
                _check_backwards(result, first_seq + i, previous, ts)
            previous = ts
    strings = [ts for ts in stamps if isinstance(ts, str)] if not ordered else stamps
    if strings and result.first_ts is None:
        result.first_ts = strings[0]
    return strings[-1] if strings else last_ts


def _classify(line: bytes, line_no: int, offset: int) -> Problem:
    """Why a line failed the fast path, in the words of the reference parser."""
    try:
        obj = strict_loads(line)
    except UnicodeDecodeError:
        return Problem(line_no, offset, "json", "not UTF-8")
    except json.JSONDecodeError as exc:
        return Problem(line_no, offset, "json", f"{exc.msg}: column {exc.colno}")
    except ValueError as exc:
        return Problem(line_no, offset, "json", str(exc))
    if not isinstance(obj, dict):
        return Problem(line_no, offset, "json", "not a JSON object")
    return Problem(line_no, offset, "seq", "no seq field", obj.get("seq"))


def _check_backwards(result: Scan, seq: int, earlier: str, later: str) -> None:
    try:
        gap = parse_ts(earlier) - parse_ts(later)
    except ValueError:
        return
    if gap > TS_BACKWARDS_TOLERANCE:
        result.ts_warnings.append(f"seq {seq:,} has ts {later}, {gap} before the entry above it ({earlier}): "
                                  "the clock went back (warning only)")


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


if __name__ == "__main__":
    sys.stdout.write(json.dumps(_check_range(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))
