"""The listeners' work waits until the acks of a burst are done, and none of it is lost.

The rule (`Burst`) is tested on the times it is given; the whole path with a burst of signed `/ops help`
requests sent together to the HTTP app: every one is acked within Slack's 3 s and every one is answered.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from chatops.slack.mode import Mode
from chatops.slack.runtime import start_slack
from chatops.slack.work import Burst
from tests.slack.test_http_mode import ENV, post, sign, slash_body


def test_work_is_held_while_requests_keep_arriving_and_released_once_quiet():
    burst = Burst(quiet=0.02, max_defer=0.5)
    assert burst.arrived(10.0)            # the first request begins the burst
    burst.acked()
    assert not burst.arrived(10.015)      # the next one belongs to it
    burst.acked()
    assert not burst.over(10.02)          # 5 ms after the last arrival: more may come
    assert burst.over(10.04)              # 25 ms of quiet: the held work goes
    assert burst.since is None and burst.arrived(10.05)   # and the next request begins a new burst


def test_work_is_held_while_a_request_still_waits_for_its_ack():
    burst = Burst(quiet=0.02, max_defer=0.5)
    burst.arrived(10.0)
    assert not burst.over(10.1)           # long quiet, but that request is not acked yet
    burst.acked()
    assert burst.over(10.1)


def test_a_steady_stream_releases_the_work_after_max_defer():
    burst = Burst(quiet=0.02, max_defer=0.5)
    now = 10.0
    burst.arrived(now)
    while now < 10.49:
        now += 0.01
        burst.arrived(now)
        assert not burst.over(now)
        burst.acked()
    assert burst.over(10.5)               # never quiet, yet the work is not starved


def test_every_slash_command_of_a_burst_is_acked_in_time_and_answered(standin, iface):
    runtime = start_slack(iface, Mode.HTTP, ENV, http_port=0)
    try:
        bodies = [slash_body(standin, "U0ANA00001", "help") for _ in range(40)]

        def send(body: bytes) -> tuple[int, float]:
            now = int(time.time())
            status, _, seconds = post(runtime.connection.port, body,
                                      {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": sign(body, now)})
            return status, seconds

        with ThreadPoolExecutor(max_workers=20) as senders:
            acks = list(senders.map(send, [body for body, _ in bodies]))
        assert all(status == 200 and seconds < 3 for status, seconds in acks)
        wanted = {n for _, n in bodies}
        standin.wait_for(lambda s: wanted <= {r["n"] for r in s.responses})
        answers = [r for r in standin.responses if r["n"] in wanted]
        assert sorted(r["n"] for r in answers) == sorted(wanted)   # each exactly once
        assert all("rerun approve" in r["text"] for r in answers)
    finally:
        runtime.stop()
