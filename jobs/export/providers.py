"""Which pull-request host the export uses (`[export] provider`): the one place that knows both.

`github` is imported only when chosen, so a `local` install never loads the GitHub client; its module
provides `GitHubProvider.from_settings(ctx)`, as `LocalProvider.from_settings(ctx)` does here.
"""
from __future__ import annotations

import importlib

from jobs.context import Context
from jobs.errors import Invalid
from jobs.export.pull_requests import PullRequestProvider

GITHUB_MODULE = "jobs.export.github_provider"


def provider_for(ctx: Context) -> PullRequestProvider:
    if ctx.settings.export.provider == "local":
        from jobs.export.local_provider import LocalProvider

        return LocalProvider.from_settings(ctx)
    return github_provider(ctx)


def github_provider(ctx: Context, module_name: str = GITHUB_MODULE) -> PullRequestProvider:
    """`GitHubProvider.from_settings(ctx)` of `module_name`; Invalid, naming it, when it is not installed."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise Invalid(f"[export] provider = \"github\", but this installation has no GitHub provider "
                      f"({module_name}.GitHubProvider); set provider = \"local\" in config.toml or install a "
                      "chatops that includes it") from None
    return module.GitHubProvider.from_settings(ctx)
