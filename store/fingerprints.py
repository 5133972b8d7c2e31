"""Typed access to learned secret fingerprints (table `scrub_fingerprints`).

A row holds a keyed HMAC of a secret value and the value's length in UTF-8 bytes, never the value:
the scrub key lives in a 0600 file outside the store, so a copy of `state.json` alone reveals nothing
that can be checked offline. The length is kept so that only tokens of a learned length are
fingerprinted during a scan (see jobs/export/scrub/detect.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from tinydb import Query

from store.state import StateStore

TABLE = "scrub_fingerprints"


@dataclass(frozen=True)
class Fingerprint:
    digest: str          # hex HMAC-SHA256 under the scrub key
    length: int          # UTF-8 bytes of the value
    item: str            # the password-manager item it came from (a name, not a secret)
    learned_at: str      # UTC ISO-8601
    learned_by: str      # person name


def add(store: StateStore, fingerprints: list[Fingerprint]) -> int:
    """Store new fingerprints; one already known is left as is. Returns how many were new."""
    q = Query()
    added = 0
    with store.transaction() as db:
        table = db.table(TABLE)
        for fp in fingerprints:
            if not table.contains(q.digest == fp.digest):
                table.insert(asdict(fp))
                added += 1
    return added


def all_fingerprints(store: StateStore) -> list[Fingerprint]:
    return [Fingerprint(**row) for row in store.snapshot().table(TABLE).all()]
