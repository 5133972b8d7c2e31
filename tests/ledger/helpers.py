"""Shared set-up for the ledger tests: a key, an identity and a ledger on a temporary directory."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from store.keys import create_ed25519_key, load_ed25519_key
from store.ledger.ledger import Identity, Ledger, LedgerFiles
from store.ledger.note import Signer
from store.ledger.verify import Trust, verify_ledger

REPO = Path(__file__).resolve().parents[2]
# The transparency-dev Merkle vectors travel with the repository (origin and licence in vectors/README.md).
VECTORS = Path(__file__).resolve().parent / "vectors"
ORIGIN = "ecomonetize.com/chatops/credit-ledger/abc123"
START = datetime(2026, 11, 22, 16, 30, tzinfo=timezone.utc)


class StepClock:
    """A clock that moves one second per reading, so every entry has its own, increasing ts."""

    def __init__(self, start: datetime = START) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


def make_signer(key_dir: Path, origin: str = ORIGIN) -> Signer:
    path = key_dir / "ledger.key"
    key = load_ed25519_key(path) if path.exists() else create_ed25519_key(path)
    return Signer(origin, key)


def make_ledger(directory: Path, signer: Signer) -> Ledger:
    identity = Identity(signer.name, (signer,), (signer.verifier,))
    return Ledger(directory, lambda: identity, clock=StepClock(), name="ledger.jsonl")


def fill(ledger: Ledger, count: int, per_commit: int = 1) -> None:
    done = 0
    while done < count:
        with ledger.commit() as c:
            for _ in range(min(per_commit, count - done)):
                c.append("run.recorded", "daemon", None, {"Run_ID": f"run_{done:05d}", "Severity": "SEV2",
                                                          "Credits_Total": 10.5 + done})
                done += 1


def verify(directory: Path, signer: Signer, **kwargs):
    trust = Trust(signer.name, (signer.verifier,), kwargs.pop("witnesses", ()), "config.toml")
    return verify_ledger(LedgerFiles(directory), trust, "ledger.jsonl", **kwargs)


def failures(report) -> list[str]:
    return [f.message for f in report.findings if f.severity == "failure"]


def warnings(report) -> list[str]:
    return [f.message for f in report.findings if f.severity == "warning"]
