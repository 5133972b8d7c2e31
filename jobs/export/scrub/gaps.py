"""Scrub ruleset gaps: anyone configured files a format the rules miss; code.platform is told and closes it.

Seed 000 §5 ("scrub ruleset drift"): whoever notices a new credential format files a note to
code.platform, who patches the ruleset. Here the note is a recorded gap: written to the operations
ledger (signed history), kept in the state store (the open list), and sent to every code.platform
person. A description must name the format, not carry a value: it is scanned with the scrub itself
and refused when it holds something the scrub would remove, since it is posted to Slack.
"""
from __future__ import annotations

from dataclasses import replace

from jobs.actors import Actor, Permission, Role, Subject, authorize, refuse
from jobs.context import Context
from jobs.errors import Invalid, NotFound
from jobs.export.scrub.engine import Engine, FileKind
from jobs.export.scrub.report import Action
from jobs.notices import Notice
from store import scrub_gaps
from store.scrub_gaps import Gap, GapState

NOTICE_KIND = "scrub.gap"
MAX_DESCRIPTION = 500


class GapError(Invalid):
    """A gap that cannot be filed or closed, worded with the fix."""


class GapNotFound(GapError, NotFound):
    """No open gap has that id; the message lists the open ones. Exit 6 like every unknown id, not 2."""

    exit_code = NotFound.exit_code


#: What `scrub gap` acts on before the gap has an id: the ruleset's open list.
NEW_GAP = Subject("scrub gap", "new")


def file_gap(ctx: Context, engine: Engine, actor: Actor, description: str) -> tuple[Gap, tuple[str, ...]]:
    """Record a gap and notify code.platform; returns the gap and who was notified."""
    authorize(ctx, actor, Permission.SCRUB_GAP_FILE, "scrub gap", NEW_GAP)
    description = " ".join(description.split())
    if not description:
        raise GapError("scrub gap needs a description of the format the scrub missed, e.g. "
                       "\"Acme API keys: acme_live_ + 40 base62\"")
    if len(description) > MAX_DESCRIPTION:
        raise GapError(f"the description is {len(description)} characters; say the format in at most "
                       f"{MAX_DESCRIPTION} (prefix, length, alphabet, where it was seen)")
    found = sorted({f.rule for f in engine.process(description.encode(), FileKind.TEXT, "gap", scrub=False).findings
                    if f.action is Action.FOUND})
    if found:   # the refusal is recorded through the gate; the description itself is not kept
        raise refuse(ctx, actor, Permission.SCRUB_GAP_FILE, "scrub gap", NEW_GAP, GapError(
            f"the description holds what looks like a value ({', '.join(found)}); describe the format "
            "(prefix, length, alphabet) without pasting a real one; the refusal is recorded, the description "
            "is not"), detail={"rules": found})
    now = ctx.now().isoformat()
    version = engine.ruleset.version
    gap = Gap(scrub_gaps.next_id(ctx.state), description, actor.name, now, version)
    ctx.ledgers.operations.append("scrub.gap.filed", actor.ledger_id, actor.role_for(Permission.SCRUB_GAP_FILE) or None,
                                  {"data": {"gap": gap.gap_id, "description": description, "person": actor.name,
                                            "ruleset": version}})
    scrub_gaps.put(ctx.state, gap)
    owners = tuple(a.name for a in ctx.people.with_role(Role.CODE_PLATFORM))
    ctx.notifier.send(Notice(
        kind=NOTICE_KIND, subject=gap.gap_id, channel=ctx.settings.slack.channels.ops_alerts, dm_to=owners,
        text=(f"Scrub ruleset gap {gap.gap_id} filed by {actor.name}: {description} (ruleset {version}). "
              f"code.platform: patch the ruleset (seed 000 §5), then `chatops scrub gap close {gap.gap_id} "
              f"--resolution \"ruleset <version>\" --as NAME`."),
        fields={"gap": gap.gap_id, "description": description, "filed_by": actor.name, "ruleset": version},
        suppressible=False))
    return gap, owners


def close_gap(ctx: Context, actor: Actor, gap_id: str, resolution: str) -> Gap:
    authorize(ctx, actor, Permission.SCRUB_GAP_CLOSE, "scrub gap close", Subject("scrub gap", gap_id.upper()))
    resolution = " ".join(resolution.split())
    if not resolution:
        raise GapError("scrub gap close needs --resolution, e.g. \"ruleset 2026.12.1 adds acme-api-key\"")
    gap_id = gap_id.upper()
    found = scrub_gaps.get(ctx.state, gap_id)
    if found is None or found.state is not GapState.OPEN:
        known = [g.gap_id for g in scrub_gaps.all_gaps(ctx.state) if g.state is GapState.OPEN]
        raise GapNotFound(f"no open gap {gap_id}; open gaps: {', '.join(known) or 'none'} (see `chatops scrub gaps`)")
    gap = replace(found, state=GapState.CLOSED, closed_by=actor.name, closed_at=ctx.now().isoformat(),
                  resolution=resolution)
    ctx.ledgers.operations.append("scrub.gap.closed", actor.ledger_id,
                                  actor.role_for(Permission.SCRUB_GAP_CLOSE) or None,
                                  {"data": {"gap": gap.gap_id, "resolution": resolution, "person": actor.name}})
    scrub_gaps.put(ctx.state, gap)
    ctx.notifier.send(Notice(
        kind=NOTICE_KIND, subject=gap.gap_id, channel=ctx.settings.slack.channels.ops_alerts,
        text=f"Scrub ruleset gap {gap.gap_id} closed by {actor.name}: {resolution}.",
        fields={"gap": gap.gap_id, "resolution": resolution, "closed_by": actor.name},
        update_original=True, suppressible=False))
    return gap


def list_gaps(ctx: Context, include_closed: bool = False) -> list[Gap]:
    """The open gaps (all with `include_closed`): read-only, so the registry's gate is the only check."""
    gaps = scrub_gaps.all_gaps(ctx.state)
    return gaps if include_closed else [g for g in gaps if g.state is GapState.OPEN]
