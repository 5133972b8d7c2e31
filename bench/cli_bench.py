"""Whole-process time of `chatops` commands on a data directory holding 100,000 recorded runs.

    .venv/bin/python bench/cli_bench.py [--runs 100000] [--times 21] [--dir DIR] [--against CHECKOUT]

Builds the data directory with the production recorder (as bench/credits_bench.py's saturated phase:
the daemon's group commits into the signed credit ledger), unless `--dir` names one this bench built
before (kept, so a second run times the same directory without recording again). Then times each command
as a separate process (as a runbook script or an orchestrator calls it), `--times` runs after two
warm-up runs, hyperfine-style: median, p90, min. The bare interpreter (`python -c pass`) and the import of
the CLI module (`python -c "import chatops.cli"`) are timed in the same run, as the floor under every command.
Target (issue 21): median <= 120 ms for each command. `--against CHECKOUT` (e.g. a `git worktree` of
main) times another checkout's code on the same directory in the same run, alternating with this one
(before / after).

The first `gate dispatch` / `runs show` on a new directory builds the on-disk runs index from the ledger;
that cold call is timed once, separately, before the warm runs. Beside the wall times the bench prints each
command's median CPU time (user + system of the child): on a shared machine the wall time includes waiting
for a core.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET_MS = 120.0
ROOT = Path(__file__).resolve().parent.parent


def build(directory: Path, runs: int) -> None:
    """Record `runs` synthetic runs into a fresh data directory under `directory`, as the daemon does."""
    from credits_bench import daemon_recorder, fresh_recorder, saturated, synthetic_runs
    from jobs.credits.intake.sources import INBOX_COMMITS_PER_SCAN

    directory.mkdir(parents=True, exist_ok=True)
    ctx, recorder = fresh_recorder(directory, 100, daemon_recorder)
    started = time.perf_counter()
    elapsed, recorded = saturated(recorder, synthetic_runs(runs, 100, "run", 1),
                                  ctx.settings.credits.group_commit_max * INBOX_COMMITS_PER_SCAN)
    print(f"built: {recorded:,} runs recorded in {elapsed:.1f} s ({time.perf_counter() - started:.1f} s with files)")
    (directory / "BUILT").write_text(str(recorded))


def timed(argv: list[str], times: int, env: dict[str, str],
          checkouts: list[Path]) -> tuple[list[list[float]], list[list[float]]]:
    """Wall time and CPU time (user + system) of `argv` as a process run from each checkout (`python -m
    chatops` imports the code of the directory it runs in), `times` runs after two warm-up runs (page
    cache, .pyc), the checkouts alternating so that both see the same load. On a busy machine the wall
    time includes waiting for a core; the CPU time is what the command itself costs."""
    took: list[list[float]] = [[] for _ in checkouts]
    cpu: list[list[float]] = [[] for _ in checkouts]
    for n in range(times + 2):
        for i, checkout in enumerate(checkouts):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=checkout)
            elapsed = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode not in (0, 1):
                raise SystemExit(f"{' '.join(argv)} in {checkout} failed ({done.returncode}): "
                                 f"{done.stderr.decode()[-500:]}")
            if n >= 2:
                took[i].append(elapsed)
                cpu[i].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return took, cpu


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--times", type=int, default=21)
    parser.add_argument("--dir", type=Path, help="keep the data directory here (reused when built before)")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="also time another checkout's code (e.g. the main branch) in the same run")
    args = parser.parse_args()
    scratch = None
    directory = args.dir
    if directory is None:
        scratch = tempfile.mkdtemp(prefix="cli-bench-", dir=os.environ.get("BENCH_DIR"))
        directory = Path(scratch)
    try:
        if not (directory / "BUILT").exists():
            build(directory, args.runs)
        run_count = int((directory / "BUILT").read_text())
        python = sys.executable
        chatops = [python, "-m", "chatops", "--config", str(directory / "config.toml")]
        run_id = f"run_{run_count // 2:07d}"      # one in the middle of the ledger
        env = {**os.environ, "CHATOPS_LOG_LEVEL": "WARNING"}
        env.pop("PYTHONPROFILEIMPORTTIME", None)
        # An installed package runs from compiled bytecode; this environment may forbid writing it (the
        # warm-up runs write it), and compiling every module on every start is not what users pay.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cold = None
        index = directory / "var" / "runs" / "CREDIT_MONITORING" / "runs-index.sqlite3"
        if not index.exists():
            started = time.perf_counter()
            subprocess.run([*chatops, "runs", "show", run_id], stdout=subprocess.DEVNULL, env=env, cwd=ROOT,
                           check=True)
            cold = time.perf_counter() - started
        cases = [
            ("python -c pass (interpreter start)", [python, "-c", "pass"], False),
            ("python -c 'import chatops.cli'", [python, "-c", "import chatops.cli"], False),
            ("chatops help", [*chatops, "help"], True),
            ("chatops case list", [*chatops, "case", "list"], True),
            ("chatops ledger verify --ledger operations", [*chatops, "ledger", "verify", "--ledger", "operations"],
             True),
            (f"chatops gate dispatch {run_id}", [*chatops, "gate", "dispatch", run_id], True),
            (f"chatops runs show {run_id}", [*chatops, "runs", "show", run_id], True),
        ]
        print(f"cli bench: {run_count:,} recorded runs in {directory / 'var'}; {args.times} runs each after 2 "
              f"warm-up runs; {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if cold is not None:
            print(f"first runs show on this directory (builds the runs index): {cold * 1e3:.0f} ms")
        checkouts = [ROOT] + ([args.against.resolve()] if args.against else [])
        print(f"{'command':<48} {'code':<10} {'median':>8} {'p90':>8} {'min':>8} {'CPU med':>8}  target")
        failed = False
        for name, argv, targeted in cases:
            walls, cpus = timed(argv, args.times, env, checkouts)
            for checkout, took, cpu in zip(checkouts, walls, cpus):
                median = statistics.median(took) * 1e3
                verdict = ("ok" if median <= TARGET_MS else "OVER") if targeted else "-"
                if checkout == ROOT:
                    failed |= targeted and median > TARGET_MS
                label = "this" if checkout == ROOT else checkout.name
                print(f"{name:<48} {label:<10} {median:6.1f}ms {percentile(took, 90) * 1e3:6.1f}ms "
                      f"{min(took) * 1e3:6.1f}ms {statistics.median(cpu) * 1e3:6.1f}ms  {verdict}")
        return 1 if failed else 0
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
