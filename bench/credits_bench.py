"""Credit monitoring intake: runs recorded durably per second, and intake-to-alert-queued latency.

    .venv/bin/python bench/credits_bench.py [--runs 100000] [--rate 1000] [--scenarios 100]
                                            [--http [--http-runs 30000] [--per-request 1]]

Everything is the production path on a temporary data directory: JSON bytes → schema → the daemon's
intake queue (group commit, alerting runs first) → classify → run file + `.sha256` sidecar (written
before the commit and synced together just after it, as the daemon does; phase 3 fsyncs each before
the commit, as `chatops runs record` does) →
SEV0 quarantine move → cases in the state store → one signed ledger commit (fdatasync + checkpoint) →
alerts queued in the local outbox (fsync).

Measurements, in this order, each on a fresh data directory, after waiting for a settled disk:
1. offered load: runs arrive at `--rate` per second, one run per submission (an orchestrator posting
   each run as it ends), parsed and submitted to the intake queue as `POST /runs` does. Latency is from
   each run's scheduled arrival: to its outcome (recorded in a signed ledger commit), and for a run that
   raises an alert, to the alert queued (the outbox fsync returned; the notice passed the outgoing
   scrub first, whose cost per alert is printed alone too, on the same notices). Also classification alone
   (schema + policy, no I/O) per run;
   with `--http`, the same over real HTTP: a second process posts the runs to the loopback intake as
   they arrive, one per request or `--per-request N` as a JSON array (sent when its last run arrives);
2. saturated: every run waiting (the inbox after an outage), taken as the inbox scan takes them: the
   most runs per second the machine records durably;
3. one run per commit (no grouping), for comparison: the cost of durability per run.

The load average and I/O pressure are printed at start and end: the disk is shared with whatever else runs.

Mix of synthetic runs: 0.1 % SEV0 (PII + ≥ 10×), 0.4 % SEV1, 2 % SEV2, 1 % unbaselined, the rest normal.
"""
from __future__ import annotations

import argparse
import asyncio
from array import array
import functools
import gc
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatops.config import load_config  # noqa: E402
from chatops.credits_service import CreditsService, serve_in_thread  # noqa: E402
from jobs.compose import build_context  # noqa: E402
from jobs.context import Context
from jobs.credits.baselines.flows import set_baseline  # noqa: E402
from jobs.actors import DAEMON  # noqa: E402
from jobs.credits.intake.file_writers import WriteBehindFileWriter  # noqa: E402
from jobs.credits.intake.recorder import Recorder  # noqa: E402
from jobs.credits.intake.sources import INBOX_COMMITS_PER_SCAN  # noqa: E402
from jobs.credits.intake.group_commit import IntakeQueue  # noqa: E402
from jobs.credits.policy import classify  # noqa: E402
from jobs.credits.intake.schema import parse_run_bytes  # noqa: E402
from jobs.notices import Notice, Notifier  # noqa: E402
from store.files import fsync_directory, write_synced  # noqa: E402

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
    sent: list[Notice] = field(default_factory=list)

    def send(self, notice: Notice) -> None:
        self.inner.send(notice)
        self.sent.append(notice)
        run_id = notice.fields.get("run") or notice.fields.get("run_id")
        if run_id:
            self.queued_at.setdefault(run_id, time.monotonic())


def fresh_recorder(root: Path, scenarios: int, kind: Callable[[Context], Recorder] = Recorder):
    (root / "config.toml").write_text(CONFIG)
    loaded = load_config(root / "config.toml")
    ctx = build_context(loaded.settings, loaded.data_dir)
    ctx.notifier = TimedNotifier(ctx.notifier)
    ctx.outgoing.engine()   # the outgoing scrub's rules, loaded at start as the daemon does
    ana = ctx.people.by_name("ana")
    for n in range(scenarios):
        set_baseline(ctx, ana, f"scn-{n:03d}", 100.0, "bench baseline")
    return ctx, kind(ctx)


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
    """Every run already waiting, read `batch` at a time (the inbox scan's slice), recorded oldest first."""
    started = time.perf_counter()
    recorded = 0
    for i in range(0, len(runs), batch):
        records = [parse_run_bytes(data) for data in runs[i:i + batch]]
        recorded += sum(o.recorded for o in recorder.record(records))
    recorder.writer.close()       # counted: the run files durable too, not only the ledger
    return time.perf_counter() - started, recorded


class TimedWriteBehind(WriteBehindFileWriter):
    """The daemon's writer, timing each sync (how far the durable mark trails the ledger)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx.data_dir, ctx.now)
        self.syncs: list[tuple[float, int]] = []      # (seconds, files)

    def _default_sync(self, paths):
        started = time.monotonic()
        super()._default_sync(paths)
        self.syncs.append((time.monotonic() - started, len(paths)))

    def report(self) -> str:
        if not self.syncs:
            return "no write-behind sync"
        took = [t for t, _ in self.syncs]
        files = sum(n for _, n in self.syncs)
        return (f"write-behind syncs: {len(took):,}, {files / len(took):,.0f} files each, "
                f"p50 {percentile(took, 50) * 1e3:.0f} ms, p99 {percentile(took, 99) * 1e3:.0f} ms, "
                f"max {max(took) * 1e3:.0f} ms")


class TimedRecorder(Recorder):
    """The production recorder, timing each commit (for the slowest-commit figures)."""

    def __init__(self, ctx: Context, writer: WriteBehindFileWriter | None = None) -> None:
        super().__init__(ctx, writer)
        self.commits: list[tuple[float, int]] = []      # (seconds, runs)

    def record_next(self, waiting, actor=DAEMON):
        started = time.monotonic()
        done = super().record_next(waiting, actor)
        self.commits.append((time.monotonic() - started, len(done)))
        return done

    def record_batch(self, records, actor=DAEMON, plans=None):
        started = time.monotonic()
        done = super().record_batch(records, actor, plans)
        self.commits.append((time.monotonic() - started, len(done)))
        return done


def daemon_recorder(ctx: Context) -> TimedRecorder:
    """As the daemon records: run files written before each commit and synced together just after it
    (`WriteBehindFileWriter`)."""
    writer = TimedWriteBehind(ctx)
    writer.start()
    return TimedRecorder(ctx, writer)


def offered_load(queue: IntakeQueue, runs: list[bytes], rate: float):
    """Runs arrive at `rate`/s, one per submission, as orchestrators posting one run each: parsed on arrival
    and submitted to the daemon's intake queue (group commit), exactly as `POST /runs` does.

    Latency is measured from each run's scheduled arrival, so time the producer itself fell behind
    counts against us, not for us. Only numbers are kept per run (no future outlives its answer, as
    in the daemon), so the bench's own bookkeeping does not lengthen garbage collections."""
    # Arrays, not lists: a list of 100,000 floats is walked by every full garbage collection of the
    # process under test, and the bench must not add to the daemon's pauses.
    recorded_at = array("d", bytes(8 * len(runs)))
    alerting = bytearray(len(runs))
    answered = threading.Semaphore(0)

    def answer(i: int, future) -> None:
        recorded_at[i] = time.monotonic()
        alerting[i] = future.result()[0].alerts > 0
        answered.release()

    t0 = time.monotonic()
    for i, data in enumerate(runs):
        ahead = t0 + i / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        queue.submit([parse_run_bytes(data)]).add_done_callback(functools.partial(answer, i))
    for _ in runs:
        answered.acquire()
    elapsed = time.monotonic() - t0
    queued_at = queue.recorder.ctx.notifier.queued_at
    ids = [orjson.loads(data)["Run_ID"] for data in runs]
    latencies = [recorded_at[i] - (t0 + i / rate) for i in range(len(runs))]
    alerts = [(t0 + i / rate, queued_at[ids[i]]) for i in range(len(runs)) if alerting[i]]
    return elapsed, latencies, alerts


class DeviceProbe:
    """An independent witness of the disk: a second process appends 200 bytes and fdatasyncs every 5 ms
    beside our data, and notes every sync slower than 50 ms (when it started, how long it took). A stall
    it sees is the device's or another tenant's, not our code's: our alerts in that window wait for it
    like every other fsync. Run alone first (`alone`), it shows what the device does with nothing of ours
    running."""

    def __init__(self, directory: Path) -> None:
        self.out = directory / "device-probe.txt"
        self.process = subprocess.Popen([sys.executable, __file__, "--probe", str(directory / "device-probe.bin"),
                                         str(self.out)])

    def stop(self) -> list[tuple[float, float]]:
        """The stalls seen, as (start, seconds) on CLOCK_MONOTONIC."""
        self.process.terminate()
        self.process.wait(10)
        text = self.out.read_text() if self.out.exists() else ""
        self.out.unlink(missing_ok=True)
        return [(float(a), float(b)) for a, b in (line.split() for line in text.splitlines())]

    @staticmethod
    def describe(stalls: list[tuple[float, float]]) -> str:
        if not stalls:
            return "an independent fdatasync probe saw no stall over 50 ms"
        longest = max(took for _, took in stalls)
        return (f"an independent fdatasync probe saw {len(stalls)} stalls over 50 ms "
                f"(longest {longest * 1e3:.0f} ms, {sum(took for _, took in stalls):.1f} s in all)")

    @classmethod
    def alone(cls, directory: Path, seconds: float = 20.0) -> str:
        """The probe with nothing else of ours running: the device's own stalls at this moment."""
        witness = cls(directory)
        time.sleep(seconds)
        stalls = witness.stop()
        return f"the disk alone for {seconds:.0f} s (nothing of ours running): {cls.describe(stalls)}"


def overlapping(spans: list[tuple[float, float]], stalls: list[tuple[float, float]]) -> list[bool]:
    """For each (start, end) span, whether a device stall the probe saw overlaps it."""
    return [any(s < end and s + took > start for s, took in stalls) for start, end in spans]


def probe(path: str, out: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(out, "w") as report:
        while True:
            started = time.monotonic()
            os.write(fd, b"x" * 199 + b"\n")
            os.fdatasync(fd)
            took = time.monotonic() - started
            if took > 0.05:
                report.write(f"{started:.6f} {took:.6f}\n")
                report.flush()
            time.sleep(0.005)


def durable_file_rate(directory: Path, count: int = 600) -> float:
    """How many new ~1 KB files this disk makes durable per second right now (create, write, fsync,
    32 at a time, then one directory fsync): what every run costs twice (its file and sidecar). It
    varies several-fold on this shared disk from minute to minute, so each figure above is printed
    beside it."""
    directory.mkdir()
    payload = b"r" * 900
    started = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda n: write_synced(directory / f"f{n}", payload, exclusive=True), range(count)))
    fsync_directory(directory)
    rate = count / (time.monotonic() - started)
    shutil.rmtree(directory)
    return rate


def wait_for_quiet_disk(scratch: Path, limit: float = 120.0) -> None:
    """Start on a settled disk: a previous run's deletions or another program's writes stall every fsync
    for a minute (ext4 with `discard`); the wait and the pressure at start are printed."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            some = float(Path("/proc/pressure/io").read_text().split()[1].split("=")[1])
        except (OSError, IndexError, ValueError):
            return
        if some < 1.0:
            break
        time.sleep(2)
    print(f"waited {time.monotonic() - started:.0f} s for the disk to settle (I/O pressure < 1 % over 10 s, "
          f"at most {limit:.0f} s): {machine_load()}")
    print(f"the disk now makes {durable_file_rate(scratch / 'calibrate'):,.0f} "
          "new files durable per second (32 at a time); 1,000 runs/s needs 2,000 (each run's file and sidecar)")


def http_phase(root: Path, args: argparse.Namespace) -> None:
    """Phase 1 again over real HTTP: this process runs the daemon's loopback intake (`CreditsService`);
    a second process posts one run per request at the offered rate (aiohttp, up to 256 connections).
    Both read CLOCK_MONOTONIC, so the client's scheduled arrival and our alert-queued time compare."""
    root.mkdir()
    ctx, _ = fresh_recorder(root, args.scenarios)
    runs = synthetic_runs(min(args.runs, args.http_runs), args.scenarios, "http", 4)
    (root / "runs.jsonl").write_bytes(b"\n".join(runs) + b"\n")
    service = CreditsService(ctx)
    service.intake.recorder.writer.start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = serve_in_thread(service, "bench-token", port)
    wait_for_quiet_disk(root)
    print(f"   {DeviceProbe.alone(root)}")
    witness = DeviceProbe(root)
    t0 = time.monotonic() + 2.0
    cpu_before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, __file__, "--client", f"http://127.0.0.1:{port}/runs", str(root), str(t0),
                    str(args.rate), str(args.per_request)], check=True)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    stalls = witness.stop()
    stop()
    service.stop(60)
    answers = orjson.loads((root / "answers.json").read_bytes())
    statuses = {status for status, _ in answers}
    latencies = [done - (t0 + i / args.rate) for i, (_, done) in enumerate(answers)]
    queued_at = ctx.notifier.queued_at
    ids = [orjson.loads(data)["Run_ID"] for data in runs]
    alerts = [(t0 + i / args.rate, queued_at[run_id]) for i, run_id in enumerate(ids) if run_id in queued_at]
    elapsed = max(done for _, done in answers) - t0
    each = "one POST /runs per run" if args.per_request == 1 else f"{args.per_request} runs per POST /runs"
    print(f"1b. over HTTP, {each} from a second process: {len(runs):,} runs in {elapsed:.1f} s "
          f"({len(runs) / elapsed:,.0f} runs/s), HTTP statuses {sorted(statuses)}")
    report_latencies(latencies, alerts, [], stalls)
    server, client = ((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                      for before, after in zip(cpu_before, cpu_after))
    print(f"   meanwhile {DeviceProbe.describe(stalls)}; CPU: intake process {server / elapsed:.0%} of a core, "
          f"client process {client / elapsed:.0%}")


def http_client(url: str, root: Path, t0: float, rate: float, per_request: int) -> None:
    """The orchestrators: runs posted as they arrive, `per_request` to a request (a JSON array when more
    than one, sent when its last run has arrived), answers noted with their time."""
    runs = (root / "runs.jsonl").read_bytes().splitlines()
    answers: list[tuple[int, float]] = [(0, 0.0)] * len(runs)

    async def post(session: aiohttp.ClientSession, first: int, chunk: list[bytes]) -> None:
        body = chunk[0] if per_request == 1 else b"[" + b",".join(chunk) + b"]"
        async with session.post(url, data=body, headers={"Authorization": "Bearer bench-token"}) as response:
            await response.read()
            done = (response.status, time.monotonic())
            for i in range(first, first + len(chunk)):
                answers[i] = done

    async def offer() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
            tasks = []
            for first in range(0, len(runs), per_request):
                chunk = runs[first:first + per_request]
                ahead = t0 + (first + len(chunk) - 1) / rate - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
                tasks.append(asyncio.create_task(post(session, first, chunk)))
            await asyncio.gather(*tasks)

    asyncio.run(offer())
    (root / "answers.json").write_bytes(orjson.dumps(answers))


def report_latencies(latencies: list[float], spans: list[tuple[float, float]], commits: list[tuple[float, int]],
                     stalls: list[tuple[float, float]]) -> None:
    """`spans`: each alerting run's (scheduled arrival, alert queued); `stalls`: what the probe saw."""
    alerts = [end - start for start, end in spans]
    print(f"   intake → recorded (all runs):      p50 {percentile(latencies, 50) * 1e3:6.1f} ms   "
          f"p99 {percentile(latencies, 99) * 1e3:6.1f} ms   max {max(latencies) * 1e3:6.1f} ms")
    if commits:
        slowest = sorted(commits, reverse=True)[:3]
        print("   slowest commits: " + ", ".join(f"{d * 1e3:.0f} ms ({n} runs)" for d, n in slowest)
              + f"; commit p99 {percentile([d for d, _ in commits], 99) * 1e3:.1f} ms")
    if alerts:
        print(f"   intake → alert queued ({len(alerts):,} alerts): p50 {percentile(alerts, 50) * 1e3:6.1f} ms   "
              f"p99 {percentile(alerts, 99) * 1e3:6.1f} ms   max {max(alerts) * 1e3:6.1f} ms")
        hit = overlapping(spans, stalls)
        calm = [a for a, h in zip(alerts, hit) if not h]
        if any(hit) and calm:
            print(f"   of those, {sum(hit)} were in flight during a device stall the probe saw; the other "
                  f"{len(calm)}: p99 {percentile(calm, 99) * 1e3:.1f} ms, max {max(calm) * 1e3:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="offered load, runs per second")
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--single", type=int, default=2000, help="runs for the one-run-per-commit figure")
    parser.add_argument("--http", action="store_true", help="also offer the load over loopback HTTP (POST /runs)")
    parser.add_argument("--http-runs", type=int, default=30_000, help="runs offered over HTTP")
    parser.add_argument("--per-request", type=int, default=1, help="runs per POST /runs in the HTTP phase")
    parser.add_argument("--client", nargs=5, metavar=("URL", "DIR", "T0", "RATE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--probe", nargs=2, metavar=("FILE", "REPORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        probe(*args.probe)
    if args.client:
        url, directory, t0, rate, per_request = args.client
        http_client(url, Path(directory), float(t0), float(rate), int(per_request))
        return 0
    print(f"credits bench: {args.runs:,} synthetic runs, {args.scenarios} scenarios, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"at start: {machine_load()}")
    with tempfile.TemporaryDirectory(prefix="credits-bench-", dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp)
        # Offered load first, on a settled disk: after the saturated phase the file system is still
        # writing back the metadata of 200,000 new files for a minute or more, which is that phase's cost,
        # not the latency of live traffic (README "Credit monitoring").
        (root / "load").mkdir()
        ctx, recorder = fresh_recorder(root / "load", args.scenarios, daemon_recorder)
        runs = synthetic_runs(args.runs, args.scenarios, "load", 2)
        queue = IntakeQueue(recorder)
        wait_for_quiet_disk(root)
        print(DeviceProbe.alone(root))
        gc.freeze()     # as the daemon does after start-up
        witness = DeviceProbe(root)
        cpu = time.process_time()
        elapsed, latencies, alerts = offered_load(queue, runs, args.rate)
        cpu = time.process_time() - cpu
        stalls = witness.stop()
        queue.close()
        recorder.writer.close()
        mark = recorder.writer.report()
        sizes = [n for _, n in recorder.commits]
        print(f"1. offered {args.rate:,.0f} runs/s for {len(runs):,} runs: done in {elapsed:.1f} s "
              f"({len(runs) / elapsed:,.0f} runs/s), {len(sizes):,} commits, mean {statistics.mean(sizes):.1f} runs, "
              f"largest {max(sizes)}")
        report_latencies(latencies, alerts, recorder.commits, stalls)
        print(f"   meanwhile {DeviceProbe.describe(stalls)}; CPU: this process {cpu / elapsed:.0%} of a core")
        print(f"   {mark}")
        if args.http:
            http_phase(root / "http", args)
        baselines = {f"scn-{n:03d}": 100.0 for n in range(args.scenarios)}
        timings = []
        for data in runs:
            started = time.perf_counter()
            record = parse_run_bytes(data)
            classify(record, baselines.get(record.scenario_id), "manual", None, ctx.settings.credits)
            timings.append(time.perf_counter() - started)
        print(f"   classification alone (schema + policy, no I/O): p50 {percentile(timings, 50) * 1e6:.0f} µs, "
              f"p99 {percentile(timings, 99) * 1e6:.0f} µs")
        scrubs = []
        for notice in ctx.notifier.sent:
            started = time.perf_counter()
            ctx.outgoing.notice(notice)
            scrubs.append(time.perf_counter() - started)
        print(f"   outgoing scrub alone ({len(scrubs)} notices, the engine built at start): "
              f"p50 {percentile(scrubs, 50) * 1e6:.0f} µs, p99 {percentile(scrubs, 99) * 1e6:.0f} µs")

        (root / "saturated").mkdir()
        ctx, recorder = fresh_recorder(root / "saturated", args.scenarios, daemon_recorder)
        runs = synthetic_runs(args.runs, args.scenarios, "sat", 1)
        batch = ctx.settings.credits.group_commit_max
        elapsed, recorded = saturated(recorder, runs, batch * INBOX_COMMITS_PER_SCAN)
        state_kb = (ctx.data_dir / "state.json").stat().st_size / 1024
        journal = ctx.data_dir / "state.journal"
        journal_kb = journal.stat().st_size / 1024 if journal.exists() else 0.0
        cases = len(ctx.state.snapshot().table("credit_cases"))
        print(f"2. saturated, commits of up to {batch}: {recorded:,} runs recorded durably in {elapsed:.1f} s = "
              f"{recorded / elapsed:,.0f} runs/s ({cases} cases opened, state.json {state_kb:,.0f} KiB + journal "
              f"{journal_kb:,.0f} KiB; the last "
              f"files synced included)\n   {recorder.writer.report()}")

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
