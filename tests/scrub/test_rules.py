from __future__ import annotations

import json

import pytest

from jobs.export.scrub import RuleKind, RulesError, load_rules
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
