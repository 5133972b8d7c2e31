"""Raw-byte triggers: a rule with a stricter trigger than its keyword leaves lines of code that only hold the
keyword undecoded, still wakes on every form its matches take, and in a text file a trigger may span lines."""
from __future__ import annotations

import json

import pytest

from jobs.export.scrub import Action, FileKind

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
