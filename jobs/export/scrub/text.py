"""Small text facts the detectors share: entropy, placeholders, token edges, the Read tool's line view.

Why each exists (docs/measured.md, "Scrub"): a capture group that stops early leaves the tail of a key behind, so a
match is widened to the end of its token; tool output from the Read tool carries a right-aligned line
number and a tab (or `→`) before every line, which breaks multi-line matches (PEM bodies) unless that
view is stripped first and positions are mapped back.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from itertools import islice

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


#: Runs a person types, not a generator: `abcdefgh`, `ABCDEFGH`, `12345678` (an alphabet constant,
#: `sk_abcdefghijklmnopqrstuvwxyz123`). A random token holds such a run with odds below 1 in 10^12.
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789")
SEQUENCE_RUN = 8


def is_placeholder(value: str) -> bool:
    """`sk-ant-xxxx`, `YOUR_API_KEY`, `<token>`, `${TOKEN}`, `****`, `abcdefgh…`: a stand-in, not a credential."""
    return bool(_PLACEHOLDER.search(value)) or _has_sequence(value)


def _has_sequence(value: str) -> bool:
    run = 1
    for a, b in zip(value, value[1:]):
        if ord(b) == ord(a) + 1 and any(a in s and b in s for s in _SEQUENCES):
            run += 1
            if run >= SEQUENCE_RUN:
                return True
        else:
            run = 1
    return False


#: A word-shaped piece of a name, digits allowed in one short group (`b64encode`, `x509`, `Utf8`).
_WORD_PIECE = re.compile(r"[A-Z]?[a-z]+(?:\d{1,5}[a-z]*)?|[A-Z]+\d{0,5}|[a-z]\d{1,5}[a-z]+")
_CAMEL_SPLIT = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|[_.$]+")
_VOWEL = re.compile(r"[aeiouyAEIOUY]")
_SELECTOR = re.compile(r"^[#.][A-Za-z][A-Za-z0-9_-]*$")
_MEMBER_CHAIN = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]{0,30}(?:(?:\.|::|->)[A-Za-z_$][A-Za-z0-9_$]{0,30})+(?:\(|\[|$)")
_CALL = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]{0,40}[(\[]")


def _wordlike(value: str) -> bool:
    """`addPassword`, `DATABASE_URL`, `get_secret`: every camel or snake piece is a word-shaped run
    (lower, UPPER or Capitalised) and at least half of them voiced; a camel-case run without `_` or `.`
    also has at most one single letter and pieces 2.5 letters long on average. A random `MvJBoHwlTPzz`
    splits into `Mv`, `J`, `Bo`, `Hwl`, `T`, `Pzz` and is not."""
    pieces = [p for p in _CAMEL_SPLIT.split(value) if p]
    if not pieces or not all(_WORD_PIECE.fullmatch(p) for p in pieces):
        return False
    spoken = [p for p in pieces if len(p) >= 2 and not p.isupper()]
    voiced = sum(1 for p in spoken if _VOWEL.search(p))
    singles = sum(1 for p in pieces if len(p) == 1)
    mean = sum(len(p) for p in pieces) / len(pieces)
    snake = "_" in value or "." in value
    return (snake or singles <= 1 and mean >= 2.5) and (not spoken or 2 * voiced >= len(spoken))


def _has_word_segment(chain: str) -> bool:
    """`X25519.secret_length`, `Base.url_encode64(`: some member is a word (`secret_length`,
    `url_encode`) after the first, where a dotted token (`vtsi1p.po0pj1pn1lxxnq77`) has only random runs."""
    segments = re.split(r"\.|::|->", chain.rstrip("(["))[1:]
    return any(len(seg) >= 3 and re.search(r"[aeiouy]", seg.lower()) and _wordlike(seg.rstrip("0123456789"))
               for seg in segments)


def looks_like_code(value: str) -> bool:
    """`password=os.environ[...]`, `token=self.token`, `secret=get_secret()`, `Base.url_encode64(…)`,
    `X25519.secret_length`, `"#add-password"`: a name or an expression, not a value."""
    if _IDENTIFIER.match(value) and not any(c.isdigit() for c in value) and _wordlike(value.rstrip("([")):
        return True
    value = value.lstrip("([{!*&")
    chain = _MEMBER_CHAIN.match(value)
    if chain and not value.startswith("eyJ") and _has_word_segment(chain.group(0)):
        return True
    call = _CALL.match(value)
    if call and len(name := call.group(0)[:-1].rstrip("0123456789")) >= 3 and _wordlike(name):
        return True
    if _SELECTOR.match(value):
        return True
    return value.startswith(("os.", "process.env", "env.", "self.", "this.", "config.", "settings.",
                             "getenv", "ENV[", "$(", "`"))


#: How far a match is widened at most: a run longer than this is a blob (an image, a bundle), not a
#: credential, and widening over it from every match inside it would make the scan quadratic.
WIDEN_MAX = 4096
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_+/=-]*")
_DOTTED_RUN = re.compile(r"(?:\.[A-Za-z0-9_+/-][A-Za-z0-9_+/=-]*)*")
_HEAD_BREAK = re.compile(r".*[^A-Za-z0-9_]", re.DOTALL)


def widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Extend [start, end) to the whole token: never leave a key's tail (or head) behind.

    At most WIDEN_MAX characters each way, scanned by the regex engine (C speed), so the work per
    match is bounded."""
    n = len(text)
    stop = min(n, end + WIDEN_MAX)
    end = _TOKEN_RUN.match(text, end, stop).end()
    end = _DOTTED_RUN.match(text, end, stop).end()
    floor = max(0, start - WIDEN_MAX)
    head = _HEAD_BREAK.match(text, floor, start)
    start = head.end() if head is not None else floor
    return start, end


#: Marks prose puts around or after a value without a space: `**value**`, `value.`, `value!`, `value:`.
#: A learned secret so written is still one token to the splitters, so these are trimmed off it.
LEARNED_LEAD = "*~"
LEARNED_TRAIL = ".!?:*~"
LEARNED_MAX_TRIM = 3


def learned_candidates(token, length: int) -> list[tuple[int, int]]:
    """(lead, trail) trims of `token` (str or bytes) that leave exactly `length` units, each trim at most
    LEARNED_MAX_TRIM marks from LEARNED_LEAD / LEARNED_TRAIL; (0, 0) when the token itself has the length.

    Why: a learned password at the end of a sentence ("the password is Tr0ub4dor&3.") or in Markdown
    bold would otherwise never be compared, and survive the scrub."""
    extra = len(token) - length
    if extra < 0 or extra > 2 * LEARNED_MAX_TRIM:
        return []
    if extra == 0:
        return [(0, 0)]
    lead_set, trail_set = (LEARNED_LEAD, LEARNED_TRAIL) if isinstance(token, str) else (
        LEARNED_LEAD.encode(), LEARNED_TRAIL.encode())
    out = []
    for lead in range(min(extra, LEARNED_MAX_TRIM) + 1):
        trail = extra - lead
        if trail > LEARNED_MAX_TRIM:
            continue
        if all(c in lead_set for c in token[:lead]) and all(c in trail_set for c in token[len(token) - trail:]):
            out.append((lead, trail))
    return out


#: One level of backslash escapes, as JSON, C, Python and JavaScript strings write them.
_ESCAPE = re.compile(r"\\([nrtfb\"'/\\])")
_UNESCAPED = {"n": "\n", "r": "\r", "t": "\t", "f": "\f", "b": "\b", '"': '"', "'": "'", "/": "/", "\\": "\\"}
ESCAPE_LEVELS = 3


@dataclass(frozen=True)
class EscapeView:
    """Text with one level of backslash escapes decoded, and the way back to the original positions."""

    text: str
    view_starts: tuple[int, ...]   # each escape starts a segment of the view …
    orig_starts: tuple[int, ...]   # … that starts here in the original

    def to_original(self, position: int) -> int:
        import bisect

        i = bisect.bisect_right(self.view_starts, position) - 1
        if i < 0:
            return position
        return self.orig_starts[i] + (position - self.view_starts[i])

    def mapped(self, hit):
        return type(hit)(hit.rule, self.to_original(hit.start), self.to_original(hit.end), hit.verdict,
                         hit.reason, hit.value, hit.rank)


def escape_view(text: str) -> list[EscapeView]:
    """Up to ESCAPE_LEVELS nested unescaped views of `text` (outermost first); empty without escapes.

    Why: after a `\\n` escape a boundary look-behind sees the letter `n`, and `\\"` hides the quotes
    that assignment rules look for; a JSON document inside a string inside a string escapes twice."""
    views: list[EscapeView] = []
    while "\\" in text and len(views) < ESCAPE_LEVELS:
        parts: list[str] = []
        view_starts: list[int] = []
        orig_starts: list[int] = []
        last = 0
        view_pos = 0
        for m in _ESCAPE.finditer(text):
            parts.append(text[last:m.start()])
            view_pos += m.start() - last
            view_starts.append(view_pos)          # the escape itself: one character for two
            orig_starts.append(m.start())
            parts.append(_UNESCAPED[m.group(1)])
            view_pos += 1
            view_starts.append(view_pos)          # what follows it
            orig_starts.append(m.end())
            last = m.end()
        if not view_starts:
            break
        parts.append(text[last:])
        text = "".join(parts)
        views.append(EscapeView(text, tuple(view_starts), tuple(orig_starts)))
    return views


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
    """The stripped view when at least two lines carry a line-number prefix, else None.

    Not only when the whole text is a view: a Markdown note or a tool result often has a header line
    before the numbered lines, and a private key inside them must still be seen whole. Stripping a
    prefix from a line that only looks numbered is harmless: the view is used for matching only."""
    if "\n" not in text or next(islice(_LINE_VIEW.finditer(text), 1, None), None) is None:
        return None
    lines = text.split("\n")
    parts: list[str] = []
    view_starts: list[int] = []
    orig_starts: list[int] = []
    view_pos = orig_pos = 0
    for line in lines:
        m = _LINE_VIEW.match(line)
        cut = m.end() if m else 0
        view_starts.append(view_pos)
        orig_starts.append(orig_pos + cut)
        parts.append(line[cut:])
        view_pos += len(line) - cut + 1
        orig_pos += len(line) + 1
    return LineView("\n".join(parts), tuple(view_starts), tuple(orig_starts))
