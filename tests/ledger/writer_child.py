"""A lightweight writer process for the crash tests: imports only store.*, never the CLI or jobs.

    writer_child.py loop  DIR ACTOR COUNT   recover, then commit COUNT times (0: until killed), 1–4 entries
                                             per commit, printing "ack <seq> <Run_ID>" once each is durable
    writer_child.py fsize DIR               a commit that hits RLIMIT_FSIZE, then one that fits
"""
from __future__ import annotations

import json
import random
import resource
import signal
import sys
from pathlib import Path

from store.keys import load_ed25519_key
from store.ledger.ledger import Identity, Ledger, LedgerWriteError
from store.ledger.note import Signer

ORIGIN = "ecomonetize.com/chatops/credit-ledger/abc123"


def open_ledger(directory: Path) -> Ledger:
    signer = Signer(ORIGIN, load_ed25519_key(directory / "keys" / "ledger.key"))
    identity = Identity(ORIGIN, (signer,), (signer.verifier,))
    return Ledger(directory / "ledger", lambda: identity)


def loop(directory: Path, actor: str, count: int) -> None:
    ledger = open_ledger(directory)
    ledger.recover()
    rng = random.Random()
    done = 0
    while count == 0 or done < count:
        with ledger.commit() as c:
            entries = [c.append("run.recorded", actor, None, {"Run_ID": f"{actor}_{done + i}", "pad": "x" * rng.randint(0, 300)})
                       for i in range(rng.randint(1, 4))]
        done += len(entries)
        sys.stdout.write("".join(f"ack {e.seq} {e.data['Run_ID']}\n" for e in entries))
        sys.stdout.flush()


def fsize(directory: Path) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # get EFBIG instead of being killed
    ledger = open_ledger(directory)
    ledger.recover()
    size = (directory / "ledger" / "ledger.jsonl").stat().st_size
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 1000, hard))
    result = {"size_before": size}
    try:
        ledger.append("run.recorded", "daemon", None, {"Run_ID": "too_big", "pad": "x" * 5000})
        result["error"] = None
    except LedgerWriteError as exc:
        result["error"] = str(exc)
    result["size_after"] = (directory / "ledger" / "ledger.jsonl").stat().st_size
    result["small_seq"] = ledger.append("run.recorded", "daemon", None, {"Run_ID": "fits"}).seq
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    print(json.dumps(result))


if __name__ == "__main__":
    mode, folder = sys.argv[1], Path(sys.argv[2])
    if mode == "loop":
        loop(folder, sys.argv[3], int(sys.argv[4]))
    else:
        fsize(folder)
