"""A delegated renewal's action done (renewal.py): the item renewed and its line off the owner's invoice, and what
the owner, the delegate and staff are told of it; or, the owner having paid while the action ran, both paid."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation.grants import about_grant, act, grant_refs, note, notice, record
from whmcs_bridge.families.delegation.renewal_scope import item_of, renewed
from whmcs_bridge.families.delegation.renewal_tasks import (
    left_nothing_due,
    owner_part_refunds,
    paid_twice,
    still_suspended,
)
from whmcs_bridge.model import Action, Decision, as_int, message


def applied_done(
    grant: dict[str, Any], renewal: dict[str, Any], data: dict[str, Any], facts: dict[str, Any], now: datetime
) -> Decision:
    """The renewal's action done: the item renewed and the owner's line off its invoice; unless the owner paid that
    invoice while the action ran (twenty-third break round, billing HIGH 1)."""
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    money = list(data.get("owners_money") or [])
    full = next((m for m in money if not m.get("part")), None)
    if data.get("owner_paid_meanwhile") and (full is not None or not money):
        # The owner paid its invoice while the action took the line off it: both paid for one period, which WHMCS
        # renewed once; staff refund or credit one of them (the owner's invoice was changed after its payment).
        why = f"the owner paid its invoice #{data['owner_paid_meanwhile']} while the renewal was being applied"
        return paid_twice(grant, renewal, now, why, as_int(data["owner_paid_meanwhile"]), full)
    # Only part payments of the owner's meanwhile (`part`): WHMCS renewed nothing for them, the delegate's payment
    # renewed it; staff refund or credit the owner's money (owner_part_refunds, twenty-sixth round F6).
    renewal.update(status="renewed", renewed=at)
    # What became of the owner's invoice, as the action found it (unknown after a crash: nothing said).
    facts["left"] = str(data.get("owner_invoice_left") or "")
    later = list(data.get("later") or [])  # the owner's invoice WHMCS made after the request, read at settlement
    if later and not renewal.get("owner_invoice"):
        facts.update(owner_invoice=str(later[0]["invoice"]), left=str(later[0]["left"]))
    grant["history"].append(
        {
            "at": at,
            "what": "renewal {}: {} #{} renewed until {}".format(n, *item_of(renewal), renewal["until"]),
            "by": "bridge",
        }
    )
    record(
        grant,
        at,
        "renewal",
        **renewed(renewal),
        invoice=renewal["delegate_invoice"],
        owner_invoice=renewal["owner_invoice"],
    )
    told = act(
        grant,
        "client_note",
        f"renew:{n}:note",
        note(message("delegation.renewal_settled_note", **facts)),
        grant["owner"],
    )
    # The owner hears it too, in its language: its agency paid, until when, and what became of its invoice.
    suspended = data.get("suspended")  # WHMCS showed it still suspended when it was renewed: not "back"
    facts["suspended"] = "yes" if suspended is not None else None
    paid_for = message("delegation.renewal_paid_for_owner", **{k: v for k, v in facts.items() if k != "invoice"})
    owner = act(grant, "email", f"renew:{n}:owner-told", notice(grant["owner"], paid_for), grant["owner"])
    return Decision(
        state=grant,
        actions=[
            told,
            owner,
            *held_done(grant, renewal, data),
            *still_suspended(grant, renewal, suspended),
            *left_nothing_due(grant, renewal, data),
            *owner_part_refunds(grant, renewal, money),
        ],
        refs=grant_refs(grant),
    )


def held_done(grant: dict[str, Any], renewal: dict[str, Any], data: dict[str, Any]) -> list[Action]:
    """The delegate told its payment was being checked (held_by_whmcs) hears, once, that the renewal went through
    after staff approved it (outside tester M4): until the next due date WHMCS shows, as the action wrote or found
    it (its outcome's `due`; the date invoiced when the action could not say)."""
    if not renewal.get("held"):
        return []
    until = str(data.get("due") or renewal["until"])
    facts = about_grant(grant, invoice=str(renewal["delegate_invoice"]), **renewed(renewal), until=until)
    done = message("delegation.renewal_done_delegate", **facts)
    return [act(grant, "email", f"renew:{renewal['n']}:held-done", notice(grant["delegate"], done), grant["delegate"])]
