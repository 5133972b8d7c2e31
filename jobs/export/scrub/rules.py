"""The scrub ruleset: one versioned data file (`scrub-rules.json`), loaded into typed, compiled rules.

Why a data file and not code: seed 000 §5 has code.platform patch the ruleset within 24 hours of a
miss, and §6 asks that every report name the ruleset it ran. A JSON file with a `version` is reviewable
in a PR diff, is shipped as package data, and can be replaced by config (`[scrub] rules_file`).

Each rule: `id`, `description`, `kind` (what the match means), `pattern` (Python regex applied to
decoded text; the value is group `secret` when present, else the whole match), `keywords` (lower-case
literals; at least one must occur for the rule to run), `prefilter` (a regex on raw bytes for rules
whose tokens have no literal prefix), `entropy` (Shannon bits per character the value must reach) and
`allowlist` (regexes: a value matching one is kept and reported as allowlisted).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any
from jobs.errors import Invalid

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
class Rule:
    id: str
    description: str
    kind: RuleKind
    pattern: re.Pattern[str]
    keywords: tuple[str, ...]
    prefilter: bytes | None
    entropy: float
    allowlist: tuple[re.Pattern[str], ...]

    @property
    def raw_triggers(self) -> tuple[str, ...]:
        """What the raw-byte pass looks for: the keywords, or the prefilter regex."""
        return self.keywords or ((self.prefilter or b"").decode(),)


@dataclass(frozen=True)
class RuleSet:
    version: str
    source: str
    rules: tuple[Rule, ...]

    def by_id(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{1,60}$")


def load_rules(path: Path | None = None) -> RuleSet:
    """The packaged ruleset, or the file at `path` (config `[scrub] rules_file`)."""
    if path is None:
        text = resources.files("jobs.export.scrub").joinpath(PACKAGED_RULES).read_text(encoding="utf-8")
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
    return parse_rules(document, source)


def parse_rules(document: Any, source: str) -> RuleSet:
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RulesError(f"{source}: expected an object with \"version\" and a \"rules\" list")
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise RulesError(f"{source}: \"version\" missing; every report names it, so set one such as \"2026.05.1\"")
    rules = tuple(_parse_rule(raw, index, source) for index, raw in enumerate(document["rules"]))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RulesError(f"{source}: rule id {rule.id!r} appears twice; ids must be unique")
        seen.add(rule.id)
    return RuleSet(version=version, source=source, rules=rules)


def _parse_rule(raw: Any, index: int, source: str) -> Rule:
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
    pattern = _compile(raw.get("pattern"), where, "pattern")
    keywords = raw.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
        raise RulesError(f"{where}: keywords must be a list of non-empty strings")
    if any(k != k.lower() for k in keywords):
        raise RulesError(f"{where}: keywords must be lower case (they are matched case-insensitively)")
    prefilter = raw.get("prefilter")
    if prefilter is not None:
        if not isinstance(prefilter, str):
            raise RulesError(f"{where}: prefilter must be a regex string")
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
    return Rule(
        id=rule_id,
        description=str(raw.get("description", "")),
        kind=kind,
        pattern=pattern,
        keywords=tuple(keywords),
        prefilter=prefilter.encode() if prefilter else None,
        entropy=float(entropy),
        allowlist=tuple(_compile(a, where, "allowlist entry") for a in allow),
    )


def _compile(value: Any, where: str, what: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise RulesError(f"{where}: {what} missing")
    try:
        return re.compile(value)
    except re.error as exc:
        raise RulesError(f"{where}: {what} is not a valid regex: {exc}") from None
