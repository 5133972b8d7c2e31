"""The export's result through the Slack stand-in: the review-channel message with its Merge and Hold buttons,
the DMs the policy names, and `MERGE` / `HOLD - <reason>` replies in the PR's thread — each through the gate,
with the grade deciding who may merge (seed 000 §3)."""
from __future__ import annotations


import pytest

from jobs.actors import DAEMON
from jobs.export import flows, service
from jobs.export.records import Disposition
from tests.e2e.conftest import ANA, BEN, CLEO, delivered, next_answer
from tests.export.helpers import git
from tests.export.transcripts import MEDIUM_TEXT, age, session
from tests.export.slack_home import review_buttons, slack_home  # noqa: F401  (a fixture)
from tests.slack.conftest import standin  # noqa: F401  (the stand-in fixture, shared)
from tests.slack.test_socket_mode import _click, thread_reply

PROJECT = "-home-dev-shop"


def test_medium_result_has_buttons_the_gate_decides_who_merges(slack_home, standin):
    ctx, projects = slack_home
    session(projects / PROJECT / "s1.jsonl", MEDIUM_TEXT)
    day = flows.run_export(ctx, DAEMON, ctx.local(ctx.now()).date().isoformat())
    assert day.disposition is Disposition.REVIEW
    sent = delivered(ctx, "EXPORT-PR-1", "#ops-review")
    channel, parent = sent["channel"], sent["ts"]
    found = review_buttons(standin, "PR #1")
    assert found == {"Merge": {"command": "export merge", "target": "1", "needs": ""},
                     "Hold": {"command": "export hold", "target": "1", "needs": "reason"}}
    assert delivered(ctx, "EXPORT-PR-1", "@ben")                  # chief.staff asked to review

    standin.wait_ack(_click(standin, CLEO, channel, parent, found["Merge"]))
    assert "export merge needs role chief.staff or coo" in next_answer(standin, parent, 0)
    assert service.load_day(ctx, day.date).disposition is Disposition.REVIEW

    standin.wait_ack(_click(standin, BEN, channel, parent, found["Merge"]))
    assert next_answer(standin, parent, 1).startswith(f"<@{BEN}> recorded: PR #1 ({day.date}, MEDIUM) merged")
    assert service.load_day(ctx, day.date).disposition is Disposition.MANUAL
    assert "merged by ben" in git(ctx.data_dir / "exports", "log", "main", "--merges", "--format=%s")


def test_thread_replies_hold_and_merge_the_pr_of_their_thread(slack_home, standin):
    ctx, projects = slack_home
    session(projects / PROJECT / "s1.jsonl", MEDIUM_TEXT)
    day = flows.run_export(ctx, DAEMON, ctx.local(ctx.now()).date().isoformat())
    sent = delivered(ctx, "EXPORT-PR-1", "#ops-review")
    channel, parent = sent["channel"], sent["ts"]

    thread_reply(standin, channel, parent, ANA, "HOLD", "1700000100.000001")
    assert "a hold needs the reason: reply `HOLD - <reason>`" in next_answer(standin, parent, 0)
    thread_reply(standin, channel, parent, ANA, "hold – the IP looks external to me", "1700000100.000002")
    assert next_answer(standin, parent, 1).startswith(f"<@{ANA}> recorded: PR #1 ({day.date}) held: the IP looks")
    held = service.load_day(ctx, day.date)
    assert (held.disposition, held.hold_reason, held.decided_by) == (Disposition.HELD, "the IP looks external to me",
                                                                      "ana")
    thread_reply(standin, channel, parent, ANA, "MERGE", "1700000100.000003")
    assert next_answer(standin, parent, 2).startswith(f"<@{ANA}> recorded: PR #1 ({day.date}, MEDIUM) merged")


@pytest.mark.parametrize("grade, texts, told, state", [
    ("HIGH", ["Finished the refactor."], set(), "merged automatically"),
    ("LOW", ["The Stripe API key is stored in 1Password; I did not read it."], {"@ben", "@ana", "@dev"},
     "waiting for review"),
    ("FAIL", None, {"@ben", "@ana", "@dev", "@lee"}, "HELD"),
])
def test_each_grade_reaches_the_review_channel_and_the_people_the_policy_names(slack_home, standin, grade, texts,
                                                                               told, state):
    ctx, projects = slack_home
    if texts is None:
        broken = projects / PROJECT / "torn.jsonl"
        broken.parent.mkdir(parents=True)
        broken.write_bytes(b"\x00\x00 torn")
        age(broken, 60)
    else:
        session(projects / PROJECT / "s1.jsonl", *texts)
    day = flows.run_export(ctx, DAEMON, ctx.local(ctx.now()).date().isoformat())
    assert day.grading.grade == grade
    delivered(ctx, "EXPORT-PR-1", "#ops-review")
    posted = next(c for c in standin.calls_to("chat.postMessage") if c.params["channel"] == "#ops-review")
    assert posted.params["text"].startswith(f"Session export {day.date}: Scrub confidence {grade}, PR #1 {state}")
    for person in told:
        assert delivered(ctx, "EXPORT-PR-1", person)
    has_buttons = any(b["type"] == "actions" for b in posted.params["blocks"])
    assert has_buttons is (grade != "HIGH")
    if grade == "FAIL":
        sent = delivered(ctx, "EXPORT-PR-1", "#ops-review")
        channel, parent = sent["channel"], sent["ts"]
        standin.wait_ack(_click(standin, BEN, channel, parent, review_buttons(standin, "PR #1")["Merge"]))
        assert "merged only after `chatops export rescrub 1`" in next_answer(standin, parent, 0)
