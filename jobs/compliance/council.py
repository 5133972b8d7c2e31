"""The local council (seed 002 §1: "council review uses Ollama local only"): a model on this machine drafts.

It drafts, for a person to edit and send, the SEV1 CEO DM (what happened, what is contained, what is at
risk), the SEV2 remediation plan and the post-mortem, from the decrypted incident record. Compliance content
never leaves this machine, so the endpoint must be loopback: `[compliance.council] endpoint` is refused at
config load otherwise (`jobs.settings.parse_loopback_endpoint`), a `Council` built by hand is checked again,
and the client is made so that nothing can carry the record elsewhere: no proxy from the environment
(`HTTP_PROXY` would otherwise route a loopback request through another machine), no redirects followed,
and `OLLAMA_HOST` never consulted. With no endpoint configured, `draft` returns None and sends nothing.

The official `ollama` client is imported only when a draft is asked for (it costs 270 ms).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Mapping

from jobs.errors import ChatopsError, Invalid
from jobs.settings import Settings, parse_loopback_endpoint


class DraftKind(StrEnum):
    CEO_DM = "ceo_dm"
    REMEDIATION = "remediation"
    POSTMORTEM = "postmortem"


#: What the model is asked for, per kind, in the SOP's words; the record follows as JSON.
INSTRUCTIONS = {
    DraftKind.CEO_DM: (
        "You draft, for a person to check before sending, the Slack DM to the CEO about a SEV1 compliance "
        "incident (SOP-OPS-compliance-incident-handling §4). Write three short parts headed 'What happened:', "
        "'What is contained:' and 'What is at risk:'. Use only facts in the incident record below; write "
        "'unknown' where it is silent. No greeting, no sign-off, at most 120 words."),
    DraftKind.REMEDIATION: (
        "You draft, for a person to check before filing, the remediation plan of a SEV2 compliance incident, "
        "due within 24 hours of filing (SOP-OPS-compliance-incident-handling §4). Give: the risk assessment "
        "(could it become a SEV1, and why); numbered remediation steps, each with an owner role and a deadline; "
        "the SOP delta (which SOP contributed to it or failed to prevent it, and the change). Use only facts in "
        "the incident record below; say what is unknown."),
    DraftKind.POSTMORTEM: (
        "You draft, for a person to check before filing, the post-incident review of a closed compliance "
        "incident (SOP-OPS-compliance-incident-handling §6), in Markdown under exactly these headings: "
        "'## Root cause category' (one of credential management, access control, vendor gap, process gap, then "
        "what failed), '## Prevention actions' (a table Action | Owner | Deadline), '## SOP updates', "
        "'## CEO brief' (one paragraph: what happened, what changed, what risk remains). Use only facts in the "
        "incident record below; say what is unknown."),
}


class CouncilUnavailable(ChatopsError):
    """The local model did not give a draft; the message names the endpoint, what happened and the fix.

    The record is never part of the message: it is what must stay in memory."""


@dataclass(frozen=True)
class Council:
    endpoint: str = ""            # "" = no drafting; otherwise a loopback URL
    model: str = ""
    timeout_seconds: float = 120.0

    def __post_init__(self) -> None:
        try:
            parse_loopback_endpoint(self.endpoint)
        except ValueError as exc:
            raise Invalid(f"council endpoint {self.endpoint!r}: {exc}") from None
        if self.endpoint and not self.model:
            raise Invalid(f"council endpoint {self.endpoint} has no model; set [compliance.council] model")

    @classmethod
    def from_settings(cls, settings: Settings) -> "Council":
        council = settings.compliance.council
        return cls(council.endpoint, council.model, council.timeout_seconds)

    @property
    def configured(self) -> bool:
        return bool(self.endpoint)

    def draft(self, kind: str, record: Mapping[str, Any]) -> str | None:
        """A draft of `kind` (ceo_dm, remediation, postmortem) from the decrypted `record`; None when no
        council is configured (nothing is sent). `CouncilUnavailable` when the local model gives none."""
        try:
            draft_kind = DraftKind(kind)
        except ValueError:
            raise Invalid(f"draft kind {kind!r}: expected one of {', '.join(DraftKind)}") from None
        if not self.configured:
            return None
        import httpx
        from ollama import Client, ResponseError

        messages = [{"role": "system", "content": INSTRUCTIONS[draft_kind]},
                    {"role": "user", "content": "Incident record (JSON):\n" + json.dumps(
                        dict(record), ensure_ascii=False, indent=2, sort_keys=True, default=str)}]
        fix = (f"check that `ollama serve` runs on this machine and `ollama pull {self.model}` was done, or set "
               f"[compliance.council] endpoint = \"\" to write the {draft_kind.value} by hand")
        client = Client(host=self.endpoint, timeout=self.timeout_seconds, follow_redirects=False, trust_env=False)
        try:
            response = client.chat(model=self.model, messages=messages, options={"temperature": 0})
        except ResponseError as exc:
            raise CouncilUnavailable(f"the local council at {self.endpoint} answered {exc.status_code} "
                                     f"({str(exc.error)[:200]}) to the {draft_kind.value} draft; {fix}") from None
        except (ConnectionError, httpx.HTTPError) as exc:
            raise CouncilUnavailable(f"the local council at {self.endpoint} could not be reached for the "
                                     f"{draft_kind.value} draft ({type(exc).__name__}); {fix}") from None
        except ValueError:
            raise CouncilUnavailable(f"the local council at {self.endpoint} gave an answer that is not an Ollama "
                                     f"chat response to the {draft_kind.value} draft; {fix}") from None
        finally:
            client.close()
        text = (response.message.content or "").strip()
        if not text:
            raise CouncilUnavailable(f"the local council at {self.endpoint} returned an empty {draft_kind.value} "
                                     f"draft; {fix}")
        return text
