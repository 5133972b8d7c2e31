"""The incident commands as an operator runs them: real subprocesses, exit codes, Pacific deadlines."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.compliance.incidents.conftest import PEOPLE
from tests.conftest import run_cli

SECRET = "Pangolin-Lantern-5521"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'timezone = "America/Los_Angeles"\ndata_dir = "var/"\n{PEOPLE}')
    return path


def cli(config: Path, *args: str):
    return run_cli(*args, config=config)


def test_a_sev1_from_filing_to_a_notice_through_the_cli(config):
    filed = cli(config, "incident", "file", "--trigger", "data-exposure", "--sev", "SEV1", "--what", SECRET,
                "--contained", "nothing yet", "--at-risk", "emails", "--link", "run_1", "--as", "sam")
    assert filed.returncode == 0, filed.stderr
    assert filed.stdout.startswith("filed INC-1: SEV1 compliance incident (data-exposure; §3 suggests SEV1)")
    assert "  contain due " in filed.stdout and " PST (in 29 min)" in filed.stdout
    assert SECRET not in filed.stdout
    early = cli(config, "incident", "decide", "INC-1", "--customer-data", "no", "--as", "lee")
    assert early.returncode == 3 and "containment is not confirmed" in early.stderr
    assert cli(config, "incident", "step", "INC-1", "--step", "contain", "--text", "revoked", "--as", "sam").returncode == 0
    decided = cli(config, "incident", "decide", "INC-1", "--customer-data", "yes", "--unauthorized", "yes",
                  "--high-risk", "no", "--customer", "acme", "--as", "lee")
    assert decided.returncode == 0 and "notify contract:acme due" in decided.stdout
    listed = json.loads(cli(config, "incident", "list", "--json").stdout)
    assert [(i["id"], i["severity"]) for i in listed] == [("INC-1", "SEV1")]
    assert [d["clock"] for d in listed[0]["deadlines"]] == [
        "legal-engaged", "counsel-contacted", "notify:contract:acme", "notify:gdpr-dpa", "notify:ccpa"]
    shown = cli(config, "incident", "show", "INC-1", "--as", "ana")
    assert shown.returncode == 0 and f"What         {SECRET}" in shown.stdout
    refused = cli(config, "incident", "show", "INC-1", "--as", "ben")
    assert refused.returncode == 3 and SECRET not in refused.stderr
    timeline = cli(config, "incident", "timeline", "INC-1")
    assert timeline.returncode == 0 and SECRET not in timeline.stdout and " filed " in timeline.stdout
    unknown = cli(config, "incident", "show", "INC-9", "--as", "ana")
    assert unknown.returncode == 6 and "no incident INC-9" in unknown.stderr
