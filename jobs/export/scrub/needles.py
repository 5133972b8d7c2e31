"""Which of each rule's keywords and needles occur in one decoded string, found in a single pass.

Why: the detector gates each rule on its keywords and tries anchored rules only next to their needles
(rules.py `Anchor`). Done with `str.find`, that is one scan of the string per keyword and needle of
every rule the line triggered, which on a 600 KB base64 image costs more than the JSON floor. One
Hyperscan database of all of them (one report per literal and string) says which occur; `str.find`
then runs only for those. Without Hyperscan every literal is looked for with `str.find`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from jobs.export.scrub.rules import Rule


@dataclass(frozen=True)
class Found:
    """Rules whose keyword occurs, and per rule the numbers of its needles that occur."""

    keywords: frozenset[int]
    needles: dict[int, set[int]]


class NeedleIndex:
    def __init__(self, rules: Sequence[Rule]) -> None:
        import hyperscan

        expressions: list[bytes] = []
        flags: list[int] = []
        self._what: list[tuple[int, int, int]] = []   # (rule index, needle number or -1 for keyword, length)
        for index, rule in enumerate(rules):
            for keyword in rule.keywords:
                expressions.append(re.escape(keyword.encode()))
                flags.append(hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH)
                self._what.append((index, -1, len(keyword)))
            if rule.anchor is not None:
                for number, (needle, _, _) in enumerate(rule.anchor.needles):
                    expressions.append(re.escape(needle.encode()))
                    flags.append(hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH)
                    self._what.append((index, number, len(needle)))
        self._db = hyperscan.Database()
        self._db.compile(expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions),
                         flags=flags)

    def scan(self, text: str) -> Found:
        """What occurs in `text` (matched on its UTF-8 bytes, case-insensitively like the keywords)."""
        keywords: set[int] = set()
        needles: dict[int, set[int]] = {}
        what = self._what

        def on_match(pattern_id: int, _start: int, _end: int, _flags: int, _context) -> None:
            index, number, _ = what[pattern_id]
            if number < 0:
                keywords.add(index)
            else:
                needles.setdefault(index, set()).add(number)

        self._db.scan(text.encode("utf-8", "surrogatepass"), match_event_handler=on_match)
        return Found(frozenset(keywords), needles)


def build_needle_index(rules: Sequence[Rule]) -> NeedleIndex | None:
    try:
        return NeedleIndex(rules)
    except ImportError:
        return None
