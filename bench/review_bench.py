"""Time and peak memory of the weekly review over credit ledgers of 100,000 and 1,000,000 runs (500 scenarios).

Target (issue 24): 1,000,000 runs in <= 3 s and <= 150 MB peak. The ledger is written once per size with
canonical lines shaped like real `run.recorded` entries (every field the recorder writes, ~700 bytes),
plus the `case.opened` / `alert.queued` lines a SEV1 brings, and cached in the temp directory. The runs
are spread evenly over 26 weeks (500 scenarios running a few times a day); the week reviewed is the last
complete one. Each size is measured in a fresh process so the peak RSS is the review's own:

* `report`: streaming the week out of the ledger, the sections, the JSON and its sidecar written;
* `chart`: the PNG alone (matplotlib's import included), printed separately;
* `baseline`: a raw line count of the same ledger file in the same process (`wc -l` in Python), the floor
  for any pass over the file.

Wall time and CPU time are both printed: on a shared machine the wall time is mostly waiting for a core.

    .venv/bin/python bench/review_bench.py [--runs 100000 1000000] [--scenarios 500] [--weeks 26]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)      # Monday 10:00 in Los Angeles
LEDGER = Path("runs") / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"


def _line(entry: dict) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def write_ledger(path: Path, runs: int, scenarios: int, weeks: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    end = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)     # Monday 00:00 in Los Angeles
    start = end - timedelta(weeks=weeks)
    step = (end - start) / runs
    seq = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(runs):
            at = start + step * i
            scenario = f"scn-{i % scenarios:04d}"
            baseline = 1000.0 + (i % scenarios)
            severity = "SEV1" if i % 997 == 0 else "SEV2" if i % 97 == 0 else "NORMAL"
            credits = baseline * (6.0 if severity == "SEV1" else 2.5 if severity == "SEV2" else
                                  0.9 + (i * 7919 % 200) / 1000)
            run_id = f"run_{i:08d}"
            ts = (at + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            entry = {"Baseline_Credits": baseline, "Baseline_Source": "calculated", "Credits_Total": round(credits, 2),
                     "Ended_At": (at + timedelta(minutes=3)).isoformat(), "Exposure": False, "Job_Type": "batch",
                     "Misconfig_Likelihood": "Low", "Misconfig_Score": 0.1, "Recorded_At": ts.replace("Z", "+00:00"),
                     "Risk_Flags": [], "Run_ID": run_id, "Scenario_ID": scenario, "Severity": severity,
                     "Started_At": at.isoformat(), "Variance": round(credits / baseline, 4), "actor": "daemon",
                     "artifact": f"runs/CREDIT_MONITORING/{at:%Y-%m-%d}/run_{run_id}.json",
                     "artifact_sha256": hashlib.sha256(run_id.encode()).hexdigest(), "has_max_items_config": True,
                     "is_backfill": False, "kind": "run.recorded", "pii_data_source": False,
                     "regulatory_data_source": False, "rerun_of": None, "retry_count": 0, "seq": seq, "ts": ts, "v": 1}
            if severity == "SEV1":
                entry["Case_ID"] = f"CASE-{i // 997 + 1}"
            out.write(_line(entry))
            seq += 1
            if severity == "SEV1":
                for kind, data in (("case.opened", {"case": entry["Case_ID"], "scenario": scenario, "severity": "SEV1"}),
                                   ("alert.queued", {"case": entry["Case_ID"], "channel": "#ops-alerts"})):
                    out.write(_line({"Run_ID": run_id, "actor": "daemon", "data": data, "kind": kind, "seq": seq,
                                     "ts": ts, "v": 1}))
                    seq += 1


def child(data_dir: str) -> None:
    sys.path.insert(0, str(REPO))
    import tomllib

    from freezegun import freeze_time

    from chatops.config import parse_settings
    from jobs.compose import build_context
    from jobs.credits.review import aggregates, service, weekly
    from jobs.credits.review.records import PeriodKind, last_complete

    with freeze_time(NOW):
        ctx = build_context(parse_settings(tomllib.loads('timezone = "America/Los_Angeles"\n')), Path(data_dir))
        period = last_complete(PeriodKind.WEEKLY, NOW, ctx.settings.timezone)
    ledger = Path(data_dir) / LEDGER

    started, cpu = time.perf_counter(), time.process_time()
    lines = 0
    with ledger.open("rb") as handle:
        for block in iter(lambda: handle.read(8 * 1024 * 1024), b""):
            lines += block.count(b"\n")
    baseline_s, baseline_cpu = time.perf_counter() - started, time.process_time() - cpu

    started, cpu = time.perf_counter(), time.process_time()
    runs = aggregates.read_week(ledger, period)
    given = weekly.ReviewInputs(now=NOW, rules=ctx.settings.review, cases=service.all_cases(ctx),
                                approvals=service.all_approvals(ctx), baseline_of=service.baseline_lookup(ctx),
                                decisions=service.decisions(ctx, period), pending_proposals={})
    body = weekly.sections(runs, given)
    service.write_with_sidecar(service.report_path(ctx, period), service.report_bytes({"week": period.label, **body}))
    report_s, report_cpu = time.perf_counter() - started, time.process_time() - cpu
    report_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    started, cpu = time.perf_counter(), time.process_time()
    from jobs.credits.review import chart

    png = chart.render(runs, body["top_scenarios_by_total"])
    chart_s, chart_cpu = time.perf_counter() - started, time.process_time() - cpu
    chart_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"week": period.label, "ledger_lines": lines, "ledger_mb": round(ledger.stat().st_size / 2**20),
                      "runs_in_week": runs.runs, "spikes": len(runs.spikes), "baseline_s": round(baseline_s, 3),
                      "baseline_cpu": round(baseline_cpu, 3), "report_s": round(report_s, 3),
                      "report_cpu": round(report_cpu, 3), "report_peak_mb": round(report_mb, 1),
                      "chart_s": round(chart_s, 3), "chart_cpu": round(chart_cpu, 3), "chart_peak_mb": round(chart_mb, 1), "png_bytes": len(png)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--scenarios", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    for runs in args.runs:
        data_dir = Path(tempfile.gettempdir()) / f"chatops-review-bench-{runs}-{args.scenarios}-{args.weeks}"
        ledger = data_dir / LEDGER
        if not ledger.exists():
            started = time.perf_counter()
            write_ledger(ledger.with_suffix(".tmp"), runs, args.scenarios, args.weeks)
            os.replace(ledger.with_suffix(".tmp"), ledger)
            print(f"wrote {ledger} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        done = subprocess.run([sys.executable, __file__, "--child", str(data_dir)], capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            sys.exit(done.returncode)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        met = result["report_s"] <= 3 and result["report_peak_mb"] <= 150
        print(f"{runs:>9,} runs ({result['ledger_mb']} MB, {result['ledger_lines']:,} lines), week {result['week']} "
              f"with {result['runs_in_week']:,} runs: report {result['report_s']:.2f} s (CPU {result['report_cpu']:.2f} s), "
              f"peak {result['report_peak_mb']:.0f} MB"
              f"{' (target met)' if met or runs < 1_000_000 else ' (TARGET NOT MET: <= 3 s, <= 150 MB)'}; "
              f"chart {result['chart_s']:.2f} s (CPU {result['chart_cpu']:.2f} s, peak {result['chart_peak_mb']:.0f} MB); "
              f"baseline: raw line count {result['baseline_s']:.2f} s (CPU {result['baseline_cpu']:.2f} s); "
              f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
