"""§1: incident text is sealed at rest, reaches Slack only in the CEO's DM, and is in no log line."""
from __future__ import annotations

import json
import logging
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from chatops.cli import main
from chatops.notify import slack_delivery, web_client
from jobs.compliance import flows
from jobs.compliance.service import directory, load, read_entries
from jobs.compose import build_context
from jobs.errors import Damaged, Refused
from store.sealed import KEY_FILE
from tests.compliance.incidents.conftest import PEOPLE, START, person, refusals, settings
from tests.standins.slack import BOT_TOKEN, SlackStandIn

PHRASE = "Quokka-Marmalade-4471"


@pytest.fixture
def standin():
    server = SlackStandIn().start()
    yield server
    server.stop()


def _files_holding(root: Path, phrase: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and phrase.encode() in p.read_bytes()]


def test_a_phrase_from_an_incident_is_in_no_file_no_log_and_only_the_ceo_dm(tmp_path, standin, monkeypatch, caplog):
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    ctx = build_context(settings({"slack": {"api_url": standin.api_url}}), tmp_path / "var")
    caplog.set_level(logging.DEBUG)
    with freeze_time(START):
        flows.file_incident(ctx, person(ctx, "sam"), "data-exposure", "SEV1", f"bucket {PHRASE} public",
                            f"{PHRASE} revoked", f"{PHRASE} customer emails")
        flows.confirm_step(ctx, person(ctx, "sam"), "INC-1", "contain", f"rotated {PHRASE}")
        flows.decide(ctx, person(ctx, "lee"), "INC-1", True, True, True)
        flows.draft_notice(ctx, person(ctx, "lee"), "INC-1", f"notice about {PHRASE}")
        flows.check_clocks(ctx)
    with freeze_time(START + timedelta(hours=2)):
        flows.check_clocks(ctx)
    slack_delivery(ctx, web_client(ctx, BOT_TOKEN)).deliver_pending()
    assert _files_holding(ctx.data_dir, PHRASE) == []
    assert not [r for r in caplog.records if PHRASE in r.getMessage()]
    carrying = [c for c in standin.calls if PHRASE in json.dumps(c.params)]
    dms = {c.params["users"]: c for c in standin.calls_to("conversations.open")}
    ceo_channels = {"D" + person(ctx, n).slack_id.upper()[:10] for n in ("dev", "zoe")}
    assert carrying and {(c.method, c.params["channel"]) for c in carrying} == {
        ("chat.postMessage", channel) for channel in ceo_channels}
    assert set(dms) >= {"U0DEV00004", "U0ZOE00007"}
    posted = [c.params for c in standin.calls_to("chat.postMessage")]
    assert any(p["channel"].startswith("C") for p in posted)                    # #security-incidents got ids only


def test_show_decrypts_for_the_people_involved_and_refuses_and_records_anyone_else(ctx):
    with freeze_time(START):
        flows.file_incident(ctx, person(ctx, "sam"), "policy-violation", "SEV2", PHRASE, "x", "y")
        assert flows.read(ctx, person(ctx, "ana"), "INC-1").what == PHRASE         # the COO, engaged on a SEV2
        with pytest.raises(Refused, match="read only by the people it involves"):
            flows.read(ctx, person(ctx, "dev"), "INC-1")                         # the CEO is not, on a SEV2
    assert (refusals(ctx)[-1]["subject_kind"], refusals(ctx)[-1]["subject"]) == ("incident", "INC-1")


def test_the_cli_error_log_keeps_no_argument_value(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'data_dir = "var/"\n{PEOPLE}')
    code = main(["--config", str(config), "incident", "file", "--trigger", "data-exposure", "--sev", "SEV1",
                 "--what", PHRASE, "--contained", "", "--at-risk", "x", "--as", "sam"])
    assert code == 2
    assert _files_holding(tmp_path / "var", PHRASE) == []


def test_key_rotation_reseals_every_timeline_and_keeps_one_owner_only_key(ctx):
    with freeze_time(START):
        flows.file_incident(ctx, person(ctx, "sam"), "policy-violation", "SEV2", PHRASE, "x", "y")
    key = ctx.data_dir / "keys" / KEY_FILE
    old = key.read_bytes()
    with freeze_time(START + timedelta(minutes=1)):
        assert flows.sealed_rotation(ctx, person(ctx, "sam")) == (1, 1)
    assert key.read_bytes() != old and len(key.read_bytes().split()) == 1
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert load(ctx, "INC-1").what == PHRASE
    with pytest.raises(Refused, match="needs role security.ops"):
        flows.sealed_rotation(ctx, person(ctx, "ana"))


def test_the_timeline_is_append_only_an_edited_entry_is_damage(ctx):
    with freeze_time(START):
        flows.file_incident(ctx, person(ctx, "sam"), "policy-violation", "SEV2", PHRASE, "x", "y")
    path = directory(ctx) / "INC-1.jsonl"
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    first["at"] = "2026-12-01T00:00:00+00:00"
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    with pytest.raises(Damaged, match="does not match its hash"):
        read_entries(ctx, "INC-1")
    assert stat.S_IMODE(os.stat(directory(ctx).parent).st_mode) == 0o700


def test_rotation_keeps_the_old_key_while_a_sealed_dm_waits_to_be_sent(tmp_path, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)        # Slack mode: the CEO's DM waits in the outbox
    ctx = build_context(settings(), tmp_path / "var")
    with freeze_time(START):
        flows.file_incident(ctx, person(ctx, "sam"), "data-exposure", "SEV1", PHRASE, "x", "y")
        assert flows.sealed_rotation(ctx, person(ctx, "sam")) == (1, 0)
    from jobs.outbox import open_body
    from store.outbox import Outbox

    [waiting] = [m for m in Outbox(ctx.data_dir).messages() if "sealed" in m.item["notice"] and m.item["to"] == "@dev"]
    assert PHRASE in open_body(ctx, waiting.item["notice"])["text"]
