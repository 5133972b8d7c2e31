"""The post-incident review clock (seed 002 §6): closing a SEV1/SEV2 starts 5 business days for a post-mortem.

`start_postmortem` is called by the incident area when it closes a SEV1 or SEV2 compliance incident (the
close has passed the gate there; this is its consequence, as a case is the consequence of a run). It
computes the due date (weekends, the configured country's public holidays and `[compliance] holidays`
skipped), writes the skeleton `operations/reports/compliance/postmortem-<slug>-<YYYY-MM-DD>.md` (the
date is the Pacific date the incident was closed) from `postmortem-template.md`, records the clock in the
state store and signs it into the operations ledger.

The skeleton holds the incident id and §6's headings, never incident content: what happened is
encrypted at rest by the incident area, and a council draft of the review is the incident area's to
store (encrypted) and show. The directory is private to the data directory's owner all the same
(store/access.py), because people write the review into this file.

A review is outstanding until its file exists and no "_(to be written)_" placeholder is left in it;
`postmortems_due` lists the outstanding ones due by a day, for the enforcement sweep.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from string import Template

from jobs.actors import DAEMON, Actor
from jobs.compliance.business_days import add_business_days, holidays_for
from jobs.context import Context
from jobs.errors import Conflict, Invalid
from store import postmortems
from store.access import ensure_private_dir
from store.files import write_file_atomically
from store.postmortems import PostmortemRow

REPORTS = Path("operations") / "reports" / "compliance"
#: "Within 5 business days of closing a SEV1 or SEV2 compliance incident" (seed 002 §6).
BUSINESS_DAYS = 5
TEMPLATE = "postmortem-template.md"
#: What the template leaves in each section; a review is written when none is left.
PLACEHOLDER = "_(to be written)_"
STARTED = "postmortem.started"

_INCIDENT_ID = re.compile(r"^INC-[1-9][0-9]*$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG = 60


@dataclass(frozen=True)
class PostmortemDue:
    incident_id: str
    path: Path             # relative to the data directory
    due: date              # a Pacific calendar date
    closed_on: date


def start_postmortem(ctx: Context, incident_id: str, slug: str, closed_at: datetime, *,
                     actor: Actor = DAEMON) -> PostmortemDue:
    """Start the review clock of a closed SEV1/SEV2 incident; `actor` is who closed it (for the ledger).

    Starting it again for the same closing returns the same review (a retried close is harmless); a
    different closing of the same incident, or another incident's review at the same path, is a Conflict.
    """
    _check(incident_id, slug, closed_at)
    closed_on = ctx.local(closed_at).date()
    due = add_business_days(closed_on, BUSINESS_DAYS, holidays_for(ctx.settings.compliance))
    path = REPORTS / f"postmortem-{slug}-{closed_on.isoformat()}.md"
    started = PostmortemDue(incident_id, path, due, closed_on)
    existing = postmortems.get(ctx.state, incident_id)
    if existing is not None:
        if _due(existing) == started:
            return started
        raise Conflict(f"{incident_id}'s post-incident review was already started at {existing.path}, due "
                       f"{existing.due}; it is not started twice")
    other = next((row for row in postmortems.all_rows(ctx.state) if row.path == str(path)), None)
    if other is not None:
        raise Conflict(f"{path} is already {other.incident_id}'s post-incident review; give {incident_id} another "
                       f"slug than {slug!r}")
    _write_skeleton(ctx, started)
    ctx.ledgers.operations.append(STARTED, actor.ledger_id, None, {"data": {
        "incident_id": incident_id, "path": str(path), "closed_on": closed_on.isoformat(), "due": due.isoformat(),
        "business_days": BUSINESS_DAYS}})
    postmortems.put(ctx.state, PostmortemRow(incident_id, str(path), closed_on.isoformat(), due.isoformat(),
                                             ctx.now().isoformat()))
    return started


def postmortems_due(ctx: Context, today: date, within_days: int = 0) -> list[PostmortemDue]:
    """Outstanding reviews due on or before `today` + `within_days` (overdue ones included), by due date.

    Outstanding: the file is missing, or a section still holds the template's placeholder. A review
    whose file was deleted is listed, never forgotten.
    """
    last = date.fromordinal(today.toordinal() + within_days)
    due = [_due(row) for row in postmortems.all_rows(ctx.state)]
    return sorted((d for d in due if d.due <= last and not is_written(ctx, d)), key=lambda d: (d.due, d.incident_id))


def is_written(ctx: Context, review: PostmortemDue) -> bool:
    try:
        text = (ctx.data_dir / review.path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    return PLACEHOLDER not in text


def skeleton(review: PostmortemDue) -> str:
    """The template filled with the incident id and the dates: headings, and nothing of the incident."""
    template = resources.files("jobs.compliance").joinpath(TEMPLATE).read_text(encoding="utf-8")
    return Template(template).substitute(incident_id=review.incident_id, closed_on=review.closed_on.isoformat(),
                                         due=review.due.isoformat())


def _write_skeleton(ctx: Context, review: PostmortemDue) -> None:
    directory = ctx.data_dir / REPORTS
    ensure_private_dir(directory)
    target = ctx.data_dir / review.path
    if not target.exists():          # a retried start after a crash: never overwrite what a person wrote
        write_file_atomically(target, skeleton(review).encode("utf-8"))


def _due(row: PostmortemRow) -> PostmortemDue:
    return PostmortemDue(row.incident_id, Path(row.path), date.fromisoformat(row.due),
                         date.fromisoformat(row.closed_on))


def _check(incident_id: str, slug: str, closed_at: datetime) -> None:
    if not _INCIDENT_ID.match(incident_id):
        raise Invalid(f"incident id {incident_id!r}: expected INC-<number>, e.g. INC-7")
    if not _SLUG.match(slug) or len(slug) > MAX_SLUG:
        raise Invalid(f"post-mortem slug {slug!r}: expected lower-case words joined by hyphens, at most {MAX_SLUG} "
                      f"characters, e.g. \"inc-7\"")
    if closed_at.tzinfo is None:
        raise Invalid(f"closing time {closed_at.isoformat()} has no time zone; expected an aware time (UTC)")
