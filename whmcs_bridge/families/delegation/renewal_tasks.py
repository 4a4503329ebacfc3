"""How a delegated renewal ends in a person's hands (pure): the staff tasks (sticky notes) and what the delegate
is told when the bridge cannot settle a renewal itself: both paid, the owner's line and WHMCS's service disagree on
the period, a part payment on either invoice, or what WHMCS shows when the delegate's payment is settled is not what
was invoiced, or its grant ended before it was (not_settled); or WHMCS refused the renewal after the delegate paid
(held_by_whmcs)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from whmcs_bridge.families.delegation.grants import FAMILY, about_grant, act, closed_note, grant_refs, note, notice
from whmcs_bridge.families.delegation.renewal_scope import OWNER_PAID, item_of, owners_seen, renewed, settle_spec
from whmcs_bridge.model import Action, Decision, action_key, as_int, message


def paid_twice(
    grant: dict[str, Any],
    renewal: dict[str, Any],
    now: datetime,
    why: str,
    owner_invoice: int | None = None,
    money: dict[str, Any] | None = None,
) -> Decision:
    """Both the owner and the delegate paid the renewal: the service was renewed once; staff refund or
    credit the delegate (a sticky note on its account). `owner_invoice`: the owner's invoice WHMCS shows paid,
    when it is not the one the renewal was priced from (made after the request). `money`: the owner's invoice the
    renewal changed while the owner paid it, as WHMCS showed it after (its status, what was paid on it): the bridge
    does not restore a paid invoice (DD:api-reference/updateinvoice.md names no way back from Cancelled for its
    payments), the task tells staff to."""
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    renewal.update(status="paid twice", stopped=at)
    grant["history"].append({"at": at, "what": f"renewal {n} not applied: {why}", "by": "bridge"})
    facts = about_grant(
        grant,
        invoice=str(renewal["delegate_invoice"]),
        owner_invoice=str(owner_invoice or renewal.get("owner_invoice") or ""),
        **renewed(renewal),
        until=renewal["until"],
    )
    if money:
        facts.update(
            money_invoice=str(money["invoice"]), money_status=str(money["status"]), money_paid=str(money["paid"])
        )
    task = message("delegation.renewal_paid_twice_note", **facts)
    note_params = note(task, sticky=True, client_id=grant["delegate"])
    told = message(
        "delegation.renewal_unsettled",
        **about_grant(grant, invoice=str(renewal["delegate_invoice"]), **renewed(renewal), why=OWNER_PAID),
        paid=str(renewal["amount"]),
        status="",
    )
    return Decision(
        state=grant,
        actions=[
            act(grant, "client_note", f"renew:{n}:paid-twice", note_params, grant["delegate"]),
            act(grant, "email", f"renew:{n}:paid-twice-told", notice(grant["delegate"], told), grant["delegate"]),
        ],
        refs=grant_refs(grant),
    )


def held_by_whmcs(grant: dict[str, Any], renewal: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """The renewal's action parked after the delegate paid: WHMCS refused it (a registrar error, say) and it waits
    for staff (`approvals list`, with WHMCS's words). The delegate, who paid, is told once that its payment is being
    checked; the renewal stays paid: approved, it renews once; rejected, it is not_settled's staff task."""
    if renewal.get("held"):
        return Decision(state=grant, refs=grant_refs(grant))
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    renewal["held"] = at
    grant["history"].append(
        {
            "at": at,
            "what": f"renewal {n} held: WHMCS refused it ({data.get('error') or 'no reason given'})",
            "by": "WHMCS",
        }
    )
    told = message(
        "delegation.renewal_unsettled",
        **about_grant(grant, invoice=str(renewal["delegate_invoice"]), **renewed(renewal), why="held"),
        paid=str(renewal["amount"]),
        status="",
    )
    return Decision(
        state=grant,
        actions=[act(grant, "email", f"renew:{n}:held-told", notice(grant["delegate"], told), grant["delegate"])],
        refs=grant_refs(grant),
    )


def not_settled(
    grant: dict[str, Any], renewal: dict[str, Any], why: str, seen: dict[str, Any], now: datetime, status: str
) -> Decision:
    """The delegate paid (all or part), but nothing was renewed for it, and WHMCS's facts now (`seen`:
    reads.renewal_now) say why (`why`: renewal_scope.unsettled, or "rejected" by staff, or "cancelled", the
    delegate's invoice): staff get a task stating what WHMCS shows (the item's status and dates, each invoice's
    status and what was paid on it, only the invoices there are) and decide; the delegate is told."""
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    renewal.update(status=status, stopped=at, why=why)
    grant["history"].append({"at": at, "what": f"renewal {n} not applied: {why}", "by": "bridge"})
    paid = str(seen.get("delegate_paid") or "0.00")
    invoice = str(renewal["delegate_invoice"])
    facts = about_grant(
        grant,
        invoice=invoice,
        paid=paid,
        amount=str(renewal.get("amount") or ""),
        why=why,
        status=str(seen.get("status") or ""),
        due=str(seen.get("due") or ""),
        expiry=str(seen.get("expiry") or ""),
        **owners_seen(renewal.get("owner_invoice"), seen),
        delegate_status=str(seen.get("delegate_status") or ""),
        holder=str(seen.get("moved_to") or ""),  # the client WHMCS shows holding it now (why "moved")
        **renewed(renewal),
    )
    task = note(message("delegation.renewal_unsettled_note", **facts), sticky=True, client_id=grant["delegate"])
    about = about_grant(grant, invoice=invoice, paid=paid, **renewed(renewal))
    told = (
        message("delegation.renewal_part_paid", **about)  # its invoice cancelled: what it paid comes back to it
        if why == "cancelled"
        else message("delegation.renewal_unsettled", **about, why=why, status=facts["status"])
    )
    return Decision(
        state=grant,
        actions=[
            act(grant, "client_note", f"renew:{n}:unsettled", task, grant["delegate"]),
            act(grant, "email", f"renew:{n}:unsettled-told", notice(grant["delegate"], told), grant["delegate"]),
        ],
        refs=grant_refs(grant),
    )


def needs_staff(
    grant: dict[str, Any],
    renewal: dict[str, Any],
    line: str,
    cycle: str,
    why: str,
    now: datetime,
    currencies: dict[str, str] | None = None,
) -> Decision:
    """The owner's line and WHMCS's service disagree on the period (a billing cycle changed after the invoice
    was made, a due date moved), or the delegate's WHMCS account is in another currency than the owner's
    (`currencies`: an invoice is in its client's currency, and the bridge converts no amount): nothing is invoiced
    on a guess; staff get a task, the delegate is told."""
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    renewal["status"] = "needs staff"
    where = f"invoice #{renewal['owner_invoice']}" if renewal.get("owner_invoice") else "the renewal price"
    said = (
        f"in {currencies['currency']}, the delegate's account in {currencies['delegate_currency']}"
        if currencies
        else why
    )
    grant["history"].append({"at": at, "what": f"renewal {n}: {where} {said}", "by": "bridge"})
    facts = about_grant(
        grant,
        owner_invoice=str(renewal.get("owner_invoice") or ""),
        **renewed(renewal),
        line=line,
        due=renewal["due"],
        cycle=cycle,
        until=renewal["until"],
        **({"amount": str(renewal["amount"]), **currencies} if currencies else {}),
    )
    kind_of = "currency" if currencies else "mismatch"
    task = note(message(f"delegation.renewal_{kind_of}_note", **facts), sticky=True)
    checked = "delegation.renewal_currency_check" if currencies else "delegation.renewal_staff_check"
    told = notice(grant["delegate"], message(checked, **facts))
    # One open task per subject and reason (issue 16, hostile round s13): keyed by the item, the owner's invoice,
    # its line and the disagreement, not by the request, so asking again while WHMCS still says the same adds
    # neither a second task nor a second email (the outbox plans a key once); a changed line or cycle is new.
    kind, item = item_of(renewal)
    reason = f"renew-mismatch:{kind}:{item}:{renewal.get('owner_invoice')}:{line}:{cycle}:{why}"
    if currencies:  # a changed amount or currency is new
        reason += f":{renewal['amount']}:{currencies['currency']}:{currencies['delegate_currency']}"
    return Decision(
        state=grant,
        actions=[
            dataclasses.replace(
                act(grant, "client_note", f"renew:{n}:mismatch", task, grant["owner"]),
                key=action_key(FAMILY, f"owner:{grant['owner']}", reason),
            ),
            dataclasses.replace(
                act(grant, "email", f"renew:{n}:staff-check", told, grant["delegate"]),
                key=action_key(FAMILY, f"delegate:{grant['delegate']}", reason),
            ),
        ],
        refs=grant_refs(grant),
    )


def delegate_part_paid(grant: dict[str, Any], renewal: dict[str, Any], paid: str, now: datetime) -> Decision:
    """The delegate's invoice was to be cancelled (the owner paid first, or the grant ended), but the delegate had
    paid part of it: the bridge left it as it is; staff refund or credit the amount (a sticky note on the
    delegate's account) and the delegate is told they will."""
    n, at, invoice = renewal["n"], now.isoformat(timespec="seconds"), renewal["delegate_invoice"]
    renewal["part_paid"] = paid
    owners = renewal.get("owner_paid_invoice") or renewal.get("owner_invoice")  # the one the owner paid, if it did
    grant["history"].append(
        {"at": at, "what": f"renewal {n}: invoice #{invoice} not cancelled, {paid} paid on it", "by": "bridge"}
    )
    facts = about_grant(
        grant,
        invoice=str(invoice),
        owner_invoice=str(owners or ""),
        paid=paid,
        **renewed(renewal),
    )
    task = note(message("delegation.renewal_part_paid_note", **facts), sticky=True, client_id=grant["delegate"])
    told = notice(grant["delegate"], message("delegation.renewal_part_paid", **facts))
    return Decision(
        state=grant,
        actions=[
            act(grant, "client_note", f"renew:{n}:part-paid", task, grant["delegate"]),
            act(grant, "email", f"renew:{n}:part-paid-told", told, grant["delegate"]),
        ],
        refs=grant_refs(grant),
    )


def owner_part_paid(grant: dict[str, Any], renewal: dict[str, Any], data: dict[str, Any], now: datetime) -> Decision:
    """The delegate paid its invoice, but the owner had paid part of its own (a payment or account credit), which
    bills the same renewal, after the delegate's was issued: nothing is renewed, and neither invoice is cancelled
    nor cut. As when both paid (paid_twice), staff settle both from a sticky note on the account of the delegate,
    the second payer, naming the amounts on each invoice (issue 16, sixth break test M3), and the delegate is told."""
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    owners = as_int(data.get("later_invoice")) or renewal["owner_invoice"]  # one made after the request, else its own
    renewal.update(status="needs staff", stopped=at, owner_part_paid=str(data["paid"]))
    grant["history"].append(
        {
            "at": at,
            "what": f"renewal {n} not applied: {data['paid']} paid on the owner's invoice #{owners}",
            "by": "bridge",
        }
    )
    facts = about_grant(
        grant,
        invoice=str(renewal["delegate_invoice"]),
        amount=str(renewal["amount"]),
        owner_invoice=str(owners),
        paid=str(data["paid"]),
        **renewed(renewal),
    )
    task = note(message("delegation.renewal_owner_part_paid_note", **facts), sticky=True, client_id=grant["delegate"])
    told = message(
        "delegation.renewal_unsettled",
        **about_grant(grant, invoice=str(renewal["delegate_invoice"]), **renewed(renewal), why="owner part paid"),
        paid=str(renewal["amount"]),
        status="",
        # What WHMCS showed paid on the owner's invoice when the delegate's payment was weighed (the guard's read),
        # never what the bridge remembers: the owner's part payment did not renew it, nor did the delegate's.
        owner_paid=str(data["paid"]),
        owner_invoice=str(owners),
    )
    return Decision(
        state=grant,
        actions=[
            act(grant, "client_note", f"renew:{n}:owner-part-paid", task, grant["delegate"]),
            act(grant, "email", f"renew:{n}:owner-part-paid-told", notice(grant["delegate"], told), grant["delegate"]),
        ],
        refs=grant_refs(grant),
    )


def owner_paid_part_first(
    grant: dict[str, Any], renewal: dict[str, Any], data: dict[str, Any], now: datetime
) -> Decision:
    """The owner has already paid part of the invoice that bills the renewal: nothing is invoiced to the delegate
    (the bridge would have to cut or cancel an invoice holding the owner's money); the request is refused with
    a sentence and the delegate is told staff can settle it."""
    n, at, invoice = renewal["n"], now.isoformat(timespec="seconds"), as_int(data.get("invoice_id"))
    renewal.update(status="refused", owner_invoice=invoice, stopped=at)
    reason = f"the owner has already paid part of invoice #{invoice} ({data['paid']}); staff can settle it"
    grant["history"].append({"at": at, "what": f"renewal {n} refused", "by": "bridge", "reason": reason})
    told = message(
        "delegation.renewal_owner_part_paid", **about_grant(grant, owner_invoice=str(invoice), **renewed(renewal))
    )
    return Decision(
        state=grant,
        actions=[act(grant, "email", f"renew:{n}:owner-part-paid", notice(grant["delegate"], told), grant["delegate"])],
        refs=grant_refs(grant),
    )


def still_suspended(grant: dict[str, Any], renewal: dict[str, Any], reason: Any) -> list[Action]:
    """The delegate's payment renewed a service WHMCS still shows suspended (`reason`, WHMCS's suspension reason;
    None when it is not suspended): WHMCS lifts a suspension for non-payment when the owner pays its invoice, and the
    renewal cut or cancelled that invoice instead. The bridge does not unsuspend: "Overdue on Payment" is also what
    staff may write, and a suspension of staff's own (abuse) must stay. Staff get one task (sticky, on the owner's
    account) naming WHMCS's reason and what the delegate paid, and decide."""
    if reason is None:
        return []
    facts = about_grant(
        grant,
        invoice=str(renewal["delegate_invoice"]),
        amount=str(renewal.get("amount") or ""),
        reason=str(reason),
        until=renewal["until"],
        **renewed(renewal),
    )
    task = note(message("delegation.renewal_suspended_note", **facts), sticky=True)
    return [act(grant, "client_note", f"renew:{renewal['n']}:suspended", task, grant["owner"])]


def left_nothing_due(grant: dict[str, Any], renewal: dict[str, Any], data: dict[str, Any]) -> list[Action]:
    """The owner's invoices the renewal took its line off and left open with nothing to pay (`nothing_due` of the
    action's outcome: a 0.00 free domain's renewal WHMCS renews only once the invoice is paid, a goodwill line of
    the owner's left as a credit): one sticky task for staff per invoice, who decide (twenty-third break round,
    delegation billing MEDIUM)."""
    tasks = []
    for left in data.get("nothing_due") or []:
        facts = about_grant(
            grant,
            invoice=str(renewal["delegate_invoice"]),
            owner_invoice=str(left["invoice"]),
            total=str(left["total"]),
            **renewed(renewal),
        )
        task = note(message("delegation.renewal_nothing_due_note", **facts), sticky=True)
        purpose = f"renew:{renewal['n']}:nothing-due:{left['invoice']}"
        tasks.append(act(grant, "client_note", purpose, task, grant["owner"]))
    return tasks


def owner_part_refunds(grant: dict[str, Any], renewal: dict[str, Any], money: list[dict[str, Any]]) -> list[Action]:
    """The owner's invoices the renewal changed while the owner paid part of them (`money`, each `part`: the action's
    outcome, billing_kinds._owners_money): WHMCS renewed nothing for a part payment, the delegate's payment renewed
    the item once. One sticky task per invoice on the owner's account, naming what WHMCS shows on it: staff refund or
    credit the owner's money (twenty-sixth round F6)."""
    tasks = []
    for part in money:
        facts = about_grant(
            grant,
            invoice=str(renewal["delegate_invoice"]),
            owner_invoice=str(part["invoice"]),
            status=str(part["status"]),
            paid=str(part["paid"]),
            until=renewal["until"],
            **renewed(renewal),
        )
        task = note(message("delegation.renewal_owner_part_refund_note", **facts), sticky=True)
        purpose = f"renew:{renewal['n']}:owner-part-refund:{part['invoice']}"
        tasks.append(act(grant, "client_note", purpose, task, grant["owner"]))
    return tasks


def side_closed(grant: dict[str, Any], renewal: dict[str, Any], closed: dict[str, Any], now: datetime) -> Decision:
    """WHMCS showed the grant's owner or delegate Closed when the renewal started (reads.find_open_invoice): nothing
    is invoiced, the request is refused (one sentence in the grant's history) and staff are told once per grant and
    closed client (the note the executor's `clients_open` guard also plans, under the same key). No email: staff
    decide with the delegate what becomes of a grant one side of which closed."""
    n, at = renewal["n"], now.isoformat(timespec="seconds")
    side, client = str(closed["side"]), int(closed["client"])
    reason = f"client #{client} (the {side}) is Closed in WHMCS: a grant whose owner or delegate closed renews nothing"
    renewal.update(status="refused", stopped=at, reason=reason)
    grant["history"].append({"at": at, "what": f"renewal {n} refused", "by": "bridge", "reason": reason})
    key, params = closed_note(grant["id"], grant["owner"], side, client)
    told = dataclasses.replace(act(grant, "client_note", f"closed:{client}", params, grant["owner"]), key=key)
    return Decision(state=grant, actions=[told], refs=grant_refs(grant))


def paid_in_whmcs(seen: dict[str, Any]) -> bool:
    """WHMCS shows the delegate's invoice paid, or something paid on it (reads.renewal_now)."""
    return seen.get("delegate_status") == "Paid" or Decimal(str(seen.get("delegate_paid") or "0")) > 0


def payment_unconfirmed(
    grant: dict[str, Any], renewal: dict[str, Any], seen: dict[str, Any], now: datetime
) -> Decision:
    """An InvoicePaid for the delegate's invoice that WHMCS does not show (nothing paid on it now: a hook resent, a
    payment staff took back): nothing is renewed, refunded or told; the renewal stays as it was, and the fact is
    forgotten so the real payment, when it comes, is heard (Decision.unheard)."""
    invoice = renewal["delegate_invoice"]
    if renewal["status"] == "paid":  # the apply's guard found it unpaid: open again, a new apply when it is paid
        renewal.update(status="invoiced", applies=int(renewal.get("applies") or 1) + 1)
        renewal.pop("paid", None)
    grant["history"].append(
        {
            "at": now.isoformat(timespec="seconds"),
            "what": f"renewal {renewal['n']}: invoice #{invoice} reported paid, but WHMCS shows nothing paid on it "
            f"({seen.get('delegate_status') or 'unknown'}): not acted on",
            "by": "bridge",
        }
    )
    return Decision(state=grant, refs=grant_refs(grant), unheard=[f"invoice:{invoice}:paid"])


def read_now(grant: dict[str, Any], renewal: dict[str, Any], why: str) -> Action:
    """Read the renewal as WHMCS has it now (read_renewal, fed back as RenewalRead, renewal_read). A read for the
    same reason again (a payment WHMCS did not show, then a real one) is a read of its own."""
    report = {"grant": grant["id"], "n": renewal["n"], "why": why}
    reads = renewal.setdefault("reads", {})
    reads[why] = reads.get(why, 0) + 1
    key = f"renew:{renewal['n']}:read-{why.replace(' ', '-')}" + (f"-{reads[why]}" if reads[why] > 1 else "")
    return act(grant, "read_renewal", key, {**settle_spec(renewal), "report": report}, grant["owner"])


def refunded_unapplied(grant: dict[str, Any], renewal: dict[str, Any], now: datetime) -> Decision:
    """The delegate's invoice refunded before the renewal was applied (InvoiceRefunded while the renewal waits on it:
    paid and refunded while delegation was off, which the resync reads Refunded; twenty-sixth break round F8): nothing
    was renewed for it, and the owner's line never came off its invoice (it comes off only when the renewal is
    applied), so the renewal ends refunded and a note on the owner's account says so. The invoice paid again later is
    read first (renewal_read, "paid cancelled"), as a cancelled one's, and settled if the owner's line is still due."""
    n, at, invoice = renewal["n"], now.isoformat(timespec="seconds"), renewal["delegate_invoice"]
    renewal.update(status="refunded", refunded=at, unapplied=True)
    what = f"renewal {n}: the delegate's invoice #{invoice} refunded before it was applied; nothing renewed"
    grant["history"].append({"at": at, "what": what, "by": "WHMCS"})
    facts = about_grant(
        grant, invoice=str(invoice), owner_invoice=str(renewal.get("owner_invoice") or ""), **renewed(renewal)
    )
    told = note(message("delegation.renewal_refunded_unapplied_note", **facts))
    return Decision(
        state=grant,
        actions=[act(grant, "client_note", f"renew:{n}:refunded", told, grant["owner"])],
        refs=grant_refs(grant),
    )
