"""Where incidents live: one append-only, sealed timeline file per incident, each entry signed in the ledger.

`<data_dir>/compliance/incidents/INC-<n>.jsonl` (owner-only, `store/access.py`) holds one line per
action: `seq`, `at`, `action`, `actor`, `hash` in clear, and `sealed`, the Fernet token of the entry's
content (`store/sealed.py`). `hash` chains each entry to the one before (SHA-256 of the previous hash
and the entry's canonical JSON), and the same hash is signed into `operations/ledger.jsonl` with the
incident's id, severity and deadlines: the ledger proves the timeline was not edited without ever
holding its text. Lines are only appended, under an `flock`, so nothing here rewrites an entry.

An `Incident` is the fold of its entries (`fold`); nothing else is kept, so the record and the
timeline cannot disagree.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

from jobs.actors import Actor
from jobs.compliance.records import (Action, Approval, Done, Entry, Incident, Kind, Leaf, Obligation, Sev,
                                     Trigger)
from jobs.context import Context
from jobs.errors import Damaged, Invalid, NotFound
from store.access import ensure_private_dir
from store.files import open_creating, write_all
from store.sealed import Sealer

INCIDENTS_DIR = Path("compliance") / "incidents"
LOCK_FILE = ".lock"
_ID = re.compile(r"^INC-([1-9][0-9]*)$")


def sealer(ctx: Context) -> Sealer:
    """The incident key: `[compliance] key_dir`, else the data directory's key directory."""
    configured = ctx.settings.compliance.key_dir
    key_dir = ctx.data_dir / "keys" if not configured else (
        Path(configured) if Path(configured).is_absolute() else ctx.data_dir / configured)
    if key_dir.is_relative_to(ctx.data_dir):
        ensure_private_dir(key_dir)
    return Sealer.in_dir(key_dir)


def directory(ctx: Context) -> Path:
    path = ctx.data_dir / INCIDENTS_DIR
    try:
        ensure_private_dir(ctx.data_dir / INCIDENTS_DIR.parent)   # the private root first: its mode is 0700
        ensure_private_dir(path)
        os.listdir(path)
    except PermissionError:
        raise Invalid(f"{path} is readable only by the data directory's owner (incidents are private, seed 002 "
                      "§1); run chatops as that user") from None
    return path


def normalise_id(text: str) -> str:
    """`inc-7`, `INC-7` and `7` are INC-7; anything else is not an incident id."""
    text = text.strip().upper()
    text = text if text.startswith("INC-") else f"INC-{text}"
    if not _ID.match(text):
        raise NotFound(f"{text!r} is not an incident id (INC-<number>); see chatops incident list")
    return text


def ids(ctx: Context) -> list[str]:
    found = [p.stem for p in directory(ctx).glob("INC-*.jsonl") if _ID.match(p.stem)]
    return sorted(found, key=lambda i: int(i[4:]))


@contextmanager
def locked(ctx: Context) -> Iterator[None]:
    fd = open_creating(directory(ctx) / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _canonical(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def chain_hash(previous: str, seq: int, at: str, action: str, actor: str, data: Mapping[str, Any]) -> str:
    body = _canonical({"prev": previous, "seq": seq, "at": at, "action": action, "actor": actor, "data": data})
    return "sha256:" + hashlib.sha256(body).hexdigest()


def read_entries(ctx: Context, incident_id: str) -> list[Entry]:
    path = directory(ctx) / f"{incident_id}.jsonl"
    if not path.exists():
        known = ", ".join(ids(ctx)[-5:]) or "none yet"
        raise NotFound(f"no incident {incident_id} (latest: {known}); see chatops incident list")
    seal = sealer(ctx)
    entries: list[Entry] = []
    previous = ""
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        where = f"{path} line {number}"
        try:
            raw = json.loads(line)
            data = json.loads(seal.open(raw["sealed"], where))
            entry = Entry(seq=raw["seq"], at=datetime.fromisoformat(raw["at"]), action=Action(raw["action"]),
                          actor=raw["actor"], data=data, hash=raw["hash"])
        except (ValueError, KeyError, TypeError) as exc:
            raise Damaged(f"{where} cannot be read ({exc}); restore the file from a backup") from None
        if entry.hash != chain_hash(previous, entry.seq, raw["at"], raw["action"], entry.actor, data):
            raise Damaged(f"{where} does not match its hash (the timeline was edited); restore it from a backup "
                          "and compare with the incident.* entries of chatops ledger verify --ledger operations")
        entries.append(entry)
        previous = entry.hash
    return entries


def load(ctx: Context, incident_id: str) -> Incident:
    return fold(read_entries(ctx, normalise_id(incident_id)))


def all_incidents(ctx: Context) -> list[Incident]:
    return [fold(read_entries(ctx, i)) for i in ids(ctx)]


def new_id(ctx: Context) -> str:
    """The next id; call under `locked`. Ids are never reused: the largest existing one plus one."""
    existing = ids(ctx)
    return f"INC-{int(existing[-1][4:]) + 1 if existing else 1}"


def append(ctx: Context, incident_id: str, action: Action, actor: Actor, role: str | None,
           data: Mapping[str, Any], signed: Mapping[str, Any]) -> Entry:
    """Append one entry to the incident's timeline (sealed) and sign its hash into the operations ledger.

    `signed` is what the ledger may hold beside the hash: ids, severities, step names and deadlines
    (never text). Call under `locked`. The timeline line is written first and fsynced; should the
    ledger then refuse (damaged), the entry stays in the timeline and the error reaches the caller.
    """
    path = directory(ctx) / f"{incident_id}.jsonl"
    previous = read_entries(ctx, incident_id) if path.exists() else []
    seq = len(previous) + 1
    at = ctx.now()
    digest = chain_hash(previous[-1].hash if previous else "", seq, at.isoformat(), action.value, actor.name, data)
    line = {"seq": seq, "at": at.isoformat(), "action": action.value, "actor": actor.name, "hash": digest,
            "sealed": sealer(ctx).seal(_canonical(data))}
    fd = open_creating(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        write_all(fd, json.dumps(line, separators=(",", ":")).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    ctx.ledgers.operations.append(f"incident.{action.value}", actor.ledger_id, role,
                                  {"data": {"incident": incident_id, "seq": seq, "hash": digest, **signed}})
    return Entry(seq=seq, at=at, action=action, actor=actor.name, data=data, hash=digest)


def rotate_keys(ctx: Context) -> tuple[int, int]:
    """A new incident key first, every timeline resealed under it, the old keys retired.

    Returns (timelines resealed, keys retired). Each file is rewritten whole and atomically under the
    lock, with its hashes unchanged: they are over the content, not the token. Old keys stay while a
    sealed DM waits in the outbox; the next rotation retires them.
    """
    from store.files import write_file_atomically

    seal = sealer(ctx)
    with locked(ctx):
        seal.rotate()
        count = 0
        for incident_id in ids(ctx):
            path = directory(ctx) / f"{incident_id}.jsonl"
            lines = [json.loads(line) for line in path.read_bytes().splitlines()]
            for line in lines:
                line["sealed"] = seal.reseal(line["sealed"])
            write_file_atomically(path, b"".join(json.dumps(l, separators=(",", ":")).encode() + b"\n"
                                                 for l in lines), mode=0o600)
            count += 1
        retired = 0 if _sealed_items_waiting(ctx) else seal.retire()
    return count, retired


def _sealed_items_waiting(ctx: Context) -> bool:
    """A sealed DM still in the outbox (not yet delivered) needs the key it was sealed under: old keys are
    kept until it is sent (the outbox is append-only, so its token is not rewritten)."""
    from store.outbox import Outbox

    return any(m.pending and "sealed" in (m.item.get("notice") or {}) for m in Outbox(ctx.data_dir).messages())


# ---- the fold ------------------------------------------------------------------------------


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def fold(entries: list[Entry]) -> Incident:
    """The incident the timeline adds up to; the first entry must be its filing."""
    first = entries[0]
    if first.action != Action.FILED:
        raise Damaged(f"the timeline of {first.data.get('id', '?')} does not start with its filing; restore it")
    d = first.data
    incident = Incident(id=d["id"], kind=Kind(d["kind"]), trigger=Trigger(d["trigger"]), sev=Sev(d["sev"]),
                        suggested=Sev(d["suggested"]), filed_at=first.at, filed_by=first.actor, owner=d["owner"],
                        what=d["what"], contained=d["contained"], at_risk=d["at_risk"],
                        links=tuple(d.get("links", ())), sev_since=first.at,
                        compliance_since=first.at if d["kind"] == Kind.COMPLIANCE else None)
    for entry in entries[1:]:
        incident = _apply(incident, entry)
    return replace(incident, entries=len(entries), last_hash=entries[-1].hash)


def _apply(incident: Incident, entry: Entry) -> Incident:
    d, at = entry.data, entry.at
    match entry.action:
        case Action.ESCALATED:
            if d.get("to_kind"):
                return replace(incident, kind=Kind.COMPLIANCE, compliance_since=at)
            return replace(incident, sev=Sev(d["to_sev"]), sev_since=at)
        case Action.STEP:
            return replace(incident, steps={**incident.steps, d["step"]: Done(at, entry.actor, d.get("text", ""))})
        case Action.ASSESSED:
            steps = {**incident.steps, "response": Done(at, entry.actor, d.get("text", ""))}
            return replace(incident, steps=steps, sev1_risk=bool(d["sev1_risk"]))
        case Action.DECIDED:
            obligations = tuple(Obligation(o["name"], datetime.fromisoformat(o["due"])) for o in d["obligations"])
            return replace(incident, leaf=Leaf(d["leaf"]), decided_at=at, high_risk=bool(d.get("high_risk")),
                           customers=tuple(d.get("customers", ())), obligations=obligations,
                           steps={**incident.steps, "decision": Done(at, entry.actor)})
        case Action.DRAFTED:
            return replace(incident, draft=d["text"], draft_hash=d["draft_hash"], drafted_by=entry.actor)
        case Action.APPROVALS_VOIDED:
            return incident   # approvals bound to an older hash no longer count (`approvals_for_current`)
        case Action.APPROVED:
            approval = Approval(entry.actor, d["role"], d["draft_hash"], at)
            return replace(incident, approvals=incident.approvals + (approval,))
        case Action.COUNSEL_REVIEWED:
            return replace(incident, counsel_review=(d["reviewer"], d["draft_hash"]))
        case Action.SENT:
            names = set(d["obligations"])
            return replace(incident, obligations=tuple(replace(o, sent_at=at) if o.name in names else o
                                                       for o in incident.obligations))
        case Action.NOTIFIED:
            return replace(incident, notified=incident.notified + (d["how"],))
        case Action.REMINDED:
            return replace(incident, reminded=incident.reminded | {d["clock"]})
        case Action.OVERDUE:
            return replace(incident, overdue=incident.overdue | {d["clock"]})
        case Action.COUNCIL_DRAFT:
            return replace(incident, council={**incident.council, d["kind"]: d["text"]})
        case Action.CLOSED:
            return replace(incident, closed_at=at)
        case Action.POSTMORTEM:
            return replace(incident, postmortem_due=d["due"], postmortem_path=d["path"])
    raise Damaged(f"{incident.id} timeline entry {entry.seq} has an unknown action {entry.action!r}")
