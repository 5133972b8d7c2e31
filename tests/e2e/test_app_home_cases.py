"""The App Home tab of the daemon's own Slack wiring: the open cases that wait for the viewer, by role."""
from __future__ import annotations

import json

import pytest

from apscheduler.schedulers.background import BackgroundScheduler

from chatops.event_loop import EventLoop
from chatops.services import Services, Wiring
from chatops.slack.mode import Mode
from tests.conftest import run_cli
from tests.credits.conftest import raw_run, set_baseline
from tests.e2e.conftest import ANA, BEN, CLEO, SOCKET_ENV
from tests.standins.slack import BOT_TOKEN, SlackStandIn

CASES = "*Your open cases*"


def open_home(standin: SlackStandIn, user: str) -> str:
    return standin.open_app_home(user, CASES)


@pytest.fixture
def daemon_slack(deployment):
    ctx = deployment.ctx
    services = Services.start_all(Wiring(ctx, deployment.loaded, Mode.SOCKET, SOCKET_ENV, None,
                                         BackgroundScheduler(timezone=ctx.settings.timezone), EventLoop()))
    yield services
    services.stop(3.0)


def test_app_home_lists_the_open_cases_waiting_for_the_viewer_and_nothing_for_a_stranger(
        deployment, standin, daemon_slack, tmp_path):
    set_baseline(deployment.ctx, "scn-invoice", 100.0)
    run_file = tmp_path / "run.json"
    run_file.write_text(json.dumps(raw_run(run_id="run_h1", credits=560.0, Risk_Flags=["retry_loop"],
                                           has_max_items_config=False)))
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN}
    assert run_cli("runs", "record", str(run_file), "--as", "ana", config=deployment.config, env=env).returncode == 0

    ben = open_home(standin, BEN)
    assert ben.startswith(f"{CASES}\n• CASE-1 SEV1 scn-invoice (`run_h1`): awaiting ACK, due ")
    assert "rerun gate" not in ben                                   # an O2 cannot decide it
    ana = open_home(standin, ANA)
    assert "awaiting ACK" in ana and "rerun gate: needs `APPROVED for rerun - …`" in ana
    assert open_home(standin, CLEO) == f"{CASES}\n_no open case waits for you_"    # O1 may read, not act
    assert open_home(standin, "U0STRANGER") == f"{CASES}\n_none you may see_"

    assert run_cli("case", "ack", "CASE-1", "--as", "ben", config=deployment.config, env=env).returncode == 0
    assert open_home(standin, BEN) == (f"{CASES}\n• CASE-1 SEV1 scn-invoice (`run_h1`): "
                                       f"you acknowledged it (Investigating)")
