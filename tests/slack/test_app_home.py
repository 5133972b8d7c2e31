"""App Home through the real Bolt app and the stand-in: what it publishes for approvals that were replaced."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chatops.slack.mode import Mode
from chatops.slack.runtime import start_slack
from jobs.approvals import Status, get
from jobs.credits.baselines import proposals as baseline_proposals
from tests.baselines.conftest import daily_runs, record_run
from tests.slack.test_socket_mode import ANA, BEN, ENV
from tests.standins.slack import SlackStandIn

DEV = "U0DEV00004"
APPROVALS = "*Approvals waiting for you*"


@pytest.fixture
def running(iface):
    runtime = start_slack(iface, Mode.SOCKET, ENV)
    yield runtime
    runtime.stop()


def open_home(standin: SlackStandIn, user: str) -> str:
    return standin.open_app_home(user, APPROVALS)


def test_app_home_shows_the_renewed_baseline_proposal_and_not_the_one_it_superseded(iface, standin, running):
    ctx = iface.ctx
    now = datetime.now(timezone.utc)
    daily_runs(ctx, "SCN", [200.0 + (i % 3) for i in range(35)], end=now)
    first = baseline_proposals.propose(ctx, ctx.people.by_name("ben"), "SCN", "stable").request
    assert f"({first.id})" in open_home(standin, ANA)

    record_run(ctx, "late", "SCN", 260.0, now - timedelta(minutes=5))
    with pytest.raises(baseline_proposals.ProposalSuperseded) as exc:
        baseline_proposals.approve(ctx, ctx.people.by_name("ana"), first.id)
    renewed = exc.value.renewed
    assert get(ctx, first.id).status is Status.SUPERSEDED

    for o3 in (ANA, DEV):
        section = open_home(standin, o3)
        assert section == f"{APPROVALS}\n• BASELINE-SCN: baseline.update requested by ben ({renewed.id})"
    assert open_home(standin, BEN) == f"{APPROVALS}\n_no approval is waiting for you_"   # the proposer's own
