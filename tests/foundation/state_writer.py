"""A child process that writes to the state store and acknowledges each write on stdout.

Used by the crash and concurrency tests: the parent reads the acknowledgements, kills or joins the
child, and checks that every acknowledged write is in state.json.
"""
from __future__ import annotations

import sys
from pathlib import Path

from store.state import StateStore


def main() -> None:
    data_dir, writer, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    store = StateStore(data_dir, *(int(limit) for limit in sys.argv[4:5]))   # optional: the journal limit
    for n in range(count):
        with store.transaction() as db:
            db.table("writes").insert({"writer": writer, "n": n, "pad": "x" * 512})
            counter = db.table("counters")
            row = counter.get(doc_id=1)
            if row is None:
                counter.insert({"total": 1})
            else:
                counter.update({"total": row["total"] + 1}, doc_ids=[1])
        print(f"ack {writer} {n}", flush=True)


if __name__ == "__main__":
    main()
