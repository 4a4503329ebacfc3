"""Draft cases from tickets that ask for something their writer does not own (pure)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from whmcs_bridge.families.ownership.policies import (
    FAMILY,
    Rules,
    act,
    ref,
)
from whmcs_bridge.model import Decision, as_int, message
from whmcs_bridge.names import ask_owners, domain_names


def draft_lookup(data: dict[str, Any], key: str, now: datetime) -> Decision:
    """A ticket asks for ownership or full access: first read who owns what it names."""
    names = domain_names(str(data.get("subject") or ""), str(data.get("message") or ""))
    if not names:
        return Decision(state=None)
    return ask_owners(FAMILY, key, data, names, now)


def draft_case(data: dict[str, Any], now: datetime, rules: Rules) -> Decision:
    """The draft waits for staff (`ownership confirm`); only items the writer does not own count."""
    writer = as_int(data.get("writer"))
    foreign = [i for i in data.get("items") or [] if i["owner"] != writer]
    if not foreign:
        return Decision(state=None)
    holder = foreign[0]["owner"]
    subjects = [{"kind": i["kind"], "id": i["id"], "name": i["name"]} for i in foreign if i["owner"] == holder]
    case_id = draft_id(as_int(data.get("ticketid")) or 0)
    note = act(
        {"id": case_id},
        "ticket_note",
        "draft-note",
        {
            "ticket_id": data.get("ticketid"),
            "msg": message(
                "ownership.draft_note",
                case=case_id,
                subjects=[ref(s) for s in subjects],
                holder=holder,
                requester=writer,
                requester_name="",
            ),
        },
        writer,
    )
    return Decision(
        state=None,
        actions=[
            note,
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
                        "grounds": "",
                    },
                },
                writer,
            ),
        ],
    )


def draft_id(ticket_id: int) -> str:
    return "o" + hashlib.sha256(f"ticket:{ticket_id}".encode()).hexdigest()[:7]
