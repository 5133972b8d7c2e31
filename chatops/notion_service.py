"""The daemon's Notion mirror worker (jobs/notion), when NOTION_TOKEN and both database ids are set.

Independent of the Slack mode: a local-mode daemon mirrors to Notion too. At each start the daemon
records whether it mirrors (`notion.delivery`), so a `chatops … --as` beside it queues changes for it
instead of writing a dry run.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.delivery import DeliveryWorker
from jobs.notion import flows, service
from jobs.notion.records import NotionEnv

if TYPE_CHECKING:
    from chatops.services import Wiring


def services(wiring: "Wiring") -> list[DeliveryWorker]:
    env = NotionEnv.read(wiring.environ)
    service.record_delivery(wiring.ctx.data_dir, env)
    return [flows.worker(wiring.ctx, env)] if env.configured else []
