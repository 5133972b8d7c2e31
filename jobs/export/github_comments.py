"""Comments on export PRs through the durable outgoing queue: the GitHub destination of `jobs/delivery.py`.

The merge policy's decisions (held, merged, who acted) are written on the PR on GitHub. They must
survive a GitHub outage and a restart, so they are not posted directly: `queue_comment` scrubs the
text with the outgoing scrub (`ctx.outgoing`: the outbox file never holds a secret either) and writes
one `github` item to the outbox, ordered by the PR's subject (kind `export_pr`); the daemon's
`DeliveryWorker` hands it to `GitHubCommentDestination`, which posts it with the provider.

The worker owns the waiting, so the provider here makes one try per delivery (`attempts=1`):
a rate limit is `RetryLater(after=Retry-After)` (the whole destination pauses exactly that long), the
network is an outage of the whole destination, a 5xx backs off this PR's comments only; what GitHub
refuses for good (401/403, 404, 422) is `Undeliverable` with GitHub's words and is parked
(`chatops outbox status`, `outbox retry`). The item's id is the comment's hidden key, so an item whose
answer was lost is found on the PR, not posted twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from jobs.context import Context
from jobs.delivery import DeliveryWorker, DestinationName, RetryLater, Undeliverable
from jobs.errors import ChatopsError, Invalid
from jobs.export.github_provider import GitHubProvider, GitHubUnavailable
from store.outbox import Outbox, OutboxMessage, QueuedState

SUBJECT_KIND = "export_pr"
ITEM_KIND = "pr_comment"


def queue_comment(ctx: Context, number: int, text: str, subject: str) -> str:
    """Queue `text` as a comment on PR `number` of `[export.github] repo`; returns the outbox item's id.

    `subject` is the PR's subject id in the export area (its order key: comments on one PR are posted
    in the order they were queued)."""
    repo = ctx.settings.export.github.repo
    if not repo:
        raise Invalid("export.github.repo is empty: set [export.github] repo = \"owner/name\" in config.toml "
                      "before comments can be queued for GitHub")
    if not text.strip():
        raise Invalid(f"a comment on PR #{number} of {repo} needs text")
    item = {"kind": ITEM_KIND, "subject_kind": SUBJECT_KIND, "repo": repo, "pr": number,
            "to": f"{repo}#{number}", "text": ctx.outgoing.text(text)}
    [item_id] = Outbox(ctx.data_dir).queue([item], QueuedState.PENDING, ctx.now().isoformat(),
                                           dest=DestinationName.GITHUB, subject=subject)
    return item_id


@dataclass
class GitHubCommentDestination:
    """`jobs.delivery.Destination` for PR comments on GitHub."""

    provider: GitHubProvider
    name: DestinationName = DestinationName.GITHUB

    def deliver(self, message: OutboxMessage) -> dict[str, Any]:
        item = message.item
        if item.get("kind") != ITEM_KIND:
            raise Undeliverable(f"outbox item {message.id} is a {item.get('kind')!r}, not a {ITEM_KIND}; "
                                f"this chatops delivers only PR comments to GitHub")
        if item.get("repo") != self.provider.repo:
            raise Undeliverable(f"outbox item {message.id} is for {item.get('repo')}, but [export.github] repo is "
                                f"{self.provider.repo}; park it, or set repo back to post it")
        try:
            self.provider.comment(int(item["pr"]), item["text"], key=message.id)
        except GitHubUnavailable as exc:
            raise RetryLater(str(exc), after=exc.retry_after, whole_destination=exc.network) from None
        except ChatopsError as exc:
            raise Undeliverable(str(exc)) from None
        return {"repo": item["repo"], "pr": item["pr"]}

    def settled(self, message: OutboxMessage) -> None:
        """Nothing is kept between tries: the comment's key on GitHub is the memory."""


def github_delivery(ctx: Context, environ: Mapping[str, str] | None = None,
                    provider: GitHubProvider | None = None, **worker: Any) -> DeliveryWorker:
    """The daemon's GitHub worker: the outbox's `github` items, one try per delivery (the worker retries)."""
    provider = provider or GitHubProvider.from_settings(ctx, environ, attempts=1)
    return DeliveryWorker(ctx, GitHubCommentDestination(provider), **worker)
