"""Every labelled secret is removed (named by its rule) and every labelled look-alike is kept, in the
shapes transcripts carry them: a Bash command, a Read tool view with line numbers, assistant text."""
from __future__ import annotations

import json
import random

import pytest

from jobs.export.scrub import Action, FileKind
from tests.scrub.labelled import load, transcript_line

SECRETS, NEGATIVES = load()


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


@pytest.mark.parametrize("secret", SECRETS, ids=[f"{s.rule}-{i}" for i, s in enumerate(SECRETS)])
def test_labelled_secret_is_removed_in_every_transcript_shape(engine, secret):
    rng = random.Random(secret.value)
    for shape in ("bash", "read", "text"):
        line = json.dumps(transcript_line(rng, secret.text, shape, "s1"), ensure_ascii=False)
        out = engine.process(line.encode(), FileKind.JSONL, "t.jsonl", scrub=True)
        decoded = json.loads(out.output)
        assert not any(secret.value in s for s in _strings(decoded)), shape
        assert secret.value.encode() not in out.output
        removed = {f.rule for f in out.findings if f.action is Action.REMOVED}
        assert secret.rule in removed, (shape, removed)


@pytest.mark.parametrize("negative", NEGATIVES, ids=[f"{n.label}-{i}" for i, n in enumerate(NEGATIVES)])
def test_labelled_look_alike_is_kept_byte_identical(engine, negative):
    rng = random.Random(negative.text)
    for shape in ("bash", "text"):
        line = json.dumps(transcript_line(rng, negative.text, shape, "s1"), ensure_ascii=False).encode()
        out = engine.process(line, FileKind.JSONL, "t.jsonl", scrub=True)
        assert out.output == line
        assert not [f for f in out.findings if f.action is Action.REMOVED]
    out = engine.process(negative.text.encode(), FileKind.TEXT, "t.md", scrub=True)
    assert out.output == negative.text.encode()
