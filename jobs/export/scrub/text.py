"""Small text facts the detectors share: entropy, placeholders, token edges, the Read tool's line view.

Why each exists (MEASURED.md): a capture group that stops early leaves the tail of a key behind, so a
match is widened to the end of its token; tool output from the Read tool carries a right-aligned line
number and a tab (or `→`) before every line, which breaks multi-line matches (PEM bodies) unless that
view is stripped first and positions are mapped back.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

#: Characters a credential token is made of; a match is widened over them.
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/=")

#: A marker the scrub wrote: never a finding itself.
MARKER = re.compile(r"\[REDACTED:[a-z0-9.:-]+:[0-9a-f]{6}\]")

_PLACEHOLDER = re.compile(
    r"(?i)x{4,}|\*{3,}|\.{3}|…|<[^<>\s]{1,40}>|\$\{[^}]*\}|\{\{[^}]*\}\}|%\([a-z_]+\)s|(?-i:\$[A-Z_][A-Z0-9_]*$)"
    r"|your[_-]?|example|placeholder|dummy|changeme|change[_-]me|redacted|\bfake|sample|replace[_-]?me"
    r"|insert[_-]|^(?:test|secret|password|token|none|null|undefined|true|false)$")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\(|\[|$)")


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`'s own character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_placeholder(value: str) -> bool:
    """`sk-ant-xxxx`, `YOUR_API_KEY`, `<token>`, `${TOKEN}`, `****`: a stand-in, not a credential."""
    return bool(_PLACEHOLDER.search(value))


def looks_like_code(value: str) -> bool:
    """`password=os.environ[...]`, `token=self.token`, `secret=get_secret()`: a name, not a value."""
    if _IDENTIFIER.match(value) and not any(c.isdigit() for c in value):
        return True
    return value.startswith(("os.", "process.env", "env.", "self.", "this.", "config.", "settings.",
                             "getenv", "ENV[", "$(", "`"))


def widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Extend [start, end) to the whole token: never leave a key's tail (or head) behind."""
    n = len(text)
    while end < n and text[end] in TOKEN_CHARS:
        end += 1
    while end + 1 < n and text[end] == "." and text[end + 1] in TOKEN_CHARS and text[end + 1] != "=":
        end += 1
        while end < n and text[end] in TOKEN_CHARS:
            end += 1
    while start > 0 and text[start - 1] in TOKEN_CHARS and text[start - 1] not in "-/=+":
        start -= 1
    return start, end


_LINE_VIEW = re.compile(r"^ *[0-9]+(?:\t|→)", re.MULTILINE)


@dataclass(frozen=True)
class LineView:
    """Text with the Read tool's `     12\\t` prefixes removed, and the way back to the original."""

    text: str
    view_starts: tuple[int, ...]   # where each line starts in `text`
    orig_starts: tuple[int, ...]   # where the same line's content starts in the original

    def to_original(self, position: int) -> int:
        import bisect

        i = bisect.bisect_right(self.view_starts, position) - 1
        return self.orig_starts[i] + (position - self.view_starts[i])


def line_view(text: str) -> LineView | None:
    """The stripped view when most lines carry a line-number prefix, else None."""
    if "\n" not in text or not _LINE_VIEW.match(text):
        return None
    lines = text.split("\n")
    prefixed = 0
    parts: list[str] = []
    view_starts: list[int] = []
    orig_starts: list[int] = []
    view_pos = orig_pos = 0
    for line in lines:
        m = _LINE_VIEW.match(line)
        cut = m.end() if m else 0
        prefixed += m is not None
        view_starts.append(view_pos)
        orig_starts.append(orig_pos + cut)
        parts.append(line[cut:])
        view_pos += len(line) - cut + 1
        orig_pos += len(line) + 1
    if prefixed * 2 < len(lines):
        return None
    return LineView("\n".join(parts), tuple(view_starts), tuple(orig_starts))
