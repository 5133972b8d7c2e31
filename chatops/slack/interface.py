"""What a Slack interaction means, without Slack: a user id and words in, an outcome out.

The Bolt listeners (`chatops/slack/app.py`) only acknowledge, unpack the payload and call these
functions in a worker thread; so the same code path serves `/ops …`, a thread reply and a button,
and each reaches the domain through `chatops.registry.run` (permission checked in `jobs.actors`,
refusals recorded there) with the clicking / replying user's own Slack id.
"""
from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass, field
from typing import Callable

from chatops.config import LoadedConfig
from chatops.registry import HelpRequested, Invocation, Registry, UsageError, parse_slack_text, run
from chatops.render.views import HomeSection
from chatops.slack.replies import MalformedReply, ReplyKind, parse_reply
from jobs import approvals
from jobs.actors import Actor, PermissionDenied, allowed
from jobs.audit import record_refusal
from jobs.context import Context
from jobs.notices import Notice
from jobs.outbox import mask_text, secret_values
from store import slack_threads

log = logging.getLogger("chatops.slack")

HomeProvider = Callable[[Context, Actor], HomeSection]


@dataclass(frozen=True)
class Outcome:
    ok: bool           # False: refused or failed; `text` says why
    text: str


@dataclass
class SlackInterface:
    """Everything the listeners need; the registry is injectable so tests bring their own commands."""

    ctx: Context
    registry: Registry
    config: Callable[[], LoadedConfig]
    home_providers: tuple[HomeProvider, ...] = field(default=())

    def actor(self, slack_user: str) -> Actor:
        return self.ctx.people.by_slack_id(slack_user)

    def masked(self, text: str) -> str:
        """What may be shown in Slack: answers that bypass the outbox (`respond`, App Home) are masked
        the way the outbox masks every message, so no path carries a secret."""
        return mask_text(text, secret_values(self.ctx))

    # ---- /ops ------------------------------------------------------------------------------------

    def run_text(self, slack_user: str, text: str) -> Outcome:
        """`/ops <text>` as `slack_user`: help, or one registry command."""
        actor = self.actor(slack_user)
        if text.strip().lower() in ("", "help"):
            return Outcome(True, self.help(actor))
        try:
            command, args = parse_slack_text(self.registry, text)
        except HelpRequested as exc:
            return Outcome(True, str(exc))
        except UsageError as exc:
            return Outcome(False, str(exc))
        try:
            reply = run(Invocation(command=command, actor=actor, args=args, surface="slack", config=self.config,
                                   _context=self.ctx))
        except PermissionDenied as exc:
            return Outcome(False, str(exc))
        except Exception as exc:   # domain errors are worded for the person; the log keeps the traceback
            log.exception("/ops %s by %s failed", command.name, actor.name)
            return Outcome(False, f"{command.name} failed: {exc}")
        return Outcome(reply.exit_code == 0, reply.text or f"{command.name}: done")

    def help(self, actor: Actor) -> str:
        text = self.registry.help_text(actor, "slack", "/ops")
        if not actor.roles:
            text += (f"\nYou ({actor.slack_id}) are not in chatops's [people] configuration, so you may read "
                     f"help and nothing else; ask an O3 to add your Slack id to config.toml.")
        return text

    # ---- thread replies --------------------------------------------------------------------------

    def thread_reply(self, channel_id: str, thread_ts: str, slack_user: str, text: str) -> Outcome | None:
        """A reply in a thread chatops started: run the runbook command it means, answer in the thread.

        None when the thread is not ours or the reply is conversation, not a runbook form.
        """
        thread = slack_threads.by_parent(self.ctx.state, channel_id, thread_ts)
        if thread is None:
            return None
        try:
            reply = parse_reply(text)
        except MalformedReply as exc:
            return self._answer(thread, slack_user, Outcome(False, str(exc)))
        if reply is None:
            return None
        case = thread.case or (thread.subject if thread.subject.upper().startswith("CASE-") else "")
        if not case:
            outcome = Outcome(False, f"this thread is about {thread.subject}, not a case; "
                                     f"{reply.kind.value} applies to a case alert's thread")
        elif reply.case and reply.case.upper() != case.upper():
            outcome = Outcome(False, f"this thread is about {case}, but your {reply.kind.value} names "
                                     f"{reply.case}; reply in {reply.case}'s thread")
        else:
            outcome = self.run_text(slack_user, reply.command_text(case))
            if not outcome.ok and "needs role" in outcome.text:
                outcome = Outcome(False, _reworded_refusal(outcome.text, reply.kind))
        return self._answer(thread, slack_user, outcome)

    # ---- buttons and modals ----------------------------------------------------------------------

    def button(self, slack_user: str, command: str, target: str, channel_id: str, message_ts: str,
               extra: dict[str, str] | None = None) -> Outcome:
        """A button (or the modal it opened) runs `<command> <target> [--option text]` as the clicker."""
        words = [*command.split(), target]
        for option, value in (extra or {}).items():
            words += [f"--{option}", value]
        outcome = self.run_text(slack_user, shlex.join(words))
        thread = slack_threads.by_parent(self.ctx.state, channel_id, message_ts)
        if thread is not None:
            self._answer(thread, slack_user, outcome)
        return outcome

    def may_run(self, slack_user: str, command: str) -> Outcome:
        """Before a modal opens: would the clicker be allowed at all? (The domain checks again on submit.)"""
        found = self.registry.match(command.split())
        if found is None:
            return Outcome(False, f"unknown command {command!r}")
        actor = self.actor(slack_user)
        if not allowed(actor, found[0].permission):
            refusal = PermissionDenied(actor, found[0].permission, action=found[0].name)
            record_refusal(self.ctx, actor, found[0].permission, found[0].name, str(refusal))
            return Outcome(False, str(refusal))
        return Outcome(True, "")

    # ---- App Home --------------------------------------------------------------------------------

    def home_sections(self, slack_user: str) -> tuple[str, list[HomeSection]]:
        actor = self.actor(slack_user)
        pending = approvals.pending_for(self.ctx, actor) if actor.roles else []
        sections = [HomeSection("Approvals waiting for you",
                                tuple(f"{r.subject}: {r.kind} requested by {r.requested_by} ({r.id})" for r in pending),
                                empty="no approval is waiting for you")]
        for provider in self.home_providers:
            sections.append(provider(self.ctx, actor))
        return actor.name, [HomeSection(self.masked(s.title), tuple(self.masked(line) for line in s.lines), s.empty)
                            for s in sections]

    def _answer(self, thread: slack_threads.Thread, slack_user: str, outcome: Outcome) -> Outcome:
        verdict = "recorded" if outcome.ok else "refused"
        self.ctx.notifier.send(Notice(kind="slack.answer", subject=thread.subject, channel=thread.channel,
                                      text=f"<@{slack_user}> {verdict}: {outcome.text}", suppressible=False))
        return outcome


def _reworded_refusal(text: str, kind: ReplyKind) -> str:
    """`rerun deny needs role O3; you have O2` → `DENIED needs role O3; you have O2` (what they typed)."""
    return kind.value + " needs role" + text.split(" needs role", 1)[1]
