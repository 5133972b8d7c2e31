"""Which baseline proposal is waiting for a second O3: the approval kind and subject of a proposal.

Apart from `proposals` because the update procedure (`flows`) must name the pending proposal when it
refuses a self-approved update, and `proposals` itself is built on `flows`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from jobs import approvals
from jobs.approvals import ApprovalRequest, Status

if TYPE_CHECKING:
    from jobs.context import Context

KIND = "baseline.update"


def subject(scenario_id: str) -> str:
    return f"BASELINE-{scenario_id}"


def pending(ctx: Context, scenario_id: str) -> ApprovalRequest | None:
    """The scenario's open proposal, or None when there is none waiting."""
    req = approvals.latest(ctx, KIND, subject(scenario_id))
    return req if req is not None and req.status is Status.PENDING else None
