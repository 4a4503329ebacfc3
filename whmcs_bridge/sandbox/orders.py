"""Orders the WHMCS docs leave unstated, chosen per run from a seed: the sandbox never picks the convenient one.

GetTickets, GetOrders, GetEmails, GetEmailTemplates and GetActivityLog have no sort parameter and their pages state no order; GetInvoices
has `orderby`/`order` (DD:api-reference/getinvoices.md) but no stated default; GetTicket's `repliessort`
is ASC or DESC with no stated default (DD:api-reference/getticket.md). For each, the sandbox draws one
of the plausible answers from `random.Random(seed)`, so a bridge that depends on one of them fails
under some seed. The seed comes from $WHMCS_SANDBOX_SEED (or a random one, reported by
GET /_sandbox/orders) and a scenario load may set it ({"name": ..., "seed": 3}). BEHAVIOUR.md lists
what is documented and what is chosen.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

SEED_ENV = "WHMCS_SANDBOX_SEED"

# where -> {choice name: SQL ORDER BY}
CHOICES: dict[str, dict[str, str]] = {
    "GetTickets": {
        "newest first": "id DESC",
        "oldest first": "id ASC",
        "by last reply": "lastreply DESC, id DESC",
    },
    "GetOrders": {"newest first": "id DESC", "oldest first": "id ASC"},
    "GetEmails": {"newest first": "id DESC", "oldest first": "id ASC"},
    "GetInvoices": {"newest first": "id DESC", "oldest first": "id ASC"},  # when no `orderby` is given
    "GetInvoices.order": {"asc": "ASC", "desc": "DESC"},  # when `orderby` is given without `order`
    "GetTicket.replies": {"ASC": "ASC", "DESC": "DESC"},  # when no `repliessort` is given
    "GetActivityLog": {"newest first": "id DESC", "oldest first": "id ASC"},
    "GetEmailTemplates": {"by id": "ASC", "by id, descending": "DESC"},
}


def seed_from_env() -> int:
    """The seed $WHMCS_SANDBOX_SEED names, or a fresh random one (reported by GET /_sandbox/orders)."""
    text = os.environ.get(SEED_ENV, "").strip()
    return int(text) if text.lstrip("-").isdigit() else random.SystemRandom().randrange(1_000_000)


@dataclass(frozen=True)
class Orders:
    """The unstated orders of one sandbox run."""

    seed: int
    chosen: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_seed(cls, seed: int) -> Orders:
        rng = random.Random(seed)
        return cls(seed, {where: rng.choice(sorted(options)) for where, options in CHOICES.items()})

    def sql(self, where: str) -> str:
        """The ORDER BY (or direction) this run uses where the docs state none."""
        return CHOICES[where][self.chosen[where]]

    def describe(self) -> dict[str, object]:
        return {"seed": self.seed, "orders": dict(self.chosen)}
