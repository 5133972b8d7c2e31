"""Each SEV path with time moved across its deadlines: reminders before, escalation when missed, both recorded."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time

from jobs.compliance import flows
from jobs.compliance.clocks import clocks
from jobs.compliance.service import load, read_entries
from jobs.errors import Invalid, Refused
from tests.compliance.incidents.conftest import START, person, queued, refusals


def _file(ctx, sev, trigger="data-exposure", kind="compliance", by="sam"):
    with freeze_time(START):
        return flows.file_incident(ctx, person(ctx, by), trigger, sev, "what happened", "what is contained",
                                   "what is at risk", kind)


def _tick(ctx, delta: timedelta) -> list[str]:
    with freeze_time(START + delta):
        return flows.check_clocks(ctx)


def _actions(ctx, incident_id="INC-1") -> list[tuple[str, str]]:
    return [(e.action.value, e.data.get("clock") or e.data.get("how") or e.data.get("step") or "")
            for e in read_entries(ctx, incident_id)]


def test_sev1_dms_the_ceo_and_coo_at_once_and_posts_only_ids_to_security_incidents(ctx):
    incident = _file(ctx, "SEV1")
    assert incident.notified == ("ceo-dm", "coo-dm", "channel")
    items = queued(ctx)
    ceo = [i for i in items if i["notice"]["kind"] == "compliance.ceo"]
    coo = [i for i in items if i["notice"]["kind"] == "compliance.coo"]
    [channel] = [i for i in items if i["to"].startswith("#")]
    assert len(items) == 5 and sorted(i["to"] for i in ceo) == ["@dev", "@zoe"]
    assert all(set(i["notice"]) == {"kind", "subject", "sealed"} for i in ceo)     # the content is sealed
    assert sorted(i["to"] for i in coo) == ["@ana", "@zoe"]
    assert all("what happened" not in i["notice"]["text"] for i in coo)
    assert channel["to"] == "#security-incidents" and "what happened" not in channel["notice"]["text"]
    assert "contain due 2026-12-07 09:30 PST" in channel["notice"]["text"]


def test_sev1_containment_comes_before_anything_else_and_misses_escalate_to_coo_and_ceo(ctx):
    _file(ctx, "SEV1")
    with freeze_time(START + timedelta(minutes=5)), pytest.raises(Refused, match="containment is not confirmed"):
        flows.confirm_step(ctx, person(ctx, "lee"), "INC-1", "legal-engaged", "engaged")
    assert refusals(ctx)[-1]["subject"] == "INC-1" and refusals(ctx)[-1]["subject_kind"] == "incident"
    assert _tick(ctx, timedelta(minutes=0)) == ["INC-1 contain reminded", "INC-1 legal-engaged reminded"]
    assert _tick(ctx, timedelta(minutes=29)) == []
    assert _tick(ctx, timedelta(minutes=30)) == ["INC-1 contain overdue; escalated to ana, zoe, dev"]
    assert _tick(ctx, timedelta(minutes=45)) == []                              # never twice
    overdue = queued(ctx)[-1]["notice"]
    assert overdue["channel"] == "#security-incidents" and "contain missed" in overdue["text"]
    assert set(overdue["dm_to"]) == {"sam", "ana", "zoe", "dev"}
    with freeze_time(START + timedelta(minutes=50)):
        flows.confirm_step(ctx, person(ctx, "sam"), "INC-1", "contain", "revoked the key")
        flows.confirm_step(ctx, person(ctx, "lee"), "INC-1", "legal-engaged", "engaged")
    assert ("overdue", "contain") in _actions(ctx) and ("step", "legal-engaged") in _actions(ctx)


def test_breach_starts_the_72_hour_dpa_clock_from_awareness(ctx):
    _file(ctx, "SEV1")
    with freeze_time(START + timedelta(minutes=10)):
        flows.confirm_step(ctx, person(ctx, "sam"), "INC-1", "contain", "revoked")
        flows.confirm_step(ctx, person(ctx, "lee"), "INC-1", "legal-engaged", "engaged")
    with freeze_time(START + timedelta(hours=2)):
        incident = flows.decide(ctx, person(ctx, "lee"), "INC-1", True, True, False, ("acme",))
    dues = {o.name: o.due - START for o in incident.obligations}
    assert dues == {"gdpr-dpa": timedelta(hours=72), "ccpa": timedelta(hours=120),
                    "contract:acme": timedelta(hours=48)}
    _tick(ctx, timedelta(hours=70))
    assert "INC-1 notify:gdpr-dpa reminded" in _tick(ctx, timedelta(hours=71))
    assert "INC-1 notify:gdpr-dpa overdue; escalated to ana, zoe, dev" in _tick(ctx, timedelta(hours=72))


def test_sev2_response_4h_and_remediation_24h_are_reminded_then_escalated_to_the_coo(ctx):
    incident = _file(ctx, "SEV2", trigger="policy-violation")
    assert incident.owner == "sam" and incident.notified == ("coo-dm", "channel")
    assert _tick(ctx, timedelta(hours=2, minutes=59)) == []
    assert _tick(ctx, timedelta(hours=3)) == ["INC-1 response reminded"]
    assert _tick(ctx, timedelta(hours=4)) == ["INC-1 response overdue; escalated to ana, zoe"]
    assert _tick(ctx, timedelta(hours=23)) == ["INC-1 remediation-plan reminded"]
    with freeze_time(START + timedelta(hours=23, minutes=30)):
        flows.confirm_step(ctx, person(ctx, "sam"), "INC-1", "remediation-plan", "rotate, then audit")
    assert _tick(ctx, timedelta(hours=24)) == []
    assert [c.name for c in clocks(load(ctx, "INC-1"), ctx.settings) if c.done_at is None] == ["response"]


def test_sev2_risk_assessment_escalates_to_sev1_in_one_step(ctx):
    _file(ctx, "SEV2", trigger="vendor-failure")
    with freeze_time(START + timedelta(hours=1)):
        incident = flows.assess(ctx, person(ctx, "sam"), "INC-1", True, "could reach customer data")
    assert incident.sev.value == "SEV1" and incident.sev_since == START + timedelta(hours=1)
    assert "response" in incident.steps
    sealed_to = [i["to"] for i in queued(ctx) if set(i["notice"]) == {"kind", "subject", "sealed"}]
    assert sorted(sealed_to) == ["@dev", "@zoe"] and incident.notified[-3:] == ("ceo-dm", "coo-dm", "channel")
    assert "INC-1 contain overdue; escalated to ana, zoe, dev" in _tick(ctx, timedelta(hours=1, minutes=30))


def test_sev2_needs_its_sop_delta_before_closing(ctx):
    _file(ctx, "SEV2", trigger="policy-violation")
    with freeze_time(START + timedelta(hours=1)):
        flows.assess(ctx, person(ctx, "sam"), "INC-1", False, "contained to staging")
        flows.confirm_step(ctx, person(ctx, "sam"), "INC-1", "remediation-plan", "plan")
        with pytest.raises(Refused, match="still needs: sop-delta"):
            flows.close(ctx, person(ctx, "sam"), "INC-1")


def test_closing_a_sev2_starts_the_post_mortem_clock_five_business_days_out(ctx):
    import holidays

    from jobs.compliance import business_days

    _file(ctx, "SEV2", trigger="policy-violation")
    with freeze_time(START + timedelta(hours=1)):
        flows.assess(ctx, person(ctx, "sam"), "INC-1", False, "contained")
        flows.confirm_step(ctx, person(ctx, "sam"), "INC-1", "remediation-plan", "plan")
        flows.confirm_step(ctx, person(ctx, "sam"), "INC-1", "sop-delta", "SOP-OPS-credential v1.1")
    with freeze_time(START + timedelta(hours=2)):
        incident = flows.close(ctx, person(ctx, "sam"), "INC-1")
    due = business_days.add_business_days(ctx.local(START + timedelta(hours=2)).date(), 5, holidays.US())
    assert not incident.open and incident.postmortem_due == due.isoformat()
    [report] = (ctx.data_dir / "operations" / "reports" / "compliance").glob("postmortem-inc-1-*.md")
    assert "contained" not in report.read_text() and "INC-1" in report.read_text()   # ids, no content


def test_sev3_is_due_at_the_next_sweep_with_a_prevention_owner(ctx):
    incident = _file(ctx, "SEV3", trigger="workflow-failure", kind="operational")
    [clock] = clocks(incident, ctx.settings)
    assert (clock.name, ctx.local(clock.due).strftime("%a %H:%M")) == ("prevention", "Tue 08:30")
    assert incident.owner == "sam" and incident.notified == ("channel",)
    assert _tick(ctx, timedelta(hours=22)) == []                                    # 07:00 Tue
    assert _tick(ctx, timedelta(hours=22, minutes=30)) == ["INC-1 prevention reminded"]
    assert _tick(ctx, timedelta(hours=23, minutes=30)) == ["INC-1 prevention overdue; escalated to ana, zoe"]
    with freeze_time(START + timedelta(hours=24)):
        with pytest.raises(Refused, match="prevention owner"):
            flows.confirm_step(ctx, person(ctx, "ana"), "INC-1", "prevention", "added a check")
        flows.confirm_step(ctx, person(ctx, "sam"), "INC-1", "prevention", "added a check")
        assert not flows.close(ctx, person(ctx, "sam"), "INC-1").open


def test_an_operational_incident_escalated_to_compliance_keeps_its_timeline(ctx):
    _file(ctx, "SEV1", trigger="workflow-failure", kind="operational")
    before = read_entries(ctx, "INC-1")
    assert [n for n in load(ctx, "INC-1").notified] == ["channel"]          # no CEO DM for an operational one
    with freeze_time(START + timedelta(minutes=10)):
        incident = flows.escalate(ctx, person(ctx, "sam"), "INC-1", "compliance")
    after = read_entries(ctx, "INC-1")
    assert after[:len(before)] == before and incident.kind.value == "compliance"
    assert incident.notified[-3:] == ("ceo-dm", "coo-dm", "channel")
    assert [c.name for c in clocks(incident, ctx.settings)] == ["contain", "legal-engaged", "decision"]
    with freeze_time(START + timedelta(minutes=11)), pytest.raises(Refused, match="already a compliance incident"):
        flows.escalate(ctx, person(ctx, "sam"), "INC-1", "compliance")


def test_a_sev1_is_not_filed_when_nobody_holds_the_ceo_role_and_says_how_to_fix_it(tmp_path):
    from jobs.compose import build_context
    from tests.compliance.incidents.conftest import settings

    raw_people = {"people": {"sam": {"roles": ["security.ops"]}, "ana": {"roles": ["coo"]}}}
    ctx = build_context(settings(raw_people), tmp_path / "var")
    with freeze_time(START), pytest.raises(Invalid, match="nobody in config.toml \\[people\\] holds role ceo"):
        flows.file_incident(ctx, person(ctx, "sam"), "data-exposure", "SEV1", "w", "c", "r")
    assert not list((ctx.data_dir / "compliance" / "incidents").glob("INC-*"))


def test_another_area_files_through_the_same_door_as_the_daemon_and_bad_values_are_named(ctx):
    from jobs.actors import DAEMON

    with freeze_time(START):
        missed = flows.file_incident(ctx, DAEMON, "workflow-failure", "SEV3", "export PR missing at 06:00",
                                     "nothing to contain", "the day's audit trail", links=("export-2026-12-07",))
        with pytest.raises(Invalid, match="trigger 'leak' is not one of data-exposure"):
            flows.file_incident(ctx, DAEMON, "leak", "SEV2", "w", "c", "r")
    assert (missed.kind.value, missed.filed_by, missed.links) == ("operational", "daemon", ("export-2026-12-07",))


def test_a_field_too_long_for_the_ceos_dm_is_invalid_and_nothing_is_filed(ctx):
    from jobs.compliance.flows import MAX_FIELD_CHARS
    from jobs.compliance.service import ids

    with freeze_time(START), pytest.raises(Invalid, match=r"--what is 2,001 characters; keep it to 2,000"):
        flows.file_incident(ctx, person(ctx, "sam"), "data-exposure", "SEV1", "x" * (MAX_FIELD_CHARS + 1),
                            "contained", "at risk")
    assert ids(ctx) == []
