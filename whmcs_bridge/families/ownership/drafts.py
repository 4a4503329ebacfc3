"""Draft cases from tickets that ask for something their writer does not own (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from whmcs_bridge.families.ownership.case import OPEN
from whmcs_bridge.families.ownership.policies import (
    FAMILY,
    Rules,
    act,
)
from whmcs_bridge.model import Decision, State, as_int
from whmcs_bridge.names import ask_owners, domain_names


def draft_lookup(data: dict[str, Any], key: str, now: datetime) -> Decision:
    """A ticket asks for ownership or full access: first read who owns what it names."""
    names = domain_names(str(data.get("subject") or ""), str(data.get("message") or ""))
    if not names:
        return Decision(state=None)
    return ask_owners(FAMILY, key, data, names, now, guest=True)  # a guest's ticket: its name and email, read too


def item_refs(data: dict[str, Any]) -> list[str]:
    """How an open case about a ticket's items is found (policies.case_refs): each item, and its holder's whole
    account (a case on `client:ID`)."""
    items = [i for i in data.get("items") or [] if isinstance(i, dict)]
    return list(dict.fromkeys([f"{i['kind']}:{i['id']}" for i in items] + [f"client:{i['owner']}" for i in items]))


def open_subjects(cases: Iterable[State]) -> frozenset[str]:
    """The subjects (refs) of the cases still open, drafts included."""
    return frozenset(f"{s['kind']}:{s['id']}" for c in cases if c.get("status") in OPEN for s in c.get("subjects") or [])


def draft_case(data: dict[str, Any], now: datetime, rules: Rules, covered: frozenset[str] = frozenset()) -> Decision:
    """The draft waits for staff (`ownership confirm`); only items the writer does not own count. An item an open
    case is already about (`covered`), or whose holder's whole account it claims, makes no second case: that case
    heard of the ticket itself (incoming.ticket_opened)."""
    writer = as_int(data.get("writer"))
    foreign = [i for i in data.get("items") or [] if i["owner"] != writer]
    if not foreign or any({f"{i['kind']}:{i['id']}", f"client:{i['owner']}"} & covered for i in foreign):
        return Decision(state=None)
    holder = foreign[0]["owner"]
    subjects = [{"kind": i["kind"], "id": i["id"], "name": i["name"]} for i in foreign if i["owner"] == holder]
    case_id = draft_id(as_int(data.get("ticketid")) or 0)
    return Decision(
        state=None,
        actions=[
            act(
                {"id": case_id},
                "announce",
                "draft",
                {
                    "type": "OwnershipCommand",
                    "data": {
                        "command": "open",
                        "case": case_id,
                        "draft": True,
                        "ticket": data.get("ticketid"),
                        "by": "bridge",
                        "subjects": subjects,
                        "holder": {"client": holder},
                        "requester": {"client": writer},
                        "guest": data.get("guest") if not writer else None,
                        "grounds": "",
                    },
                },
                writer,
            ),
        ],
    )


def draft_id(ticket_id: int) -> str:
    return "o" + hashlib.sha256(f"ticket:{ticket_id}".encode()).hexdigest()[:7]
