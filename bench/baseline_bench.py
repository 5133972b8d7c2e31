"""Time and peak memory of `baseline calculate` over a credit ledger of 1,000,000 runs / 500 scenarios.

Target (issue 13): <= 3 s and <= 150 MB peak. The ledger is written once with canonical lines shaped
like real `run.recorded` entries (docs/ledger.md §2, ~400 bytes each) and cached in the temp directory;
the calculation is then run in a fresh process per scenario so the peak RSS is the calculation's own.

    .venv/bin/python bench/baseline_bench.py [--runs 1000000] [--scenarios 500]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 22, 16, 0, tzinfo=timezone.utc)


def write_ledger(path: Path, runs: int, scenarios: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    start = NOW - timedelta(days=60)
    step = timedelta(days=60) / runs
    with path.open("w", encoding="utf-8") as out:
        for seq in range(runs):
            at = start + step * seq
            entry = {"Credits_Total": 1000.0 + (seq // scenarios * 7919) % 500, "Ended_At": (at + timedelta(minutes=3)).isoformat(),
                     "Job_Type": "batch", "Risk_Flags": [], "Run_ID": f"run_{seq:08d}",
                     "Scenario_ID": f"scn-{seq % scenarios:04d}", "Severity": "NORMAL" if seq % 97 else "SEV2",
                     "Started_At": at.isoformat(), "actor": "daemon", "has_max_items_config": True,
                     "is_backfill": False, "kind": "run.recorded", "retry_count": 0, "seq": seq,
                     "ts": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "v": 1}
            out.write(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")


def child(data_dir: str, scenario: str, days: int) -> None:
    sys.path.insert(0, str(REPO))
    from jobs.credits.baselines import runs as baseline_runs
    from jobs.credits.baselines.stats import coefficient_of_variation, median

    started = time.perf_counter()
    runs = baseline_runs.scan_scenario(Path(data_dir), scenario)
    healthy = runs.healthy(NOW - timedelta(days=days), NOW)
    credits = [r.credits for r in healthy]
    value, cv = median(credits), coefficient_of_variation(credits)
    baseline_runs.data_digest(healthy)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"scenario": scenario, "seconds": elapsed, "peak_mb": peak_mb, "runs": len(runs.runs),
                      "healthy": len(healthy), "median": value, "cv": cv}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--scenarios", type=int, default=500)
    parser.add_argument("--child", nargs=3, metavar=("DATA_DIR", "SCENARIO", "DAYS"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    data_dir = Path(tempfile.gettempdir()) / f"chatops-baseline-bench-{args.runs}-{args.scenarios}"
    ledger = data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    if not ledger.exists():
        started = time.perf_counter()
        write_ledger(ledger, args.runs, args.scenarios)
        print(f"wrote {args.runs:,} runs / {args.scenarios} scenarios ({ledger.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - started:.1f} s")
    print(f"ledger {ledger.stat().st_size / 1e6:.0f} MB, {args.runs:,} runs, {args.scenarios} scenarios")
    for scenario, days in (("scn-0000", 30), (f"scn-{args.scenarios // 2:04d}", 30), (f"scn-{args.scenarios - 1:04d}", 60)):
        out = subprocess.run([sys.executable, __file__, "--child", str(data_dir), scenario, str(days)],
                             capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        r = json.loads(out.stdout)
        verdict = "OK" if r["seconds"] <= 3 and r["peak_mb"] <= 150 else "OVER TARGET"
        print(f"calculate {scenario} --days {days}: {r['seconds']:.2f} s, peak RSS {r['peak_mb']:.0f} MB, "
              f"{r['runs']:,} runs of the scenario, {r['healthy']:,} healthy in window, median {r['median']:.2f}, "
              f"CV {r['cv']:.3f}  [{verdict}: target <= 3 s, <= 150 MB]")


if __name__ == "__main__":
    main()
