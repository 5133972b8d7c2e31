"""Property tests: scrubbing never changes line count or JSON structure, and is idempotent."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.export.scrub import FileKind
from tests.scrub.conftest import make_engine
from tests.scrub.labelled import load

SECRETS, NEGATIVES = load()
ENGINE = make_engine("python")
pieces = st.one_of(st.sampled_from([s.text for s in SECRETS]), st.sampled_from([n.text for n in NEGATIVES]),
                   st.text(max_size=40))
texts = st.lists(pieces, max_size=4).map(" ".join)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), texts),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.sampled_from(
        ["text", "command", "API_TOKEN", "content", "password"]), children, max_size=3)),
    max_leaves=6)


def _shape(value):
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return "s" if isinstance(value, str) else value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values, min_size=1, max_size=5))
def test_jsonl_scrub_keeps_line_count_and_structure_and_is_idempotent(values):
    buf = ("\n".join(json.dumps(v, ensure_ascii=False) for v in values) + "\n").encode("utf-8", "surrogatepass")
    once = ENGINE.process(buf, FileKind.JSONL, "p.jsonl", scrub=True).output
    assert once.count(b"\n") == buf.count(b"\n")
    for before, after in zip(buf.split(b"\n"), once.split(b"\n")):
        if before:
            assert _shape(json.loads(after)) == _shape(json.loads(before))
    assert ENGINE.process(once, FileKind.JSONL, "p.jsonl", scrub=True).output == once


@settings(max_examples=60, deadline=None)
@given(st.lists(texts, min_size=1, max_size=6))
def test_text_scrub_keeps_line_count_and_is_idempotent(lines):
    buf = "\n".join(lines).encode("utf-8", "surrogatepass")
    once = ENGINE.process(buf, FileKind.TEXT, "p.md", scrub=True).output
    assert once.count(b"\n") == buf.count(b"\n")
    assert ENGINE.process(once, FileKind.TEXT, "p.md", scrub=True).output == once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aZ09+/=_-.: \"\né\u2192", max_size=200), st.integers(1, 30), st.integers(0, 60))
def test_token_runs_by_byte_map_are_the_character_class_runs(text, low, extra):
    """The entropy detector's candidate runs, found on mapped bytes for ASCII text, are exactly the
    regex's runs of `low`..`high` token characters, ASCII or not."""
    from jobs.export.scrub.detect import _TOKEN_RUN, _token_runs

    high = low + extra
    expected = [(m.start(), m.end()) for m in _TOKEN_RUN.finditer(text) if low <= m.end() - m.start() <= high]
    assert _token_runs(text, low, high) == expected
    ascii_text = text.replace("é", "x").replace("\u2192", ">")
    expected = [(m.start(), m.end()) for m in _TOKEN_RUN.finditer(ascii_text) if low <= m.end() - m.start() <= high]
    assert _token_runs(ascii_text, low, high) == expected
