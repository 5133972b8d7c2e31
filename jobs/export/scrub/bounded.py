"""Run a rule's regex so that its work grows linearly with the text, whatever the pattern.

Why: Python's `re` backtracks. A pattern that fails after an unbounded repeat rescans the run it
repeated over from every start inside it, so one long base64, hex or minified line can cost the square
of its length (issue 20: a 40,000-character hex run with "okta" in it took 13 s). Load-time rewriting
(rules.py `linear_form`) removes the shape that did it; this module makes the bound hold for any
pattern the rules file may hold.

How: a text longer than one window is searched in windows of `STRIDE + OVERLAP` characters whose
starts advance by at least `STRIDE`. A match is taken from the window where it starts; it is seen
whole when it is at most `OVERLAP` long (a PEM block of an 8192-bit key is ~6.5 KB), and a longer one
is reported up to the window's end (secret values are then widened to their whole token by the
detector). Each character is therefore handed to the regex at most `(STRIDE + OVERLAP) / STRIDE` = 2
times, and the regex's work inside one window is bounded by a constant that depends on the pattern and
the window size, not on the text: the total is linear by construction. `Work` counts the characters so
handed, so tests can assert the bound without a clock.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

STRIDE = 64 * 1024
OVERLAP = 16 * 1024


@dataclass
class Work:
    """Characters handed to regex searches during one file's pass (a per-run counter, never shared)."""

    chars: int = 0
    searches: int = 0


def finditer(pattern: re.Pattern[str], text: str, work: Work | None = None, start: int = 0,
             stop: int | None = None) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)` (over `text[start:stop]`, look-behinds seeing before `start`), searched
    in bounded windows (see the module docstring)."""
    n = len(text) if stop is None else stop
    if n - start <= STRIDE + OVERLAP:
        if work is not None:
            work.chars += n - start
            work.searches += 1
        yield from pattern.finditer(text, start, n)
        return
    position = start
    while position < n:
        limit = min(n, position + STRIDE)          # matches must start before this
        end = min(n, position + STRIDE + OVERLAP)  # and are seen up to here
        if work is not None:
            work.chars += end - position
            work.searches += 1
        next_position = limit
        for m in pattern.finditer(text, position, end):
            if m.start() >= limit:
                break
            yield m
            next_position = max(next_position, m.end() if m.end() > m.start() else m.end() + 1)
        position = next_position


def finditer_spans(pattern: re.Pattern[str], text: str, spans: list[tuple[int, int]],
                   work: Work | None = None) -> Iterator[re.Match[str]]:
    """Matches inside each of `spans` (any order, may overlap: they are merged first)."""
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    n = len(text)
    for a, b in merged:
        yield from finditer(pattern, text, work, max(0, a), min(n, b))
