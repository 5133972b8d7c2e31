"""Approvals done right: bound by hash to what they approve, never self-approved, first decision wins.

Use it in four calls:

    req = approvals.request(ctx, kind="rerun", subject="CASE-12", what={"case": "CASE-12", "run": "run_1"},
                            requester=actor, permission=Permission.RERUN_DECIDE)
    approvals.decide(ctx, req.id, approver, Decision.APPROVED, what=<what the approver saw>, note="…")
    approvals.is_approved(ctx, "rerun", "CASE-12", what=<what is true now>)   # False once `what` changed
    approvals.pending_for(ctx, actor)                                           # what awaits this person
    approvals.supersede(ctx, req.id, newer.id, actor, reason="…")               # replaced: nobody decides it

`what` is the exact thing approved (a PR's head commit and findings digest; a rerun's case and
mitigation; a notification draft's text). Its SHA-256 over canonical JSON is stored with the request;
a decision made on a different `what`, and an `is_approved` asked about a different `what`, are
refused / false: a later change voids the approval. The requester can never approve their own
request. `needs` says how many approvals from which roles: `(Need({O3}, 2),)` is two different O3s,
`(Need({ceo}), Need({legal.exec}))` is one of each, from two different people even if one person
holds both roles. The first final decision wins; every later attempt is refused, and every refusal is
recorded on the request with the reason. A request replaced by a newer one (the thing changed and was
asked about again) is closed as superseded, naming its replacement: it waits for nobody any more and
every decision on it is refused.

A caller that applies what is approved passes its open ledger commit (`entries`) to `decide`, inside
its own state transaction: the decision and the change it allows are then written together or not at
all (`check_decision` first, so that a refusal is recorded even though the caller's work is dropped).
"""
from __future__ import annotations

import difflib
import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from jobs.actors import PERMISSIONS, Actor, Permission, PermissionDenied, Role, Subject, allowed, describe_roles, refuse
from jobs.context import Context
from jobs.errors import NotFound, Refused
from store import approvals as store

if TYPE_CHECKING:
    from store.ledger.ledger import Commit   # the ledger code (cryptography): only a writer passes one


class Decision(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    SUPERSEDED = "superseded"    # replaced by a newer request (`superseded_by`); nobody may decide it


class ApprovalRefused(Refused):
    """A decision that was not taken, worded for the person who tried (it is recorded all the same)."""


class UnknownRequest(ApprovalRefused, NotFound):
    """No request has that id (a mistyped `APR-…`): not found, exit 6, like every other unknown id."""

    exit_code = NotFound.exit_code


@dataclass(frozen=True)
class Need:
    """`count` approvals, each from a different person holding one of `roles`."""

    roles: frozenset[Role]
    count: int = 1

    def describe(self) -> str:
        return f"{self.count} × {describe_roles(self.roles)}" if self.count > 1 else describe_roles(self.roles)


@dataclass(frozen=True)
class DecisionRecord:
    by: str                  # person name
    decision: Decision
    at: str
    note: str = ""           # mitigation for an approval, reason for a denial
    role: str = ""           # the role that made the decision count
    approval_id: str = ""    # `O3-ana-20261122T101500Z` (docs/architecture.md §4)
    refused: str = ""        # non-empty: the decision was refused, and why


@dataclass(frozen=True)
class ApprovalRequest:
    id: str
    kind: str
    subject: str
    what: dict[str, Any]
    digest: str
    permission: Permission
    needs: tuple[Need, ...]
    requested_by: str
    requested_at: str
    status: Status = Status.PENDING
    decisions: tuple[DecisionRecord, ...] = field(default=())
    ledger: str = "operations"   # where requests, decisions and refusals are recorded ("credit" for runs)
    superseded_by: str = ""      # the request that replaced this one (status SUPERSEDED)

    @property
    def approvals(self) -> tuple[DecisionRecord, ...]:
        return tuple(d for d in self.decisions if not d.refused and d.decision == Decision.APPROVED)

    @property
    def final(self) -> DecisionRecord | None:
        """The decision that settled the request, if one did (a superseded request was settled by none)."""
        if self.status in (Status.PENDING, Status.SUPERSEDED):
            return None
        settled = [d for d in self.decisions if not d.refused]
        return settled[-1] if settled else None


def digest_of(kind: str, subject: str, what: Mapping[str, Any]) -> str:
    """SHA-256 over canonical JSON of what is approved: any change gives another digest."""
    canonical = json.dumps({"kind": kind, "subject": subject, "what": what}, sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def request(ctx: Context, kind: str, subject: str, what: Mapping[str, Any], requester: Actor,
            permission: Permission, needs: Iterable[Need] | None = None, ledger: str = "operations",
            entries: Commit | None = None) -> ApprovalRequest:
    """Open a request for approval of exactly `what`; `needs` defaults to one person with `permission`.

    `entries`: an open commit of `ledger`, for a caller that opens, decides and applies a request in
    one commit inside its own `ctx.state.transaction()` (a rerun decision): all of it or none of it.
    """
    needs = tuple(needs) if needs is not None else (Need(frozenset(PERMISSIONS[permission])),)
    if entries is not None and entries.ledger is not ctx.ledgers.get(ledger):
        raise ValueError(f"a request recorded in the {ledger} ledger cannot join a commit of {entries.ledger.name}")
    req = ApprovalRequest(id=f"APR-{uuid.uuid4().hex[:10]}", kind=kind, subject=subject, what=dict(what),
                          digest=digest_of(kind, subject, what), permission=permission, needs=needs,
                          requested_by=requester.name, requested_at=ctx.now().isoformat(), ledger=ledger)
    _record(ctx, req, "approval.requested", requester, "", {"needs": [n.describe() for n in needs]}, entries)
    store.add(ctx.state, _to_row(req))
    return req


def get(ctx: Context, request_id: str) -> ApprovalRequest:
    row = store.get(ctx.state, request_id)
    if row is None:
        pending = {r["id"]: r["subject"] for r in store.find(ctx.state, status=Status.PENDING.value)}
        shown = difflib.get_close_matches(request_id, list(pending), n=3, cutoff=0.6) or list(pending)[-5:]
        listed = ", ".join(f"{rid} ({pending[rid]})" for rid in shown) or "none"
        raise UnknownRequest(f"no approval request {request_id!r}; pending requests: {listed}")
    return _from_row(row)


def latest(ctx: Context, kind: str, subject: str) -> ApprovalRequest | None:
    rows = store.find(ctx.state, kind=kind, subject=subject)
    return _from_row(rows[-1]) if rows else None


def decide(ctx: Context, request_id: str, actor: Actor, decision: Decision, what: Mapping[str, Any],
           note: str = "", allow_self: bool = False, at: datetime | None = None,
           entries: Commit | None = None) -> ApprovalRequest:
    """Take `actor`'s decision on the request, or refuse it with the reason; either way it is recorded.

    Raises `PermissionDenied` (no role for this kind of decision) or `ApprovalRefused` (own request,
    changed since requested, already decided, superseded, same person twice, role not needed any more).
    `allow_self` lets the requester approve their own request: only for a caller whose configuration
    explicitly allows it (single-operator installs, `[baselines] allow_self_approval`), so the request
    is closed with the decision recorded rather than left pending beside a change applied anyway.

    `entries`: an open commit of the request's ledger, for a caller that applies what is approved in
    the same commit and inside its own `ctx.state.transaction()`; the decision (or refusal) is then
    written with the caller's work or not at all. `at` is the decision's time (default now), so the
    caller can name the approval id (`approval_id`) before it is taken.
    """
    decided = _decide(ctx, request_id, actor, decision, what, note, allow_self, at or ctx.now(), entries,
                      take=True)
    assert decided is not None
    return decided


def check_decision(ctx: Context, request_id: str, actor: Actor, decision: Decision, what: Mapping[str, Any],
                   note: str = "", allow_self: bool = False) -> None:
    """Raise the refusal `decide` would give now, recorded as `decide` records it; else change nothing.

    For a caller that takes the decision later inside its own transaction and ledger commit
    (`decide(…, entries=…)`): its refusals would be dropped with the caller's work, so they are found
    and recorded here first.
    """
    _decide(ctx, request_id, actor, decision, what, note, allow_self, ctx.now(), None, take=False)


def supersede(ctx: Context, request_id: str, replaced_by: str, actor: Actor, reason: str) -> ApprovalRequest:
    """Close a pending request because `replaced_by` asks again about the same thing as it is now.

    The request then waits for nobody (`pending_for`, App Home) and every decision on it is refused,
    naming the replacement. Recorded as `approval.superseded` by `actor` (who caused the renewal; the
    caller checked that they may open the replacement) with the replacement's id. Raises
    `ApprovalRefused` when the request is already settled (a decision stands and is not replaced) or
    the replacement is not a request of the same kind.
    """
    replacement = store.get(ctx.state, replaced_by)
    if replaced_by == request_id or replacement is None:
        raise ApprovalRefused(f"cannot supersede {request_id} by {replaced_by!r}: no such other request")

    def change(row: dict[str, Any]) -> tuple[dict[str, Any], ApprovalRequest]:
        req = _from_row(row)
        if replacement["kind"] != req.kind:
            raise ApprovalRefused(f"{request_id} is a {req.kind} request; {replaced_by} (a "
                                  f"{replacement['kind']} request) cannot replace it")
        if req.status is not Status.PENDING:
            by = f" by {req.superseded_by}" if req.superseded_by else ""
            raise ApprovalRefused(f"{request_id} ({req.subject}) is already {req.status.value}{by}; only a "
                                  "pending request can be superseded")
        updated = ApprovalRequest(**{**req.__dict__, "status": Status.SUPERSEDED, "superseded_by": replaced_by})
        _record(ctx, req, "approval.superseded", actor, "", {"superseded_by": replaced_by, "reason": reason,
                                                              "status": Status.SUPERSEDED.value})
        return _to_row(updated), updated

    try:
        return store.update(ctx.state, request_id, change)
    except KeyError:
        raise ApprovalRefused(f"no approval request {request_id!r}") from None


def approval_id(role: str, person: str, at: datetime) -> str:
    """`O3-ana-20261122T101500Z` (docs/architecture.md §4): the role that counted, the person, the UTC second."""
    return f"{role}-{person}-{at.strftime('%Y%m%dT%H%M%SZ')}"


def is_approved(ctx: Context, kind: str, subject: str, what: Mapping[str, Any]) -> bool:
    """True only if the latest request about `subject` is approved and `what` is still what was approved."""
    req = latest(ctx, kind, subject)
    return req is not None and req.status == Status.APPROVED and req.digest == digest_of(kind, subject, what)


def all_requests(ctx: Context) -> list[ApprovalRequest]:
    """Every request, oldest first (the audit reports' approval trail)."""
    return [_from_row(row) for row in store.find(ctx.state)]


def pending_for(ctx: Context, actor: Actor) -> list[ApprovalRequest]:
    """Open requests this person could approve now (not their own, not already approved by them).

    Only pending ones: decided and superseded requests wait for nobody.
    """
    out = []
    for row in store.find(ctx.state, status=Status.PENDING.value):
        req = _from_row(row)
        if req.requested_by != actor.name and actor.name not in {d.by for d in req.approvals} \
                and allowed(actor, req.permission) \
                and _fills_some(req.needs, [*_approvers(ctx, req), actor], len(req.approvals) + 1):
            out.append(req)
    return out


def _decide(ctx: Context, request_id: str, actor: Actor, decision: Decision, what: Mapping[str, Any], note: str,
            allow_self: bool, at: datetime, entries: Commit | None, take: bool) -> ApprovalRequest | None:
    """`decide` (`take`) or `check_decision`: one store update that records a refusal, or the decision."""

    def change(row: dict[str, Any]) -> tuple[dict[str, Any], Refused | ApprovalRequest | None]:
        req = _from_row(row)
        if entries is not None and entries.ledger is not ctx.ledgers.get(req.ledger):
            raise ValueError(f"{req.id} is recorded in the {req.ledger} ledger; its decision cannot join a "
                             f"commit of {entries.ledger.name}")
        refusal, role = _refusal(req, actor, decision, what, note, _approvers(ctx, req), allow_self)
        if refusal is not None:
            record = DecisionRecord(by=actor.name, decision=decision, at=at.isoformat(), note=note,
                                    refused=str(refusal))
            refuse(ctx, actor, req.permission, f"{decision.value.upper()} on {req.subject}",
                   Subject("approval", req.id, req.ledger), refusal, entries,
                   detail={"request": req.id, "kind": req.kind, "about": req.subject, "digest": req.digest,
                           "decision": decision.value, "note": note})
            return _to_row(_with(req, record, req.status)), refusal
        if not take:
            return row, None
        record = DecisionRecord(by=actor.name, decision=decision, at=at.isoformat(), note=note, role=role,
                                approval_id=approval_id(role, actor.name, at))
        status = Status.DENIED if decision == Decision.DENIED else (
            Status.APPROVED if _fills(req.needs, [*_approvers(ctx, req), actor]) else Status.PENDING)
        updated = _with(req, record, status)
        _record(ctx, req, "approval.decided", actor, role, {"decision": decision.value, "note": note,
                                                             "approval_id": record.approval_id,
                                                             "status": status.value}, entries)
        return _to_row(updated), updated

    try:
        result = store.update(ctx.state, request_id, change)
    except KeyError:
        raise ApprovalRefused(f"no approval request {request_id!r}") from None
    if isinstance(result, Exception):
        raise result
    return result


def _record(ctx: Context, req: ApprovalRequest, kind: str, actor: Actor, role: str, data: dict[str, Any],
            entries: Commit | None = None) -> None:
    """Ledger first: it is appended inside the store transaction, so a failed append changes nothing.

    With `entries` (the caller's open commit) the entry is written when the caller's commit is.
    """
    fields = {"data": {"request": req.id, "kind": req.kind, "subject": req.subject, "digest": req.digest,
                       "person": actor.name, **data}}
    if entries is not None:
        entries.append(kind, actor.ledger_id, role or None, fields)
    else:
        ctx.ledgers.get(req.ledger).append(kind, actor.ledger_id, role or None, fields)


# ---- rules --------------------------------------------------------------------------------------


def _refusal(req: ApprovalRequest, actor: Actor, decision: Decision, what: Mapping[str, Any],
             note: str, approvers: list[Actor], allow_self: bool = False) -> tuple[Refused | None, str]:
    action = f"{decision.value.upper()} on {req.subject}"
    if not allowed(actor, req.permission):
        return PermissionDenied(actor, req.permission, action=action.split(" on ")[0]), ""
    if req.status is Status.SUPERSEDED:
        return ApprovalRefused(
            f"{req.id} ({req.subject}) was superseded by {req.superseded_by}, which asks about it as it is now; "
            f"decide on {req.superseded_by} instead"), ""
    if req.final is not None:
        first = req.final
        return ApprovalRefused(
            f"{req.subject} was already {req.status.value} by {first.by} at {first.at}; the first decision "
            f"wins, yours was recorded and not applied"), ""
    if digest_of(req.kind, req.subject, what) != req.digest:
        return ApprovalRefused(
            f"{req.subject} changed since approval was requested (approved content digest "
            f"{req.digest[:12]}, now {digest_of(req.kind, req.subject, what)[:12]}); the request is void, "
            f"open a new one for what is there now"), ""
    if decision == Decision.DENIED:
        if not note.strip():
            return ApprovalRefused(f"a denial of {req.subject} needs a reason"), ""
        return None, actor.role_for(req.permission)
    if actor.name == req.requested_by and not allow_self:
        return ApprovalRefused(f"you requested this approval of {req.subject}; another person must approve it"), ""
    if actor.name in {d.by for d in req.approvals}:
        return ApprovalRefused(
            f"you already approved {req.subject}; the next approval must come from another person"), ""
    if not _fills_some(req.needs, [*approvers, actor], len(approvers) + 1):
        missing = "; ".join(n.describe() for n in req.needs)
        have = ", ".join(sorted(r.value for r in actor.roles)) or "no role"
        return ApprovalRefused(
            f"{req.subject} needs approvals from {missing}; the approvals so far already cover your "
            f"role ({have})"), ""
    return None, _role_used(req.needs, actor)


def _role_used(needs: tuple[Need, ...], actor: Actor) -> str:
    for need in needs:
        granted = sorted(r.value for r in actor.roles & need.roles)
        if granted:
            tiers = [t for t in ("O3", "O2", "O1") if t in granted]
            return tiers[0] if tiers else granted[0]
    return ""


def _approvers(ctx: Context, req: ApprovalRequest) -> list[Actor]:
    """The people who approved so far, with their current roles."""
    people = {a.name: a for a in ctx.people}
    return [people.get(d.by) or Actor(d.by, frozenset({Role(d.role)}) if d.role else frozenset())
            for d in req.approvals]


def _slots(needs: tuple[Need, ...]) -> list[frozenset[Role]]:
    return [need.roles for need in needs for _ in range(need.count)]


def _fills_some(needs: tuple[Need, ...], people: list[Actor], assigned: int) -> bool:
    """Can every one of `people` (distinct) take a different slot of `needs`?"""
    slots = _slots(needs)
    if assigned > len(slots):
        return False

    def place(i: int, used: frozenset[int]) -> bool:
        if i == len(people):
            return True
        return any(j not in used and people[i].roles & slot and place(i + 1, used | {j})
                   for j, slot in enumerate(slots))

    return place(0, frozenset())


def _fills(needs: tuple[Need, ...], people: list[Actor]) -> bool:
    """Do `people` fill every slot (each person one slot)?"""
    return len(people) == len(_slots(needs)) and _fills_some(needs, people, len(people))


def _with(req: ApprovalRequest, record: DecisionRecord, status: Status) -> ApprovalRequest:
    return ApprovalRequest(**{**req.__dict__, "decisions": (*req.decisions, record), "status": status})


def _to_row(req: ApprovalRequest) -> dict[str, Any]:
    row = asdict(req)
    row["needs"] = [{"roles": sorted(r.value for r in n.roles), "count": n.count} for n in req.needs]
    row["decisions"] = [asdict(d) for d in req.decisions]
    row["permission"] = req.permission.value
    row["status"] = req.status.value
    return row


def _from_row(row: Mapping[str, Any]) -> ApprovalRequest:
    return ApprovalRequest(
        id=row["id"], kind=row["kind"], subject=row["subject"], what=dict(row["what"]), digest=row["digest"],
        permission=Permission(row["permission"]),
        needs=tuple(Need(frozenset(Role(r) for r in n["roles"]), n["count"]) for n in row["needs"]),
        requested_by=row["requested_by"], requested_at=row["requested_at"], status=Status(row["status"]),
        decisions=tuple(DecisionRecord(**{**d, "decision": Decision(d["decision"])}) for d in row["decisions"]),
        ledger=row.get("ledger", "operations"), superseded_by=row.get("superseded_by", ""))
