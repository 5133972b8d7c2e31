"""The buttons on incident messages, end to end through the real Bolt app and the Slack stand-in.

Every click uses the value of a button the bot really posted (read back from the stand-in), so what is
tested is what a person clicks: each button by a person allowed and by one refused (the refusal recorded
with its subject, kind `incident`); the §5 tree walked through its form to every leaf; an approval bound
to a draft that changed since; and no request to the stand-in carries incident text but the CEO's DM.
"""
from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chatops.config import LoadedConfig, parse_settings
from chatops.slack.mode import Mode
from chatops.slack.runtime import start_slack
from jobs.compliance import flows
from jobs.compliance.service import load
from store import slack_threads
from tests.slack.test_socket_mode import ANA, BEN, CLEO, ledger, running  # noqa: F401
from tests.conftest import PEOPLE_TOML
from tests.slack.conftest import poll
from tests.slack.test_http_mode import ENV as HTTP_ENV
from tests.slack.test_http_mode import post, sign
from tests.standins.slack import SlackStandIn

DEV, LEE = "U0DEV00004", "U0LEE00005"
DEV_DM = "DU0DEV00004"                       # the stand-in's conversations.open answer for the CEO
CHANNEL = "#security-incidents"
PHRASE = "Quokka-Lantern-5127"


@pytest.fixture
def loaded(tmp_path: Path, standin: SlackStandIn) -> LoadedConfig:
    """The Slack tests' configuration, plus one customer with a contractual notification SLA (§5)."""
    raw = tomllib.loads(PEOPLE_TOML)
    raw["slack"] = {"api_url": standin.api_url}
    raw["compliance"] = {"customers": {"acme": {"notify_hours": 48}}}
    return LoadedConfig(settings=parse_settings(raw), path=tmp_path / "config.toml", data_dir=tmp_path / "var")


def _file(iface, sev: str, trigger: str = "data-exposure") -> str:
    incident = flows.file_incident(iface.ctx, iface.ctx.people.by_name("lee"), trigger, sev, f"{PHRASE} in a bucket",
                                   f"{PHRASE} policy revoked", f"{PHRASE} emails")
    return incident.id


def _blocks_of(call) -> list[dict[str, Any]]:
    blocks = call.params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def _buttons(standin: SlackStandIn, incident: str, where: str | None = None) -> dict[str, str]:
    """Label → value of the buttons on the latest post (or update) about `incident` in `where` (a channel id
    or a DM id), as the stand-in received it."""
    where = where or standin.channel_id(CHANNEL)
    posts = [c for c in standin.calls_to("chat.postMessage") + standin.calls_to("chat.update")
             if c.params.get("channel") in (where, CHANNEL) and _blocks_of(c)
             and f"{incident} " in c.params.get("text", "")]
    posts.sort(key=lambda c: c.at)
    if not posts:
        return {}
    return {e["text"]["text"]: e["value"] for b in _blocks_of(posts[-1]) if b["type"] == "actions"
            for e in b["elements"]}


def _wait_buttons(standin: SlackStandIn, incident: str, label: str, where: str | None = None) -> str:
    found = standin.wait_for(lambda s: [v for k, v in _buttons(s, incident, where).items() if k.startswith(label)])
    return found[0]


def _parent(iface, incident: str) -> str:
    return poll(lambda: (t := slack_threads.by_subject(iface.ctx.state, CHANNEL, incident)) and t.ts,
                what=f"the {incident} thread")


def _click(standin: SlackStandIn, user: str, parent: str, value: str, channel: str | None = None) -> str:
    channel = channel or standin.channel_id(CHANNEL)
    return standin.deliver("interactive", {
        "type": "block_actions", "team": {"id": "T0STANDIN"}, "api_app_id": "A0STANDIN", "user": {"id": user},
        "channel": {"id": channel}, "container": {"type": "message", "message_ts": parent, "channel_id": channel},
        "message": {"ts": parent, "text": "incident"}, "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "response_url": standin.response_url(),
        "actions": [{"type": "button", "action_id": "ops_action_0", "block_id": "ops_actions", "value": value,
                     "action_ts": "1700000300.1"}]})


def _opened(standin: SlackStandIn, count: int) -> dict[str, Any]:
    return standin.wait_for(lambda s: len(s.calls_to("views.open")) >= count and s.calls_to("views.open"))[
        count - 1].params["view"]


def _submit(standin: SlackStandIn, user: str, view: dict[str, Any], values: dict[str, str]) -> str:
    selects = {b["block_id"] for b in view["blocks"] if b["element"]["type"] == "static_select"}
    state = {dest: {"text": {"type": "static_select", "selected_option": {"value": v}} if dest in selects
                    else {"type": "plain_text_input", "value": v}} for dest, v in values.items()}
    return standin.deliver("interactive", {
        "type": "view_submission", "team": {"id": "T0STANDIN"}, "api_app_id": "A0STANDIN", "user": {"id": user},
        "view": {"id": "V1", "type": "modal", "callback_id": view["callback_id"],
                 "private_metadata": view["private_metadata"], "state": {"values": state}}})


def _thread_answers(standin: SlackStandIn, parent: str) -> list[str]:
    return [c.params["text"] for c in standin.calls_to("chat.postMessage") if c.params.get("thread_ts") == parent
            and c.params["text"].startswith("<@")]


def _answer(standin: SlackStandIn, parent: str, count: int) -> str:
    return standin.wait_for(lambda s: len(_thread_answers(s, parent)) >= count and _thread_answers(s, parent))[-1]


def _refusals(iface, user: str) -> list[dict[str, Any]]:
    return [e for e in ledger(iface.ctx) if e["kind"] == "command.refused" and e["actor"] == user]


def _refused_response(standin: SlackStandIn, count: int) -> str:
    return standin.wait_for(lambda s: len(s.responses) >= count and s.responses)[count - 1]["text"]


def test_confirm_containment_opens_a_text_form_for_security_ops_and_refuses_an_o1(iface, standin, running):
    incident = _file(iface, "SEV1")
    parent = _parent(iface, incident)
    contain = _wait_buttons(standin, incident, "Confirm containment")
    assert json.loads(contain)["with"] == {"step": "contain"} and PHRASE not in contain

    standin.wait_ack(_click(standin, CLEO, parent, contain))
    assert _refused_response(standin, 1).startswith("refused: incident step needs role")
    assert not standin.calls_to("views.open")
    [refusal] = _refusals(iface, CLEO)
    assert (refusal["data"]["subject_kind"], refusal["data"]["subject"]) == ("incident", incident)

    standin.wait_ack(_click(standin, LEE, parent, contain))
    view = _opened(standin, 1)
    assert [b["block_id"] for b in view["blocks"]] == ["text"]                     # the step is the button's
    standin.wait_ack(_submit(standin, LEE, view, {"text": "bucket policy revoked"}))
    assert _answer(standin, parent, 1) == f"<@{LEE}> recorded: {incident}: contain confirmed by lee"
    assert load(iface.ctx, incident).steps["contain"].by == "lee"
    # The parent is brought up to date: containment is done, the next steps and the tree are offered.
    labels = standin.wait_for(lambda s: "Mark step done" in _buttons(s, incident) and _buttons(s, incident))
    assert "Confirm containment" not in labels and "Walk the decision tree" in labels


def test_mark_step_done_asks_which_open_step_and_refuses_a_person_without_the_role(iface, standin, running):
    incident = _file(iface, "SEV1")
    parent = _parent(iface, incident)
    flows.confirm_step(iface.ctx, iface.ctx.people.by_name("lee"), incident, "contain", "revoked")
    mark = _wait_buttons(standin, incident, "Mark step done")

    standin.wait_ack(_click(standin, BEN, parent, mark))
    assert _refused_response(standin, 1).startswith("refused: incident step needs role")
    assert [r["data"]["subject"] for r in _refusals(iface, BEN)] == [incident]

    standin.wait_ack(_click(standin, LEE, parent, mark))
    view = _opened(standin, 1)
    assert [b["block_id"] for b in view["blocks"]] == ["step", "text"]
    [step] = [b for b in view["blocks"] if b["block_id"] == "step"]
    assert [o["value"] for o in step["element"]["options"]] == ["legal-engaged"]   # only what is still open
    standin.wait_ack(_submit(standin, LEE, view, {"step": "legal-engaged", "text": "engaged at 09:10"}))
    assert _answer(standin, parent, 1) == f"<@{LEE}> recorded: {incident}: legal-engaged confirmed by lee"
    assert load(iface.ctx, incident).steps["legal-engaged"].by == "lee"


def test_escalate_to_sev1_is_offered_on_a_sev2_and_runs_as_the_clicker(iface, standin, running):
    incident = _file(iface, "SEV2", trigger="vendor-failure")
    parent = _parent(iface, incident)
    escalate = _wait_buttons(standin, incident, "Escalate to SEV1")
    assert json.loads(escalate)["with"] == {"to": "SEV1"}

    standin.wait_ack(_click(standin, CLEO, parent, escalate))
    assert _refused_response(standin, 1) == "refused: incident escalate needs role coo or legal.exec or security.ops; " \
                                            "you have O1"
    assert load(iface.ctx, incident).sev.value == "SEV2"
    assert [r["data"]["subject_kind"] for r in _refusals(iface, CLEO)] == ["incident"]

    standin.wait_ack(_click(standin, ANA, parent, escalate))
    assert _answer(standin, parent, 2).startswith(f"<@{ANA}> recorded: {incident} is now a SEV1 compliance incident")
    assert load(iface.ctx, incident).sev.value == "SEV1"
    labels = standin.wait_for(lambda s: "Confirm containment" in _buttons(s, incident) and _buttons(s, incident))
    assert not any(label.startswith("Escalate") for label in labels)


def _walk(iface, standin: SlackStandIn, user: str, values: dict[str, str], opened: int) -> tuple[str, str]:
    incident = _file(iface, "SEV2", trigger="policy-violation")
    parent = _parent(iface, incident)
    standin.wait_ack(_click(standin, user, parent, _wait_buttons(standin, incident, "Walk the decision tree")))
    view = _opened(standin, opened)
    assert [b["block_id"] for b in view["blocks"]] == ["customer_data", "unauthorized", "high_risk", "customer"]
    standin.wait_ack(_submit(standin, user, view, values))
    return incident, parent


def test_the_decision_tree_form_reaches_every_leaf_and_says_what_follows_in_pacific_time(iface, standin, running):
    internal, parent = _walk(iface, standin, LEE, {"customer_data": "no"}, 1)
    answer = _answer(standin, parent, 1)
    assert answer.startswith(f"<@{LEE}> recorded: {internal}: internal incident: no customer data exposed, so no "
                             "external notification is required; proceed with the SEV2 remediation")
    assert "next: response due " in answer and ("PST (in 3 h" in answer or "PDT (in 3 h" in answer)

    near, parent = _walk(iface, standin, ANA, {"customer_data": "yes", "unauthorized": "no"}, 2)
    answer = _answer(standin, parent, 1)
    assert f"{near}: near-miss: customer data exposed, but not to an unauthorised party; SEV2, internal " \
           "remediation, no notification" in answer and "notify" not in answer

    breach, parent = _walk(iface, standin, LEE, {"customer_data": "yes", "unauthorized": "yes", "high_risk": "yes",
                                                 "customer": "acme"}, 3)
    answer = _answer(standin, parent, 1)
    assert f"{breach}: breach: customer data exposed to an unauthorised party; now SEV1" in answer
    for line in ("notify gdpr-dpa due ", "GDPR: the data protection authority, within 72 h of awareness",
                 "notify gdpr-individuals due ", "notify ccpa due ", "CCPA: affected California residents",
                 "notify contract:acme due ", "contract: acme's notification SLA", "(in 2 d 23 h"):
        assert line in answer
    assert [o.name for o in load(iface.ctx, breach).obligations] == ["gdpr-dpa", "gdpr-individuals", "ccpa",
                                                                     "contract:acme"]


def test_the_decision_tree_form_is_refused_to_the_ceo_who_does_not_walk_it(iface, standin, running):
    incident = _file(iface, "SEV2", trigger="policy-violation")
    parent = _parent(iface, incident)
    standin.wait_ack(_click(standin, DEV, parent, _wait_buttons(standin, incident, "Walk the decision tree")))
    assert _refused_response(standin, 1) == "refused: incident decide needs role coo or legal.exec; you have O3, ceo"
    assert not standin.calls_to("views.open")
    assert [(r["data"]["subject_kind"], r["data"]["subject"]) for r in _refusals(iface, DEV)] == [
        ("incident", incident)]


def _breach(iface) -> str:
    lee = iface.ctx.people.by_name("lee")
    incident = _file(iface, "SEV1")
    flows.confirm_step(iface.ctx, lee, incident, "contain", "revoked")
    flows.decide(iface.ctx, lee, incident, True, True, False, ())
    return incident


def test_approve_this_draft_is_bound_to_the_draft_shown_and_a_changed_draft_voids_the_button(iface, standin,
                                                                                              running):
    incident = _breach(iface)
    parent = _parent(iface, incident)
    first = flows.draft_notice(iface.ctx, iface.ctx.people.by_name("lee"), incident, f"{PHRASE} draft one")
    stale = _wait_buttons(standin, incident, f"Approve this draft ({first.draft_hash[:19]})", DEV_DM)
    assert json.loads(stale)["with"] == {"draft": first.draft_hash}

    standin.wait_ack(_click(standin, BEN, parent, stale))
    assert _refused_response(standin, 1).startswith("refused: incident notice approve needs role")

    second = flows.draft_notice(iface.ctx, iface.ctx.people.by_name("lee"), incident, f"{PHRASE} draft two")
    current = _wait_buttons(standin, incident, f"Approve this draft ({second.draft_hash[:19]})")
    standin.wait_ack(_click(standin, DEV, "1700000099.000001", stale, DEV_DM))   # the CEO's DM, a draft ago
    assert _refused_response(standin, 2) == (
        f"refused: incident notice approve {incident} refused: the draft changed: you approved {first.draft_hash[:19]}, the current draft is "
        f"{second.draft_hash[:19]}; read it (chatops incident show {incident}) and approve again")
    assert load(iface.ctx, incident).approvals_for_current() == ()
    refused = [e for e in _refusals(iface, DEV)][-1]
    assert (refused["data"]["subject_kind"], refused["data"]["subject"]) == ("incident", incident)

    standin.wait_ack(_click(standin, DEV, parent, current))
    assert _answer(standin, parent, 2).startswith(f"<@{DEV}> recorded: {incident}: dev approved draft "
                                                  f"{second.draft_hash[:19]} as ceo")
    assert [(a.person, a.draft_hash) for a in load(iface.ctx, incident).approvals_for_current()] == [
        ("dev", second.draft_hash)]


def test_no_request_to_slack_carries_incident_text_except_the_ceo_dm(iface, standin, running):
    incident = _breach(iface)
    parent = _parent(iface, incident)
    draft = flows.draft_notice(iface.ctx, iface.ctx.people.by_name("lee"), incident, f"{PHRASE} notification")
    standin.wait_ack(_click(standin, ANA, parent, _wait_buttons(standin, incident, "Approve this draft")))
    _answer(standin, parent, 1)
    mark = _wait_buttons(standin, incident, "Mark step done")
    standin.wait_ack(_click(standin, LEE, parent, mark))
    standin.wait_ack(_submit(standin, LEE, _opened(standin, 1), {"step": "legal-engaged", "text": "engaged"}))
    _answer(standin, parent, 2)
    assert draft.draft_hash and load(iface.ctx, incident).steps["legal-engaged"]

    carrying = {(c.method, c.params.get("channel")) for c in standin.calls if PHRASE in json.dumps(c.params)}
    assert carrying == {("chat.postMessage", DEV_DM)}                             # the CEO's SEV1 DM only
    assert not [r for r in standin.responses if PHRASE in json.dumps(r)]


def test_a_signed_http_click_escalates_and_an_unsigned_one_changes_nothing(iface, standin):
    """HTTP mode: the same button as a request signed with Slack's v0 signature; a forged one is rejected."""
    runtime = start_slack(iface, Mode.HTTP, HTTP_ENV, http_port=0)
    try:
        incident = _file(iface, "SEV2", trigger="vendor-failure")
        parent = _parent(iface, incident)
        channel = standin.channel_id(CHANNEL)
        payload = {"type": "block_actions", "team": {"id": "T0STANDIN"}, "api_app_id": "A0STANDIN",
                   "user": {"id": ANA}, "channel": {"id": channel},
                   "container": {"type": "message", "message_ts": parent, "channel_id": channel},
                   "message": {"ts": parent, "text": "incident"}, "trigger_id": "1.2.3",
                   "response_url": standin.response_url(),
                   "actions": [{"type": "button", "action_id": "ops_action_0", "block_id": "ops_actions",
                                "value": _wait_buttons(standin, incident, "Escalate to SEV1"),
                                "action_ts": "1700000300.1"}]}
        body = urlencode({"payload": json.dumps(payload)}).encode()
        now = int(time.time())
        forged, _, _ = post(runtime.connection.port, body, {"X-Slack-Request-Timestamp": str(now),
                                                            "X-Slack-Signature": sign(body, now, "not-the-secret")})
        assert forged == 401 and load(iface.ctx, incident).sev.value == "SEV2"
        status, _, _ = post(runtime.connection.port, body, {"X-Slack-Request-Timestamp": str(now),
                                                            "X-Slack-Signature": sign(body, now)})
        assert status == 200
        assert _answer(standin, parent, 1).startswith(f"<@{ANA}> recorded: {incident} is now a SEV1 compliance")
        assert load(iface.ctx, incident).steps == {} and load(iface.ctx, incident).sev.value == "SEV1"
    finally:
        runtime.stop()


def test_closing_an_incident_takes_the_buttons_off_its_channel_post(iface, standin, running):
    incident = _file(iface, "SEV3", trigger="workflow-failure")
    assert json.loads(_wait_buttons(standin, incident, "Mark step done"))["choices"] == {"step": ["prevention"]}
    lee = iface.ctx.people.by_name("lee")
    flows.confirm_step(iface.ctx, lee, incident, "prevention", "added a check")
    flows.close(iface.ctx, lee, incident)
    [closed] = standin.wait_for(lambda s: [c for c in s.calls_to("chat.update")
                                           if f"{incident} SEV3 operational incident: closed by lee" in c.params["text"]])
    assert not [b for b in _blocks_of(closed) if b["type"] == "actions"]
