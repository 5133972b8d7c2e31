"""Approvals: bound by hash, never self-approved, two-person rules, first decision wins, refusals recorded."""
from __future__ import annotations

import json
import threading

import pytest

from jobs import approvals
from jobs.actors import DAEMON, Permission, PermissionDenied, Role
from jobs.approvals import ApprovalRefused, Decision, Need, Status


def _ledger_kinds(ctx) -> list[str]:
    path = ctx.data_dir / "operations" / "ledger.jsonl"
    return [json.loads(line)["kind"] for line in path.read_text().splitlines()]


def _pr(ctx, requester="ben", needs=None):
    return approvals.request(ctx, "export.pr", "PR-7", {"head": "abc123", "findings": "d1"},
                             ctx.people.by_name(requester), Permission.RERUN_DECIDE, needs=needs)


def test_change_after_approval_voids_it(ctx):
    req = _pr(ctx)
    approvals.decide(ctx, req.id, ctx.people.by_name("ana"), Decision.APPROVED, req.what, note="reviewed")
    assert approvals.is_approved(ctx, "export.pr", "PR-7", {"head": "abc123", "findings": "d1"})
    assert not approvals.is_approved(ctx, "export.pr", "PR-7", {"head": "def456", "findings": "d1"})


def test_decision_on_changed_content_is_refused_and_recorded(ctx):
    req = _pr(ctx)
    with pytest.raises(ApprovalRefused, match="changed since approval was requested"):
        approvals.decide(ctx, req.id, ctx.people.by_name("ana"), Decision.APPROVED,
                         {"head": "def456", "findings": "d1"}, note="ok")
    after = approvals.get(ctx, req.id)
    assert after.status == Status.PENDING and after.decisions[0].refused
    assert _ledger_kinds(ctx)[-2:] == ["approval.requested", "command.refused"]


def test_requester_can_never_approve_their_own_request(ctx):
    req = _pr(ctx, requester="ana")
    with pytest.raises(ApprovalRefused, match="another person must approve"):
        approvals.decide(ctx, req.id, ctx.people.by_name("ana"), Decision.APPROVED, req.what)
    approvals.decide(ctx, req.id, ctx.people.by_name("dev"), Decision.APPROVED, req.what)
    assert approvals.get(ctx, req.id).status == Status.APPROVED


def test_two_person_rule_needs_two_different_people_with_the_roles(ctx):
    req = _pr(ctx, needs=(Need(frozenset({Role.O3}), 2),))
    ana, dev = ctx.people.by_name("ana"), ctx.people.by_name("dev")
    assert approvals.decide(ctx, req.id, ana, Decision.APPROVED, req.what).status == Status.PENDING
    with pytest.raises(ApprovalRefused, match="must come from another person"):
        approvals.decide(ctx, req.id, ana, Decision.APPROVED, req.what)
    assert approvals.pending_for(ctx, dev) and not approvals.pending_for(ctx, ana)
    decided = approvals.decide(ctx, req.id, dev, Decision.APPROVED, req.what)
    assert decided.status == Status.APPROVED
    assert [d.approval_id.split("-")[:2] for d in decided.approvals] == [["O3", "ana"], ["O3", "dev"]]


def test_one_of_each_role_from_different_people(ctx):
    req = approvals.request(ctx, "compliance.notification", "INC-3", {"draft": "Dear customer"}, DAEMON,
                            Permission.RERUN_DECIDE, needs=(Need(frozenset({Role.CEO})), Need(frozenset({Role.COO}))))
    dev, ana = ctx.people.by_name("dev"), ctx.people.by_name("ana")        # dev: ceo, ana: coo
    assert approvals.decide(ctx, req.id, dev, Decision.APPROVED, req.what).status == Status.PENDING
    assert approvals.decide(ctx, req.id, ana, Decision.APPROVED, req.what).status == Status.APPROVED


def test_role_without_the_permission_is_refused_in_the_runbooks_words(ctx):
    req = _pr(ctx, requester="ana")
    with pytest.raises(PermissionDenied, match="^DENIED needs role O3; you have O2, chief.staff$"):
        approvals.decide(ctx, req.id, ctx.people.by_name("ben"), Decision.DENIED, req.what, note="no")
    assert approvals.get(ctx, req.id).decisions[0].refused


def test_first_decision_wins_and_later_ones_are_refused_and_recorded(ctx):
    req = _pr(ctx)
    approvals.decide(ctx, req.id, ctx.people.by_name("dev"), Decision.DENIED, req.what, note="root cause unknown")
    with pytest.raises(ApprovalRefused, match="already denied by dev"):
        approvals.decide(ctx, req.id, ctx.people.by_name("ana"), Decision.APPROVED, req.what, note="fixed")
    final = approvals.get(ctx, req.id)
    assert final.status == Status.DENIED and final.decisions[-1].by == "ana" and final.decisions[-1].refused
    assert _ledger_kinds(ctx)[-2:] == ["approval.decided", "command.refused"]


def test_concurrent_decisions_only_one_wins(ctx):
    req = _pr(ctx)
    results: list[str] = []

    def decide(name: str, decision: Decision) -> None:
        try:
            approvals.decide(ctx, req.id, ctx.people.by_name(name), decision, req.what, note="n")
            results.append("won")
        except ApprovalRefused:
            results.append("refused")

    threads = [threading.Thread(target=decide, args=a) for a in (("ana", Decision.APPROVED), ("dev", Decision.DENIED))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == ["refused", "won"]


def test_denial_needs_a_reason(ctx):
    req = _pr(ctx)
    with pytest.raises(ApprovalRefused, match="needs a reason"):
        approvals.decide(ctx, req.id, ctx.people.by_name("ana"), Decision.DENIED, req.what, note=" ")


def _entries(ctx) -> list[dict]:
    path = ctx.data_dir / "operations" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_superseded_request_waits_for_nobody_and_every_decision_on_it_names_its_replacement(ctx):
    ben, ana = ctx.people.by_name("ben"), ctx.people.by_name("ana")
    old = _pr(ctx)
    new = approvals.request(ctx, "export.pr", "PR-7", {"head": "def456", "findings": "d1"}, ben,
                            Permission.RERUN_DECIDE)
    assert [r.id for r in approvals.pending_for(ctx, ana)] == [old.id, new.id]

    closed = approvals.supersede(ctx, old.id, new.id, ben, reason="new head commit pushed")
    assert (closed.status, closed.superseded_by, closed.final) == (Status.SUPERSEDED, new.id, None)
    assert approvals.get(ctx, old.id) == closed
    assert [r.id for r in approvals.pending_for(ctx, ana)] == [new.id]
    entry = _entries(ctx)[-1]
    assert (entry["kind"], entry["actor"]) == ("approval.superseded", ben.ledger_id)
    assert {k: entry["data"][k] for k in ("request", "superseded_by", "reason", "status", "subject")} == {
        "request": old.id, "superseded_by": new.id, "reason": "new head commit pushed", "status": "superseded",
        "subject": "PR-7"}

    with pytest.raises(ApprovalRefused, match=f"^{old.id} \\(PR-7\\) was superseded by {new.id}.*decide on {new.id}"):
        approvals.decide(ctx, old.id, ana, Decision.APPROVED, old.what, note="looks fine")
    refused = approvals.get(ctx, old.id)
    assert refused.status is Status.SUPERSEDED and refused.decisions[-1].refused and not refused.approvals
    assert _entries(ctx)[-1]["kind"] == "command.refused"
    assert approvals.decide(ctx, new.id, ana, Decision.APPROVED, new.what).status is Status.APPROVED


def test_only_a_pending_request_can_be_superseded_and_only_by_another_of_its_kind(ctx):
    ben, ana = ctx.people.by_name("ben"), ctx.people.by_name("ana")
    decided, newer = _pr(ctx), _pr(ctx)
    approvals.decide(ctx, decided.id, ana, Decision.APPROVED, decided.what)
    with pytest.raises(ApprovalRefused, match=f"{decided.id} \\(PR-7\\) is already approved; only a pending"):
        approvals.supersede(ctx, decided.id, newer.id, ben, reason="late")
    other = approvals.request(ctx, "rerun", "CASE-1", {"case": "CASE-1"}, DAEMON, Permission.RERUN_DECIDE)
    with pytest.raises(ApprovalRefused, match="a rerun request\\) cannot replace it"):
        approvals.supersede(ctx, newer.id, other.id, ben, reason="wrong kind")
    with pytest.raises(ApprovalRefused, match="no such other request"):
        approvals.supersede(ctx, newer.id, newer.id, ben, reason="itself")
    third = _pr(ctx)
    approvals.supersede(ctx, newer.id, third.id, ben, reason="newer")
    with pytest.raises(ApprovalRefused, match=f"already superseded by {third.id}"):
        approvals.supersede(ctx, newer.id, third.id, ben, reason="twice")
    assert [approvals.get(ctx, r.id).status for r in (decided, newer, third, other)] == [
        Status.APPROVED, Status.SUPERSEDED, Status.PENDING, Status.PENDING]
    assert [e["kind"] for e in _entries(ctx)].count("approval.superseded") == 1


def test_check_decision_records_a_refusal_and_takes_no_decision_it_would_allow(ctx):
    req = _pr(ctx, requester="ana")
    with pytest.raises(ApprovalRefused, match="another person must approve"):
        approvals.check_decision(ctx, req.id, ctx.people.by_name("ana"), Decision.APPROVED, req.what)
    assert approvals.get(ctx, req.id).decisions[-1].refused
    assert _entries(ctx)[-1]["kind"] == "command.refused"
    size = len(_entries(ctx))
    approvals.check_decision(ctx, req.id, ctx.people.by_name("dev"), Decision.APPROVED, req.what)
    after = approvals.get(ctx, req.id)
    assert after.status is Status.PENDING and len(after.decisions) == 1 and len(_entries(ctx)) == size
