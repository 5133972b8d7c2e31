"""Seed 000 §3's tiered policy: what a grade means for the day's PR and who may merge it.

| grade | on the run | who may merge |
|---|---|---|
| HIGH | merged by the pipeline (`auto`) | chief.staff |
| MEDIUM | waits for chief.staff before the next 05:00 run | chief.staff; the COO approves on request |
| LOW, indirect exposure only | a human review (§4: not an automatic hold) | chief.staff, after reading it |
| LOW (credential or PII in the clean output), FAIL | held, escalated (§5) | nobody, until `export rescrub` grades it HIGH or MEDIUM |

The grade a decision uses is the worse of the one recorded and the one the PR's description says now:
a description without a confidence line (edited by hand, pipeline error) counts as LOW (§3).
"""
from __future__ import annotations

import re

from jobs.actors import Actor, Role
from jobs.export.records import Disposition, ExportDay, Grading
from jobs.export.scrub import Grade

ORDER = (Grade.HIGH, Grade.MEDIUM, Grade.LOW, Grade.FAIL)
_CONFIDENCE = re.compile(r"^\s*\**Scrub confidence:\**\s*\**(HIGH|MEDIUM|LOW|FAIL)\b", re.M)


def confidence_in(body: str) -> Grade:
    """The confidence a PR description states; LOW when it states none (§3)."""
    found = _CONFIDENCE.findall(body or "")
    return Grade(found[-1]) if found else Grade.LOW


def worse(a: Grade, b: Grade) -> Grade:
    return max(a, b, key=ORDER.index)


def indirect_only(grading: Grading) -> bool:
    return grading.grade == Grade.LOW and not grading.credential and not grading.problems


def disposition_for(grading: Grading) -> Disposition:
    grade = Grade(grading.grade)
    if grade is Grade.HIGH:
        return Disposition.AUTO
    if grade is Grade.MEDIUM or indirect_only(grading):
        return Disposition.REVIEW
    return Disposition.HELD


def held_for_rescrub(day: ExportDay, effective: Grade) -> bool:
    """LOW with a credential or PII, or FAIL: merged only after a re-scrub grades it HIGH or MEDIUM."""
    if effective is Grade.FAIL:
        return True
    return effective is Grade.LOW and not indirect_only(day.grading)


def merge_refusal(actor: Actor, day: ExportDay, effective: Grade) -> str | None:
    """Why `actor` may not merge the day's PR at grade `effective`, or None when they may."""
    if held_for_rescrub(day, effective):
        return (f"PR #{day.pr} is {effective.value}: a LOW or FAIL export is merged only after "
                f"`chatops export rescrub {day.pr}` grades it HIGH or MEDIUM (seed 000 §3)")
    if Role.CHIEF_STAFF in actor.roles:
        return None
    if Role.COO in actor.roles and effective is Grade.MEDIUM:
        return None
    if Role.COO in actor.roles:
        return f"PR #{day.pr} is {effective.value}: the COO approves MEDIUM merges only; chief.staff merges it"
    return f"PR #{day.pr} is {effective.value}: chief.staff merges it"
