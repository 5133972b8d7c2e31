"""Raw-byte triggers: a rule with a stricter trigger than its keyword leaves lines of code that only hold the
keyword undecoded, still wakes on every form its matches take, and in a text file a trigger may span lines."""
from __future__ import annotations

import json

import pytest

from jobs.export.scrub import Action, FileKind, load_rules
from tests.scrub.conftest import make_engine


@pytest.fixture(scope="module")
def hyperscan_engine():
    return make_engine("hyperscan")

#: Code that holds a re-triggered rule's keyword and nothing of its matches: no line of it is decoded.
CODE_WITH_KEYWORDS = [
    "        if self._auth_provider is None: return basic_auth(user, password_hash)",
    "    secret_name = settings.secret_name or default_secret_name",
    "    value = get_value(request, timeout=30)",
    "    return check_auth(token_value)",
]


@pytest.mark.parametrize("code", CODE_WITH_KEYWORDS)
def test_code_that_only_holds_a_keyword_is_not_decoded(engine, code):
    line = json.dumps({"type": "user", "message": {"content": [{"type": "tool_result", "content": code}]}})
    triggered = {engine.ruleset.rules[i].id for found in engine.prefilter.scan(line.encode()).by_line.values()
                 for i in found if i >= 0}
    assert triggered & {"npmrc-auth", "notion-legacy-token", "generic-xml-key-value"} == set()


@pytest.mark.parametrize("text", [
    '//registry.npmjs.org/:_authToken=Zq8rT2mXv9LpK4wN7yB3cD',
    '{"_authToken": "Zq8rT2mXv9LpK4wN7yB3cD"}',
    '_auth   :   Zq8rT2mXv9LpK4wN7yB3cD',
    '<add key="ClearTextPassword" value="Zq8rT2mXv9LpK4wN7y"/>',
])
def test_a_retriggered_rule_still_wakes_in_a_json_line_and_in_a_json_document_inside_one(engine, text):
    for line in (json.dumps({"message": {"content": text}}),
                 json.dumps({"message": {"content": json.dumps({"file": text, "n": 1})}})):
        out = engine.process(line.encode(), FileKind.JSONL, "t.jsonl", scrub=True)
        assert [f for f in out.findings if f.action is Action.REMOVED], line
        assert "Zq8rT2mXv9LpK4wN7y" not in out.output.decode()


def test_in_a_text_file_a_trigger_may_span_lines(engine):
    """`.npmrc` with the operator on the next line: Hyperscan scans a text whole, not line by line."""
    out = engine.process(b"//registry.npmjs.org/:_authToken\n  = Zq8rT2mXv9LpK4wN7yB3cD\n", FileKind.TEXT,
                         ".npmrc", scrub=True)
    assert [f.rule for f in out.findings] == ["npmrc-auth"]
    assert b"Zq8rT2mXv9LpK4wN7yB3cD" not in out.output


# ---- a provider rule confirmed by its whole pattern (rules.py `raw_exact`) ---------------------------------

def _raw_exact_samples():
    import random

    from tests.scrub.carriers import Carrier, carry
    from tests.scrub.labelled import load

    exact = {r.id for r in load_rules().rules if r.raw_exact and r.keywords and not r.prefilter}
    for sample in load()[0]:
        if sample.rule in exact:
            for carrier in Carrier:
                yield pytest.param(sample, carry(sample.text, carrier, random.Random(sample.value)),
                                   id=f"{sample.rule}-{carrier.value}")


def test_most_provider_rules_are_confirmed_by_their_whole_pattern():
    """What `raw_exact` takes: case-sensitive patterns of characters JSON writes as themselves."""
    rules = load_rules()
    exact = {r.id for r in rules.rules if r.raw_exact}
    assert {"aws-access-key-id", "github-pat", "anthropic-api-key", "slack-bot-token"} <= exact
    # case-insensitive, or able to match a quote, a space or `/`: their keywords alone wake them
    assert not {"npmrc-auth", "generic-password", "private-key", "url-credentials"} & exact


@pytest.mark.parametrize(("sample", "line"), list(_raw_exact_samples()))
def test_a_confirmed_rule_wakes_on_every_labelled_sample_in_every_carrier(hyperscan_engine, sample, line):
    """The confirming pass is a superset of the rule: every labelled secret of it still wakes it, on raw
    JSON, in a Read view, in a Write input and in a JSON document held in a string."""
    index = next(i for i, r in enumerate(hyperscan_engine.ruleset.rules) if r.id == sample.rule)
    scan = hyperscan_engine.prefilter.scan(line.encode())
    woken = set().union(*scan.by_line.values()) if scan.by_line else set()
    if scan.escaped or scan.nested:   # the engine then also takes the triggers of the decoded strings
        from jobs.export.scrub.engine import _decoded_triggers, _flattened_triggers
        woken |= _decoded_triggers(hyperscan_engine, line.encode()) | _flattened_triggers(hyperscan_engine,
                                                                                          line.encode())
    assert index in woken


@pytest.mark.parametrize("text", [
    "Accademia and ACCAtering both hold the letters, as does the session id 6598759d-fd929650acca.",
    "asiaPacific region: see the asia-pacific notes; akia is a name, not a key.",
])
def test_chance_letters_of_a_provider_prefix_do_not_wake_it(hyperscan_engine, text):
    line = json.dumps({"sessionId": "6598759d-d4d2-be29-b6ce-fd929650acca", "message": {"content": text}})
    index = next(i for i, r in enumerate(hyperscan_engine.ruleset.rules) if r.id == "aws-access-key-id")
    assert index not in set().union(*hyperscan_engine.prefilter.scan(line.encode()).by_line.values())


def test_a_rule_hyperscan_cannot_confirm_wakes_on_its_keyword_and_the_others_keep_theirs():
    """A rules file of one's own may hold a pattern Hyperscan refuses even as a prefilter (a bounded repeat
    too large): the engine is still built, that rule wakes on its keyword alone, the others are confirmed."""
    from jobs.export.scrub import Engine
    from jobs.export.scrub.detect import LearnedSecrets, Policy
    from jobs.export.scrub.rules import parse_rules
    from tests.scrub.conftest import INTERNAL, KEY

    document = {"version": "test.1", "rules": [
        {"id": "huge-token", "kind": "secret", "pattern": "HUGE[A-Z]{70000}", "keywords": ["huge"]},
        {"id": "small-token", "kind": "secret", "pattern": "SMOL[A-Z]{20}", "keywords": ["smol"]}]}
    rules = parse_rules(document, "test rules")
    assert [r.raw_exact for r in rules.rules] == [True, True]
    engine = Engine(rules, Policy(frozenset(), INTERNAL, (), LearnedSecrets({}), KEY), prefilter="hyperscan")

    def woken(text: str) -> set[str]:
        line = json.dumps({"message": {"content": text}}).encode()
        return {rules.rules[i].id for found in engine.prefilter.scan(line).by_line.values() for i in found}

    assert woken("a huge file and a smol one") == {"huge-token"}      # unconfirmed: its keyword is enough
    assert woken("SMOL" + "Q" * 20) == {"small-token"}               # confirmed by its whole pattern


def test_a_token_escaped_inside_a_string_escaped_twice_still_wakes_its_rule(engine):
    """`AKIA\\\\u0051…` in a JSON document held in a string: raw, the pattern cannot see the token, and with
    the backslashes removed it reads `AKIAu0051…`; the keyword alone wakes the rule there, and the detector
    decodes the document."""
    token = "AKIAQ" + "ZXCVBNMLKJHGFDSA"[:15]
    inner = '{"aws_access_key_id": "AKIA\\u0051' + token[5:] + '"}'
    line = json.dumps({"message": {"content": [{"type": "tool_result", "content": inner}]}})
    out = engine.process(line.encode(), FileKind.JSONL, "t.jsonl", scrub=True)
    assert [f.rule for f in out.findings if f.action is Action.REMOVED] == ["aws-access-key-id"]
    assert token not in json.loads(json.loads(out.output)["message"]["content"][0]["content"])["aws_access_key_id"]
