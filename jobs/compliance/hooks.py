"""The two seams to parts of the compliance area built beside this one: post-mortems and the local council.

Kept to one function each so the rest of the area never imports them directly. A post-mortem is
required (§6: closing a SEV1/SEV2 starts its 5-business-day clock), so its absence is refused in one
sentence and the incident stays open; the council is optional (§1 allows a local model, never asks
for one), so its absence is the same as none configured: nothing is drafted.
"""
from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any, Mapping

from jobs.context import Context
from jobs.errors import Invalid


def start_postmortem(ctx: Context, incident_id: str, slug: str, closed_at: datetime) -> Any:
    """`postmortem.start_postmortem(…)` → a record with `path` and `due`; refused when not installed."""
    try:
        postmortem = importlib.import_module("jobs.compliance.postmortem")
    except ModuleNotFoundError as exc:
        if exc.name != "jobs.compliance.postmortem":
            raise
        raise Invalid(f"post-mortem scheduling is not installed (jobs/compliance/postmortem.py), so {incident_id} "
                      "cannot be closed: closing a SEV1/SEV2 must start its 5-business-day post-mortem clock "
                      "(seed 002 §6); install the complete chatops package") from None
    return postmortem.start_postmortem(ctx, incident_id, slug, closed_at)


def council_draft(ctx: Context, kind: str, record: Mapping[str, Any]) -> str | None:
    """A local model's draft of `kind` from the decrypted record, or None (no council configured)."""
    try:
        council = importlib.import_module("jobs.compliance.council")
    except ModuleNotFoundError as exc:
        if exc.name != "jobs.compliance.council":
            raise
        return None
    return council.Council.from_settings(ctx.settings).draft(kind, record)
