"""Scan or scrub one file's bytes: raw-byte triggers first, then decoded JSON strings or text.

JSONL (Claude Code session files): each line is one JSON value. Only lines with a trigger are
decoded; inside them every JSON string token is decoded, matched, and, when something is removed,
re-encoded in place. Everything else in the line (keys, numbers, other strings, spacing, escape
style) keeps its bytes, so a line with no finding stays byte-identical and the structure can't change.

A JSON string that itself holds a JSON document (a tool result, a file's contents, an API response)
is scrubbed as JSON in turn, down to NESTED_DEPTH levels, so its keys give context (`"db_password":
"…"`) and its escapes are decoded; it is re-encoded only when something inside it was removed.

Text and Markdown are matched as one decoded text (so a PEM block across lines is seen whole), on its
unescaped views (detect.py), with triggers also taken from the text with its backslashes removed when
it holds JSON escaped twice (a tool result pasted into a .json, .md or .txt file).

Bad input never raises: invalid UTF-8 is matched with the bad bytes kept as they are; a line that is
not JSON is scrubbed as text; a line over `max_line_bytes` is replaced by a marker. Each is reported
with its line and what was done.
"""
from __future__ import annotations

import contextlib

import bisect
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import orjson

from jobs.export.scrub.bounded import Work
from jobs.export.scrub.detect import Detector, Hit, Policy, Verdict
from jobs.export.scrub.hscache import DatabaseCache, compile_database
from jobs.export.scrub.prefilter import LEARNED, NESTED_ESCAPE, SENSITIVE, build_prefilter
from jobs.export.scrub.report import Action, Finding, Issue
from jobs.export.scrub.rules import RuleSet

#: A JSON string token in a valid JSON text (strings cannot hold a raw quote, so this never overruns).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_COLON = re.compile(r"\s*:")
#: JSON keys whose string value is read as `KEY="value"` by the assignment rules.
_SECRETISH_KEY = re.compile(r"(?i)secret|token|key|pass|pwd|auth|credential|sig")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
MIN_SCAN = 6   # shortest text that can hold a finding (`a@b.co`)
NESTED_DEPTH = 4   # JSON inside a JSON string, inside another, … scrubbed as JSON this deep


class FileKind(StrEnum):
    JSONL = "jsonl"
    TEXT = "text"


@dataclass(frozen=True)
class Outcome:
    output: bytes
    findings: tuple[Finding, ...]
    issues: tuple[Issue, ...]
    regex_chars: int = 0     # characters handed to rule regexes (bounded.Work): linear in the input


class Engine:
    """Rules + policy + the raw-byte prefilter. Immutable once built; one per run."""

    def __init__(self, ruleset: RuleSet, policy: Policy, prefilter: str = "auto",
                 max_line_bytes: int = 64 * 1024 * 1024, cache_dir: Path | None = None) -> None:
        """`cache_dir`: where compiled Hyperscan databases are kept between runs (hscache.py); None compiles."""
        self.ruleset = ruleset
        self.policy = policy
        self.max_line_bytes = max_line_bytes
        compile_db = DatabaseCache(cache_dir, policy.key).compile if cache_dir is not None else compile_database
        self.prefilter = build_prefilter(prefilter, ruleset.rules, policy.sensitive_items,
                                         policy.learned.lengths, self._learned_check, compile_db)
        self.detector = Detector(ruleset.rules, policy, use_hyperscan=self.prefilter.name == "hyperscan",
                                 compile_db=compile_db)

    @property
    def name(self) -> str:
        return self.prefilter.name

    def _learned_check(self, candidate: bytes) -> bool:
        return self.policy.learned.matches(self.policy.key, candidate)

    def marker(self, rule_id: str, value: str) -> str:
        """`[REDACTED:<rule>:<6 hex>]`: the hex is a keyed hash, so one secret gives one marker everywhere."""
        digest = hmac.new(self.policy.key, b"marker\x00" + value.encode("utf-8", "surrogateescape"),
                          hashlib.sha256).hexdigest()
        return f"[REDACTED:{rule_id}:{digest[:6]}]"

    def process(self, buf: bytes, kind: FileKind, label: str, scrub: bool) -> Outcome:
        """Scan `buf`; when `scrub`, also return it with every removal masked."""
        run = _Run(self, label, scrub)
        if kind is FileKind.JSONL:
            output = run.jsonl(buf)
        else:
            output = run.text(buf)
        return Outcome(output if scrub else buf, tuple(run.findings), tuple(run.issues), run.work.chars)


class _Run:
    """The state of one file's pass: findings and issues as they are found."""

    def __init__(self, engine: Engine, label: str, scrub: bool) -> None:
        self.engine = engine
        self.label = label
        self.scrub = scrub
        self.findings: list[Finding] = []
        self.issues: list[Issue] = []
        self.work = Work()
        self.secretish_keys: dict[str, bool] = {}   # JSON key -> whether it names a secret (_SECRETISH_KEY)

    # ---- JSONL -----------------------------------------------------------------------------------
    def jsonl(self, buf: bytes) -> bytes:
        engine = self.engine
        lines = buf.split(b"\n")
        scan = engine.prefilter.scan(buf, lines=lines)   # one pass: triggers, and the lines holding escapes
        triggers, escaped, nested = scan.by_line, scan.escaped, scan.nested
        try:
            buf.decode("utf-8")
            valid_utf8 = True
        except UnicodeDecodeError:
            valid_utf8 = False
        for number, line in enumerate(lines):
            found = triggers.get(number)
            oversized = len(line) > engine.max_line_bytes
            if number in escaped and not oversized:
                decoded = _decoded_triggers(engine, line)
                if decoded:
                    found = (found or set()) | decoded
            if number in nested and not oversized:
                flat = _flattened_triggers(engine, line)
                if flat:
                    found = (found or set()) | flat
            if found is None and not oversized and valid_utf8 and _json_shaped(line):
                continue
            lines[number] = self._jsonl_line(number + 1, line, found or set(), oversized)
        return b"\n".join(lines)

    def _jsonl_line(self, number: int, line: bytes, found: set[int], oversized: bool) -> bytes:
        if oversized:
            return self._oversized(number, line, json_line=True)
        if found:
            # the fast path: orjson takes only valid UTF-8, so a line it parses needs no decoding unless
            # something may be found in it (a line that does not parse takes the path below, with its issues)
            with contextlib.suppress(orjson.JSONDecodeError):
                value = orjson.loads(line)
                if not self._may_hit(value, line, found):
                    return line
                return self._json_strings(line.decode("utf-8"), found, number).encode("utf-8", "surrogateescape")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.issues.append(Issue(self.label, number, f"invalid UTF-8 at byte {exc.start + 1}",
                                     "scrubbed as text; the undecodable bytes were kept as they are"))
            return self._text_block(line.decode("utf-8", "surrogateescape"), found, number).encode(
                "utf-8", "surrogateescape")
        if not text.strip():
            return line
        value = _parse(line, text)
        if value is _NOT_JSON:
            self.issues.append(Issue(self.label, number, "not a JSON line", "scrubbed as text"))
            return self._text_block(text, found, number).encode("utf-8", "surrogateescape")
        if not found or not self._may_hit(value, text, found):
            return line
        return self._json_strings(text, found, number).encode("utf-8", "surrogateescape")

    def _may_hit(self, value, text: str | bytes, found: set[int]) -> bool:
        """Whether any string of the parsed line (or of a JSON document inside one) may have a hit.

        The fast path. Tokenising the line's text alone costs more than the json.loads + json.dumps
        floor, and a detector call per string costs more again; so the parsed value (orjson) is walked
        and its strings are matched together, one per line, each secret-named key written before its
        value as `KEY="value"` and `"KEY": "value"` (the two forms the assignment rules know). A newline
        ends every token class a rule can leave with a None verdict, so joining can add hits but never
        hide one; any hit sends the line down the exact path (`_json_strings`). When the walk cannot
        vouch that it saw every string (duplicate keys, which a parse drops, show as fewer strings than
        the text has quotes for), it answers True as well. A string already taken in the same form is not
        taken again (Claude Code writes a tool's output twice on its line: in the message and in
        `toolUseResult`)."""
        parts: list[str] = []
        taken: set[str] = set()
        secretish = self.secretish_keys
        documents: list[tuple[object, str | bytes, int]] = [(value, text, 1)]
        while documents:
            document, raw, depth = documents.pop()
            strings = _walk(document)
            if _token_count(raw) != len(strings):
                return True
            for string, context in strings:
                if len(string) < MIN_SCAN:
                    continue
                first = string[0]
                if (first == "{" or first == "[" or first.isspace()) and depth < NESTED_DEPTH \
                        and _holds_json(string):
                    documents.append((_parse(string.encode("utf-8", "surrogatepass"), string), string, depth + 1))
                    continue
                if context:
                    named = secretish.get(context)
                    if named is None:
                        named = secretish[context] = _SECRETISH_KEY.search(context) is not None
                    if named:
                        string = f'{context}="{string}"\n{json.dumps(context)}: "{string}"'
                if string not in taken:
                    taken.add(string)
                    parts.append(string)
        if not parts:
            return False
        rules = sorted(i for i in found if i >= 0)
        return bool(self.engine.detector.detect("\n".join(parts), rules, learned=LEARNED in found,
                                                sensitive=SENSITIVE in found, work=self.work))

    def _json_strings(self, text: str, found: set[int], number: int, depth: int = 1,
                      outer_column: int | None = None) -> str:
        """`text` (a JSON document) with each string scrubbed; a string holding JSON is recursed into.
        Findings inside a nested document are reported at the column of its outermost string."""
        detector = self.engine.detector
        rules = sorted(i for i in found if i >= 0)
        learned = LEARNED in found
        sensitive = SENSITIVE in found
        pieces: list[str] = []
        last = 0
        key = ""
        key_after = -1
        for m in _STRING.finditer(text):
            raw = m.group(0)
            inner = raw[1:-1]
            decoded = inner if "\\" not in inner else _decode_string(raw)
            colon = _COLON.match(text, m.end())
            if colon is not None:
                key, key_after, context = decoded, colon.end(), ""
            else:
                context = key if key_after >= 0 and not text[key_after:m.start()].strip() else ""
                key_after = -1
            if len(decoded) < MIN_SCAN:
                continue
            if depth < NESTED_DEPTH and _holds_json(decoded):
                column = outer_column if outer_column is not None else m.start() + 2
                nested = self._json_strings(decoded, found, number, depth + 1, column)
                if nested is not decoded:
                    pieces.append(text[last:m.start()])
                    pieces.append(_encode_string(nested))
                    last = m.end()
                continue
            hits = detector.detect(decoded, rules, learned=learned, sensitive=sensitive,
                                   context=context if _SECRETISH_KEY.search(context) else "", work=self.work)
            if not hits:
                continue
            if outer_column is not None:
                columns = [outer_column] * len(hits)
            else:
                columns = [m.start() + 2 + r for r in _raw_indexes(inner, [h.start for h in hits])]
            for hit, column in zip(hits, columns):
                self.findings.append(self._finding(hit, number, column))
            if self.scrub and any(h.verdict is Verdict.REMOVE for h in hits):
                pieces.append(text[last:m.start()])
                pieces.append(_encode_string(self._masked(decoded, hits)))
                last = m.end()
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)

    # ---- text ------------------------------------------------------------------------------------
    def text(self, buf: bytes) -> bytes:
        engine = self.engine
        if len(buf) > engine.max_line_bytes:
            lines = buf.split(b"\n")
            if any(len(line) > engine.max_line_bytes for line in lines):
                buf = b"\n".join(self._oversized(n + 1, line, json_line=False)
                                 if len(line) > engine.max_line_bytes else line for n, line in enumerate(lines))
        found = engine.prefilter.scan(buf, per_line=False).union()
        if NESTED_ESCAPE.search(buf):
            # JSON held in a JSON string in a .json, .md or .txt file (a pasted tool result): its doubled
            # escapes (`\\\"db_password\\\": …`) hide the raw triggers, as in a JSONL line
            found |= _flattened_triggers(engine, buf)
        try:
            text = buf.decode("utf-8")
        except UnicodeDecodeError:
            text = buf.decode("utf-8", "surrogateescape")
            bad = [n + 1 for n, line in enumerate(buf.split(b"\n")) if not _utf8(line)]
            for number in bad[:20]:
                self.issues.append(Issue(self.label, number, "invalid UTF-8",
                                         "scrubbed as text; the undecodable bytes were kept as they are"))
            if len(bad) > 20:
                self.issues.append(Issue(self.label, None, f"invalid UTF-8 on {len(bad) - 20} more lines",
                                         "scrubbed as text; the undecodable bytes were kept as they are"))
        if not found:
            return buf
        return self._text_block(text, found, 1).encode("utf-8", "surrogateescape")

    def _text_block(self, text: str, found: set[int], first_line: int) -> str:
        hits = self.engine.detector.detect(text, sorted(i for i in found if i >= 0), learned=LEARNED in found,
                                           sensitive=SENSITIVE in found, work=self.work)
        if not hits:
            return text
        offsets = [-1] + [m.start() for m in re.finditer("\n", text)]

        def locate(i: int) -> tuple[int, int]:
            k = bisect.bisect_left(offsets, i) - 1
            return first_line + k, i - offsets[k]

        for hit in hits:
            line, column = locate(hit.start)
            self.findings.append(self._finding(hit, line, column))
        if self.scrub and any(h.verdict is Verdict.REMOVE for h in hits):
            return self._masked(text, hits)
        return text

    # ---- shared ----------------------------------------------------------------------------------
    def _oversized(self, number: int, line: bytes, json_line: bool) -> bytes:
        marker = self.engine.marker("oversized-line", line.decode("utf-8", "surrogateescape"))
        self.issues.append(Issue(self.label, number,
                                 f"line of {len(line):,} bytes is over [scrub] max_line_bytes "
                                 f"({self.engine.max_line_bytes:,})",
                                 f"replaced whole by {marker}" if self.scrub
                                 else "not scanned (it would be replaced whole by a scrub)",
                                 error=not self.scrub))   # a check that did not look cannot say HIGH
        if not self.scrub:
            return line
        return (json.dumps(marker) if json_line else marker).encode()

    def _finding(self, hit: Hit, line: int, column: int) -> Finding:
        if hit.verdict is Verdict.REMOVE:
            if self.scrub:
                return Finding(hit.rule, self.label, line, column, Action.REMOVED, hit.reason,
                               self.engine.marker(hit.rule, hit.value))
            return Finding(hit.rule, self.label, line, column, Action.FOUND, hit.reason)
        action = Action.INDIRECT if hit.verdict is Verdict.INDIRECT else Action.KEPT
        return Finding(hit.rule, self.label, line, column, action, hit.reason)

    def _masked(self, text: str, hits: list[Hit]) -> str:
        out: list[str] = []
        last = 0
        for hit in hits:
            if hit.verdict is not Verdict.REMOVE:
                continue
            out.append(text[last:hit.start])
            out.append(self.engine.marker(hit.rule, hit.value))
            out.append("\n" * text.count("\n", hit.start, hit.end))   # a PEM block keeps its line count
            last = hit.end
        out.append(text[last:])
        return "".join(out)


def _decoded_triggers(engine: Engine, line: bytes) -> set[int]:
    """Triggers of the line's decoded strings: the raw-byte pass cannot see through escapes."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            value = json.loads(line.decode("utf-8", "surrogateescape"))
        except ValueError:
            return set()   # not JSON: it is scrubbed as text, whose raw bytes the prefilter saw
    text = "\n".join(_strings(value)).encode("utf-8", "surrogatepass")
    return engine.prefilter.scan(text, per_line=False).union()


def _flattened_triggers(engine: Engine, line: bytes) -> set[int]:
    """Triggers of the line with every backslash removed: nested escapes then read as plain quotes. A
    keyword is enough here (no pattern confirms it): a token written with `\\uXXXX` escapes inside a string
    escaped twice reads as neither itself nor its escapes once the backslashes are gone, and the detector
    decodes it (detect.py `escape_view`)."""
    return engine.prefilter.scan(line.replace(b"\\", b""), per_line=False, confirm=False).union()


def _holds_json(value: str) -> bool:
    """Whether a decoded string is itself a JSON object or array (cheap shape test, then a parse)."""
    first = value[:1]
    if first != "{" and first != "[" and not first.isspace():
        return False   # most strings: decided without copying them (strip) first
    stripped = value.strip()
    if len(stripped) < 2 or (stripped[0], stripped[-1]) not in (("{", "}"), ("[", "]")):
        return False
    return _parse(stripped.encode("utf-8", "surrogatepass"), stripped) is not _NOT_JSON


def _strings(value) -> list[str]:
    """Every string in a decoded JSON value, keys included."""
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _json_shaped(line: bytes) -> bool:
    """Cheap check for lines with no trigger: blank, or an object/array by its first and last byte."""
    stripped = line.strip()
    return not stripped or (stripped[:1] == b"{" and stripped[-1:] == b"}") or (
        stripped[:1] == b"[" and stripped[-1:] == b"]")


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_NOT_JSON = object()


def _parse(line: bytes, text: str):
    """The JSON value of a line, or _NOT_JSON."""
    with contextlib.suppress(orjson.JSONDecodeError):
        return orjson.loads(line)
    try:   # orjson refuses lone surrogate escapes, which JSON.stringify can write
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def _walk(value) -> list[tuple[str, str]]:
    """(string, key context) for every key and string of a parsed document, as `_json_strings` sees them
    (a list built in one loop: a generator's resumption per string cost more than the strings' checks)."""
    out: list[tuple[str, str]] = []
    append = out.append
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                append((key, ""))
                if isinstance(child, str):
                    append((child, key))
                else:
                    stack.append(child)
        elif isinstance(item, list):
            for child in item:
                if isinstance(child, str):
                    append((child, ""))
                else:
                    stack.append(child)
        elif isinstance(item, str):
            append((item, ""))
    return out


def _token_count(raw: str | bytes) -> int:
    """String tokens in a JSON text (or its UTF-8 bytes), from its quotes; -1 when an escaped backslash
    makes that unsure."""
    if isinstance(raw, bytes):
        if b"\\\\" in raw:
            return -1
        return (raw.count(b'"') - raw.count(b'\\"')) // 2
    if "\\\\" in raw:
        return -1
    return (raw.count('"') - raw.count('\\"')) // 2


def _decode_string(raw: str) -> str:
    return json.loads(raw)


def _encode_string(value: str) -> str:
    """JSON-encode like JSON.stringify (UTF-8, no `\\/`), keeping lone surrogates as `\\uXXXX`."""
    encoded = json.dumps(value, ensure_ascii=False)
    if _LONE_SURROGATE.search(encoded):
        encoded = _LONE_SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group(0)), encoded)
    return encoded


def _raw_indexes(inner: str, decoded_indexes: list[int]) -> list[int]:
    """Position in the raw (escaped) string body of each character at `decoded_indexes` once decoded,
    in one pass over the string (a pass per hit was quadratic in a long string with many hits)."""
    if "\\" not in inner:
        return list(decoded_indexes)
    out: dict[int, int] = {}
    raw = dec = 0
    n = len(inner)
    for target in sorted(set(decoded_indexes)):
        raw, dec = _advance(inner, raw, dec, target, n)
        out[target] = raw
    return [out[i] for i in decoded_indexes]


def _advance(inner: str, raw: int, dec: int, decoded_index: int, n: int) -> tuple[int, int]:
    """Walk the raw string body from (raw, dec) until `decoded_index` decoded characters are behind."""
    while dec < decoded_index and raw < n:
        if inner[raw] == "\\":
            if inner[raw + 1:raw + 2] == "u":
                code = int(inner[raw + 2:raw + 6], 16)
                if 0xD800 <= code < 0xDC00 and inner[raw + 6:raw + 8] == "\\u":
                    low = int(inner[raw + 8:raw + 12], 16)
                    raw += 12 if 0xDC00 <= low < 0xE000 else 6
                else:
                    raw += 6
            else:
                raw += 2
        else:
            raw += 1
        dec += 1
    return raw, dec
