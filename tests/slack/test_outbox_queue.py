"""The one outgoing queue: per-subject order, Retry-After, backoff with jitter, parking, restarts, and
`chatops outbox status|retry|park`, against the Slack stand-in and real files."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from chatops.cli import main
from chatops.notify import slack_delivery, web_client
from jobs.compose import build_context
from jobs.delivery import MAX_BACKOFF, DeliveryWorker
from jobs.notices import Notice
from store.outbox import Outbox
from tests.standins.slack import BOT_TOKEN, SlackStandIn

GITHUB_PAT = "ghp_R8mK2xQ7vN4pL9wT3yB6cF1hJ5sD0aZeUiOp"


def _notice(subject: str, text: str, **kw) -> Notice:
    return Notice(kind="credits.alert", subject=subject, text=text, channel="#ops-alerts", **kw)


class Clock:
    """The worker's clock and its waits: a wait moves the clock, nothing sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.on_wait = lambda: None

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        self.on_wait()
        return False


def _worker(ctx, clock: Clock, seed: int = 7) -> DeliveryWorker:
    return slack_delivery(ctx, web_client(ctx, BOT_TOKEN), wait=clock.wait, clock=lambda: clock.now,
                          rng=random.Random(seed))


def _posted(standin: SlackStandIn) -> list[str]:
    return [c.params["text"] for c in standin.calls_to("chat.postMessage")]


def _cli(config: Path, capsys, *argv: str) -> tuple[int, str]:
    code = main(["--config", str(config), *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_subject_being_retried_holds_only_itself_and_keeps_its_own_order(ctx, standin):
    for subject, n in (("CASE-A", 1), ("CASE-B", 1), ("CASE-A", 2), ("CASE-B", 2)):
        ctx.notifier.send(_notice(subject, f"{subject} {n}"))
    standin.fail(1, status=503)   # CASE-A's first item meets a 5xx: that subject backs off
    clock = Clock()
    _worker(ctx, clock).deliver_pending()
    assert _posted(standin) == ["CASE-B 1", "CASE-B 2", "CASE-A 1", "CASE-A 2"]
    [wait] = clock.waits
    assert 0.5 <= wait <= 1.0


def test_a_5xx_burst_on_one_item_backs_off_doubling_with_bounded_jitter(ctx, standin):
    ctx.notifier.send(_notice("CASE-1", "alert"))
    standin.fail(9, status=502)
    clock = Clock()
    _worker(ctx, clock).deliver_pending()
    steps = [min(MAX_BACKOFF, 2.0 ** n) for n in range(9)]
    assert len(clock.waits) == 9
    assert all(step / 2 <= wait <= step for wait, step in zip(clock.waits, steps)), clock.waits
    assert max(clock.waits) <= MAX_BACKOFF and clock.waits != steps
    assert _posted(standin) == ["alert"]
    other = Clock()   # another worker draws other waits: retries of many subjects do not fall in step
    ctx.notifier.send(_notice("CASE-2", "again"))
    standin.fail(3, status=502)
    _worker(ctx, other, seed=8).deliver_pending()
    assert other.waits != clock.waits[:3]


def test_retry_after_pauses_the_whole_destination_for_exactly_that_long(ctx, standin):
    for n in range(3):
        ctx.notifier.send(_notice(f"CASE-{n}", f"alert {n}"))
    standin.rate_limit(1, retry_after=7)
    clock = Clock()
    calls_when_waiting: list[int] = []
    clock.on_wait = lambda: calls_when_waiting.append(len(standin.calls))
    _worker(ctx, clock).deliver_pending()
    assert clock.waits == [7.0]
    assert calls_when_waiting == [1]    # no other subject was tried during the pause
    assert _posted(standin) == ["alert 0", "alert 1", "alert 2"]


def test_across_a_restart_nothing_is_lost_and_nothing_answered_is_sent_again(ctx, standin, loaded):
    # a line from before items named their destination and subject: still a slack item, still delivered
    old = {"op": "queued", "id": "0" * 32, "at": "2026-11-22T18:00:00+00:00", "state": "pending",
           "item": {"notice": {"kind": "credits.alert", "subject": "CASE-0", "text": "from an older chatops",
                               "channel": "#ops-alerts"}, "to": "#ops-alerts"}}
    Outbox(ctx.data_dir).path.write_text(json.dumps(old) + "\n")
    ctx.notifier.send(_notice("CASE-1", "before the crash"))
    clock = Clock()
    first = _worker(ctx, clock)
    first.deliver_pending()
    standin.go_down()   # the next item cannot go; then the daemon dies
    ctx.notifier.send(_notice("CASE-2", "during the outage"))
    clock.on_wait = lambda: first.stop_event.set() if len(clock.waits) == 2 else None
    first.deliver_pending()
    standin.come_up()
    restarted = build_context(loaded.settings, loaded.data_dir)
    _worker(restarted, Clock()).deliver_pending()
    assert _posted(standin) == ["from an older chatops", "before the crash", "during the outage"]
    messages = Outbox(ctx.data_dir).messages()
    assert [(m.dest, m.subject, m.final["op"]) for m in messages] == [
        ("slack", "CASE-0", "sent"), ("slack", "CASE-1", "sent"), ("slack", "CASE-2", "sent")]


def test_a_refused_item_is_parked_shown_by_status_and_sent_by_retry(ctx, standin, config_file, capsys):
    ctx.notifier.send(_notice("CASE-1", "refused once"))
    ctx.notifier.send(_notice("CASE-2", "goes on"))
    standin.refuse(1, "not_in_channel")
    _worker(ctx, Clock()).deliver_pending()
    parked, sent = Outbox(ctx.data_dir).messages()
    assert parked.parked and sent.final["op"] == "sent"

    code, out = _cli(config_file, capsys, "outbox", "status")
    assert code == 0 and "slack: 0 pending" in out and "1 parked" in out
    assert f"parked {parked.id} CASE-1 → #ops-alerts" in out and "refused: not_in_channel" in out
    assert "no daemon has run on this data directory yet" in out
    code, out = _cli(config_file, capsys, "outbox", "status", "--json")
    [slack] = json.loads(out)["destinations"]
    assert slack["parked"][0]["id"] == parked.id and slack["parked"][0]["message"] == "not_in_channel"

    code, out = _cli(config_file, capsys, "outbox", "retry", parked.id[:10], "--as", "ben")
    assert code == 3 and "outbox retry needs role O3" in out
    code, out = _cli(config_file, capsys, "outbox", "retry", parked.id[:10], "--as", "ana")
    assert code == 0 and f"{parked.id} (CASE-1)" in out
    _worker(ctx, Clock()).deliver_pending()
    assert _posted(standin)[-1] == "refused once"
    assert [m.final["op"] for m in Outbox(ctx.data_dir).messages()] == ["sent", "sent"]
    [entry] = [e for e in map(json.loads, (ctx.data_dir / "operations" / "ledger.jsonl").read_text().splitlines())
               if e["kind"] == "outbox.retried"]
    assert entry["data"]["items"] == [parked.id] and entry["actor"] == "U0ANA00001"
    code, out = _cli(config_file, capsys, "outbox", "retry", parked.id, "--as", "ana")
    assert code == 7 and "already sent" in out


def test_a_parked_item_stops_being_retried_and_its_subject_goes_on(ctx, standin, config_file, capsys):
    ctx.notifier.send(_notice("CASE-1", "stuck"))
    ctx.notifier.send(_notice("CASE-1", "after it"))
    stuck = Outbox(ctx.data_dir).messages()[0]
    standin.fail(50, status=503)
    clock = Clock()
    worker = _worker(ctx, clock)

    def park_on_third_wait() -> None:
        if len(clock.waits) == 3:
            code, out = _cli(config_file, capsys, "outbox", "park", stuck.id, "--reason", "wrong", "channel",
                             "--as", "dev")
            assert code == 0, out
            standin._faults.clear()

    clock.on_wait = park_on_third_wait
    worker.deliver_pending()
    assert _posted(standin) == ["after it"]
    code, out = _cli(config_file, capsys, "outbox", "status")
    assert "parked by dev: wrong channel" in out and "the last error was at" in out and "internal_error" in out
    code, out = _cli(config_file, capsys, "outbox", "park", stuck.id, "--reason", "again", "--as", "dev")
    assert code == 7 and "already parked" in out


def test_status_counts_pending_per_destination_with_the_oldest_and_the_last_error(ctx, standin, config_file,
                                                                                   capsys):
    ctx.notifier.send(_notice("CASE-1", "waiting"))
    standin.go_down()
    clock = Clock()
    worker = _worker(ctx, clock)
    clock.on_wait = lambda: worker.stop_event.set()
    worker.deliver_pending()
    code, out = _cli(config_file, capsys, "outbox", "status", "--json")
    [slack] = json.loads(out)["destinations"]
    assert slack["pending"] == 1 and slack["oldest_pending_at"] and slack["oldest_pending_seconds"] >= 0
    assert "Connection refused" in slack["last_error"] and slack["failing_since"]
    assert worker.health().startswith("failing since")
    standin.come_up()
    _worker(ctx, Clock()).deliver_pending()
    [slack] = json.loads(_cli(config_file, capsys, "outbox", "status", "--json")[1])["destinations"]
    assert slack["pending"] == 0 and slack["failing_since"] == ""


@pytest.mark.parametrize("argv, code, said", [
    (["outbox", "retry", "--as", "ana"], 2, "give one ITEM id or --all-parked"),
    (["outbox", "retry", "0123456789", "--as", "ana"], 6, "outbox item '0123456789' is not in"),
    (["outbox", "retry", "--all-parked", "--as", "ana"], 0, "no parked items; nothing to retry"),
    (["outbox", "park", "0123456789", "--reason", "x"], 3, "outbox park acts as a person"),
])
def test_outbox_commands_answer_mistakes_in_one_sentence(config_file, capsys, argv, code, said):
    got, out = _cli(config_file, capsys, *argv)
    assert got == code and said in out and "Traceback" not in out


def test_a_secret_in_a_notice_reaches_neither_slack_nor_the_outbox_file(ctx, standin, tmp_path: Path):
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG chart")
    ctx.notifier.send(_notice("CASE-9", f"the agent printed {GITHUB_PAT} in its log",
                              fields={"severity": "SEV1", "done": [f"token={GITHUB_PAT}"],
                                      "files": [{"path": str(chart), "title": f"chart {GITHUB_PAT}"}]}))
    assert GITHUB_PAT not in Outbox(ctx.data_dir).path.read_text()
    _worker(ctx, Clock()).deliver_pending()
    sent = json.dumps([c.params for c in standin.calls])
    assert GITHUB_PAT[:12] not in sent
    [post] = standin.calls_to("chat.postMessage")
    assert "[REDACTED:github-pat:" in post.params["text"]
    assert "[REDACTED:github-pat:" in json.dumps(post.params["blocks"])
    [complete] = standin.calls_to("files.completeUploadExternal")
    assert "[REDACTED:github-pat:" in json.dumps(complete.params)
