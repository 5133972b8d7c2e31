"""Recall and kept look-alikes per carrier, on the generated four-carrier corpus (tests/scrub/carriers.py).

    .venv/bin/python bench/scrub_recall_bench.py [--misses]

Prints, for each carrier (user text, Read result, Write input, JSON document in a tool result), the
share of provider secrets and of generic passwords/secrets fully removed, and the share of benign
look-alikes left byte-identical; `--misses` lists what was missed or altered. Targets (issue 20):
provider >= 97 %, generic >= 80 %, benign >= 97 % in every carrier.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.scrub.carriers import TARGETS, Carrier, CaseClass, measure  # noqa: E402
from tests.scrub.conftest import make_engine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every missed secret and altered look-alike")
    parser.add_argument("--prefilter", default="python", choices=("python", "hyperscan"))
    args = parser.parse_args()
    table, misses = measure(make_engine(args.prefilter))
    classes = [c.value for c in CaseClass]
    print(f"{'carrier':<10}" + "".join(f"{c:>22}" for c in classes))
    for carrier in Carrier:
        row = f"{carrier.value:<10}"
        for cls in classes:
            passed, total = table[(carrier.value, cls)]
            row += f"{passed:>9}/{total:<5} {100 * passed / total:5.1f}%"
        print(row)
    print("targets: " + ", ".join(f"{c.value} >= {t:.0%}" for c, t in TARGETS.items()))
    if args.misses:
        print("\nmissed or altered:")
        print("\n".join(misses))


if __name__ == "__main__":
    main()
