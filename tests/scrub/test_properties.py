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
