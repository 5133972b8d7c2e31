"""The daemon's services come from the areas' lists: the outgoing queue's workers first, started and
stopped as one list, each saying its health."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from chatops.event_loop import EventLoop
from chatops.services import Services, Wiring
from chatops.slack.mode import Mode
from jobs.notices import Notice
from tests.conftest import PEOPLE_TOML, run_cli
from tests.slack.test_http_mode import ENV

EVENTS: list[str] = []


@dataclass
class Recorded:
    """A service of the tests' own area that notes its start and stop, and may refuse to start."""

    name: str
    fails: bool = False
    log: list[str] = field(default_factory=lambda: EVENTS)

    def start(self) -> None:
        if self.fails:
            raise OSError(f"{self.name}: port in use")
        self.log.append(f"start {self.name}")

    def stop(self, timeout: float) -> None:
        self.log.append(f"stop {self.name}")

    def health(self) -> str:
        return "ok"


def ok_area(_wiring: Wiring) -> list[Recorded]:
    return [Recorded("first"), Recorded("second")]


def failing_area(_wiring: Wiring) -> list[Recorded]:
    return [Recorded("third", fails=True)]


def _wiring(ctx, loaded, mode: Mode) -> Wiring:
    return Wiring(ctx, loaded, mode, ENV, 0, BackgroundScheduler(timezone=ctx.settings.timezone), EventLoop())


def test_in_slack_mode_the_queue_worker_starts_first_and_the_notifier_wakes_it(ctx, loaded, standin):
    services = Services.start_all(_wiring(ctx, loaded, Mode.HTTP))
    try:
        assert [s.name for s in services.running] == ["event-loop", "slack-delivery", "slack-http", "credits",
                                                      "compliance-clocks"]
        assert services.health() == {"event-loop": "ok", "slack-delivery": "ok", "slack-http": "ok", "credits": "ok",
                                     "compliance-clocks": "ok"}
        ctx.notifier.send(Notice(kind="drill", subject="DRILL-1", text="through the worker", channel="#ops-alerts"))
        standin.wait_for(lambda s: s.calls_to("chat.postMessage"))
    finally:
        services.stop(3.0)
    assert services.running == []


def test_in_local_mode_only_the_credit_area_and_the_compliance_clocks_run(ctx, loaded):
    services = Services.start_all(_wiring(ctx, loaded, Mode.LOCAL))
    try:
        assert [s.name for s in services.running] == ["event-loop", "credits", "compliance-clocks"]
    finally:
        services.stop(3.0)


def test_a_service_that_cannot_start_stops_those_started_before_it(ctx, loaded):
    EVENTS.clear()
    areas = (f"{__name__}:ok_area", f"{__name__}:failing_area")
    with pytest.raises(OSError, match="third: port in use"):
        Services.start_all(_wiring(ctx, loaded, Mode.LOCAL), areas)
    assert EVENTS == ["start first", "start second", "stop second", "stop first"]


def test_a_daemon_whose_outgoing_scrub_cannot_load_its_rules_does_not_start(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('data_dir = "var/"\n[scrub]\nrules_file = "missing-rules.json"\n' + PEOPLE_TOML)
    done = run_cli("daemon", config=config)
    assert done.returncode == 1, done.stderr
    assert "the outgoing scrub cannot load its rules" in done.stderr and "missing-rules.json" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_slack_site_and_the_credit_intake_are_served_by_the_one_event_loop(tmp_path, standin, monkeypatch):
    import threading
    import tomllib
    import urllib.error
    import urllib.request

    from chatops.config import LoadedConfig, parse_settings
    from jobs.compose import build_context
    from tests.credits.conftest import free_port

    raw = tomllib.loads(PEOPLE_TOML)
    raw["slack"] = {"api_url": standin.api_url}
    raw["credits"] = {"intake_port": free_port()}
    loaded = LoadedConfig(settings=parse_settings(raw), path=tmp_path / "config.toml", data_dir=tmp_path / "var")
    monkeypatch.setenv("SLACK_BOT_TOKEN", ENV["SLACK_BOT_TOKEN"])
    ctx = build_context(loaded.settings, loaded.data_dir)
    wiring = Wiring(ctx, loaded, Mode.HTTP, {**ENV, "CHATOPS_INTAKE_TOKEN": "intake-token"}, 0,
                    BackgroundScheduler(timezone=ctx.settings.timezone), EventLoop())
    services = Services.start_all(wiring)
    try:
        slack_port = next(s for s in services.running if s.name == "slack-http").port
        gate = urllib.request.Request(f"http://127.0.0.1:{raw['credits']['intake_port']}/gate/dispatch/run_nobody",
                                      headers={"Authorization": "Bearer intake-token"})
        with pytest.raises(urllib.error.HTTPError) as unknown:
            urllib.request.urlopen(gate, timeout=5)
        assert unknown.value.code == 404                      # the intake answers: an unknown run is blocked
        unsigned = urllib.request.Request(f"http://127.0.0.1:{slack_port}/slack/events", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unsigned, timeout=5)
        assert refused.value.code == 401                      # the Slack site answers: unsigned is refused
        own_loops = [t.name for t in threading.enumerate() if t.name in ("slack-http", "credits-http")]
        assert own_loops == [] and wiring.loop.health() == "ok"   # no thread of their own: both on the one loop
    finally:
        services.stop(3.0)
    assert wiring.loop.health().startswith("the event-loop thread has stopped")
