"""The week's runs streamed out of a ledger of many weeks equal a brute-force reading of every line:
the binary search on `ts` skips only lines recorded before the window, and runs recorded late (a backfill)
still count for the week they started in."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

from freezegun import freeze_time

from jobs.credits.review import aggregates, service
from jobs.credits.review.records import parse_week
from tests.review.conftest import LA, make_context, run


def test_streamed_week_equals_every_line_read_and_counts_late_recorded_runs(tmp_path):
    start = datetime(2026, 9, 7, 8, 0, tzinfo=timezone.utc)     # ten weeks before 2026-W47, recorded day by day
    ctx = None
    for d in range(84):
        moment = start + timedelta(days=d, hours=23)
        with freeze_time(moment):
            ctx = ctx or make_context(tmp_path / "var")
            with ctx.ledgers.credit.commit() as entries:
                for i in range(20):
                    at = start + timedelta(days=d, minutes=60 * i + 30)
                    run(ctx, f"r{d:03d}-{i}", f"scn-{i % 5}", 100.0 + i, at, entries=entries)
    with freeze_time(start + timedelta(days=90)):               # a backfill recorded weeks later, started in W47
        run(ctx, "late", "scn-backfill", 50.0, datetime(2026, 11, 18, 12, 0, tzinfo=LA))
    path = ctx.data_dir / service.CREDIT_LEDGER
    assert path.stat().st_size > 512 * 1024                      # the search really narrows the file
    week = parse_week("2026-W47", LA)
    streamed = aggregates.read_week(path, week)

    expected, previous = Counter(), Counter()
    for entry in map(json.loads, path.read_text().splitlines()):
        found = aggregates.seen_run(entry, LA)
        if found and week.contains(found.started_at):
            expected[found.scenario_id] += 1
        elif found and week.previous().contains(found.started_at):
            previous[found.scenario_id] += 1
    assert {s: w.runs for s, w in streamed.scenarios.items()} == dict(expected)
    assert streamed.previous_runs == previous
    assert expected["scn-backfill"] == 1 and sum(expected.values()) == 7 * 20 + 1
    since = week.previous().start - aggregates.CLOCK_SLACK
    with path.open("rb") as handle:
        offset = aggregates.first_offset_recorded_since(handle, path.stat().st_size, since)
    first, at = None, 0
    for line in path.read_bytes().splitlines(keepends=True):
        if first is None and json.loads(line)["ts"] >= since.astimezone(timezone.utc).strftime(aggregates.TS_FORMAT):
            first = at
        at += len(line)
    assert 0 < offset <= first and first - offset < 64 * 1024 + 4096    # the reading starts just before it
