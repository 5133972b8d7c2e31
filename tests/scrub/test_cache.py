"""The compiled-database and rules-analysis cache (hscache.py): reused when it verifies, rebuilt when
damaged or foreign, never a cause of a missed secret; and the shell's `scrub check` imports only the
scrub area."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.export.scrub import Engine, RulesError, check_paths, load_rules
from jobs.export.scrub.detect import LearnedSecrets, Policy
from jobs.export.scrub.hscache import SignedCache
from jobs.export.scrub.rules import PACKAGED_RULES
from store.access import Policy as AccessPolicy, check_data_dir
from tests.scrub.conftest import INTERNAL, KEY

TOKEN = "ghp_" + "Q7wErT9yUiOpAsDfGhJkLzXcVbNm1234QwEr"
REPO = Path(__file__).resolve().parents[2]


def _engine(cache: Path, key: bytes = KEY, sensitive: tuple[str, ...] = ()) -> Engine:
    policy = Policy(frozenset(), INTERNAL, sensitive, LearnedSecrets({}), key)
    return Engine(load_rules(), policy, prefilter="hyperscan", cache_dir=cache)


def _finds_token(engine: Engine, tmp_path: Path) -> bool:
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"message": {"content": f"the token is {TOKEN}"}}) + "\n")
    return any(f.rule == "github-pat" for f in check_paths([path], engine).findings)


def _files(cache: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_ino, p.read_bytes()) for p in sorted(cache.glob("*.hsdb"))}


def test_databases_are_stored_0600_and_reused_unchanged(tmp_path):
    cache = tmp_path / "cache"
    assert _finds_token(_engine(cache), tmp_path)
    stored = _files(cache)
    assert {name.split("-")[0] for name in stored} == {"prefilter", "confirm", "needles"}
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert all(stat.S_IMODE((cache / name).stat().st_mode) == 0o600 for name in stored)
    assert _finds_token(_engine(cache), tmp_path)
    assert _files(cache) == stored          # verified and loaded: not rewritten


def test_a_damaged_database_is_compiled_again_and_replaced(tmp_path):
    cache = tmp_path / "cache"
    _engine(cache)
    for path in cache.glob("*.hsdb"):
        data = bytearray(path.read_bytes())
        data[-100] ^= 0xFF                   # one flipped byte in the database body
        path.write_bytes(bytes(data))
    damaged = _files(cache)
    assert _finds_token(_engine(cache), tmp_path)
    repaired = _files(cache)
    assert repaired.keys() == damaged.keys()
    assert all(repaired[n][1] != damaged[n][1] for n in repaired)
    assert _files(cache) == repaired and _finds_token(_engine(cache), tmp_path)


def test_a_database_written_under_another_key_is_not_trusted(tmp_path):
    cache = tmp_path / "cache"
    _engine(cache, key=b"x" * 32)
    foreign = _files(cache)
    assert _finds_token(_engine(cache, key=KEY), tmp_path)
    assert all(_files(cache)[n][1] != foreign[n][1] for n in foreign)


def test_a_changed_input_names_another_file_and_the_old_one_goes(tmp_path):
    cache = tmp_path / "cache"
    _engine(cache)
    before = set(_files(cache))
    _engine(cache, sensitive=("Stripe Live Secret",))
    after = set(_files(cache))
    prefilters = [n for n in after if n.startswith("prefilter-")]
    assert len(prefilters) == 1 and prefilters[0] not in before
    assert {n for n in after if n.startswith("needles-")} == {n for n in before if n.startswith("needles-")}


def test_an_unwritable_cache_is_not_an_error(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert _finds_token(_engine(blocked / "cache"), tmp_path)


def test_scrub_check_in_the_shell_imports_only_the_scrub_area(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'timezone = "UTC"\ndata_dir = "{tmp_path / "var"}"\n')
    (tmp_path / "t.jsonl").write_text('{"a": "b"}\n')
    probe = ("import sys; from chatops.cli import main; code = main(sys.argv[1:]); "
             "print(sorted(m for m in sys.modules if m.startswith(('chatops.commands.', 'apscheduler', "
             "'jobs.approvals', 'jobs.schedule', 'jobs.credits')))); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", probe, "--config", str(config), "scrub", "check",
                             str(tmp_path / "t.jsonl")], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['chatops.commands.scrub']"
    cache = tmp_path / "var" / "cache" / "scrub"
    assert sorted(p.name.split("-")[0] for p in cache.glob("*.hsdb")) == ["confirm", "needles", "prefilter"]
    assert check_data_dir(tmp_path / "var", AccessPolicy()) == []   # the cache keeps the data directory's modes


def _analysis(ruleset) -> list[tuple]:
    return [(r.id, r.pattern_text, r.anchor, r.required, r.width, r.allowlist_text) for r in ruleset.rules]


def test_the_rules_analysis_is_stored_signed_and_loads_as_parsed(tmp_path):
    cache = SignedCache(tmp_path / "cache", KEY)
    fresh = load_rules(None, cache)
    stored = list((tmp_path / "cache").glob("rules-*.json"))
    assert len(stored) == 1 and stat.S_IMODE(stored[0].stat().st_mode) == 0o600
    inode = stored[0].stat().st_ino
    again = load_rules(None, cache)
    assert _analysis(again) == _analysis(fresh) == _analysis(load_rules())
    assert list((tmp_path / "cache").glob("rules-*.json")) == stored
    assert stored[0].stat().st_ino == inode          # verified and used: not written again


def test_a_tampered_rules_analysis_is_not_used(tmp_path):
    cache = SignedCache(tmp_path / "cache", KEY)
    load_rules(None, cache)
    path = next((tmp_path / "cache").glob("rules-*.json"))
    data = path.read_bytes()
    forged = data.replace(b'"aws"', b'"zzz"', 1)   # an anchor nobody types: the rule would never run
    assert forged != data
    path.write_bytes(forged)
    loaded = load_rules(None, cache)
    assert _analysis(loaded) == _analysis(load_rules())
    assert path.read_bytes() == data                 # re-analysed and written again under the key


def test_a_changed_rules_file_is_analysed_in_full(tmp_path):
    cache = SignedCache(tmp_path / "cache", KEY)
    load_rules(None, cache)
    document = json.loads((REPO / "jobs" / "export" / "scrub" / PACKAGED_RULES).read_text())
    document["rules"][0]["pattern"] = "(?i)broken[("
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(document))
    with pytest.raises(RulesError, match="not a valid regex"):
        load_rules(path, cache)
