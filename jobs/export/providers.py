"""Which pull-request host the export uses (`[export] provider`): the one place that knows both.

Each provider is imported only when chosen, so a `local` install never loads the GitHub client
(PyGithub); both are built from the settings and the environment by `from_settings(ctx)`, which refuses
(Invalid, naming the key and the fix) before the run changes anything.
"""
from __future__ import annotations

from jobs.context import Context
from jobs.export.pull_requests import PullRequestProvider


def provider_for(ctx: Context) -> PullRequestProvider:
    if ctx.settings.export.provider == "local":
        from jobs.export.local_provider import LocalProvider

        return LocalProvider.from_settings(ctx)
    from jobs.export.github_provider import GitHubProvider

    return GitHubProvider.from_settings(ctx)
