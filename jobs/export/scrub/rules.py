r"""The scrub ruleset: one versioned data file (`scrub-rules.json`), loaded into typed, compiled rules.

Why a data file and not code: seed 000 §5 has code.platform patch the ruleset within 24 hours of a
miss, and §6 asks that every report name the ruleset it ran. A JSON file with a `version` is reviewable
in a PR diff, is shipped as package data, and can be replaced by config (`[scrub] rules_file`).

Each rule: `id`, `description`, `kind` (what the match means), `pattern` (Python regex applied to
decoded text; the value is group `secret` when present, else the whole match), `keywords` (lower-case
literals; at least one must occur for the rule to run), `prefilter` (a regex on raw bytes: the trigger
of a rule whose tokens have no literal prefix; beside keywords, a stricter trigger than the keywords alone,
holding one of them and what every match holds around it, tried only on the lines holding a keyword;
written for raw JSON, so a quote may be escaped and a space may be a `\n` escape), `entropy` (Shannon bits per character the value must reach) and
`allowlist` (regexes: a value matching one is kept and reported as allowlisted).

Linear time (issue 20): a pattern whose value is its `secret` group may start with an unbounded run of a
character class, optionally behind a look-behind that the class covers (`(?<![A-Za-z0-9])[\w.-]*`). That
prefix can only stretch the match to the left of the keyword; it never changes the `secret` span, but in
Python's backtracking engine it makes every start inside a long word rescan the word, which is quadratic
in a base64 or hex run holding a keyword. It is therefore dropped when the rule is loaded (`pattern_source`
keeps what the file says). Any other pattern that starts with an unbounded repeat is refused: nothing in
the file may make a scan super-linear. The detector additionally runs every pattern on bounded windows
(detect.py), which bounds the work per character whatever the pattern.

Start-up (issue 20, throughput): parsing and analysing ~250 regexes costs about as much as scanning
several megabytes, and most rules never run in a given scan. So a rule's regexes are compiled on first
use (`Rule.pattern`, `Rule.allowlist`), and the analysis (linear form, anchor, required literals, width)
is kept between runs in a signed cache file (hscache.py `SignedCache`) named after a digest of the rules
file and of this module; a file that is not in the cache is validated and analysed in full, as before.

The optional `changes` list says what each version added and changed (newest first), so the quarterly
ruleset review (seed 000 §5) reads it with `chatops scrub rules --changes` instead of diffing JSON.
"""
from __future__ import annotations

import functools
import json
import re
import re._constants as sre_constants
import re._parser as sre_parse   # the stdlib's own parser: the one `re` compiles with
import sys
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any
from jobs.errors import Invalid
from jobs.export.scrub.hscache import SignedCache, digest_of

PACKAGED_RULES = "scrub-rules.json"


class RuleKind(StrEnum):
    SECRET = "secret"        # a credential: removed
    ENTROPY = "entropy"      # the broad detector: a long random token with no known prefix; removed
    EMAIL = "email"          # removed unless in the approved set
    IP = "ip"                # removed unless in an internal range
    INDIRECT = "indirect"    # describes or names a credential without its value: reported, kept


class RulesError(Invalid):
    """A ruleset file that cannot be used, worded with the rule and the fix."""


@dataclass(frozen=True)
class Anchor:
    """Where a match can start relative to a literal it must contain (a `needle`): the needle begins
    `offset`..`offset_max` characters into a run of literal items, which begins at most `before`
    characters after the match start; the match ends at most `run` + `after` (None: unbounded) past the
    run's start. Lets the detector try a rule only where it can match, however long the text."""

    needles: tuple[tuple[str, int, int], ...]   # (lower-case literal, offset in the run, largest offset)
    before: int
    run: int
    after: int | None


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    kind: RuleKind
    pattern_text: str                 # the pattern as matched: `linear_form` of `pattern_source`
    keywords: tuple[str, ...]
    prefilter: bytes | None
    entropy: float
    allowlist_text: tuple[str, ...] = ()
    pattern_source: str = ""
    anchor: Anchor | None = None      # every match holds a keyword, this near it (see `anchor_of`)
    required: tuple[str, ...] = ()    # every match holds one of these literals (see `required_of`)
    width: tuple[int, int | None] = (0, None)   # shortest and longest match (None: unbounded)
    raw_exact: bool = False           # matches raw JSON bytes as it matches decoded text (see `raw_exact`)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Compiled on first use: most rules never run in a given scan (validated when loaded)."""
        return re.compile(self.pattern_text)

    @cached_property
    def allowlist(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(a) for a in self.allowlist_text)

    @property
    def raw_triggers(self) -> tuple[str, ...]:
        """What the raw-byte pass looks for: the keywords, then the prefilter regex where one occurs (or the
        regex alone for a rule without keywords)."""
        return self.keywords + ((self.prefilter.decode(),) if self.prefilter else ())


@dataclass(frozen=True)
class Analysis:
    """What loading learns from a rule's regex, kept between runs (the module docstring)."""

    pattern_text: str
    anchor: Anchor | None
    required: tuple[str, ...]
    width: tuple[int, int | None]
    raw_exact: bool

    def to_json(self) -> list:
        anchor = None if self.anchor is None else [[list(n) for n in self.anchor.needles], self.anchor.before,
                                                   self.anchor.run, self.anchor.after]
        return [self.pattern_text, anchor, list(self.required), list(self.width), self.raw_exact]

    @classmethod
    def from_json(cls, raw: list) -> Analysis:
        text, anchor, required, width, exact = raw
        return cls(text, None if anchor is None else Anchor(tuple((n, a, b) for n, a, b in anchor[0]), *anchor[1:]),
                   tuple(required), (width[0], width[1]), bool(exact))


@dataclass(frozen=True)
class RuleChange:
    """One rule a version changed, and why."""

    id: str
    why: str


@dataclass(frozen=True)
class VersionChanges:
    """What one ruleset version added and changed."""

    version: str
    date: str
    summary: str
    added: tuple[str, ...]
    changed: tuple[RuleChange, ...]


@dataclass(frozen=True)
class RuleSet:
    version: str
    source: str
    rules: tuple[Rule, ...]
    changes: tuple[VersionChanges, ...] = ()

    def by_id(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{1,60}$")


def load_rules(path: Path | None = None, cache: SignedCache | None = None) -> RuleSet:
    """The packaged ruleset, or the file at `path` (config `[scrub] rules_file`); `cache` keeps the
    analysis of each rule between runs (the module docstring)."""
    if path is None:
        # beside this module, as pip installs it; not through importlib.resources, whose import (tempfile,
        # zipfile) every `scrub check` would pay at start-up (README, "Start-up")
        text = Path(__file__).with_name(PACKAGED_RULES).read_text(encoding="utf-8")
        source = f"packaged {PACKAGED_RULES}"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesError(f"scrub rules file {path} cannot be read ({exc}); fix [scrub] rules_file "
                             "or leave it empty for the packaged ruleset") from None
        source = str(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RulesError(f"scrub rules file {source} is not valid JSON: {exc}") from None
    if cache is None:
        return parse_rules(document, source)
    digest = digest_of(text.encode("utf-8"), Path(__file__).read_bytes(), sys.version.encode())
    analyses = _cached_analyses(cache.load("rules", digest, "json"))
    if analyses is not None and isinstance(document, dict) and len(analyses) == len(document.get("rules") or ()):
        return parse_rules(document, source, analyses)
    ruleset = parse_rules(document, source)
    body = [Analysis(r.pattern_text, r.anchor, r.required, r.width, r.raw_exact).to_json() for r in ruleset.rules]
    cache.store("rules", digest, "json", json.dumps(body).encode())
    return ruleset


def _cached_analyses(stored: bytes | None) -> list[Analysis] | None:
    """The stored analyses, or None when there are none or they do not read (then all is analysed afresh)."""
    if stored is None:
        return None
    try:
        return [Analysis.from_json(raw) for raw in json.loads(stored)]
    except (ValueError, TypeError, IndexError):
        return None


def parse_rules(document: Any, source: str, analyses: list[Analysis] | None = None) -> RuleSet:
    """Validate and load; with `analyses` (from the cache, made from this very file by this module) the
    regexes are neither parsed nor compiled here."""
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RulesError(f"{source}: expected an object with \"version\" and a \"rules\" list")
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise RulesError(f"{source}: \"version\" missing; every report names it, so set one such as \"2026.05.1\"")
    rules = tuple(_parse_rule(raw, index, source, analyses[index] if analyses is not None else None)
                  for index, raw in enumerate(document["rules"]))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RulesError(f"{source}: rule id {rule.id!r} appears twice; ids must be unique")
        seen.add(rule.id)
    return RuleSet(version=version, source=source, rules=rules,
                   changes=_parse_changes(document.get("changes", []), source))


def _parse_changes(raw: Any, source: str) -> tuple[VersionChanges, ...]:
    if not isinstance(raw, list):
        raise RulesError(f"{source}: \"changes\" must be a list of {{version, date, summary, added, changed}}")
    out = []
    for index, entry in enumerate(raw):
        where = f"{source}: changes #{index + 1}"
        if not isinstance(entry, dict) or not isinstance(entry.get("version"), str):
            raise RulesError(f"{where}: expected an object with a \"version\"")
        added = entry.get("added", [])
        changed = entry.get("changed", [])
        if not isinstance(added, list) or not all(isinstance(a, str) for a in added):
            raise RulesError(f"{where}: \"added\" must be a list of rule ids")
        if not isinstance(changed, list) or not all(isinstance(c, dict) and isinstance(c.get("id"), str)
                                                    for c in changed):
            raise RulesError(f"{where}: \"changed\" must be a list of {{id, why}}")
        out.append(VersionChanges(entry["version"], str(entry.get("date", "")), str(entry.get("summary", "")),
                                  tuple(added), tuple(RuleChange(c["id"], str(c.get("why", ""))) for c in changed)))
    return tuple(out)


def _parse_rule(raw: Any, index: int, source: str, analysis: Analysis | None = None) -> Rule:
    where = f"{source}: rule #{index + 1}"
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: expected an object")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise RulesError(f"{where}: id {rule_id!r} must be lower-case letters, digits, '.' or '-'")
    where = f"{source}: rule {rule_id}"
    try:
        kind = RuleKind(raw.get("kind", "secret"))
    except ValueError:
        raise RulesError(f"{where}: kind {raw.get('kind')!r}; expected one of "
                         + ", ".join(k.value for k in RuleKind)) from None
    source_pattern = raw.get("pattern")
    if not isinstance(source_pattern, str) or not source_pattern:
        raise RulesError(f"{where}: pattern missing")
    if analysis is None:
        pattern_text = linear_form(source_pattern, where)
        _compile(pattern_text, where, "pattern")
    keywords = raw.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
        raise RulesError(f"{where}: keywords must be a list of non-empty strings")
    if any(k != k.lower() for k in keywords):
        raise RulesError(f"{where}: keywords must be lower case (they are matched case-insensitively)")
    prefilter = raw.get("prefilter")
    if prefilter is not None:
        if not isinstance(prefilter, str):
            raise RulesError(f"{where}: prefilter must be a regex string")
        if analysis is None:
            try:
                re.compile(prefilter.encode())
            except re.error as exc:
                raise RulesError(f"{where}: prefilter is not a valid regex: {exc}") from None
    if not keywords and not prefilter:
        raise RulesError(f"{where}: give keywords or a prefilter, or the rule could never run")
    entropy = raw.get("entropy", 0.0)
    if isinstance(entropy, bool) or not isinstance(entropy, (int, float)) or not 0 <= entropy <= 8:
        raise RulesError(f"{where}: entropy {entropy!r}; expected bits per character between 0 and 8")
    allow = raw.get("allowlist", [])
    if not isinstance(allow, list):
        raise RulesError(f"{where}: allowlist must be a list of regexes")
    if analysis is None:
        for entry in allow:
            _compile(entry, where, "allowlist entry")
        parsed = sre_parse.parse(pattern_text)
        analysis = Analysis(pattern_text, anchor_of(parsed, tuple(keywords)), required_of(parsed, tuple(keywords)),
                            _width(parsed), raw_exact(parsed))
    return Rule(
        id=rule_id,
        description=str(raw.get("description", "")),
        kind=kind,
        pattern_text=analysis.pattern_text,
        keywords=tuple(keywords),
        prefilter=prefilter.encode() if prefilter else None,
        entropy=float(entropy),
        allowlist_text=tuple(allow),
        pattern_source=source_pattern,
        anchor=analysis.anchor,
        required=analysis.required,
        width=analysis.width,
        raw_exact=analysis.raw_exact,
    )


#: Characters JSON never escapes (save by `\\uXXXX`, which the decoded pass sees through) that a match may hold
#: and still read the same in a line's raw bytes: no quote, backslash, slash, space or control character.
_RAW_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.+=:@~!*$%&#,;|?^<>[](){}'")


def raw_exact(parsed) -> bool:
    """Whether the pattern matches a line's raw JSON bytes wherever it matches the decoded strings, look-
    arounds aside: case-sensitive, with no anchor or word boundary, and every character it can match outside
    a look-around one JSON writes as itself (`_RAW_SAFE`; not `\\w`, which holds non-ASCII letters).

    Why (issue 20, throughput): such a rule's keyword, matched case-insensitively, wakes on chance letters
    (`acca` of `aws-access-key-id` in prose and base64); its whole pattern, tried by Hyperscan in prefilter
    mode (look-arounds dropped: a superset) on the lines holding the keyword, wakes only where it could
    match."""
    if parsed.state.flags & re.IGNORECASE:
        return False
    return _raw_safe_items(parsed)


def _raw_safe_items(items) -> bool:
    for op, av in items:
        if op is sre_constants.LITERAL:
            if av not in _RAW_SAFE:
                return False
        elif op is sre_constants.IN:
            for kind, value in av:
                if kind is sre_constants.LITERAL:
                    if value not in _RAW_SAFE:
                        return False
                elif kind is sre_constants.RANGE:
                    if not all(c in _RAW_SAFE for c in range(value[0], value[1] + 1)):
                        return False
                elif kind is sre_constants.CATEGORY and value is sre_constants.CATEGORY_DIGIT:
                    continue
                else:
                    return False   # a negated class, `\\w`, `\\s`: may match what JSON escapes or non-ASCII
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            if not _raw_safe_items(av[2]):
                return False
        elif op is sre_constants.SUBPATTERN:
            if av[1] or av[2] or not _raw_safe_items(av[3]):   # inline flags on a group: not taken
                return False
        elif op is sre_constants.BRANCH:
            if not all(_raw_safe_items(branch) for branch in av[1]):
                return False
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            continue   # dropped in Hyperscan's prefilter mode
        else:
            return False   # `.`, anchors, `\\b`, back-references, anything else
    return True


_UNBOUNDED = 1 << 30
_MAX_STRINGS = 256


def anchor_of(parsed, keywords: tuple[str, ...]) -> Anchor | None:
    """The anchor when the pattern has a run of literal items every spelling of which holds a needle:
    a keyword, or else a literal of at least 3 characters of the spelling itself.

    Found on the parsed pattern (`re._parser`): a character class stands for a wildcard that never
    spells part of a needle, so the answer is conservative: None whenever it cannot be shown."""
    return _literal_run(parsed, keywords, bounded_start=True)


def required_of(parsed, keywords: tuple[str, ...]) -> tuple[str, ...]:
    """Literals one of which every match holds, wherever it starts (empty when none can be shown):
    a text holding none of them cannot match, so the rule is not run on it."""
    found = _literal_run(parsed, keywords, bounded_start=False)
    return tuple(n for n, _, _ in found.needles) if found is not None else ()


def _literal_run(items, keywords: tuple[str, ...], bounded_start: bool) -> Anchor | None:
    for i in range(len(items)):
        before = _width(items[:i])[1]
        if before is None:
            if bounded_start:
                return None
            before = _UNBOUNDED
        strings = {""}
        runs: list[tuple[int, set[str]]] = []
        for j in range(i, len(items)):
            spelled = _spellings(items[j])
            if spelled is None:
                break
            strings = {a + b for a in strings for b in spelled}
            if len(strings) > _MAX_STRINGS:
                break
            runs.append((j, strings))
        for j, strings in reversed(runs):   # the longest run from here: the rarest needles
            needles = _needles(strings, keywords)
            if needles is not None:
                return Anchor(needles, before, max(len(s) for s in strings), _width(items[j + 1:])[1])
    return None


def _needles(strings: set[str], keywords: tuple[str, ...]) -> tuple[tuple[str, int, int], ...] | None:
    """The literals to look for: segments of the spellings themselves (when each has one of at least
    3 characters), or the keywords when every spelling holds one; of the two, the rarer (the one whose
    shortest literal is longer: `"auth"` rather than `auth`)."""
    by_keyword = None
    if keywords and all(any(k in s for k in keywords) for s in strings):
        run = max(len(s) for s in strings)
        by_keyword = tuple((k, 0, run - len(k)) for k in keywords)
    spelled: set[tuple[str, int, int]] | None = set()
    for s in strings:
        segment = max(s.split("\0"), key=len)
        if len(segment) < 3:
            spelled = None
            break
        offset = s.index(segment)
        spelled.add((segment, offset, offset))
    if spelled is None:
        return by_keyword
    if by_keyword is None or min(len(n) for n, _, _ in spelled) > min(len(k) for k in keywords):
        return tuple(sorted(spelled))
    return by_keyword


def _width(items) -> tuple[int, int | None]:
    low, high = items.getwidth()
    return low, (high if high < _UNBOUNDED else None)


def _spellings(item) -> set[str] | None:
    """Lower-cased strings one parsed item can match ("\0" for a character no keyword holds), or None."""
    op, av = item
    name = str(op)
    if name == "LITERAL":
        return {chr(av).lower()}
    if name in ("ASSERT", "ASSERT_NOT", "AT"):
        return {""}
    if name in ("IN", "NOT_LITERAL", "ANY", "CATEGORY"):
        if name == "IN" and all(str(o) == "LITERAL" for o, _ in av) and len(av) <= 8:
            return {chr(v).lower() for _, v in av}
        return {"\0"}
    if name == "SUBPATTERN":
        return _sequence_spellings(av[3])
    if name in ("MAX_REPEAT", "MIN_REPEAT") and av[1] <= 2:   # `x?`, `x{1,2}`: spelled out
        once = _sequence_spellings(av[2])
        if once is None:
            return None
        out = {""} if av[0] == 0 else set()
        for count in range(max(av[0], 1), av[1] + 1):
            out |= {"".join(p) for p in _products(once, count)}
        return out if len(out) <= _MAX_STRINGS else None
    if name == "BRANCH":
        out: set[str] = set()
        for branch in av[1]:
            spelled = _sequence_spellings(branch)
            if spelled is None:
                return None
            out |= spelled
        return out if len(out) <= _MAX_STRINGS else None
    return None


def _products(strings: set[str], count: int) -> list[tuple[str, ...]]:
    import itertools

    return list(itertools.product(sorted(strings), repeat=count))


def _sequence_spellings(items) -> set[str] | None:
    strings = {""}
    for item in items:
        spelled = _spellings(item)
        if spelled is None:
            return None
        strings = {a + b for a in strings for b in spelled}
        if len(strings) > _MAX_STRINGS:
            return None
    return strings


@functools.cache
def _shapes() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The three regexes `linear_form` reads a pattern's start with, compiled on first use: a run whose
    rules' analysis is in the cache never analyses a pattern, and their compilation is start-up time.

    In order: inline flags, an optional negative look-behind of one class, then `[class]*` or
    `[class]+` at the start; any unbounded repeat at the start; and `(?<![class])literal…`
    (case-sensitive), rewritten as `literal(?<![class]literal)…`, the same test, so that the regex
    engine can skip ahead to the literal instead of testing the look-behind at every character."""
    return (re.compile(r"^(?P<flags>\(\?[aiLmsux]+\))?(?P<behind>\(\?<!(?P<avoid>\[(?:\\.|[^\]\\])*\])\))?"
                       r"(?P<run>\[(?:\\.|[^\]\\])*\]|\\[wS])\*"),
            re.compile(r"^(?:\(\?[aiLmsux]+\))?(?:\(\?<[!=](?:\\.|[^)\\])*\))*"
                       r"(?:\[(?:\\.|[^\]\\])*\]|\\.|\.)(?:\*|\+|\{\d*,\})"),
            re.compile(r"^\(\?<!(?P<avoid>\[(?:\\.|[^\]\\])*\])\)(?P<literal>(?:[A-Za-z0-9_~-]|\\\.)+)"))


#: Characters a class is compared on: ASCII, Latin-1 and a sample of other scripts.
_PROBE = [chr(c) for c in range(0x250)] + ["\u0416", "\u03b1", "\u4e2d", "\u00e9", "\u2028", "\u3000"]


def linear_form(pattern: str, where: str = "pattern") -> str:
    """`pattern` with a redundant leading `[class]*` (and the look-behind it covers) removed.

    Kept only when the rule's value is its `secret` group (the prefix then never changes what is
    removed). A pattern that still starts with an unbounded repeat is refused with the fix."""
    leading_run, unbounded_start, guarded_literal = _shapes()
    m = leading_run.match(pattern)
    if m is not None and "(?P<secret>" in pattern:
        flags = m.group("flags") or ""
        run = re.compile(flags + m.group("run"))
        avoid = re.compile(flags + m.group("avoid")) if m.group("behind") else None
        if avoid is None or all(run.fullmatch(c) for c in _PROBE if avoid.fullmatch(c)):
            return flags + pattern[m.end():]
    m = guarded_literal.match(pattern)
    if m is not None:
        literal = m.group("literal")
        if re.match(r"[*+?{]", pattern[m.end():]):
            literal = literal[:-2] if literal.endswith("\\.", 0, len(literal)) and literal[-2:-1] == "\\" \
                else literal[:-1]
        if literal and not literal.endswith("\\"):
            rest = pattern[m.start("literal") + len(literal):]
            return f"{literal}(?<!{m.group('avoid')}{literal}){rest}"
    if unbounded_start.match(pattern):
        raise RulesError(f"{where}: pattern starts with an unbounded repeat, which rescans every long word "
                         "(quadratic time); start it with the keyword or a bounded repeat such as {0,40}")
    return pattern


def _compile(value: Any, where: str, what: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise RulesError(f"{where}: {what} missing")
    try:
        return re.compile(value)
    except re.error as exc:
        raise RulesError(f"{where}: {what} is not a valid regex: {exc}") from None
