"""The outbox: the one durable queue of everything that leaves the machine, fsynced before anyone sends it.

`<data_dir>/outbox.jsonl` is append-only. An item is one `queued` line naming its destination
(`dest`: `slack`, `notion`; `github`, `webhook` next) and its subject (`subject`: the order key;
a later item about a subject never overtakes an earlier one). What happened to it later is another
line naming its id: `sent`; `undeliverable` (parked: the destination refused it for good, or a
person parked it, with the message why); `requeued` (a person sent a parked item back to the queue).
An item is pending while its `queued` line has `state == "pending"` and its last later line is none
or `requeued`. Appending instead of rewriting means a crash can at worst lose the final line of an
item that was already delivered (it is then sent again: at-least-once), never the item itself; and
`jq 'select(.op == "queued")' outbox.jsonl` reads it without chatops. Lines written before items
named their destination and subject load as `slack` items whose subject is their notice's.

Several processes append (the daemon, `chatops …` commands beside it), so every append holds an
`flock` on `outbox.lock`; each line is written with one `write` on an `O_APPEND` descriptor and
fsynced before the call returns. File order is delivery order.
"""
from __future__ import annotations

import fcntl
import json
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Iterator

from store.access import PRIVATE_FILE, make_dirs
from store.files import fsync_directory, open_creating, write_all, write_file_atomically

OUTBOX_FILE = "outbox.jsonl"
LOCK_FILE = "outbox.lock"
DELIVERY_FILE = "outbox.delivery"   # "slack" or "local": how the last daemon on this directory delivered
HEALTH_FILE = "outbox.health.json"  # per destination: the last error and since when it fails (workers write it)
WEBHOOKS_FILE = "outbox.webhooks"   # the severities whose webhook the last daemon here delivers ("SEV0 SEV1")
DEFAULT_DESTINATION = "slack"       # what lines written before `dest` existed were for


class QueuedState(StrEnum):
    """What a queued message is for, decided when it is written."""

    PENDING = "pending"          # to be delivered to Slack by the daemon
    LOCAL = "local"              # local mode: this line is the delivery
    SUPPRESSED = "suppressed"    # held back by the kill switch; listed in its digest


class FinalOp(StrEnum):
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"   # parked: refused for good (e.g. channel_not_found), or parked by a person
    REQUEUED = "requeued"             # a parked item sent back to the queue by a person (`outbox retry`)


@dataclass(frozen=True)
class OutboxMessage:
    id: str
    at: str                      # UTC ISO-8601, when it was queued
    state: QueuedState
    item: dict[str, Any]         # what to deliver, the destination's own shape (Slack: {"notice": {...}, "to": "#…"})
    final: dict[str, Any] = field(default_factory=dict)   # the last `sent` / `undeliverable` / `requeued` line
    dest: str = DEFAULT_DESTINATION
    subject: str = ""            # order key: items about one subject go out in file order

    @property
    def pending(self) -> bool:
        return self.state == QueuedState.PENDING and (not self.final or self.final.get("op") == FinalOp.REQUEUED)

    @property
    def parked(self) -> bool:
        return self.final.get("op") == FinalOp.UNDELIVERABLE


@dataclass
class Outbox:
    """One data directory's outbox file."""

    data_dir: Path

    @property
    def path(self) -> Path:
        return Path(self.data_dir) / OUTBOX_FILE

    @contextmanager
    def _locked(self) -> Iterator[None]:
        make_dirs(Path(self.data_dir))
        fd = open_creating(Path(self.data_dir) / LOCK_FILE, os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def set_delivery(self, delivery: str) -> None:
        """Record how this directory's daemon delivers ("slack" / "local"), for the processes beside it."""
        make_dirs(Path(self.data_dir))
        write_file_atomically(Path(self.data_dir) / DELIVERY_FILE, delivery.encode() + b"\n")

    def delivery(self) -> str:
        """"slack" or "local" as the last daemon recorded it; "" when no daemon has run here."""
        try:
            return (Path(self.data_dir) / DELIVERY_FILE).read_text().strip()
        except FileNotFoundError:
            return ""

    def set_webhooks(self, severities: list[str]) -> None:
        """Record which severities' webhooks this directory's daemon delivers, for the processes beside it."""
        make_dirs(Path(self.data_dir))
        write_file_atomically(Path(self.data_dir) / WEBHOOKS_FILE, " ".join(severities).encode() + b"\n")

    def webhooks(self) -> list[str]:
        """The severities the last daemon recorded (`set_webhooks`); [] when none or no daemon has run here."""
        try:
            return (Path(self.data_dir) / WEBHOOKS_FILE).read_text().split()
        except FileNotFoundError:
            return []

    def _append(self, lines: list[dict[str, Any]]) -> None:
        payload = b"".join(json.dumps(line, ensure_ascii=False, sort_keys=True).encode() + b"\n" for line in lines)
        with self._locked():
            created = not self.path.exists()
            fd = open_creating(self.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC, PRIVATE_FILE)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    payload = b"\n" + payload   # end a torn line first, or this line would join it
                write_all(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:   # the new file's name must survive a crash too, not only its bytes
                fsync_directory(Path(self.data_dir))

    def queue(self, items: list[dict[str, Any]], state: QueuedState, at: str, dest: str = DEFAULT_DESTINATION,
              subject: str = "") -> list[str]:
        """Write the items for `dest` about `subject` durably (one fsync for all); returns their ids in order."""
        ids = [uuid.uuid4().hex for _ in items]
        self._append([{"op": "queued", "id": i, "at": at, "state": state.value, "dest": dest,
                       "subject": subject or _subject_of(item), "item": item} for i, item in zip(ids, items)])
        return ids

    def queue_each(self, entries: list[tuple[str, dict[str, Any]]], state: QueuedState, at: str,
                   dest: str) -> list[str]:
        """Write one item per (subject, item) for `dest`, each ordered by its own subject, with one fsync
        (a commit that changed many runs and cases queues their mirror changes at once); returns the ids."""
        ids = [uuid.uuid4().hex for _ in entries]
        if entries:
            self._append([{"op": "queued", "id": i, "at": at, "state": state.value, "dest": dest,
                           "subject": subject, "item": item} for i, (subject, item) in zip(ids, entries)])
        return ids

    def finish(self, message_id: str, op: FinalOp, at: str, detail: dict[str, Any]) -> None:
        self._append([{"op": op.value, "id": message_id, "at": at, **detail}])

    def read(self, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Complete lines from byte `offset`, and the offset after the last complete line.

        A torn last line (a writer died mid-append) is left for the next read; it can only be the
        tail of a line whose fsync never returned, so no caller was told it was queued.
        """
        try:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return [], offset
        end = data.rfind(b"\n") + 1
        lines = []
        for raw in data[:end].splitlines():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue   # a torn line followed by later appends: never acknowledged, skip it
        return lines, offset + end

    def notice_ids(self) -> set[str]:
        """The `fields.notice_id` of every notice ever queued (sent, pending, local or suppressed); items of
        other destinations (a GitHub comment) carry no notice."""
        lines, _ = self.read()
        return {line["item"]["notice"].get("fields", {}).get("notice_id") for line in lines
                if line.get("op") == "queued" and isinstance(line["item"].get("notice"), dict)} - {None}

    def messages(self) -> list[OutboxMessage]:
        """Every message in file order, with its final line attached."""
        lines, _ = self.read()
        return fold(lines, {})

    def record_health(self, dest: str, health: dict[str, Any]) -> None:
        """What `dest`'s worker last saw (its last error, since when it fails), for `outbox status`.

        Replaced atomically under the outbox lock: several workers (one per destination) write it."""
        with self._locked():
            current = self.health()
            current[dest] = health
            write_file_atomically(Path(self.data_dir) / HEALTH_FILE,
                                  json.dumps(current, sort_keys=True, ensure_ascii=False).encode() + b"\n")

    def health(self) -> dict[str, dict[str, Any]]:
        """Destination → its worker's last report; {} when no worker has reported (or the file is damaged)."""
        try:
            value = json.loads((Path(self.data_dir) / HEALTH_FILE).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return value if isinstance(value, dict) else {}


def fold(lines: list[dict[str, Any]], into: dict[str, OutboxMessage]) -> list[OutboxMessage]:
    """Apply outbox lines to `into` (id → message, insertion-ordered); returns the messages in order."""
    for line in lines:
        if line.get("op") == "queued":
            item = line["item"]
            into[line["id"]] = OutboxMessage(id=line["id"], at=line["at"], state=QueuedState(line["state"]),
                                             item=item, dest=line.get("dest", DEFAULT_DESTINATION),
                                             subject=line.get("subject") or _subject_of(item) or line["id"])
        elif line.get("id") in into:
            into[line["id"]] = replace(into[line["id"]], final=line)
    return list(into.values())


def _subject_of(item: dict[str, Any]) -> str:
    """The order key of an item queued without one (lines written before `subject` existed): its notice's."""
    notice = item.get("notice") if isinstance(item, dict) else None
    return str(notice.get("subject") or "") if isinstance(notice, dict) else ""
