"""The 05:00 export as a whole, over a generated home of Claude Code transcripts (issue 22's targets).

    .venv/bin/python bench/export_bench.py [--sessions 1000] [--kb 1000] [--projects 10]

Prints the first run's time and the share of it spent scrubbing (the in-place scrub of the originals, the
clean copies and the re-scan that grades them; collect, git, the PR, the policy and the ledger are the
rest: target >= 70 %), the process's peak memory (peak RSS, `resource`; target < 300 MB whatever the corpus
size, as every file is streamed one at a time), and a second run with nothing new (target < 2 s).
The defaults make 1,000 sessions of about 1 MB (1 GB); `--kb 100` is a quicker look.
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from scrub_throughput import _code, _envelope, _prose, _tool_result, _tool_use  # noqa: E402

SCRUB_STEPS = ("scrub_originals", "write_copies", "grade")


def make_home(projects_dir: Path, sessions: int, kb: int, projects: int, rng: random.Random) -> int:
    """`sessions` transcripts of about `kb` KB over `projects` project folders; every tenth has a subagent
    file; one line in fifty carries a credential the scrub removes."""
    total = 0
    for n in range(sessions):
        project = projects_dir / f"-home-dev-project{n % projects}"
        session = str(uuid.UUID(int=rng.getrandbits(128)))
        path = project / f"{session}.jsonl"
        if n % 10 == 9:
            path = project / session / "subagents" / f"agent-{n}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        size, lines = 0, []
        while size < kb * 1000:
            pick = rng.random()
            if pick < 0.02:
                token = "ghp_" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                                         for _ in range(36))
                line = _envelope(rng, session, "user", {"role": "user", "content": f"push with {token}"})
            elif pick < 0.3:
                line = _envelope(rng, session, "user", {"role": "user", "content": _prose(rng, 40)})
            elif pick < 0.6:
                line = _tool_use(rng, session)
            else:
                line = _tool_result(rng, session, _code(rng, rng.randrange(20, 200)))
            lines.append(line)
            size += len(line) + 1
        path.write_text("\n".join(lines) + "\n")
        total += path.stat().st_size
    old = time.time() - 3600
    import os
    for path in projects_dir.rglob("*.jsonl"):
        os.utime(path, (old, old))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--kb", type=int, default=1000, help="size of each session file, KB")
    parser.add_argument("--projects", type=int, default=10)
    args = parser.parse_args()

    from chatops.config import load_config
    from jobs.actors import DAEMON
    from jobs.compose import build_context
    from jobs.export.flows import Event, run_export

    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        root = Path(tmp)
        projects_dir = root / "home" / ".claude" / "projects"
        started = time.perf_counter()
        size = make_home(projects_dir, args.sessions, args.kb, args.projects, random.Random(7))
        print(f"corpus: {args.sessions} sessions, {size / 1e6:,.0f} MB, made in {time.perf_counter() - started:.1f} s")
        config = root / "config.toml"
        config.write_text(f'data_dir = "var/"\n[export]\nsources = ["{projects_dir}/**/*.jsonl"]\n'
                          '[people.cos]\nroles = ["chief.staff"]\n')
        loaded = load_config(config)
        ctx = build_context(loaded.settings, loaded.data_dir)
        date = ctx.local(ctx.now()).date().isoformat()

        spent: dict[str, float] = {}
        current = {"step": "collect", "since": time.perf_counter()}

        def observe(event: Event) -> None:
            if "." in event.step or event.total:
                return
            now = time.perf_counter()
            spent[current["step"]] = spent.get(current["step"], 0.0) + now - current["since"]
            current.update(step=event.step, since=now)

        started = time.perf_counter()
        day = run_export(ctx, DAEMON, date, observe)
        total = time.perf_counter() - started
        spent[current["step"]] = spent.get(current["step"], 0.0) + time.perf_counter() - current["since"]
        scrub = sum(spent.get(s, 0.0) for s in SCRUB_STEPS)
        print(f"first run: {total:.1f} s for {len(day.files)} files ({size / 1e6 / total:.1f} MB/s), "
              f"grade {day.grading.grade}, PR #{day.pr} {day.disposition.value}")
        print("  " + ", ".join(f"{step} {seconds:.2f} s" for step, seconds in spent.items()))
        print(f"  scrub share: {100 * scrub / total:.1f} % (target >= 70 %)")
        print(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
              "(target < 300 MB)")
        started = time.perf_counter()
        again = run_export(ctx, DAEMON, date)
        print(f"second run, nothing new: {time.perf_counter() - started:.2f} s ({len(again.files)} files taken; "
              "target < 2 s)")


if __name__ == "__main__":
    main()
