"""The daemon's minute check of the clocks, and the replies an incident's thread accepts."""
from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from freezegun import freeze_time

import pytest

from chatops.commands.incident import read_reply
from chatops.compliance_service import JOB_ID, ComplianceClocks
from chatops.registry import MalformedReply, Registry
from jobs.compliance import flows
from jobs.compliance.service import read_entries
from tests.compliance.incidents.conftest import START, person


def test_the_daemon_service_schedules_the_check_and_records_each_reminder_once(ctx):
    scheduler = BackgroundScheduler()
    service = ComplianceClocks(ctx, scheduler)
    service.start()
    assert scheduler.get_job(JOB_ID) is not None
    with freeze_time(START):
        flows.file_incident(ctx, person(ctx, "sam"), "data-exposure", "SEV1", "w", "c", "r")
        service.check()
        service.check()
    reminded = [e.data["clock"] for e in read_entries(ctx, "INC-1") if e.action.value == "reminded"]
    assert reminded == ["contain", "legal-engaged"] and service.health() == "ok"
    service.stop()
    assert scheduler.get_job(JOB_ID) is None


def test_thread_replies_confirm_containment_and_approve_the_draft():
    assert Registry.load().replies["incident"] is read_reply
    contained = read_reply("INC-4", "CONTAINED – revoked the key")
    assert (contained.words, dict(contained.values)) == (
        ("incident", "step"), {"incident": "INC-4", "step": "contain", "text": "revoked the key"})
    assert read_reply("INC-4", "approve").words == ("incident", "notice", "approve")
    assert read_reply("INC-4", "thanks, looking") is None
    with pytest.raises(MalformedReply, match="CONTAINED - <what"):
        read_reply("INC-4", "contained")


def test_app_home_lists_the_open_incidents_a_person_is_involved_in_without_their_text(ctx):
    from chatops.commands.incident import open_incidents_section

    with freeze_time(START):
        flows.file_incident(ctx, person(ctx, "sam"), "policy-violation", "SEV2", "Secret-Otter-1", "c", "r")
        coo = open_incidents_section(ctx, person(ctx, "ana"))
        ceo = open_incidents_section(ctx, person(ctx, "dev"))
    assert coo.lines == ("INC-1 SEV2 compliance: next: response due 2026-12-07 13:00 PST (in 4 h 00 min)",)
    assert ceo.lines == () and ceo.empty == "no open incident involves you"
