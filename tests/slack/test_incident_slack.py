"""`/ops incident file` opens a filing form; its submission files the incident; the incident's
`#security-incidents` thread takes `CONTAINED - …`; a stranger is refused and recorded, no form opened."""
from __future__ import annotations

import json

from chatops.notify import slack_delivery, web_client
from jobs.compliance.service import ids, load
from tests.slack.test_socket_mode import ANA, STRANGER, ledger, running, slash, thread_reply  # noqa: F401
from tests.standins.slack import BOT_TOKEN, SlackStandIn

LEE = "U0LEE00005"
PHRASE = "Wombat-Turnip-9032"


def _submit(standin: SlackStandIn, user: str, view: dict, values: dict[str, str]) -> str:
    state = {dest: {"text": {"type": "static_select", "selected_option": {"value": v}} if dest in ("trigger", "sev")
                    else {"type": "plain_text_input", "value": v}} for dest, v in values.items()}
    return standin.deliver("interactive", {
        "type": "view_submission", "team": {"id": "T0STANDIN"}, "api_app_id": "A0STANDIN", "user": {"id": user},
        "view": {"id": "V1", "type": "modal", "callback_id": view["callback_id"],
                 "private_metadata": view["private_metadata"], "state": {"values": state}}})


def test_the_filing_form_files_the_incident_and_the_thread_takes_containment(iface, standin, running):
    standin.wait_ack(slash(standin, ANA, "incident file")[0])
    view = standin.wait_for(lambda s: s.calls_to("views.open"))[0].params["view"]
    assert view["callback_id"] == "ops_command_modal"
    assert [b["block_id"] for b in view["blocks"]] == ["trigger", "sev", "what", "contained", "at_risk", "kind",
                                                       "owner", "link"]
    standin.wait_ack(_submit(standin, ANA, view, {"trigger": "data-exposure", "sev": "SEV1",
                                                 "what": f"{PHRASE} exposed", "contained": "nothing yet",
                                                 "at_risk": "emails", "link": "run_1, CASE-2"}))
    answer = standin.wait_for(lambda s: [c for c in s.calls_to("chat.postMessage") if c.params["channel"] == ANA])[0]
    assert answer.params["text"].startswith("filed INC-1: SEV1 compliance incident") and PHRASE not in answer.params["text"]
    incident = load(iface.ctx, "INC-1")
    assert (incident.filed_by, incident.links, incident.what) == ("ana", ("run_1", "CASE-2"), f"{PHRASE} exposed")

    slack_delivery(iface.ctx, web_client(iface.ctx, BOT_TOKEN)).deliver_pending()
    carrying = {c.params["channel"] for c in standin.calls_to("chat.postMessage") if PHRASE in json.dumps(c.params)}
    assert carrying == {"DU0DEV00004"}                                             # the CEO's DM only
    channel, ts = standin.channel_id("#security-incidents"), _thread_ts(iface.ctx)
    standin.wait_ack(thread_reply(standin, channel, ts, LEE, "CONTAINED - revoked the bucket policy", "1700000400.1"))
    standin.wait_for(lambda s: "contain" in load(iface.ctx, "INC-1").steps)
    assert load(iface.ctx, "INC-1").steps["contain"].by == "lee"


def test_a_field_the_form_cannot_take_is_named_under_it_and_nothing_is_filed(iface, standin, running):
    """The form's values are typed before the ack: a `what` longer than the CEO's DM carries comes back as
    Slack's `response_action: errors` under that field, the form stays open, and no incident is filed."""
    standin.wait_ack(slash(standin, ANA, "incident file")[0])
    view = standin.wait_for(lambda s: s.calls_to("views.open"))[0].params["view"]
    ack = standin.wait_ack(_submit(standin, ANA, view, {"trigger": "data-exposure", "sev": "SEV2",
                                                       "what": "x" * 2_001, "contained": "nothing yet",
                                                       "at_risk": "emails"}))
    assert ack.payload["response_action"] == "errors"
    assert list(ack.payload["errors"]) == ["what"]
    assert "longer than 2,000 characters" in ack.payload["errors"]["what"]
    assert len(ack.payload["errors"]["what"]) <= 150 and "x" * 100 not in ack.payload["errors"]["what"]
    assert ids(iface.ctx) == []
    assert not [c for c in standin.calls_to("chat.postMessage") if c.params["channel"] == ANA]


def _thread_ts(ctx) -> str:
    from store import slack_threads

    thread = slack_threads.by_subject(ctx.state, "#security-incidents", "INC-1")
    return thread.ts if thread else ""


def test_a_stranger_is_refused_the_form_and_the_refusal_names_the_subject(iface, standin, running):
    envelope, n = slash(standin, STRANGER, "incident file")
    standin.wait_ack(envelope)
    refusal = standin.wait_for(lambda s: [r for r in s.responses if r["n"] == n])[0]
    assert refusal["text"].startswith("refused: incident file needs any role")
    assert not standin.calls_to("views.open")
    [entry] = [e for e in ledger(iface.ctx) if e["kind"] == "command.refused"]
    assert (entry["actor"], entry["data"]["subject_kind"], entry["data"]["subject"]) == (STRANGER, "incident", "new")
