"""Base64 and hex blobs (issue 20, throughput): the raw-byte pass skips a blob's interior, never what is
next to it, and both prefilters find the same blob runs."""
from __future__ import annotations

import base64
import json
import random
import re
import string

import pytest

from jobs.export.scrub import Action, FileKind
from jobs.export.scrub.prefilter import BLOB_EDGE, BLOB_RUN, blob_interiors, without_blobs
from tests.scrub.conftest import PREFILTERS, make_engine

B62 = string.ascii_letters + string.digits
_RUN = re.compile(rb"[A-Za-z0-9+/]+")


def _github_token(rng: random.Random) -> str:
    """Generated at run time: the repository holds no credential-shaped literal."""
    return "ghp_" + "".join(rng.choice(B62) for _ in range(36))


def _blob(rng: random.Random, size: int) -> str:
    return base64.b64encode(rng.randbytes(size)).decode().rstrip("=")


def _line(content: str) -> bytes:
    return json.dumps({"type": "user", "message": {"role": "user", "content": content}}).encode()


@pytest.mark.parametrize("seed", range(30))
def test_blob_interiors_are_every_long_base64_run_less_its_edges(seed):
    rng = random.Random(seed)
    pieces = []
    for _ in range(rng.randrange(1, 8)):
        alphabet = rng.choice((B62 + "+/", "0123456789abcdef", "ab c\"\\:-_.", B62 + "+/" + " " * 3))
        pieces.append("".join(rng.choices(alphabet, k=rng.choice((10, 300, BLOB_RUN - 1, BLOB_RUN, 9000)))))
    line = "".join(pieces).encode()
    expected = [(m.start() + BLOB_EDGE, m.end() - BLOB_EDGE) for m in _RUN.finditer(line)
                if m.end() - m.start() >= BLOB_RUN]
    assert blob_interiors(line) == expected
    assert without_blobs(line).count(b"\n") == line.count(b"\n")


@pytest.mark.parametrize("prefilter", PREFILTERS)
def test_keywords_inside_a_blob_do_not_trigger_its_line(prefilter):
    rng = random.Random(3)
    blob = _blob(rng, 60_000)
    middle = len(blob) // 2
    planted = blob[:middle] + "okta" + "aws" + "xoxb" + blob[middle:]   # keywords chance puts inside images
    engine = make_engine(prefilter)
    assert engine.prefilter.scan(_line(planted)).by_line == {}


@pytest.mark.parametrize("prefilter", PREFILTERS)
@pytest.mark.parametrize("where", ["before", "after", "between"])
def test_a_secret_next_to_a_blob_is_still_removed(prefilter, where):
    rng = random.Random(5)
    token = _github_token(rng)
    blob, other = _blob(rng, 40_000), _blob(rng, 40_000)
    content = {"before": f"token {token} {blob}", "after": f"{blob} and {token}",
               "between": f"{blob}\n{token}\n{other}"}[where]
    engine = make_engine(prefilter)
    for data, kind in ((_line(content), FileKind.JSONL), (content.encode(), FileKind.TEXT)):
        out = engine.process(data, kind, "blob", scrub=True)
        assert [f.rule for f in out.findings if f.action is Action.REMOVED] == ["github-pat"]
        assert token.encode() not in out.output and blob[1000:2000].encode() in out.output


@pytest.mark.parametrize("prefilter", PREFILTERS)
def test_a_password_assigned_a_long_base64_value_is_removed(prefilter):
    rng = random.Random(9)
    value = _blob(rng, 6_000)
    out = make_engine(prefilter).process(_line(f"db_password={value}"), FileKind.JSONL, "blob", scrub=True)
    assert any(f.action is Action.REMOVED for f in out.findings) and value[-500:].encode() not in out.output


@pytest.mark.parametrize("prefilter", PREFILTERS)
def test_a_keyword_and_the_literal_its_rule_requires_may_sit_on_different_lines_of_a_text(prefilter):
    """`authorization-bearer` runs on `authorization` or `bearer` and every match holds `bearer` or `token`
    (prefilter.py `raw_required`): in a text file the two may be lines apart, in a JSON line strings apart."""
    rng = random.Random(11)
    value = "".join(rng.choice(B62) for _ in range(32))
    text = f"Send this Authorization header:\n\n    token {value}\n"
    engine = make_engine(prefilter)
    doc = json.dumps({"type": "user", "message": {"role": "user", "content": [
        {"type": "text", "text": "Send this Authorization header:"}, {"type": "text", "text": f"token {value}"}]}})
    for data, kind in ((text.encode(), FileKind.TEXT), (doc.encode(), FileKind.JSONL)):
        out = engine.process(data, kind, "header", scrub=True)
        assert value.encode() not in out.output, kind


#: Triggers longer than BLOB_EDGE, reviewed: what they hold between characters that end a blob run (`:`,
#: `@`) is shorter than BLOB_EDGE in every match the rule itself can make (an Asana id's digits, a mail
#: domain's labels, a .pgpass line's fields of at most 63 characters); the entropy detector's trigger is a
#: whole run between token ends, and a blob's kept edge ends in filler that is a token character, so no
#: run it reports reaches into a blob interior.
_REVIEWED_LONG = {"asana-pat", "email-address", "generic-pgpass-line", "high-entropy-token"}


def test_every_trigger_fits_inside_a_blob_edge():
    """The raw pass keeps BLOB_EDGE bytes at each end of a blob run: a trigger longer than that could lose a
    match that starts outside the run and reaches into it. `\\\\*` (any escaping backslashes) is not
    base64 and so never inside a run."""
    import re._parser as sre_parse

    from jobs.export.scrub.prefilter import raw_needles, raw_required

    too_long = []
    for rule in make_engine("python").ruleset.rules:
        triggers = [rule.prefilter] if rule.prefilter else (
            (raw_needles(rule) or [re.escape(k.encode()) for k in rule.keywords]) + (raw_required(rule) or []))
        for trigger in triggers:
            high = sre_parse.parse(trigger.replace(rb"\\*", b"").decode()).getwidth()[1]
            if high > BLOB_EDGE and rule.id not in _REVIEWED_LONG:
                too_long.append((rule.id, trigger))
    assert too_long == []
