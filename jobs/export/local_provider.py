"""The `local` pull-request host: a PR is a record in the store, a merge a real `git merge --no-ff` into the
export repository's `main` (seed 000 step 5 without a hosting service).

Table `export_prs`, one row per PR. As the protocol asks, `open_or_update` finds the day's PR by its branch
(one PR per day; a PR merged earlier that day is opened again when its branch has new commits), and `merge`
of a PR whose branch is already in `main` returns it merged.
"""
from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from tinydb import Query

from jobs.closest import closest
from jobs.context import Context
from jobs.errors import NotFound
from jobs.export.pull_requests import PullRequest, PullRequestState
from jobs.export.repo import ExportRepo, export_repo

TABLE = "export_prs"


class LocalProvider:
    name = "local"

    def __init__(self, ctx: Context, repo: ExportRepo) -> None:
        self.ctx = ctx
        self.repo = repo

    @classmethod
    def from_settings(cls, ctx: Context) -> "LocalProvider":
        return cls(ctx, export_repo(ctx))

    def push(self, repo_dir: Path, branch: str) -> None:
        remote = self.ctx.settings.export.remote
        if remote:
            self.repo.push(remote, branch)

    def open_or_update(self, branch: str, title: str, body: str) -> PullRequest:
        q = Query()
        head = self.repo.head(branch)
        with self.ctx.state.transaction() as db:
            table = db.table(TABLE)
            row = table.get(q.branch == branch)
            if row is None:
                number = max((r["number"] for r in table.all()), default=0) + 1
                pr = PullRequest(number, self.url(number), branch, title, body, PullRequestState.OPEN, head)
                table.insert({**asdict(pr), "comments": []})
                return pr
            pr = _pr(row)
            reopened = pr.state is PullRequestState.MERGED and pr.head_sha != head and not self.repo.merged(branch)
            pr = replace(pr, title=title, body=body, head_sha=head,
                         **({"state": PullRequestState.OPEN, "merged_at": ""} if reopened else {}))
            table.update({**asdict(pr)}, q.branch == branch)
            return pr

    def get(self, number: int) -> PullRequest:
        row = self.ctx.state.snapshot().table(TABLE).get(Query().number == number)
        if row is None:
            known = [str(r["number"]) for r in self.ctx.state.snapshot().table(TABLE).all()]
            near = closest(str(number), known)
            hint = f"; closest: {', '.join('#' + n for n in near)}" if near else ""
            raise NotFound(f"no export PR #{number}{hint}; `chatops export status` lists them")
        return _pr(row)

    def comment(self, number: int, text: str) -> None:
        self.get(number)
        with self.ctx.state.transaction() as db:
            table = db.table(TABLE)
            row = table.get(Query().number == number)
            table.update({"comments": [*row.get("comments", []), text]}, Query().number == number)

    def comments(self, number: int) -> list[str]:
        row = self.ctx.state.snapshot().table(TABLE).get(Query().number == number)
        return list(row.get("comments", [])) if row else []

    def merge(self, number: int, message: str) -> PullRequest:
        pr = self.get(number)
        if pr.state is PullRequestState.MERGED and self.repo.merged(pr.branch):
            return pr
        self.repo.merge(pr.branch, message)
        if self.ctx.settings.export.remote:
            self.repo.push(self.ctx.settings.export.remote, "main")
        merged = replace(pr, state=PullRequestState.MERGED, merged_at=self.ctx.now().isoformat(),
                         head_sha=self.repo.head(pr.branch))
        with self.ctx.state.transaction() as db:
            db.table(TABLE).update(asdict(merged), Query().number == number)
        return merged

    def url(self, number: int) -> str:
        return f"{self.repo.path}#pr-{number}"


def _pr(row: dict) -> PullRequest:
    fields = {k: v for k, v in row.items() if k != "comments"}
    return PullRequest(**{**fields, "state": PullRequestState(fields["state"])})
