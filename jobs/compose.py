"""The composition root: the one place that builds a `Context` and wires its services.

Everything the context carries is chosen here (docs/architecture.md §2): the ledgers, the outgoing
scrub, the outbox notifier in local or Slack mode. The services are imported lazily, inside the
factories, because a CLI command that writes no ledger entry and sends nothing should not pay for
loading them (`python -X importtime -m chatops help`).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from jobs.actors import People
from jobs.context import Context
from jobs.settings import Settings
from store.access import Policy, prepare_data_dir
from store.state import StateStore

if TYPE_CHECKING:
    from jobs.audit import Ledgers
    from jobs.notices import Notifier
    from jobs.outgoing import OutgoingScrubber


def _ledgers(ctx: Context) -> "Ledgers":
    from jobs.audit import Ledgers, alert_damaged

    return Ledgers(ctx.settings, ctx.data_dir, clock=lambda: ctx.now(),
                   on_damaged=lambda message: alert_damaged(ctx, message))


def _outgoing(ctx: Context) -> "OutgoingScrubber":
    from jobs.outgoing import OutgoingScrubber

    return OutgoingScrubber(ctx)


def _notifier(ctx: Context) -> "Notifier":
    """Through the outbox: to Slack when this directory's daemon runs with a bot token, else to the local file."""
    from jobs.delivery_mode import slack_mode
    from jobs.outbox import OutboxNotifier

    return OutboxNotifier(ctx, local=not slack_mode(data_dir=ctx.data_dir))


def build_context(settings: Settings, data_dir: Path) -> Context:
    """A context on `data_dir` (prepared with the configured group's permissions), delivering through
    the outbox (`_notifier`, built when the first notice is sent)."""
    data_dir = Path(data_dir)
    prepare_data_dir(data_dir, Policy(settings.operators_group or None))
    state = StateStore(data_dir)
    if not state.path.exists():
        # A new data directory is written by this version: stamp its schema, or `chatops doctor` and
        # `chatops upgrade` would report a migration pending on a fresh install.
        from store import schema

        schema.set_state_version(state, schema.STATE_VERSION)
    return Context(settings=settings, data_dir=data_dir, state=state, people=People(settings.people),
                   make_ledgers=_ledgers, make_outgoing=_outgoing, make_notifier=_notifier)
