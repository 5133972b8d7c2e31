"""Credit monitoring intake: runs recorded durably per second, and intake-to-alert-queued latency.

    .venv/bin/python bench/credits_bench.py [--runs 100000] [--rate 1000] [--scenarios 100]

Everything is the production path on a temporary data directory: JSON bytes → schema → classify →
run file + `.sha256` sidecar (fsync) → SEV0 quarantine move → cases in the state store → one signed
ledger commit per batch (fdatasync + checkpoint) → alerts queued in the local outbox (fsync).

Measurements, in this order, each on a fresh data directory:
1. offered load: runs arrive at `--rate` per second (virtual arrival times); the recorder takes what
   has arrived (group commit) — latency = batch done − the run's arrival; for a run that raises an
   alert, alert queued (the outbox fsync returned) − the run's arrival; and classification alone
   (schema + policy, no I/O) per run;
2. saturated: every run is waiting, taken in batches of `[credits] group_commit_max` (the inbox after
   an outage): the most runs per second the machine records durably;
3. one run per commit (no grouping), for comparison: the cost of durability per run.

The load average and I/O pressure are printed at start and end: the disk is shared with whatever else runs.

Mix of synthetic runs: 0.1 % SEV0 (PII + ≥ 10×), 0.4 % SEV1, 2 % SEV2, 1 % unbaselined, the rest normal.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatops.config import load_config  # noqa: E402
from jobs.context import build_context  # noqa: E402
from jobs.credits.baselines import set_baseline  # noqa: E402
from jobs.credits.flows import Recorder  # noqa: E402
from jobs.credits.policy import classify  # noqa: E402
from jobs.credits.schema import parse_run_bytes  # noqa: E402
from jobs.notices import Notice, Notifier  # noqa: E402

CONFIG = """
timezone = "America/Los_Angeles"
data_dir = "var/"
[people.ana]
slack_id = "U0ANA00001"
roles = ["O3"]
[people.ben]
slack_id = "U0BEN00002"
roles = ["O2"]
"""


def synthetic_runs(count: int, scenarios: int, prefix: str, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 22, 16, 0, tzinfo=timezone.utc)
    out = []
    for i in range(count):
        roll = rng.random()
        scenario = f"scn-{rng.randrange(scenarios):03d}"
        flags: list[str] = []
        if roll < 0.001:
            factor, flags = rng.uniform(10, 20), ["pii_exposure", "unbounded_iterator"]
        elif roll < 0.005:
            factor, flags = rng.uniform(5, 9), ["retry_loop"]
        elif roll < 0.025:
            factor, flags = rng.uniform(2, 4), rng.choice([["batch_job"], ["sudden_prompt_growth"], []])
        elif roll < 0.035:
            factor, scenario = rng.uniform(0.5, 1.5), f"new-{rng.randrange(20):02d}"
        else:
            factor = rng.uniform(0.5, 1.5)
        out.append(orjson.dumps({
            "Run_ID": f"{prefix}_{i:07d}", "Scenario_ID": scenario, "Job_Type": "sync",
            "Credits_Total": round(100.0 * factor, 2), "retry_count": rng.randrange(3),
            "has_max_items_config": True, "Risk_Flags": flags,
            "Started_At": (start + timedelta(seconds=i // 50)).isoformat()}))
    return out


@dataclass
class TimedNotifier:
    """The context's own notifier (the outbox), noting when each run's notice was queued durably."""

    inner: Notifier
    queued_at: dict[str, float] = field(default_factory=dict)

    def send(self, notice: Notice) -> None:
        self.inner.send(notice)
        run_id = notice.fields.get("run") or notice.fields.get("run_id")
        if run_id:
            self.queued_at.setdefault(run_id, time.perf_counter())


def fresh_recorder(root: Path, scenarios: int):
    (root / "config.toml").write_text(CONFIG)
    loaded = load_config(root / "config.toml")
    ctx = build_context(loaded.settings, loaded.data_dir)
    ctx.notifier = TimedNotifier(ctx.notifier)
    ana = ctx.people.by_name("ana")
    for n in range(scenarios):
        set_baseline(ctx, ana, f"scn-{n:03d}", 100.0, "bench baseline")
    return ctx, Recorder(ctx)


def machine_load() -> str:
    """Load average and, on Linux, the share of time every task waited for I/O (the disk is shared)."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        full = Path("/proc/pressure/io").read_text().splitlines()[1].split()
    except (OSError, IndexError):
        return f"load average {load}"
    return f"load average {load}; I/O fully stalled {full[1].split('=')[1]} % (10 s), {full[3].split('=')[1]} % (5 min)"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def saturated(recorder: Recorder, runs: list[bytes], batch: int) -> tuple[float, int]:
    started = time.perf_counter()
    recorded = 0
    for i in range(0, len(runs), batch):
        records = [parse_run_bytes(data) for data in runs[i:i + batch]]
        recorded += sum(o.recorded for o in recorder.record(records))
    return time.perf_counter() - started, recorded


def offered_load(recorder: Recorder, runs: list[bytes], rate: float, batch_max: int):
    """Virtual arrivals at `rate`/s; the recorder takes whatever has arrived (≤ batch_max) per commit."""
    latencies, alert_latencies, batches, durations = [], [], [], []
    t0 = time.perf_counter()
    i = 0
    while i < len(runs):
        now = time.perf_counter()
        arrived = min(len(runs), int((now - t0) * rate) + 1)
        if arrived <= i:
            time.sleep((i / rate) - (now - t0))
            continue
        take = runs[i:min(arrived, i + batch_max)]
        began = time.perf_counter()
        records = [parse_run_bytes(data) for data in take]
        outcomes = recorder.record(records)
        done = time.perf_counter()
        durations.append((done - began, len(take)))
        queued_at = recorder.ctx.notifier.queued_at
        for k, outcome in enumerate(outcomes):
            arrival = t0 + (i + k) / rate
            latencies.append(done - arrival)
            if outcome.alerts:
                alert_latencies.append(queued_at[outcome.run_id] - arrival)
        batches.append(len(take))
        i += len(take)
    return time.perf_counter() - t0, latencies, alert_latencies, batches, durations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="offered load, runs per second")
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--single", type=int, default=2000, help="runs for the one-run-per-commit figure")
    args = parser.parse_args()
    print(f"credits bench: {args.runs:,} synthetic runs, {args.scenarios} scenarios, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"at start: {machine_load()}")
    with tempfile.TemporaryDirectory(prefix="credits-bench-", dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp)
        # Offered load first, on a settled disk: after the saturated phase the file system is still
        # writing back the metadata of 200,000 new files for a minute or more, which is that phase's cost,
        # not the latency of live traffic (README "Credit monitoring").
        (root / "load").mkdir()
        ctx, recorder = fresh_recorder(root / "load", args.scenarios)
        batch = ctx.settings.credits.group_commit_max
        runs = synthetic_runs(args.runs, args.scenarios, "load", 2)
        elapsed, latencies, alerts, batches, durations = offered_load(recorder, runs, args.rate, batch)
        print(f"1. offered {args.rate:,.0f} runs/s for {len(runs):,} runs: done in {elapsed:.1f} s "
              f"({len(runs) / elapsed:,.0f} runs/s), {len(batches):,} commits, mean batch "
              f"{statistics.mean(batches):.1f}, largest {max(batches)}")
        print(f"   intake → recorded (all runs):      p50 {percentile(latencies, 50) * 1e3:6.1f} ms   "
              f"p99 {percentile(latencies, 99) * 1e3:6.1f} ms   max {max(latencies) * 1e3:6.1f} ms")
        slowest = sorted(durations, reverse=True)[:3]
        print("   slowest commits: " + ", ".join(f"{d * 1e3:.0f} ms ({n} runs)" for d, n in slowest)
              + f"; commit p99 {percentile([d for d, _ in durations], 99) * 1e3:.1f} ms")
        if alerts:
            print(f"   intake → alert queued ({len(alerts):,} alerts): p50 {percentile(alerts, 50) * 1e3:6.1f} ms   "
                  f"p99 {percentile(alerts, 99) * 1e3:6.1f} ms   max {max(alerts) * 1e3:6.1f} ms")

        baselines = {f"scn-{n:03d}": 100.0 for n in range(args.scenarios)}
        timings = []
        for data in runs:
            started = time.perf_counter()
            record = parse_run_bytes(data)
            classify(record, baselines.get(record.scenario_id), "manual", None, ctx.settings.credits)
            timings.append(time.perf_counter() - started)
        print(f"   classification alone (schema + policy, no I/O): p50 {percentile(timings, 50) * 1e6:.0f} µs, "
              f"p99 {percentile(timings, 99) * 1e6:.0f} µs")

        (root / "saturated").mkdir()
        ctx, recorder = fresh_recorder(root / "saturated", args.scenarios)
        runs = synthetic_runs(args.runs, args.scenarios, "sat", 1)
        elapsed, recorded = saturated(recorder, runs, batch)
        state_kb = (ctx.data_dir / "state.json").stat().st_size / 1024
        cases = len(ctx.state.snapshot().table("credit_cases"))
        print(f"2. saturated, batches of {batch}: {recorded:,} runs recorded durably in {elapsed:.1f} s = "
              f"{recorded / elapsed:,.0f} runs/s ({cases} cases opened, state.json {state_kb:,.0f} KiB)")

        (root / "single").mkdir()
        ctx, recorder = fresh_recorder(root / "single", args.scenarios)
        runs = synthetic_runs(args.single, args.scenarios, "one", 3)
        per_run = []
        for data in runs:
            started = time.perf_counter()
            recorder.record([parse_run_bytes(data)])
            per_run.append(time.perf_counter() - started)
        print(f"3. one run per commit ({len(runs):,} runs): {len(runs) / sum(per_run):,.0f} runs/s, "
              f"p50 {percentile(per_run, 50) * 1e3:.2f} ms, p99 {percentile(per_run, 99) * 1e3:.2f} ms")
    print(f"at end: {machine_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
