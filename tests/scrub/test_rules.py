from __future__ import annotations

import json

import pytest

from jobs.export.scrub import FileKind, RuleKind, RulesError, load_rules
from tests.scrub.conftest import PREFILTERS, make_engine
from tests.scrub.labelled import load


def test_packaged_ruleset_is_versioned_and_covers_over_a_hundred_providers():
    ruleset = load_rules()
    assert ruleset.version
    credential_rules = [r for r in ruleset.rules if r.kind is RuleKind.SECRET and not r.id.startswith("generic-")]
    assert len(credential_rules) > 100
    assert len({r.id for r in ruleset.rules}) == len(ruleset.rules)


def test_every_credential_rule_has_a_labelled_sample():
    ruleset = load_rules()
    secrets, _ = load()
    sampled = {s.rule for s in secrets}
    missing = [r.id for r in ruleset.rules if r.kind in (RuleKind.SECRET, RuleKind.ENTROPY, RuleKind.EMAIL,
                                                         RuleKind.IP) and r.id not in sampled]
    assert missing == []


def test_a_bad_pattern_is_refused_naming_the_rule(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"version": "t1", "rules": [
        {"id": "broken-rule", "kind": "secret", "pattern": "ab(c", "keywords": ["ab"]}]}))
    with pytest.raises(RulesError, match="broken-rule: pattern is not a valid regex"):
        load_rules(path)


def test_a_rule_that_could_never_run_is_refused(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"version": "t1", "rules": [{"id": "silent", "pattern": "x+"}]}))
    with pytest.raises(RulesError, match="silent: give keywords or a prefilter"):
        load_rules(path)


def test_a_ruleset_without_version_is_refused(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": []}))
    with pytest.raises(RulesError, match="version"):
        load_rules(path)


@pytest.mark.parametrize("line", [
    "src/main.c:10:5: error: expected ';' before '}' token",      # compiler output has spaces
    "x.py:12:3:E501:line-too-long",                                # words joined by - are not a password
    '"timestamp":"2026-05-03T12:04:00.000Z","sessionId":"a1b2c3d4"',
    "fe80:0:0:0:200:f8ff:fe21:67cf",                               # an IPv6 address has eight groups
    "00:1a:2b:3c:4d:5e",                                           # a MAC address
    "hostname:port:database:username:password",                    # the format, named
])
def test_colon_separated_lines_are_not_read_as_pgpass_entries(line):
    for prefilter in PREFILTERS:
        out = make_engine(prefilter).process(line.encode(), FileKind.TEXT, "t", scrub=True)
        assert [f.rule for f in out.findings if f.rule == "generic-pgpass-line"] == []
