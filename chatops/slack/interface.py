"""What a Slack interaction means, without Slack: a user id and a structure in, an outcome out.

The Bolt listeners (`chatops/slack/app.py`) only acknowledge, unpack the payload and call these
functions in a worker thread. `/ops <text>` is parsed once from the user's text; a thread reply is
read by the area that owns the thread's subject (`Registry.replies`, by the subject kind the thread
is bound to), and a button names its command and subject: both build the command's typed arguments
directly (`Command.arguments`), never a command line to split again. Every way in reaches the domain
through `chatops.registry.run` and so through the one gate (`jobs.actors.authorize`), as the clicking
or replying user. This layer names no area: what a subject accepts is its area's business.
"""
from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from chatops.config import LoadedConfig
from chatops.registry import (Command, HelpRequested, Invocation, MalformedReply, Registry, ReplyCommand, UsageError,
                              parse_slack_text, run)
from chatops.render.views import HomeSection
from jobs import approvals
from jobs.actors import Actor, PermissionDenied, authorize
from jobs.context import Context
from jobs.errors import ChatopsError
from jobs.notices import Notice
from store import slack_threads

log = logging.getLogger("chatops.slack")
#: Slack shows a form field's error under it; past a line or two it is cut.
FIELD_ERROR_CHARS = 150

@dataclass(frozen=True)
class Outcome:
    ok: bool           # False: refused or failed; `text` says why
    text: str
    answered: bool = False   # already answered in the subject's thread (a button on a message we know)


@dataclass
class SlackInterface:
    """Everything the listeners need; the registry is injectable so tests bring their own commands."""

    ctx: Context
    registry: Registry
    config: Callable[[], LoadedConfig]

    def actor(self, slack_user: str) -> Actor:
        return self.ctx.people.by_slack_id(slack_user)

    def masked(self, text: str) -> str:
        """What may be shown in Slack: answers that bypass the outbox (`respond`, App Home) pass the
        scrub engine's rules as every queued message does, so no path carries a secret."""
        return self.ctx.outgoing.text(text)

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
        return self.run(actor, command, args)

    def run(self, actor: Actor, command: Command, args: argparse.Namespace, said: str = "") -> Outcome:
        """One command as `actor`, through the gate. `said` is the reply's word a refusal is worded in."""
        try:
            reply = run(Invocation(command=command, actor=actor, args=args, surface="slack", config=self.config,
                                   _context=self.ctx))
        except PermissionDenied as exc:
            return Outcome(False, str(PermissionDenied(exc.actor, exc.permission, said)) if said else str(exc))
        except ChatopsError as exc:   # refused, invalid, not found, conflict, damaged: one sentence each
            return Outcome(False, str(exc))
        except Exception as exc:   # a defect: the person gets one line, the log keeps the traceback
            log.exception("/ops %s by %s failed", command.name, actor.name)
            return Outcome(False, f"{command.name} failed: {exc}")
        return Outcome(reply.exit_code == 0, reply.text or f"{command.name}: done")

    def help(self, actor: Actor) -> str:
        text = self.registry.help_text(actor, "slack", "/ops")
        if not actor.roles:
            text += (f"\nYou ({actor.slack_id}) are not in chatops's [people] configuration, so you may read "
                     f"help and nothing else; ask an O3 to add your Slack id to config.toml.")
        return text

    def form_for(self, slack_user: str, text: str) -> tuple[Command | None, Outcome]:
        """`/ops <words>` naming exactly a command declared `modal=True`: that command, once the gate lets
        the asker run it (a refusal is recorded and answered instead of opening a form); else None."""
        words = tuple(w.lower() for w in text.split())
        command = next((c for c in self.registry.commands if c.modal and c.words == words), None)
        if command is None:
            return None, Outcome(True, "")
        try:
            authorize(self.ctx, self.actor(slack_user), command.permission, command.name,
                      command.subject(argparse.Namespace(**{arg.dest: None for arg in command.args})))
        except ChatopsError as exc:
            return None, Outcome(False, str(exc))
        return command, Outcome(True, "")

    def form_errors(self, command: str, values: Mapping[str, str],
                    fixed: Mapping[str, Any] | None = None) -> dict[str, str]:
        """What is wrong with a `command_modal`'s fields, by block (the argument's `dest`), before its ack:
        a value its argument's type or choices refuse, a required one left blank. Only the registry's own
        typing, no store and no permission (those answer after the ack), so the ack stays immediate; Slack
        then shows each message under its field and keeps the form open."""
        try:
            found = self.registry.command(command.split())
        except UsageError:
            return {}   # answered after the ack, as before: the form names no such command
        fixed = fixed or {}
        errors: dict[str, str] = {}
        for arg in found.args:
            if arg.flag or arg.dest in fixed:
                continue
            given = values.get(arg.dest)
            if given is None:
                if arg.required:
                    errors[arg.dest] = f"{arg.name.lstrip('-').replace('-', ' ')} is required"
                continue
            try:
                arg.value(_form_value(arg.nargs, given))
            except UsageError as exc:
                errors[arg.dest] = str(exc)[:FIELD_ERROR_CHARS]
        return errors

    def submit_form(self, slack_user: str, command: str, values: Mapping[str, str],
                    fixed: Mapping[str, Any] | None = None, channel_id: str = "", message_ts: str = "") -> Outcome:
        """A submitted `command_modal`: the command with the form's values, typed as the registry types them
        (a repeatable argument's text split on spaces and commas). `fixed` are the values the button that
        opened the form carried (its subject, its `with`): they win over anything submitted. A form opened
        from a message in one of our threads is answered in that thread, as the button would be."""
        try:
            found = self.registry.command(command.split())
        except UsageError as exc:
            return Outcome(False, str(exc))
        nargs = {arg.dest: arg.nargs for arg in found.args}
        typed = {k: _form_value(nargs.get(k), v) for k, v in values.items()}
        outcome = self._structured(slack_user, ReplyCommand(found.words, {**typed, **(fixed or {})}, ""))
        thread = slack_threads.by_parent(self.ctx.state, channel_id, message_ts) if channel_id else None
        return self._answer(thread, slack_user, outcome) if thread is not None else outcome

    # ---- thread replies --------------------------------------------------------------------------

    def thread_reply(self, channel_id: str, thread_ts: str, slack_user: str, text: str) -> Outcome | None:
        """A reply in a thread chatops started: run the command it means on the thread's subject.

        None when the thread is not ours, its subject takes no replies, or the reply is conversation.
        """
        thread = slack_threads.by_parent(self.ctx.state, channel_id, thread_ts)
        if thread is None:
            return None
        reader = self.registry.replies.get(thread.subject_kind)
        if reader is None:
            return None
        try:
            meant = reader(thread.subject, text)
        except MalformedReply as exc:
            return self._answer(thread, slack_user, Outcome(False, str(exc)))
        if meant is None:
            return None
        return self._answer(thread, slack_user, self._structured(slack_user, meant))

    # ---- buttons and modals ----------------------------------------------------------------------

    def button(self, slack_user: str, command: str, target: str, channel_id: str, message_ts: str,
               extra: Mapping[str, str] | None = None) -> Outcome:
        """A button (or the modal it opened) runs `command` on its subject `target` as the clicker.

        `extra` is what the modal asked for (`{"reason": …}`) and what the button fixes (its `with`):
        values, never option text.
        """
        try:
            values = {self._subject_arg(command): target, **{k.replace("-", "_"): v for k, v in (extra or {}).items()}}
        except UsageError as exc:
            outcome = Outcome(False, str(exc))
        else:
            outcome = self._structured(slack_user, ReplyCommand(tuple(command.split()), values, ""))
        thread = slack_threads.by_parent(self.ctx.state, channel_id, message_ts)
        return self._answer(thread, slack_user, outcome) if thread is not None else outcome

    def button_form(self, slack_user: str, command: str, target: str,
                    given: Mapping[str, Any] | None = None) -> tuple[Command | None, dict[str, Any], Outcome]:
        """A button whose action is a `form`: the command whose form opens and the values the button fixes
        (its subject and its `with`), once the gate lets the clicker run it (a refusal is recorded and no
        form opens)."""
        allowed = self.may_run(slack_user, command, target)
        if not allowed.ok:
            return None, {}, allowed
        fixed = {**{k.replace("-", "_"): v for k, v in (given or {}).items()}, self._subject_arg(command): target}
        return self.registry.command(command.split()), fixed, allowed

    def may_run(self, slack_user: str, command: str, target: str) -> Outcome:
        """Before a modal opens: would the clicker be allowed at all? The gate records a refusal (and the
        command passes it again on submit)."""
        try:
            found = self.registry.command(command.split())
            args = argparse.Namespace(**{arg.dest: None for arg in found.args})
            setattr(args, self._subject_arg(command), target)
            authorize(self.ctx, self.actor(slack_user), found.permission, found.name, found.subject(args))
        except ChatopsError as exc:
            return Outcome(False, str(exc))
        return Outcome(True, "")

    def _structured(self, slack_user: str, meant: ReplyCommand) -> Outcome:
        try:
            command = self.registry.command(meant.words)
            args = command.arguments(meant.values)
        except UsageError as exc:
            return Outcome(False, str(exc))
        return self.run(self.actor(slack_user), command, args, said=meant.said)

    def _subject_arg(self, command: str) -> str:
        """The argument of `command` that names its subject (a button's target goes there)."""
        found = self.registry.command(command.split())
        for arg in found.args:
            if arg.subject:
                return arg.dest
        raise UsageError(f"{command} acts on no subject a button could name")

    # ---- App Home --------------------------------------------------------------------------------

    def home_sections(self, slack_user: str) -> tuple[str, list[HomeSection]]:
        actor = self.actor(slack_user)
        pending = approvals.pending_for(self.ctx, actor) if actor.roles else []
        sections = [HomeSection("Approvals waiting for you",
                                tuple(f"{r.subject}: {r.kind} requested by {r.requested_by} ({r.id})" for r in pending),
                                empty="no approval is waiting for you")]
        for provider in self.registry.home:
            sections.append(provider(self.ctx, actor))
        return actor.name, [HomeSection(self.masked(s.title), tuple(self.masked(line) for line in s.lines), s.empty)
                            for s in sections]

    def _answer(self, thread: slack_threads.Thread, slack_user: str, outcome: Outcome) -> Outcome:
        verdict = "recorded" if outcome.ok else "refused"
        self.ctx.notifier.send(Notice(kind="slack.answer", subject=thread.subject, channel=thread.channel,
                                      text=f"<@{slack_user}> {verdict}: {outcome.text}", suppressible=False))
        return replace(outcome, answered=True)


def _form_value(nargs: str | None, text: str) -> str | list[str]:
    """A form field's text as its argument takes it: a repeatable one split on spaces and commas."""
    return text.replace(",", " ").split() if nargs in ("*", "+") else text
