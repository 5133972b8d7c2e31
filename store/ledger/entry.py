"""Ledger entries: the envelope, the validation rules of docs/ledger.md §2 and the canonical bytes.

The canonical bytes are exactly `json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False).encode()`; that is what gets hashed, so every rule here exists
to make sure two programs reading the same line agree on what it says: ASCII keys (every sort order
agrees), integers within ±2^53 (every JSON reader holds them exactly), no NaN, ≤ 64 KiB per line.
"""
from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping
from store.errors import Invalid

SCHEMA_VERSION = 1
MAX_LINE = 64 * 1024
MAX_INT = 2**53
ENVELOPE = ("v", "seq", "ts", "kind", "actor", "role")
RUN_RECORDED = "run.recorded"
_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$", re.ASCII)
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", re.ASCII)


class EntryInvalid(Invalid, ValueError):
    """An entry that docs/ledger.md §2 does not allow, naming the field, the value and the rule."""


@dataclass(frozen=True)
class Entry:
    """One written ledger line: `line` is its canonical bytes (no newline), `data` the whole object."""

    seq: int
    ts: str
    kind: str
    line: bytes
    data: Mapping[str, Any]


def format_ts(moment: datetime) -> str:
    """UTC, RFC 3339, microseconds, `Z` (docs/ledger.md §2)."""
    if moment.tzinfo is None:
        raise EntryInvalid(f"timestamp {moment!r} has no time zone; pass an aware datetime")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EntryInvalid(f"a string holds a lone surrogate ({exc.object[exc.start:exc.end]!r}); "
                           "pass valid Unicode text") from None


@functools.lru_cache(maxsize=4096)
def _key_ok(key: str) -> bool:
    return _KEY_RE.match(key) is not None


def _clean(value: Any) -> bool:
    """True when `value` is plain JSON that docs/ledger.md §2 allows; the fast check every entry passes.

    Exact types only, so a subclass (a StrEnum, a Mapping) answers False and goes to `_check_value`,
    which decides and names the problem: that one builds a path string per value, which cost more
    than the rest of an entry (bench/ledger_bench.py, bench/credits_bench.py).
    """
    kind = type(value)
    if value is None or kind is str or kind is bool:
        return True
    if kind is int:
        return -MAX_INT <= value <= MAX_INT
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(k) is str and _key_ok(k) and _clean(v) for k, v in value.items())
    if kind is list or kind is tuple:
        return all(_clean(v) for v in value)
    return False


def _check_value(path: str, value: Any) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise EntryInvalid(f"{path} = {value}: integers must be within ±2^53; store it as a string")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EntryInvalid(f"{path} = {value}: NaN and infinity are not JSON; use null or a string")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not _KEY_RE.match(key):
                raise EntryInvalid(f"{path}: key {key!r} must match ^[A-Za-z][A-Za-z0-9_]{{0,63}}$ "
                                   "(ASCII letters, digits, underscore; starts with a letter)")
            _check_value(f"{path}.{key}", item)
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_value(f"{path}[{i}]", item)
        return
    raise EntryInvalid(f"{path} is a {type(value).__name__}; ledger values are JSON only "
                       "(str, int, float, bool, null, list, object)")


def build_entry(seq: int, moment: datetime, kind: str, actor: str, role: str | None,
                fields: Mapping[str, Any]) -> Entry:
    """Validate and serialise one entry; raises `EntryInvalid` naming what to change."""
    if not _KIND_RE.match(kind or ""):
        raise EntryInvalid(f"kind {kind!r} must be a dotted lower-case event type such as 'alert.acked'")
    if not isinstance(actor, str) or not actor:
        raise EntryInvalid(f"actor {actor!r} must be a Slack user id or 'daemon'")
    if role is not None and not isinstance(role, str):
        raise EntryInvalid(f"role {role!r} must be a role name such as 'O3', or empty")
    clash = [k for k in fields if k in ENVELOPE]
    if clash:
        raise EntryInvalid(f"field {clash[0]!r} is an envelope field the ledger sets itself; rename it")
    if kind != RUN_RECORDED:
        flat = [k for k in fields if isinstance(k, str) and k[:1].isupper() and k != "Run_ID"]
        if flat:
            raise EntryInvalid(f"{kind} entry has run-record field {flat[0]!r} at top level; only "
                               f"run.recorded keeps record fields flat: put it under 'data' "
                               "(other kinds reference the run by 'Run_ID')")
    if not _clean(fields if type(fields) is dict else dict(fields)):
        _check_value("entry", dict(fields))
    ts = format_ts(moment)
    obj: dict[str, Any] = {**fields, "v": SCHEMA_VERSION, "seq": seq, "ts": ts, "kind": kind, "actor": actor}
    if role:
        obj["role"] = role
    line = canonical_bytes(obj)
    if len(line) > MAX_LINE:
        raise EntryInvalid(f"{kind} entry is {len(line):,} bytes; a ledger line is at most {MAX_LINE:,} "
                           "bytes: store the content as an artifact and record its sha256")
    return Entry(seq=seq, ts=ts, kind=kind, line=line, data=obj)
