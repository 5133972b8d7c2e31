"""Realistic Claude Code transcripts for the export tests: the JSONL lines `~/.claude/projects/<project>/<session>.jsonl`
holds (user and assistant messages, tool calls and results), with or without what the scrub looks for."""
from __future__ import annotations

import json
import os
import secrets
import string
import time
import uuid
from pathlib import Path


def github_token() -> str:
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


def line(session: str, role: str, text: str, tool: bool = False) -> str:
    if tool:
        content = [{"type": "tool_result", "tool_use_id": f"toolu_{uuid.uuid4().hex[:20]}", "content": text}]
    elif role == "assistant":
        content = [{"type": "text", "text": text}]
    else:
        content = text
    return json.dumps({"parentUuid": str(uuid.uuid4()), "isSidechain": False, "userType": "external",
                       "cwd": "/home/dev/shop", "sessionId": session, "version": "1.0.83", "type": role,
                       "message": {"role": role, "content": content}, "uuid": str(uuid.uuid4()),
                       "timestamp": "2026-12-05T10:00:00.000Z"}) + "\n"


CLEAN = ["Refactor the invoice module so totals are computed once.",
         "I moved `compute_totals` into invoices/totals.py and added tests for rounding.",
         "def compute_totals(lines):\n    return sum(l.amount for l in lines)\n"]


def session(path: Path, *texts: str, age_minutes: float = 60, tool: str | None = None) -> Path:
    """Write a session file of ordinary work plus `texts`, last modified `age_minutes` ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sid = path.stem
    body = [line(sid, "user", CLEAN[0]), line(sid, "assistant", CLEAN[1])]
    body += [line(sid, "user" if i % 2 else "assistant", t) for i, t in enumerate(texts)]
    if tool is not None:
        body.append(line(sid, "user", tool, tool=True))
    path.write_text("".join(body))
    age(path, age_minutes)
    return path


def age(path: Path, minutes: float) -> None:
    moment = time.time() - minutes * 60
    os.utime(path, (moment, moment))


MEDIUM_TEXT = "The staging API answers on 10.20.0.15; questions go to info@ecomonetize.com."
INDIRECT_TEXT = "The Stripe API key is stored in 1Password; I did not read it."
