"""§5's tree, every leaf, and the notification approvals bound to the exact draft."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time

from jobs.compliance import flows
from jobs.compliance.records import Leaf
from jobs.errors import Invalid, Refused
from tests.compliance.incidents.conftest import START, person, refusals


def _contained(ctx, sev="SEV1", trigger="data-exposure"):
    with freeze_time(START):
        flows.file_incident(ctx, person(ctx, "sam"), trigger, sev, "what", "contained", "at risk")
        if sev == "SEV1":
            flows.confirm_step(ctx, person(ctx, "sam"), "INC-1", "contain", "revoked")


def _breach(ctx):
    _contained(ctx)
    with freeze_time(START + timedelta(minutes=5)):
        flows.decide(ctx, person(ctx, "lee"), "INC-1", True, True, True, ())
        return flows.draft_notice(ctx, person(ctx, "lee"), "INC-1", "Dear authority, on 7 December …")


def test_no_customer_data_is_an_internal_incident_without_notification(ctx):
    _contained(ctx)
    with freeze_time(START + timedelta(minutes=5)):
        incident = flows.decide(ctx, person(ctx, "lee"), "INC-1", False, None, None)
        assert (incident.leaf, incident.obligations, incident.sev.value) == (Leaf.INTERNAL, (), "SEV1")
        with pytest.raises(Refused, match="only a breach is notified"):
            flows.draft_notice(ctx, person(ctx, "lee"), "INC-1", "text")


def test_exposed_but_not_to_an_unauthorised_party_is_a_near_miss_raising_a_sev3_to_sev2(ctx):
    _contained(ctx, "SEV3", "policy-violation")
    with freeze_time(START + timedelta(minutes=5)):
        incident = flows.decide(ctx, person(ctx, "lee"), "INC-1", True, False, None)
    assert (incident.leaf, incident.obligations, incident.sev.value) == (Leaf.NEAR_MISS, (), "SEV2")


def test_a_breach_applies_gdpr_individuals_only_when_high_risk_and_each_customer_sla(ctx):
    _contained(ctx, "SEV2", "vendor-failure")
    with freeze_time(START + timedelta(minutes=5)):
        incident = flows.decide(ctx, person(ctx, "lee"), "INC-1", True, True, False, ("acme",))
    assert incident.leaf == Leaf.BREACH and incident.sev.value == "SEV1"          # breach is SEV1 (§3)
    assert [o.name for o in incident.obligations] == ["gdpr-dpa", "ccpa", "contract:acme"]


def test_the_tree_refuses_to_guess(ctx):
    _contained(ctx)
    with freeze_time(START + timedelta(minutes=5)):
        with pytest.raises(Invalid, match="--unauthorized yes|no"):
            flows.decide(ctx, person(ctx, "lee"), "INC-1", True, None, None)
        with pytest.raises(Invalid, match="--high-risk"):
            flows.decide(ctx, person(ctx, "lee"), "INC-1", True, True, None)
        with pytest.raises(Invalid, match=r"\[compliance.customers.globex\] notify_hours"):
            flows.decide(ctx, person(ctx, "lee"), "INC-1", True, True, True, ("globex",))


def test_one_person_never_counts_twice_even_holding_two_approver_roles(ctx):
    _breach(ctx)
    with freeze_time(START + timedelta(minutes=10)):
        flows.approve_notice(ctx, person(ctx, "zoe"), "INC-1")                  # ceo and coo: counts once
        with pytest.raises(Refused, match="one person counts once"):
            flows.approve_notice(ctx, person(ctx, "zoe"), "INC-1")
    refusal = refusals(ctx)[-1]
    assert (refusal["subject_kind"], refusal["subject"], refusal["person"]) == ("incident", "INC-1", "zoe")
    assert refusal["draft_hash"].startswith("sha256:")


def test_a_role_already_satisfied_or_never_held_is_refused_and_recorded(ctx):
    _breach(ctx)
    with freeze_time(START + timedelta(minutes=10)):
        flows.approve_notice(ctx, person(ctx, "dev"), "INC-1")                  # as ceo
        flows.approve_notice(ctx, person(ctx, "ana"), "INC-1")                  # as coo
        with pytest.raises(Refused, match="still needed: legal.exec; zoe holds none of them"):
            flows.approve_notice(ctx, person(ctx, "zoe"), "INC-1")
        with pytest.raises(Refused, match="needs role ceo or coo or legal.exec"):
            flows.approve_notice(ctx, person(ctx, "sam"), "INC-1")
    assert [(r["subject_kind"], r["subject"], r["person"]) for r in refusals(ctx)][-2:] == [
        ("incident", "INC-1", "zoe"), ("incident", "INC-1", "sam")]


def test_a_changed_draft_voids_earlier_approvals_and_nothing_is_sent_without_all_of_them(ctx):
    first = _breach(ctx)
    lee, dev, ana = (person(ctx, n) for n in ("lee", "dev", "ana"))
    with freeze_time(START + timedelta(minutes=10)):
        flows.approve_notice(ctx, dev, "INC-1", first.draft_hash[:19])
        flows.approve_notice(ctx, ana, "INC-1")
        flows.approve_notice(ctx, lee, "INC-1")
        flows.counsel_review(ctx, ana, "INC-1", "Outside Counsel LLP")
        second = flows.draft_notice(ctx, lee, "INC-1", "Dear authority, corrected text")
        assert second.approvals_for_current() == () and flows.missing_approvals(second) == [
            "ceo", "coo", "legal.exec", "outside counsel"]
        with pytest.raises(Refused, match="lacks: ceo, coo, legal.exec, outside counsel"):
            flows.notice_sent(ctx, lee, "INC-1")
        with pytest.raises(Refused, match="the draft changed"):
            flows.approve_notice(ctx, dev, "INC-1", first.draft_hash[:19])     # approving what they read before
        for who in (dev, ana, lee):
            flows.approve_notice(ctx, who, "INC-1", second.draft_hash)
        with pytest.raises(Refused, match="lacks: outside counsel"):
            flows.notice_sent(ctx, lee, "INC-1")
        flows.counsel_review(ctx, ana, "INC-1", "Outside Counsel LLP")
        done = flows.notice_sent(ctx, lee, "INC-1", ("gdpr-dpa",))
    assert [(o.name, o.sent_at is not None) for o in done.obligations] == [
        ("gdpr-dpa", True), ("gdpr-individuals", False), ("ccpa", False)]
