"""PR comments through the durable outgoing queue to the GitHub stand-in: the worker's real delivery loop."""
from __future__ import annotations

import random

import pytest

from chatops.github_delivery import services
from chatops.services import Wiring
from chatops.slack.mode import Mode
from jobs import outbox_admin
from jobs.delivery import DeliveryWorker, DestinationName
from jobs.errors import Invalid
from jobs.export.github_comments import GitHubCommentDestination, queue_comment
from store.outbox import Outbox
from tests.export.github.conftest import REPO, Sleeper, provider_for
from tests.standins.github import TOKEN

SUBJECT = "export/2026-12-06"
SECRET = "ghp_" + "Zq8rT2mN5vX1cB7kL4pW9sD3fG6hJ0aY1eU5"


class Clock:
    """The worker's clock and its waits: a wait moves the clock, nothing sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


def _worker(ctx, sleeper: Sleeper, clock: Clock) -> DeliveryWorker:
    provider = provider_for(ctx, sleeper, attempts=1)
    return DeliveryWorker(ctx, GitHubCommentDestination(provider), wait=clock.wait, clock=lambda: clock.now,
                          rng=random.Random(3))


@pytest.fixture
def pr(ctx, sleeper, standin) -> int:
    return provider_for(ctx, sleeper).open_or_update(SUBJECT, "Session export 2026-12-06", "Scrub confidence: LOW").number


def _bodies(standin, number: int) -> list[str]:
    return [c["body"].split("\n\n<!-- chatops:")[0] for c in standin.comments.get(REPO, {}).get(number, [])]


def test_a_queued_comment_is_scrubbed_before_the_outbox_and_posted_once_in_order(ctx, sleeper, standin, pr):
    first = queue_comment(ctx, pr, f"Held by ben (chief.staff): {SECRET} found in clean output", SUBJECT)
    queue_comment(ctx, pr, "COO notified", SUBJECT)
    assert SECRET not in Outbox(ctx.data_dir).path.read_text()
    [queued, _] = Outbox(ctx.data_dir).messages()
    assert (queued.id, queued.dest, queued.subject) == (first, DestinationName.GITHUB, SUBJECT)
    assert queued.item["subject_kind"] == "export_pr" and queued.item["to"] == f"{REPO}#{pr}"
    assert Outbox(ctx.data_dir).notice_ids() == set()   # the start-up reconciliation reads past items without a notice
    assert _worker(ctx, sleeper, Clock()).deliver_pending() == 2
    held, notified = _bodies(standin, pr)
    assert held == queued.item["text"] and "[REDACTED:" in held and SECRET not in held
    assert notified == "COO notified"
    assert [m.final["op"] for m in Outbox(ctx.data_dir).messages()] == ["sent", "sent"]


def test_retry_after_from_github_pauses_the_queue_exactly_that_long(ctx, sleeper, standin, pr):
    queue_comment(ctx, pr, "Merged by ben", SUBJECT)
    standin.fail(429, match="POST /comments", headers={"Retry-After": "9"})
    clock = Clock()
    _worker(ctx, sleeper, clock).deliver_pending()
    assert clock.waits == [9.0] and sleeper.waits == []
    assert _bodies(standin, pr) == ["Merged by ben"]


def test_a_comment_github_refuses_with_422_is_parked_with_its_message_and_the_next_goes_on(ctx, sleeper,
                                                                                           standin, pr):
    parked = queue_comment(ctx, pr, "x" * 10, SUBJECT)
    queue_comment(ctx, pr, "COO notified", SUBJECT)
    standin.fail(422, match="POST /comments", message="Body is too long (maximum is 65536 characters)")
    _worker(ctx, sleeper, Clock()).deliver_pending()
    by_id = {m.id: m for m in Outbox(ctx.data_dir).messages()}
    assert by_id[parked].parked and "Body is too long (maximum is 65536 characters)" in by_id[parked].final["error"]
    assert _bodies(standin, pr) == ["COO notified"]
    [github] = [d for d in outbox_admin.status(ctx) if d.destination == "github"]
    assert github.describe()[1].startswith(f"  parked {parked} {SUBJECT} → {REPO}#{pr} at ")


def test_a_comment_whose_answer_was_lost_is_found_on_the_pr_not_posted_twice(ctx, sleeper, standin, pr):
    queue_comment(ctx, pr, "Held by ben", SUBJECT)
    standin.lose_answer("POST /comments")
    clock = Clock()
    _worker(ctx, sleeper, clock).deliver_pending()
    assert len(clock.waits) == 1 and _bodies(standin, pr) == ["Held by ben"]
    assert [r.status for r in standin.made("POST /comments")] == [0]


def test_a_5xx_backs_off_the_prs_comments_then_delivers(ctx, sleeper, standin, pr):
    queue_comment(ctx, pr, "Held by ben", SUBJECT)
    standin.fail(502, times=2, match="POST /comments")
    clock = Clock()
    _worker(ctx, sleeper, clock).deliver_pending()
    assert len(clock.waits) == 2 and 0.5 <= clock.waits[0] <= 1.0 and 1.0 <= clock.waits[1] <= 2.0
    assert _bodies(standin, pr) == ["Held by ben"]


def test_a_comment_without_text_is_not_queued(ctx, pr):
    with pytest.raises(Invalid, match=r"a comment on PR #1 of acme/exports needs text"):
        queue_comment(ctx, pr, "  ", SUBJECT)


def test_the_daemon_runs_the_github_worker_only_with_a_repository_and_a_token(ctx):
    def wiring(environ):
        return Wiring(ctx=ctx, loaded=None, mode=Mode.LOCAL, environ=environ, http_port=None, scheduler=None,
                      loop=None)

    assert services(wiring({})) == []
    [worker] = services(wiring({"GITHUB_TOKEN": TOKEN}))
    assert worker.name == "github-delivery" and worker.destination.provider.attempts == 1
