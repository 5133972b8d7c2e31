"""The sweep and the summary through the Slack stand-in: the gap finding's DM to the COO and its button that
runs a gap day's export (through the gate, as the clicker), the CEO's summary DM in Block Kit, and the
summary in the CEO's App Home. Real time here (the stand-in runs threads): the sweep is run as at 08:30
of today's Pacific date, and the export is said to have been scheduled since the day before."""
from __future__ import annotations

from datetime import datetime, timedelta


from jobs.actors import DAEMON
from jobs.export import service as export_service
from jobs.export.records import Step
from jobs.sweep import summary
from jobs.sweep.flows import run_sweep
from store import job_runs
from tests.e2e.conftest import BEN, CLEO, DEV, delivered, next_answer
from tests.export.transcripts import age, session
from tests.export.slack_home import review_buttons, slack_home  # noqa: F401  (a fixture)
from tests.slack.conftest import standin  # noqa: F401  (the stand-in fixture, shared)
from tests.slack.test_socket_mode import _click

PROJECT = "-home-dev-shop"


def test_the_gap_days_reach_the_coo_and_a_button_runs_a_gap_days_export_as_the_clicker(slack_home, standin):
    ctx, projects = slack_home
    today = ctx.local(ctx.now()).date()
    morning = datetime.combine(today, ctx.settings.schedule.sweep, tzinfo=ctx.settings.timezone)
    yesterday = (today - timedelta(days=1)).isoformat()
    job_runs.set_setting_once(ctx.state, "schedule.started_at.export", (morning - timedelta(days=1)).isoformat())
    age(session(projects / PROJECT / "old.jsonl", "Ran the test suite: 12 passed."), 3 * 24 * 60)

    result = run_sweep(ctx, DAEMON, morning)
    [gap] = [f for f in result.findings if f.key.startswith("export.gap")]
    assert gap.key == f"export.gap:{yesterday}"
    subject = f"SWEEP-{gap.key}"
    assert delivered(ctx, subject, "@ana")                               # the COO, by DM
    sent = delivered(ctx, subject, "#ops-review")
    found = review_buttons(standin, f"The export missed 2 consecutive runs ({yesterday}, {today.isoformat()})")
    assert found == {f"Run export {yesterday}": {"command": "export run", "target": yesterday, "needs": ""},
                     f"Run export {today.isoformat()}": {"command": "export run", "target": today.isoformat(),
                                                         "needs": ""}}

    standin.wait_ack(_click(standin, CLEO, sent["channel"], sent["ts"], found[f"Run export {yesterday}"]))
    assert "export run needs role chief.staff or code.platform" in next_answer(standin, sent["ts"], 0)
    assert export_service.load_day(ctx, yesterday) is None

    standin.wait_ack(_click(standin, BEN, sent["channel"], sent["ts"], found[f"Run export {yesterday}"]))
    answer = next_answer(standin, sent["ts"], 1)
    assert answer.startswith(f"<@{BEN}> recorded: export {yesterday}: Scrub confidence HIGH"), answer
    day = export_service.load_day(ctx, yesterday)
    assert day.step is Step.FINISHED and [f.path.rsplit("/", 1)[1] for f in day.files] == ["old.jsonl"]


def test_the_ceo_gets_the_summary_as_a_block_kit_dm_and_sees_it_in_the_app_home(slack_home, standin):
    ctx, _ = slack_home
    sent = summary.send(ctx, ctx.people.by_name("ben"))
    delivered(ctx, f"SUMMARY-{sent.date}", "@dev")
    [dm] = [c for c in standin.calls_to("chat.postMessage") if c.params["text"].startswith(f"CEO summary {sent.date}")]
    assert dm.params["text"] == sent.text()
    sections = [b["text"]["text"] for b in dm.params["blocks"] if b["type"] == "section"]
    assert sections[0].startswith(f"*CEO summary {sent.date}*\nExport yesterday")
    assert any(s.startswith("Ledgers: ") for s in sections)

    home = standin.open_app_home(DEV, "*Daily summary*")
    assert home.startswith(f"*Daily summary*\n• CEO summary {sent.date}")
    assert standin.open_app_home(BEN, "*Daily summary*") == "*Daily summary*\n_for the CEO only_"
