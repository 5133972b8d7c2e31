"""Scrub throughput and accuracy, side by side with detect-secrets, on generated Claude Code transcripts.

    .venv/bin/python bench/scrub_bench.py [--mb 30] [--ds-mb 3]

Prints MB/s on one core for `check` (scan only) and for clean copies with each prefilter, the same for
detect-secrets 1.5.0 (`pip install -e '.[bench]'`; skipped when absent) on a smaller slice of the same
files, and recall / kept-negatives of both on the labelled corpus (tests/scrub/corpus/labelled.json).
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from jobs.export.scrub import Engine, check_paths, load_rules, scrub_paths  # noqa: E402
from jobs.export.scrub.detect import LearnedSecrets, Policy  # noqa: E402
from tests.scrub.labelled import filler_lines, load, transcript_line  # noqa: E402


def engine(prefilter: str) -> Engine:
    internal = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                       "127.0.0.0/8", "fd00::/8", "::1/128"))
    return Engine(load_rules(), Policy(frozenset({"info@ecomonetize.com"}), internal, (), LearnedSecrets({}),
                                       os.urandom(32)), prefilter=prefilter)


def make_corpus(directory: Path, megabytes: float, rng: random.Random) -> int:
    """Session files of ~2 MB each; one line in 200 carries a labelled secret."""
    secrets, _ = load()
    total = 0
    n = 0
    while total < megabytes * 1e6:
        session = f"{rng.getrandbits(64):016x}"
        lines = filler_lines(rng, 600, session)
        for i in range(0, len(lines), 200):
            s = rng.choice(secrets)
            lines[i] = json.dumps(transcript_line(rng, s.text, rng.choice(["bash", "read", "text"]), session))
        data = ("\n".join(lines) + "\n").encode()
        (directory / f"{session}.jsonl").write_bytes(data)
        total += len(data)
        n += 1
    return total


def labelled_file(path: Path, rng: random.Random) -> tuple[list[tuple[int, str]], list[int]]:
    """One line per labelled item: (line, value) for secrets, line numbers for negatives."""
    secrets, negatives = load()
    rows, secret_lines, negative_lines = [], [], []
    for s in secrets:
        rows.append(json.dumps(transcript_line(rng, s.text, rng.choice(["bash", "read", "text"]), "lab")))
        secret_lines.append((len(rows), s.value))
    for neg in negatives:
        for shape in ("bash", "text"):
            rows.append(json.dumps(transcript_line(rng, neg.text, shape, "lab")))
            negative_lines.append(len(rows))
    path.write_text("\n".join(rows) + "\n")
    return secret_lines, negative_lines


def ours_accuracy(path: Path, out: Path, secret_lines, negative_lines, prefilter: str) -> tuple[float, float]:
    scrub_paths([path], engine(prefilter), out_dir=out)
    clean = (out / path.name).read_text().split("\n")
    original = path.read_text().split("\n")
    removed = sum(value not in clean[line - 1] for line, value in secret_lines)
    kept = sum(clean[line - 1] == original[line - 1] for line in negative_lines)
    return removed / len(secret_lines), kept / len(negative_lines)


def detect_secrets(paths: list[Path]) -> tuple[float, dict[str, set[int]]] | None:
    try:
        import detect_secrets  # noqa: F401
    except ImportError:
        return None
    started = time.perf_counter()
    # run beside the files: given absolute paths outside its working directory, it scans nothing
    result = subprocess.run([sys.executable, "-m", "detect_secrets", "scan", "--all-files", *(p.name for p in paths)],
                            capture_output=True, text=True, check=True, cwd=paths[0].parent)
    seconds = time.perf_counter() - started
    found: dict[str, set[int]] = {}
    for name, items in json.loads(result.stdout)["results"].items():
        found[Path(name).name] = {item["line_number"] for item in items}
    return seconds, found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=30.0, help="size of the generated transcript corpus")
    parser.add_argument("--ds-mb", type=float, default=3.0, help="size of the slice detect-secrets scans")
    args = parser.parse_args()
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "corpus").mkdir()
        size = make_corpus(tmp / "corpus", args.mb, rng)
        print(f"corpus: {size / 1e6:.1f} MB of generated Claude Code session JSONL "
              f"({len(list((tmp / 'corpus').iterdir()))} files, 1 line in 200 with a secret)")
        prefilters = ["hyperscan", "python"]  # both always: a missing Hyperscan fails the bench
        for prefilter in prefilters:
            eng = engine(prefilter)
            started = time.perf_counter()
            report = check_paths([tmp / "corpus"], eng)
            check_s = time.perf_counter() - started
            started = time.perf_counter()
            scrub_paths([tmp / "corpus"], eng, out_dir=tmp / f"out-{prefilter}")
            scrub_s = time.perf_counter() - started
            print(f"ours ({prefilter:9}) check {size / 1e6 / check_s:7.1f} MB/s   "
                  f"clean copies + verification {size / 1e6 / scrub_s:6.1f} MB/s   "
                  f"({len(report.findings)} findings)")
        slice_files, slice_size = [], 0
        for path in sorted((tmp / "corpus").iterdir()):
            if slice_size >= args.ds_mb * 1e6:
                break
            slice_files.append(path)
            slice_size += path.stat().st_size
        ds = detect_secrets(slice_files)
        if ds is None:
            print("detect-secrets: not installed (pip install -e '.[bench]')")
        else:
            print(f"detect-secrets 1.5.0 scan {slice_size / 1e6 / ds[0]:7.2f} MB/s on {slice_size / 1e6:.1f} MB")

        lab = tmp / "labelled.jsonl"
        secret_lines, negative_lines = labelled_file(lab, rng)
        print(f"labelled corpus: {len(secret_lines)} secrets, {len(negative_lines)} look-alike lines")
        for prefilter in prefilters:
            recall, kept = ours_accuracy(lab, tmp / f"lab-{prefilter}", secret_lines, negative_lines, prefilter)
            print(f"ours ({prefilter:9}) recall {recall:6.1%}   negatives kept {kept:6.1%}")
        ds = detect_secrets([lab])
        if ds is not None:
            flagged = ds[1].get(lab.name, set())
            recall = sum(line in flagged for line, _ in secret_lines) / len(secret_lines)
            kept = sum(line not in flagged for line in negative_lines) / len(negative_lines)
            print(f"detect-secrets 1.5.0  recall {recall:6.1%}   negatives kept {kept:6.1%}  "
                  "(a flagged line counts as found: detect-secrets reports, it does not remove)")


if __name__ == "__main__":
    main()
