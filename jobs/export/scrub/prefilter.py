"""The raw-byte pass: which lines may hold something, and which rules could match there.

Why (docs/measured.md, "Scrub"): decoding and re-encoding every JSON line caps a scrubber near 57 MB/s, while
searching raw bytes runs at GB/s. So the raw bytes are searched first for every rule's trigger (its
keywords, or its prefilter regex), and only lines with a trigger are decoded and matched precisely.
A trigger is a superset of its rule: keywords are part of the token and JSON never escapes printable
ASCII, so a token that matches after decoding has its keyword in the raw line too.

Two implementations lead to the same findings: Hyperscan (one combined automaton for all triggers, and a
second, run only on the lines where a keyword asks for it, that confirms the keyword by the rule's whole
pattern or its prefilter regex) when its wheel is installed, and a pure-Python one (bytes.find per keyword,
stdlib `re` per prefilter) as the fallback, whose triggers are looser (no confirmation), so it decodes more
lines. Learned secrets have no trigger; their candidates are tokens of exactly a learned length,
fingerprinted on the spot.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol, Sequence

from jobs.export.scrub.hscache import Compile, compile_database
from jobs.export.scrub.rules import Rule
from jobs.export.scrub.text import LEARNED_LEAD, LEARNED_MAX_TRIM, LEARNED_TRAIL, learned_candidates

#: Pseudo rule indexes for the two triggers that are not rules of the file.
LEARNED = -1
SENSITIVE = -2

#: Added to a rule's index for "one of its required literals occurs" (raw_required).
_REQUIRED = 1 << 20

#: Bytes that end a token for learned-secret candidates (the coarse split of detect.py, on bytes).
_DELIMS = rb"\s\"'`<>(){}\[\],;\\"
_FINE_DELIMS = _DELIMS + rb"=:@/?&|"
#: Up to LEARNED_MAX_TRIM emphasis marks before and marks or sentence punctuation after a learned value.
_LEAD = rb"[%s]{0,%d}" % (re.escape(LEARNED_LEAD.encode()), LEARNED_MAX_TRIM)
_TRAIL = rb"[%s]{0,%d}" % (re.escape(LEARNED_TRAIL.encode()), LEARNED_MAX_TRIM)

LearnedCheck = Callable[[bytes], bool]

#: A run of base64 (or hex) characters at least this long is a blob: image data, a bundle, bytecode.
BLOB_RUN = 4096
#: Bytes kept at each end of a blob run; longer than what any trigger holds of base64 (test_blobs.py).
BLOB_EDGE = 256
#: What stands for a blob's interior: base64 characters, so the edges kept do not read as token ends.
BLOB_FILLER = b"+" * 8
_B64_MAP = bytes(ord("a") if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "+/") else ord(" ")
                 for b in range(256))


#: `\uXXXX` and `\/` are the JSON escapes that can spell a keyword differently in the raw bytes
#: (`sk\u002dant-…`, `op:\/\/…`, a learned value with non-ASCII written by an ensure_ascii writer).
#: Control characters (`\u001b` of coloured tool output) are left out: no trigger contains one.
ESCAPE = re.compile(rb"\\(?:u(?!00[01])|/)")
#: An escaped backslash: the line holds a string escaped twice (JSON inside a JSON string), whose
#: doubled escapes (`\\\"password\\\": …`) the raw-byte triggers were not written for.
NESTED_ESCAPE = re.compile(rb"\\\\")


#: `(?P<name>` of a Python pattern, which Hyperscan does not read: an unnamed group is the same test.
_NAMED_GROUP = re.compile(rb"\(\?P<[A-Za-z_][A-Za-z0-9_]*>")

#: The same two for Hyperscan, which has no look-ahead; their reports go to pseudo rule indexes.
_ESCAPED, _NESTED = -3, -4
_HS_ESCAPES = ((rb"\\(?:u(?:[^0]|0[^0]|00[^01])|/)", _ESCAPED), (rb"\\\\", _NESTED))


def escaped_lines(buf: bytes, escape: re.Pattern[bytes]) -> set[int]:
    """0-based numbers of the lines whose raw bytes hold such an escape."""
    lines: set[int] = set()
    line = counted = 0
    position = 0
    for m in escape.finditer(buf):
        if m.start() < position:
            continue
        line += buf.count(b"\n", counted, m.start())
        lines.add(line)
        end = buf.find(b"\n", m.start())
        if end < 0:
            break
        line += 1
        counted = position = end + 1
    return lines


@dataclass(frozen=True)
class Triggers:
    """What the pass found per line (0-based, lines with any): rule indexes (and LEARNED / SENSITIVE),
    and `_REQUIRED + index` where a required literal of that rule occurs (`raw_required`)."""

    found: dict[int, set[int]]
    needs_required: frozenset[int] = frozenset()
    escaped: frozenset[int] = frozenset()   # lines holding a `\uXXXX` or `\/` escape (ESCAPE)
    nested: frozenset[int] = frozenset()    # lines holding an escaped backslash (NESTED_ESCAPE)

    @property
    def by_line(self) -> dict[int, set[int]]:
        """Triggered rules per line, each line holding a rule's keyword and its required literal (a JSON line)."""
        return {n: triggered for n, found in self.found.items()
                if (triggered := _with_required(found, self.needs_required))}

    def union(self) -> set[int]:
        """Triggered rules of the whole buffer: in text a match may span lines, or sit on another line than
        the keyword that lets its rule run."""
        return _with_required(set().union(*self.found.values()), self.needs_required)


class Prefilter(Protocol):
    name: str

    def scan(self, buf: bytes, per_line: bool = True, lines: list[bytes] | None = None,
             confirm: bool = True) -> Triggers:
        """Triggers per line of `buf` and the lines holding escapes (or, `per_line=False`, of the buffer as
        a whole: only the union is used). `lines`: `buf.split(b"\\n")` when the caller has it already.
        `confirm=False`: a keyword is enough, no pattern confirms it (a text whose escapes were removed)."""


def newline_offsets(buf: bytes) -> list[int]:
    return [m.start() for m in re.finditer(b"\n", buf)]


def line_of(offsets: list[int], position: int) -> int:
    """0-based line of byte `position` given the offsets of every newline."""
    return bisect.bisect_left(offsets, position)


def blob_interiors(line: bytes) -> list[tuple[int, int]]:
    """(start, end) of the interior of every blob run in `line`: the run less BLOB_EDGE bytes at each end.

    Why (issue 20, throughput): a base64 screenshot or a hex dump is most of a transcript's bytes, and
    chance holds every short keyword and 32-character run somewhere in it, so each such line was decoded
    and matched in full. A trigger inside the interior cannot lead to a finding: a match that starts there
    has at least BLOB_EDGE base64 characters before it, which the detector refuses as part of a larger
    blob (`detect._inside_blob`) unless the match leads with a context (`KEY=`), and every context holds a
    character that is not base64. No trigger holds BLOB_EDGE base64 bytes in a row (a test holds it), so
    one that starts at the run's edges or outside it lies within what is kept. Found in linear time: the line is mapped to `a`
    (base64) and space once, then searched backwards for a space in windows of BLOB_RUN / 2 bytes; a run
    of BLOB_RUN bytes always holds a whole window."""
    if len(line) < BLOB_RUN:
        return []
    mapped = line.translate(_B64_MAP)
    window = BLOB_RUN // 2
    out: list[tuple[int, int]] = []
    n = len(mapped)
    i = 0
    while i + window <= n:
        space = mapped.rfind(b" ", i, i + window)
        if space != -1:
            i = space + 1
            continue
        end = mapped.find(b" ", i + window)
        end = n if end == -1 else end
        if end - i >= BLOB_RUN:
            out.append((i + BLOB_EDGE, end - BLOB_EDGE))
        i = end + 1
    return out


def without_blobs(line: bytes) -> bytes:
    """`line` with each blob interior replaced by BLOB_FILLER (its line count unchanged)."""
    interiors = blob_interiors(line)
    if not interiors:
        return line
    pieces = []
    last = 0
    for start, end in interiors:
        pieces.append(line[last:start])
        last = end
    pieces.append(line[last:])
    return BLOB_FILLER.join(pieces)


class PythonPrefilter:
    """bytes.find for keywords (skipping to the next line after a hit), stdlib regex for prefilters."""

    name = "python"

    def __init__(self, rules: Sequence[Rule], sensitive_items: Sequence[str], learned_lengths: frozenset[int],
                 learned_check: LearnedCheck) -> None:
        by_keyword: dict[bytes, set[int]] = {}
        self._regexes: list[tuple[re.Pattern[bytes], int]] = []
        for index, rule in enumerate(rules):
            if rule.prefilter:
                self._regexes.append((re.compile(rule.prefilter), index))
            else:
                for keyword in rule.keywords:
                    by_keyword.setdefault(keyword.encode(), set()).add(index)
            required = raw_required(rule)
            if required:
                self._regexes.append((re.compile(b"(?i)" + b"|".join(required)), _REQUIRED + index))
        self._needs_required = frozenset(i - _REQUIRED for _, i in self._regexes if i >= _REQUIRED)
        for item in sensitive_items:
            if item.strip():
                by_keyword.setdefault(item.strip().lower().encode(), set()).add(SENSITIVE)
        self._keywords = sorted(by_keyword.items())
        self._learned = [(re.compile(rb"(?<![^%s])%s[^%s]{%d}%s(?![^%s])" % (d, _LEAD, d, n, _TRAIL, d)), n)
                         for n in sorted(learned_lengths) for d in (_DELIMS, _FINE_DELIMS)]
        self._learned_check = learned_check

    def scan(self, buf: bytes, per_line: bool = True, lines: list[bytes] | None = None,
             confirm: bool = True) -> Triggers:
        """Regexes are searched in the whole buffer (they may span lines) whatever `per_line` says; no
        keyword is confirmed here, so `confirm` changes nothing."""
        original = buf
        escaped = frozenset(escaped_lines(buf, ESCAPE)) if per_line else frozenset()
        nested = frozenset(escaped_lines(buf, NESTED_ESCAPE)) if per_line else frozenset()
        if len(buf) >= BLOB_RUN:
            buf = b"\n".join(without_blobs(line) for line in buf.split(b"\n"))
        offsets = newline_offsets(buf)
        by_line: dict[int, set[int]] = {}
        lower = buf.lower()
        for keyword, indexes in self._keywords:
            pos = lower.find(keyword)
            while pos != -1:
                line = line_of(offsets, pos)
                by_line.setdefault(line, set()).update(indexes)
                if line >= len(offsets):
                    break
                pos = lower.find(keyword, offsets[line] + 1)
        for regex, index in self._regexes:
            m = regex.search(buf)
            while m is not None:
                line = line_of(offsets, m.start())
                by_line.setdefault(line, set()).add(index)
                if line >= len(offsets):
                    break
                m = regex.search(buf, offsets[line] + 1)
        if self._learned:
            buf = original   # a learned value is compared wherever it is, blobs included
            offsets = newline_offsets(buf)
        for regex, length in self._learned:
            for m in regex.finditer(buf):
                if _learned_in(m.group(0), length, self._learned_check):
                    by_line.setdefault(line_of(offsets, m.start()), set()).add(LEARNED)
        return Triggers(by_line, self._needs_required, escaped, nested)


class HyperscanPrefilter:
    """All triggers in one Hyperscan database, scanned once per line (one report per rule and line); then,
    on a line where one woke, the confirming database (the rules' patterns or prefilter regexes) and the
    required literals of the rules that need them."""

    name = "hyperscan"

    def __init__(self, rules: Sequence[Rule], sensitive_items: Sequence[str], learned_lengths: frozenset[int],
                 learned_check: LearnedCheck, compile_db: Compile = compile_database) -> None:
        import hyperscan

        expressions: list[bytes] = []
        flags: list[int] = []
        self._id_to_index: list[int] = []
        self._required: dict[int, _RequiredLiterals] = {}
        single = hyperscan.HS_FLAG_SINGLEMATCH
        confirm_patterns: list[bytes] = []
        confirm_flags: list[int] = []
        self._confirm_index: list[int] = []   # confirm pattern id -> rule index
        for index, rule in enumerate(rules):
            if rule.prefilter:
                pattern, caseless = _hyperscan_syntax(rule.prefilter)
                pattern_flags = single | (hyperscan.HS_FLAG_CASELESS if caseless else 0)
                if rule.keywords:
                    # its keywords here, its regex only on the lines holding one (scan): a regex that
                    # ends in common words (`key|token|secret`) costs Hyperscan those words everywhere
                    for keyword in rule.keywords:
                        expressions.append(re.escape(keyword.encode()))
                        flags.append(single | hyperscan.HS_FLAG_CASELESS)
                        self._id_to_index.append(index)
                    confirm_patterns.append(pattern)
                    confirm_flags.append(pattern_flags)
                    self._confirm_index.append(index)
                    continue
                expressions.append(pattern)
                flags.append(pattern_flags)
                self._id_to_index.append(index)
                continue
            for trigger in raw_needles(rule) or [re.escape(k.encode()) for k in rule.keywords]:
                expressions.append(trigger)
                flags.append(single | hyperscan.HS_FLAG_CASELESS)
                self._id_to_index.append(index)
            if rule.raw_exact and rule.keywords:
                # its keyword wakes on chance letters of any case (`acca`): the whole pattern, in prefilter
                # mode (look-arounds dropped), confirms it on the lines holding one (rules.py `raw_exact`)
                confirm_patterns.append(_NAMED_GROUP.sub(b"(", rule.pattern_text.encode()))
                confirm_flags.append(single | hyperscan.HS_FLAG_PREFILTER)
                self._confirm_index.append(index)
            required = raw_required(rule)
            if required:
                # looked for only where the rule's keyword occurs (scan): the required literals are the
                # commonest words of a transcript (`token`, `key`, `secret`), and in the database they
                # cost a quarter of its scanning time for the few lines that hold a keyword
                self._required[index] = _RequiredLiterals.of(required)
        self._needs_required: frozenset[int] = frozenset()   # scan applies the required literals itself
        for item in sensitive_items:
            if item.strip():
                expressions.append(re.escape(item.strip().encode()))
                flags.append(single | hyperscan.HS_FLAG_CASELESS)
                self._id_to_index.append(SENSITIVE)
        for expression, mark in _HS_ESCAPES:
            expressions.append(expression)
            flags.append(single)
            self._id_to_index.append(mark)
        self._db = compile_db("prefilter", expressions, flags)
        self._confirm_db = None
        if confirm_patterns:
            try:
                self._confirm_db = compile_db("confirm", confirm_patterns, confirm_flags)
            except hyperscan.error:
                # a pattern Hyperscan will not take even as a prefilter (a rules file of one's own): its rule
                # wakes on its keywords alone, as before; the others keep their confirmation
                kept = [i for i, (pattern, flag) in enumerate(zip(confirm_patterns, confirm_flags))
                        if _compiles(pattern, flag)]
                self._confirm_index = [self._confirm_index[i] for i in kept]
                if kept:
                    self._confirm_db = compile_db("confirm", [confirm_patterns[i] for i in kept],
                                                  [confirm_flags[i] for i in kept])
        self._confirm = frozenset(self._confirm_index)
        self._learned_db = None
        if learned_lengths:
            pairs = [(n, d) for n in sorted(learned_lengths) for d in (_DELIMS, _FINE_DELIMS)]
            learned = [b"(?:^|[%s])%s[^%s]{%d}%s(?:[%s]|$)" % (d, _LEAD, d, n, _TRAIL, d) for n, d in pairs]
            self._learned_length_by_id = [n for n, _ in pairs]
            self._learned_db = compile_db("learned", learned, [hyperscan.HS_FLAG_SOM_LEFTMOST] * len(learned))
            self._delims = frozenset(b for b in range(256) if re.match(b"[%s]" % _FINE_DELIMS, bytes([b])))
        self._learned_check = learned_check

    def scan(self, buf: bytes, per_line: bool = True, lines: list[bytes] | None = None,
             confirm: bool = True) -> Triggers:
        """`per_line=False` (a text, where only the union is used) scans the buffer whole, so a trigger
        may span lines (`key="DbPassword"` and `value=` of an XML element written over two); all of its
        triggers are then reported on line 0."""
        by_line: dict[int, set[int]] = {}
        id_to_index = self._id_to_index
        found: set[int] = set()
        on_match = lambda pattern_id, _start, _end, _flags, _ctx: found.add(id_to_index[pattern_id])  # noqa: E731
        scan = self._db.scan
        escaped: set[int] = set()
        nested: set[int] = set()
        required = self._required
        confirmed = self._confirm if confirm else frozenset()
        if per_line:
            pieces: Iterable[tuple[int, bytes]] = (
                (number, without_blobs(line) if len(line) >= BLOB_RUN else line)
                for number, line in enumerate(buf.split(b"\n") if lines is None else lines))
        else:
            pieces = [(0, b"\n".join(without_blobs(line) for line in buf.split(b"\n")) if len(buf) >= BLOB_RUN
                       else buf)]
        for number, scanned in pieces:
            scan(scanned, match_event_handler=on_match)
            if not found:
                continue
            if _ESCAPED in found:
                found.discard(_ESCAPED)
                if per_line:
                    escaped.add(number)
            if _NESTED in found:
                found.discard(_NESTED)
                if per_line:
                    nested.add(number)
            if not found.isdisjoint(required):
                _drop_unmet(found, required, scanned)
            if not found.isdisjoint(confirmed):
                self._drop_unconfirmed(found, scanned)
            if found:
                by_line[number] = set(found)
                found.clear()
        if self._learned_db is not None:
            offsets = newline_offsets(buf)
            hits: list[tuple[int, int, int]] = []
            self._learned_db.scan(buf, match_event_handler=lambda i, start, end, _f, _c: hits.append((i, start, end)))
            for pattern_id, start, end in hits:
                token = buf[start:end]
                if token and token[0] in self._delims:
                    token, start = token[1:], start + 1
                if token and token[-1] in self._delims:
                    token = token[:-1]
                if _learned_in(token, self._learned_length_by_id[pattern_id], self._learned_check):
                    by_line.setdefault(line_of(offsets, start), set()).add(LEARNED)
        return Triggers(by_line, self._needs_required, frozenset(escaped), frozenset(nested))

    def _drop_unconfirmed(self, found: set[int], text: bytes) -> None:
        """Remove from `found` each rule its keyword set off whose prefilter regex does not match in `text`."""
        matched: set[int] = set()
        ids = self._confirm_index
        self._confirm_db.scan(text, match_event_handler=lambda pattern_id, *_: matched.add(ids[pattern_id]))
        for index in [i for i in found if i in self._confirm and i not in matched]:
            found.discard(index)


def raw_needles(rule: Rule) -> list[bytes] | None:
    """The rule's anchor needles (rules.py `Anchor`) as raw-byte triggers, when each holds one of its
    keywords and all can be so written; else None (its keywords are the triggers).

    Why: a needle is what every match holds (`rk_live_`, `"auth"`), so it is rarer than a bare keyword
    (`rk_` is in `work_dir`, `auth` in `author`) and fewer lines are decoded. In raw JSON a needle's
    quote may be escaped (`\\"auth\\"`, deeper `\\\\\\"`) and `/` may be written `\\/`, so those become
    `\\*"`, `\\*/`, and a needle's own backslash (`\\"auth`) becomes `\\*` before what follows it;
    `\\uXXXX` escapes are caught by the decoded pass (engine.py). A needle with a control or a non-ASCII
    character keeps the keywords."""
    if rule.anchor is None or not rule.keywords or rule.prefilter:
        return None
    if not all(any(k in needle for k in rule.keywords) for needle, _, _ in rule.anchor.needles):
        return None   # needles not built on the keywords (`key`, `token`) would be commoner, not rarer
    out: set[bytes] = set()
    for needle, _, _ in rule.anchor.needles:
        raw = _raw_literal(needle)
        if raw is None:
            return None
        out.add(raw)
    return sorted(out)


def raw_required(rule: Rule) -> list[bytes] | None:
    """Raw-byte forms of the literals one of which every match of the rule holds (rules.py `required`),
    for a rule triggered by its keywords, when they are not those keywords; else None.

    Why: `aws-secret-access-key` runs on `secret`, which prose is full of, but every match also holds
    `aws` or `amazon`; a line must then hold both a keyword and one of these to be decoded. Written for
    raw JSON as needles are (`raw_needles`); a literal that cannot be so written drops the condition."""
    if not rule.required or not rule.keywords or rule.prefilter or raw_needles(rule) is not None \
            or set(rule.required) <= set(rule.keywords) \
            or all(any(literal in keyword for literal in rule.required) for keyword in rule.keywords):
        return None   # every keyword holds a required literal (`password=` holds `password`): implied
    out: set[bytes] = set()
    for literal in rule.required:
        raw = _raw_literal(literal)
        if raw is None:
            return None
        out.add(raw)
    return sorted(out)


def _raw_literal(literal: str) -> bytes | None:
    """`literal` as a regex on raw JSON bytes (see `raw_needles`), or None when it cannot be so written."""
    if not literal.isascii() or not literal.isprintable() or literal.endswith("\\"):
        return None
    if "\\" not in literal and '"' not in literal and "/" not in literal:
        return re.escape(literal).encode()   # most needles: the same as escaping them character by character
    parts = []
    after_backslash = False
    for char in literal:
        if char == "\\":   # written `\\` in raw JSON: any run of backslashes before the next character
            after_backslash = True
            continue
        escaped = re.escape(char)
        parts.append("\\\\*" + escaped if after_backslash or char in "\"/" else escaped)
        after_backslash = False
    return "".join(parts).encode()


@dataclass(frozen=True)
class _RequiredLiterals:
    """A rule's required literals (`raw_required`), as lower-case bytes when every one is a plain word
    (found with `in`, as written first and then on the lowered line: several times faster than a
    case-insensitive regex), else as one regex."""

    words: tuple[bytes, ...]
    regex: re.Pattern[bytes] | None

    @classmethod
    def of(cls, required: list[bytes]) -> _RequiredLiterals:
        words = []
        for literal in required:
            word = re.sub(rb"\\(.)", rb"\1", literal)   # re.escape undone
            if re.fullmatch(rb"[A-Za-z0-9 _-]+", word) is None or re.escape(word) != literal:
                return cls((), re.compile(b"(?i)" + b"|".join(required)))
            words.append(word.lower())
        kept: list[bytes] = []
        for word in sorted(set(words), key=len):   # `token` occurs wherever `access token` does
            if not any(shorter in word for shorter in kept):
                kept.append(word)
        return cls(tuple(kept), None)

    def occur_in(self, text: bytes, lowered: Callable[[], bytes]) -> bool:
        """`lowered()`: `text` in lower case, made once per line and only when a word is not found as
        written (a minified bundle's line is half a megabyte)."""
        if self.regex is not None:
            return self.regex.search(text) is not None
        for word in self.words:
            if word in text:
                return True
        low = lowered()
        for word in self.words:
            if word in low:
                return True
        return False


def _drop_unmet(found: set[int], required: dict[int, _RequiredLiterals], text: bytes) -> None:
    """Remove from `found` each rule whose required literals do not occur in `text`."""
    made: list[bytes] = []

    def lowered() -> bytes:
        if not made:
            made.append(text.lower())
        return made[0]

    for index in [i for i in found if i in required]:
        if not required[index].occur_in(text, lowered):
            found.discard(index)


def _with_required(found: set[int], needs_required: frozenset[int]) -> set[int]:
    """The triggered rules of a line, less those that also need a required literal the line lacks."""
    present = {i - _REQUIRED for i in found if i >= _REQUIRED}
    return {i for i in found if i < _REQUIRED and (i not in needs_required or i in present)}


def _learned_in(token: bytes, length: int, check: LearnedCheck) -> bool:
    """Whether `token`, or what is left of it with prose marks trimmed, is a learned value."""
    return any(check(token[lead:len(token) - trail]) for lead, trail in learned_candidates(token, length))


def _hyperscan_syntax(pattern: bytes) -> tuple[bytes, bool]:
    """Hyperscan takes `(?i)` only as a flag; drop a leading one and report it."""
    if pattern.startswith(b"(?i)"):
        return pattern[4:], True
    return pattern, False


def _compiles(pattern: bytes, flags: int) -> bool:
    import hyperscan

    try:
        compile_database("probe", [pattern], [flags])
    except hyperscan.error:
        return False
    return True


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def build_prefilter(choice: str, rules: Sequence[Rule], sensitive_items: Sequence[str],
                    learned_lengths: frozenset[int], learned_check: LearnedCheck,
                    compile_db: Compile = compile_database) -> Prefilter:
    """`auto` takes Hyperscan when installed, else Python; `hyperscan` or `python` force one."""
    if choice == "hyperscan" or (choice == "auto" and hyperscan_available()):
        return HyperscanPrefilter(rules, sensitive_items, learned_lengths, learned_check, compile_db)
    return PythonPrefilter(rules, sensitive_items, learned_lengths, learned_check)
