"""Ledger benchmark (docs/ledger.md §12, docs/measured.md, "Ledger"): prints figures, asserts nothing.

    .venv/bin/python bench/ledger_bench.py [--entries 1000000] [--commits 2000] [--dir DIR]

Builds a ledger of ~300-byte run records with a checkpoint per 1,000 entries (the backfill group
size), then measures single-entry durable commits (flock + write + fdatasync + sign + checkpoint
replace + directory fsync + ledger.sigs), a full verify, and a proof for one entry. Targets: full
verify of 1,000,000 entries ≤ 5 s; single-entry commit p50 ≤ 2 ms.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store.keys import create_ed25519_key  # noqa: E402
from store.ledger.ledger import Identity, Ledger, LedgerFiles  # noqa: E402
from store.ledger.note import Signer  # noqa: E402
from store.ledger.proof import check_proof, make_proof  # noqa: E402
from store.ledger.verify import Trust, verify_ledger  # noqa: E402

ORIGIN = "ecomonetize.com/chatops/credit-ledger/bench0"


def record(n: int) -> dict:
    """A run record shaped like the runbook's, ~300 bytes as a ledger line."""
    return {"Run_ID": f"run_20261122_{n:08d}", "Scenario_ID": "scn-invoice-sync", "Severity": "SEV2",
            "Credits_Total": 1734.5 + n % 100, "Risk_Flags": ["retry_loop"],
            "artifact_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the verify parse helpers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--commits", type=int, default=2000, help="single-entry commits to time")
    parser.add_argument("--dir", help="where to build the ledger (default: a temporary directory)")
    args = parser.parse_args()
    root = Path(args.dir or tempfile.mkdtemp(prefix="ledger-bench-"))
    try:
        run(root, args)
    finally:
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)


def run(root: Path, args: argparse.Namespace) -> None:
    signer = Signer(ORIGIN, create_ed25519_key(root / "keys" / "ledger.key"))
    identity = Identity(ORIGIN, (signer,), (signer.verifier,))
    moment = [datetime(2026, 11, 22, tzinfo=timezone.utc)]

    def clock() -> datetime:
        moment[0] += timedelta(microseconds=500)
        return moment[0]

    ledger = Ledger(root / "ledger", lambda: identity, clock=clock)
    print(f"ledger bench in {root} (python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at start)")

    started = time.perf_counter()
    done = 0
    while done < args.entries - 1:          # entry 0 is ledger.created
        with ledger.commit() as c:
            for _ in range(min(1000, args.entries - 1 - done)):
                c.append("run.recorded", "daemon", None, record(done))
                done += 1
    elapsed = time.perf_counter() - started
    files = LedgerFiles(root / "ledger")
    size_mb = files.jsonl.stat().st_size / 1e6
    print(f"append, checkpoint per 1,000: {ledger.size:,} entries ({size_mb:,.0f} MB, "
          f"{files.jsonl.stat().st_size / ledger.size:.0f} B/entry) in {elapsed:.1f} s = "
          f"{ledger.size / elapsed:,.0f} entries/s")

    latencies = []
    for n in range(args.commits):
        t0 = time.perf_counter()
        ledger.append("alert.acked", "U0ANA00001", "O2", {"Run_ID": f"run_20261122_{n:08d}"})
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    p50 = statistics.median(latencies) * 1e3
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1e3
    print(f"single-entry durable commit: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {args.commits:,} commits "
          f"({1e3 / p50:,.0f} commits/s at p50)  [target p50 <= 2 ms]")

    trust = Trust(ORIGIN, (signer.verifier,))
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    report = verify_ledger(files, trust, "ledger.jsonl")
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    print(f"full verify: {report.entries:,} entries, {len(list(files.sigs.open()))} commit signatures, "
          f"ok={report.ok} in {elapsed:.2f} s wall, {cpu:.2f} CPU-s incl. parse helpers  "
          f"[target <= 5 s for 1,000,000]")

    seq = report.entries // 3
    started = time.perf_counter()
    proof = make_proof(files, seq, [signer.verifier], ORIGIN)
    made = time.perf_counter() - started
    hashes = len(proof.split("\n\n")[0].splitlines()) - 3
    runs = 1000
    started = time.perf_counter()
    for _ in range(runs):
        check_proof(proof, [signer.verifier], ORIGIN)
    checked = (time.perf_counter() - started) / runs
    print(f"proof for seq {seq:,}: {len(proof.encode()):,} bytes ({hashes} hashes), made in {made:.2f} s "
          f"(rebuilds all subtree hashes), verified in {checked * 1e6:.0f} µs (incl. Ed25519 checkpoint signature)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other processes on the machine slow every figure)")


if __name__ == "__main__":
    main()
