"""§5's notification decision tree, every leaf, and the obligations a breach starts.

    customer data exposed?  no  -> INTERNAL (no external notification; SEV remediation)
                            yes -> to an unauthorised party?  no  -> NEAR_MISS (SEV2; no notification)
                                                              yes -> BREACH:
        GDPR: the DPA within `gdpr_dpa_hours` (72) of awareness; affected individuals when "high risk"
        CCPA: affected California residents "expeditiously" (internal target `ccpa_target_hours`)
        Contractual: each affected customer's SLA from `[compliance.customers.<name>]`

Awareness is the incident's filing time: the earliest moment the company knew, so no clock can start
later than the law's (fail closed). GDPR and CCPA both apply to every breach, since the tree does
not ask whose data it was; legal.exec may record an obligation as sent with a note when it does not apply.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jobs.compliance.records import Leaf, Obligation, Sev
from jobs.errors import Invalid
from jobs.settings import Settings


@dataclass(frozen=True)
class Decision:
    leaf: Leaf
    obligations: tuple[Obligation, ...]
    sev_floor: Sev | None          # the least severity the leaf implies (near-miss SEV2, breach SEV1)


def walk(customer_data: bool, unauthorized: bool | None, high_risk: bool | None, customers: tuple[str, ...],
         aware_at: datetime, settings: Settings) -> Decision:
    if not customer_data:
        return Decision(Leaf.INTERNAL, (), None)
    if unauthorized is None:
        raise Invalid("customer data was exposed: say whether to an unauthorised party with --unauthorized yes|no")
    if not unauthorized:
        return Decision(Leaf.NEAR_MISS, (), Sev.SEV2)
    if high_risk is None:
        raise Invalid("a breach needs --high-risk yes|no (GDPR Art. 34: affected individuals are told when the "
                      "breach is likely to result in a high risk to them)")
    c = settings.compliance
    obligations = [Obligation("gdpr-dpa", aware_at + timedelta(hours=c.gdpr_dpa_hours))]
    if high_risk:
        obligations.append(Obligation("gdpr-individuals", aware_at + timedelta(hours=c.gdpr_individuals_hours)))
    obligations.append(Obligation("ccpa", aware_at + timedelta(hours=c.ccpa_target_hours)))
    for customer in customers:
        sla = c.customers.get(customer)
        if sla is None:
            known = f"configured: {', '.join(sorted(c.customers))}" if c.customers else "none is configured yet"
            raise Invalid(f"customer {customer!r} has no notification SLA in config.toml; add "
                          f"[compliance.customers.{customer}] notify_hours = <hours from the contract> "
                          f"({known})")
        obligations.append(Obligation(f"contract:{customer}", aware_at + timedelta(hours=sla.notify_hours)))
    return Decision(Leaf.BREACH, tuple(obligations), Sev.SEV1)
