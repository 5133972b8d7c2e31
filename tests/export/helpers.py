"""What the export wrote, read back from its files: the operations ledger, the audit log, git, the outbox."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson

from jobs.export.audit_log import AUDIT_LOG
from store.outbox import Outbox


def ops_entries(data: Path) -> list[dict[str, Any]]:
    path = data / "operations" / "ledger.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def export_kinds(data: Path) -> list[str]:
    return [e["kind"] for e in ops_entries(data) if e["kind"].startswith(("export.", "incident."))]


def audit_lines(data: Path) -> list[str]:
    path = data / AUDIT_LOG
    return path.read_text().splitlines() if path.exists() else []


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def notices(data: Path) -> list[dict[str, Any]]:
    """Every queued notice with its address: `{"to": "#ops-review" | person, "notice": {...}}`."""
    return [m.item for m in Outbox(data).messages()]


def sent_to(data: Path, kind: str) -> dict[str, list[str]]:
    """Addresses of notices of `kind`, by address, with their texts."""
    found: dict[str, list[str]] = {}
    for item in notices(data):
        if item["notice"]["kind"] == kind:
            found.setdefault(item["to"], []).append(item["notice"]["text"])
    return found
