"""What a delegate's renewal request may renew, and what stops it, as one sentence each (pure): a grant's listed
service or domain, or, for a grant on the owner's whole account, any service or domain WHMCS says the owner holds
(read when the renewal starts, reads.find_open_invoice); never while a renewal of the same item is open, through
this grant or another one on it (issue 16 break test M1): another grant's open renewal invoice refuses the request
while WHMCS says it is unpaid now, or paid with its renewal not yet applied; WHMCS saying cancelled or refunded
lets the request through, whatever the bridge remembered."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from whmcs_bridge.model import as_int

OPEN = ("looking", "invoiced", "paid")  # a renewal still under way: no second one for the item
ENDED = "grant ended"  # a renewal its grant's end stopped
RENEWABLE = ("service", "domain")  # what a grant's item may be renewed as
# What WHMCS says of another grant's renewal invoice that keeps the item's renewal open (GetInvoice `status`,
# DD:api-reference/getinvoice.md): unpaid (or in collections), or paid while its renewal is not yet applied.
STILL_OPEN = ("Unpaid", "Collections", "Payment Pending")


# What WHMCS says of a service or domain that a renewal may no longer extend (GetClientsProducts `status`,
# DD:api-reference/getclientsproducts.md; GetClientsDomains `status`, DD:api-reference/getclientsdomains.md).
ENDED_ITEM = ("Cancelled", "Terminated", "Fraud", "Transferred Away", "Deleted")
# A domain past its expiry date that may still be saved (GetClientsDomains `status` "Expired", or WHMCS 8's "Grace"
# and "Redemption"). Its renewal then costs the TLD's grace or redemption fee on top (DD:api-reference/
# createorupdatetld.md `grace_period_fee`, `redemption_period_fee`), which the renewal price the bridge reads
# (DD:api-reference/gettldpricing.md `renew`) does not include, and DD:api-reference/domainrenew.md says nothing of
# an expired domain: our staff renew it, not the bridge (tenth break round M1). Never ordered again: the name is
# still registered, and a new registration of it fails.
EXPIRED_DOMAIN = ("Expired", "Grace", "Redemption")
# What WHMCS's status must be for a renewal to start (executor/reads.py service_renewal, domain_renewal).
RENEWS_FROM = {"service": ("Active", "Suspended"), "domain": ("Active",)}
# Why a paid renewal is not settled as invoiced, from what WHMCS says now (unsettled()).
OWNER_PAID = "owner paid"
# The delegate's invoice shows nothing paid when its renewal would run (an InvoicePaid WHMCS does not confirm).
NOT_PAID = "not paid"
MOVED = "moved"  # the item belongs to another client in WHMCS now (reads.renewal_now `moved_to`)


# The period a WHMCS hosting line bills, at the end of its description: "Business - example.com (21/12/2026 -
# 20/01/2027)", the dates in the date format configured in WHMCS (General Settings > Localisation), which the
# bridge does not know: every reading of the dates that parses is a candidate.
PERIOD = re.compile(r"\((\d{1,4}[./-]\d{1,2}[./-]\d{1,4})\s*-\s*(\d{1,4}[./-]\d{1,2}[./-]\d{1,4})\)")
DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y")


def billed_periods(description: str) -> set[tuple[date, date]]:
    """Every (first day, last day) the line's period may mean; empty when it names none."""
    found: set[tuple[date, date]] = set()
    for first, last in PERIOD.findall(description):
        for fmt in DATE_FORMATS:
            try:
                found.add((datetime.strptime(first, fmt).date(), datetime.strptime(last, fmt).date()))
            except ValueError:
                continue
    return found


def period_mismatch(line: str, due: date, until: date) -> str | None:
    """Why the owner's line does not bill the period one cycle from the service's next due date (as WHMCS has
    both now), or None when it does: the line's period starts on the due date and ends the day before the
    next one (WHMCS's way) or on it."""
    periods = billed_periods(line)
    if not periods:
        return "its line names no period"
    if any(first == due and last in (until - timedelta(days=1), until) for first, last in periods):
        return None
    return "its line bills another period"


def unpaid(expect: dict[str, Any], now: dict[str, Any]) -> str | None:
    """NOT_PAID when WHMCS shows the delegate's invoice neither Paid nor with anything paid on it (reads.renewal_now):
    a renewal runs for a payment WHMCS shows, never for the event that reported one."""
    if not expect.get("delegate_invoice") or "delegate_status" not in now:
        return None
    paid = now.get("delegate_status") == "Paid" or Decimal(str(now.get("delegate_paid") or "0")) > 0
    return None if paid else NOT_PAID


def unsettled(expect: dict[str, Any], now: dict[str, Any]) -> str | None:
    """Why the delegate's payment cannot renew the item as it was invoiced, from what WHMCS says now (`now`:
    reads.renewal_now), or None when it can: the item cancelled or gone ("ended"), or another client's now (MOVED:
    staff moved it after the request); the owner's invoice paid
    (OWNER_PAID: both paid), or its due date moved otherwise ("renewed"); the owner's invoice anything but Unpaid
    (cancelled, refunded, gone, in collections, pending a payment: "owner invoice"), part paid ("owner part paid"),
    no longer billing the line ("line gone") or billing another amount for it than the delegate was invoiced
    ("amount"). The owner's other invoices billing the item for the period renewed (`later`: made after the request,
    by WHMCS's cron) count as the owner's invoice does, but for the amount: the delegate paid for the period, and
    their line comes off whatever it bills. `expect`: the renewal's `from` (the due date invoiced), `amount` and `owner_invoice`; `resumed` when
    an earlier try of the renewal may have run its first write (WHMCS answered after the timeout): the owner's
    invoice cancelled with nothing paid on it, or the line gone from it, is then what that try did
    (executor/billing_kinds.py _line_off), and the renewal goes on."""
    if str(now.get("status")) in ENDED_ITEM:
        return "ended"
    if as_int(now.get("moved_to")) is not None:  # another client's now: nothing of either client's is touched
        return MOVED
    if now.get("owner_status") == "Paid" or owner_paid(now) is not None:
        return OWNER_PAID
    if now.get("due") != expect.get("from"):
        return "renewed"
    later = later_unsettled(now)
    if later is not None or not expect.get("owner_invoice"):
        return later
    paid = Decimal(str(now.get("owner_paid") or "0"))
    own_edit = bool(expect.get("resumed")) and paid == 0
    if now.get("owner_status") != "Unpaid":  # in collections, pending a payment, a draft: staff's, not the bridge's
        return None if own_edit and now.get("owner_status") == "Cancelled" else "owner invoice"
    if paid > 0:
        return "owner part paid"
    if now.get("owner_line") is None:
        return None if own_edit else "line gone"
    if Decimal(str(now["owner_line"])) != Decimal(str(expect.get("amount"))):
        return "amount"
    return None


def owner_paid(now: dict[str, Any]) -> int | None:
    """The owner's invoice WHMCS shows paid for the period renewed (reads.renewal_now: the one the renewal was
    priced from, else one made later), or None."""
    if now.get("owner_status") == "Paid":
        return as_int(now.get("owner_invoice"))
    return next((as_int(i["invoice"]) for i in now.get("later") or [] if i["status"] == "Paid"), None)


def later_unsettled(now: dict[str, Any]) -> str | None:
    """Why an owner's invoice made after the request that bills the period renewed stops the settlement: anything
    but Unpaid (in collections, pending a payment: "owner invoice"), or part paid ("owner part paid"); else None."""
    for invoice in now.get("later") or []:
        if invoice["status"] != "Unpaid":
            return "owner invoice"
        if Decimal(str(invoice["paid"])) > 0:
            return "owner part paid"
    return None


def part_paid_later(now: dict[str, Any]) -> dict[str, Any] | None:
    """The owner's invoice made after the request with part of it paid (reads.renewal_now `later`), or None."""
    return next((i for i in now.get("later") or [] if Decimal(str(i["paid"])) > 0), None)


def owners_seen(owner_invoice: Any, seen: dict[str, Any]) -> dict[str, str]:
    """The owner's invoice a staff task names, as WHMCS showed it (`seen`: reads.renewal_now): one made after the
    request that stopped the settlement (anything but Unpaid, or part paid), else the one the renewal was priced
    from, else one made after the request that bills the period."""
    later = list(seen.get("later") or [])
    named = next((i for i in later if i["status"] != "Unpaid" or Decimal(str(i["paid"])) > 0), None)
    if named is None and not owner_invoice and later:
        named = later[0]
    if named is not None:
        return {
            "owner_invoice": str(named["invoice"]),
            "owner_status": str(named["status"]),
            "owner_paid": str(named["paid"]),
            "owner_line": "",
        }
    return {
        "owner_invoice": str(owner_invoice or ""),
        "owner_status": str(seen.get("owner_status") or ""),
        "owner_paid": str(seen.get("owner_paid") or "0.00"),
        "owner_line": str(seen.get("owner_line") or ""),
    }


def registrar_unknown(renewal: dict[str, Any], now: dict[str, Any]) -> str | None:
    """Why a renewal stopped unapplied is "registrar unknown": a domain renewal's action rejected by staff, or
    cancelled by its grant's end, after a try of it called WHMCS, when that try may have reached DomainRenew (the owner's line off, or none: the line comes off first),
    whose effect WHMCS does not show (DD:api-reference/domainrenew.md); else None."""
    what, _ = item_of(renewal)
    reached = not renewal.get("owner_invoice") or now.get("owner_line") is None
    return "registrar unknown" if what == "domain" and renewal.get("tried") and reached else None


def item_of(renewal: dict[str, Any]) -> tuple[str, int]:
    """What a renewal renews: ("service", id), or ("domain", id) for a domain's (issue 16, build 4)."""
    return ("domain", int(renewal["domain"])) if renewal.get("domain") else ("service", int(renewal["service"]))


def renewed(renewal: dict[str, Any]) -> dict[str, Any]:
    """A message's fields naming what a renewal renews: `service`, or `domain` (the message says the one given)."""
    kind, item = item_of(renewal)
    return {"service": item} if kind == "service" else {"service": None, "domain": item}


def renewable_now(kind: str, status: str | None) -> bool:
    """Whether an item WHMCS shows with this status (None: WHMCS could not be read) may be asked to renew: its
    page offers a renew button only then."""
    return status is None or status in RENEWS_FROM.get(kind, ())


def expired_domain(kind: str, status: str | None) -> bool:
    """Whether the item is a domain past its expiry date that our staff may still save (EXPIRED_DOMAIN)."""
    return kind == "domain" and status in EXPIRED_DOMAIN


def owner_invoice_held(kind: str, item: int, invoice: int, status: str) -> str:
    """The sentence refusing a renewal the owner's own invoice bills while WHMCS holds it (reads.held_by_owner)."""
    return (
        f"the owner's invoice #{invoice}, which bills {kind} #{item}, is {status} in WHMCS: its renewal is settled "
        "there, so nothing was invoiced to the delegate"
    )


def nothing_to_pay(kind: str, item: int, amount: str) -> str:
    """The sentence refusing a renewal whose price is nothing (the owner's line and its promotions, or WHMCS's TLD
    price, come to `amount`, 0.00 or less): an invoice for it would ask the delegate for nothing."""
    return f"the renewal of {kind} #{item} comes to {amount}: there is nothing to pay, so nothing was invoiced"


def not_renewable(kind: str, item: int, status: str) -> str:
    """The sentence refusing a renewal of an item WHMCS's status says cannot be renewed now."""
    if expired_domain(kind, status):
        return (
            f"domain #{item} has expired ({status} in WHMCS): only our staff can still renew it (at the TLD's grace "
            "or redemption fee), and it must not be ordered again: the name is still registered"
        )
    able = "an active domain" if kind == "domain" else "an active or suspended service"
    return f"{kind} #{item} is {status.lower()} in WHMCS: only {able} can be renewed"


def whole_account(grant: dict[str, Any]) -> bool:
    """Whether the grant covers the owner's whole account rather than listed items (`--whole-client`)."""
    return any(i["kind"] == "client" for i in grant.get("items") or [])


def open_renewal(grant: dict[str, Any], item: int, kind: str = "service") -> dict[str, Any] | None:
    return next(
        (r for r in grant.get("renewals", []) if item_of(r) == (kind, item) and r["status"] in OPEN),
        None,
    )


def refusal(grant: dict[str, Any], item: int, kind: str = "service") -> str | None:
    """Why a new renewal of the service (or domain) cannot start now through this grant (one is open), as one
    sentence; None if it can."""
    current = open_renewal(grant, item, kind)
    if current is None:
        return None
    where = (
        f"the delegate's invoice #{current['delegate_invoice']}, {current['status']}"
        if current.get("delegate_invoice")
        else current["status"]
    )
    return (
        f"renewal {current['n']} of {kind} #{item} is open ({where}): it is paid, cancelled or answered "
        "before another one starts"
    )


def elsewhere(others: Iterable[dict[str, Any]], grant: dict[str, Any], kind: str, item: int) -> list[dict[str, Any]]:
    """The open renewals of the same item through the owner's other grants, as the bridge remembers them, and
    those it closed unapplied whose invoice WHMCS is asked about (asked_of_whmcs):
    [{"grant", "n", "invoice" (None while it is being invoiced), "status"}]."""
    return [
        {
            "grant": g["id"],
            "n": r["n"],
            "invoice": r.get("delegate_invoice"),
            "status": r["status"],
            "due": r.get("due"),
        }
        for g in others
        if g.get("id") != grant.get("id") and g.get("owner") == grant.get("owner")
        for r in g.get("renewals") or []
        if item_of(r) == (kind, item) and asked_of_whmcs(r)
    ]


# A renewal that is over for the bridge whatever WHMCS says of its invoice: applied, refunded, or never invoiced.
SETTLED = ("renewed", "refunded", "refused", "nothing to renew")


def closed_here(grant: dict[str, Any], kind: str, item: int) -> list[dict[str, Any]]:
    """This grant's earlier renewals of the item the bridge remembers as closed without being applied (its invoice
    cancelled, withdrawn, or paid and left to staff), whose invoice WHMCS is asked about before another is issued:
    staff may have set a cancelled one back to Unpaid (issue 16, seventh break round H1)."""
    return [
        {
            "grant": grant.get("id"),
            "n": r["n"],
            "invoice": r["delegate_invoice"],
            "status": r["status"],
            "due": r.get("due"),
        }
        for r in grant.get("renewals") or []
        if item_of(r) == (kind, item) and r["status"] not in OPEN and asked_of_whmcs(r)
    ]


def asked_of_whmcs(renewal: dict[str, Any]) -> bool:
    """Whether a renewal's invoice may still keep its item's renewal open: one under way, or one the bridge closed
    unapplied whose invoice WHMCS may show unpaid (reopened by staff) or paid."""
    return renewal["status"] in OPEN or (bool(renewal.get("delegate_invoice")) and renewal["status"] not in SETTLED)


def being_invoiced(kind: str, item: int, pending: list[dict[str, Any]]) -> str | None:
    """Another grant's renewal of the item whose invoice is being made (the bridge's own work under way, which
    WHMCS cannot show yet): one sentence, or None."""
    busy = next((p for p in pending if not p.get("invoice")), None)
    if busy is None:
        return None
    return (
        f"a renewal of {kind} #{item} asked through grant {busy['grant']} is being invoiced: ask again once its "
        "invoice is paid, cancelled or refunded"
    )


def seen_elsewhere(report: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """Other grants' renewal invoices for the item and the item's next due date, as a read of WHMCS reported them
    (executor/reads.py renewals_elsewhere): what blocking() and held() weigh, for the rules and for staff alike. A
    report read before `item_due` was (an older version's) has the due date of the owner's invoice's read, if any."""
    due = report.get("item_due") or report.get("due")
    return [dict(o) for o in report.get("others") or []], str(due) if due else None


def blocking(found: list[dict[str, Any]], due_now: str | None) -> dict[str, Any] | None:
    """Of other grants' renewal invoices for the item as WHMCS has them now (`found`: [{"invoice", "status",
    "grant", "due"}]), the first that keeps the item's renewal open: unpaid, or paid while the period it was for
    is still the item's next due date in WHMCS (`due_now`: a later one means that period was renewed, by the
    bridge or by staff's hand); cancelled, refunded or gone does not."""
    return next((e for e in found if _still_open(e, due_now)), None)


def _still_open(entry: dict[str, Any], due_now: str | None) -> bool:
    status = str(entry.get("status") or "")
    if status == "Paid":
        period = str(entry.get("due") or "")
        return not (period and due_now and period < due_now)
    return status in STILL_OPEN


def held(kind: str, item: int, found: list[dict[str, Any]], due_now: str | None) -> str | None:
    """Why another grant's open renewal invoice for the item refuses the request (one sentence), or None. `due_now`
    is not optional: without the item's due date, a paid invoice whose period WHMCS renewed (both paid, the owner
    renewing it) would look unapplied for ever (seventeenth break round, finding 2)."""
    entry = blocking(found, due_now)
    if entry is None:
        return None
    status, invoice = str(entry.get("status")), entry.get("invoice")
    through = f" (grant {entry['grant']})" if entry.get("grant") else ""
    if status == "Paid":
        return (
            f"a renewal invoice for {kind} #{item} is already open: invoice #{invoice}{through} is paid and its "
            "renewal is not applied yet (under way, or left to our staff); ask again once WHMCS shows it renewed, if another period is wanted"
        )
    return (
        f"a renewal invoice for {kind} #{item} is already open: invoice #{invoice}{through}, {status} in "
        "WHMCS; another renewal can be asked once it is paid, cancelled or refunded"
    )


def asked_id(kind: str, asked: Any) -> int | None:
    """The id of the service or domain asked for, None when none is; ValueError when what is asked is no id (0 or
    below: never "the grant's first", twenty-first break round M1)."""
    wanted = as_int(asked)
    if wanted is not None and wanted < 1:
        raise ValueError(f"{wanted} is no {kind} id: name the {kind} to renew by its id")
    return wanted


def wanted_service(grant: dict[str, Any], asked: Any) -> int:
    services = [i for i in grant.get("items", []) if i["kind"] == "service"]
    wanted = asked_id("service", asked)
    wanted = wanted if wanted is not None else (services[0]["id"] if services else None)
    if wanted is not None and whole_account(grant):
        return wanted  # any of the owner's services: WHMCS says whether the owner holds it
    if wanted is None or not any(i["id"] == wanted for i in services):
        raise ValueError(f"grant {grant['id']} covers no service {wanted or ''} to renew".replace("  ", " "))
    return wanted


def wanted_item(grant: dict[str, Any], service: Any = None, domain: Any = None) -> tuple[str, int]:
    """The granted service or domain to renew: the one asked for, else the grant's first service, else its
    first domain; on a whole-account grant, the service or domain asked for (WHMCS then says whether the owner
    holds it); ValueError (one sentence) when the grant covers no such thing."""
    domains = [i["id"] for i in grant.get("items", []) if i["kind"] == "domain"]
    services = [i for i in grant.get("items", []) if i["kind"] == "service"]
    if whole_account(grant) and as_int(service) is None and as_int(domain) is None and not (services or domains):
        raise ValueError(
            f"grant {grant['id']} covers the whole account of client #{grant['owner']}: name the service or domain "
            "to renew (--service ID or --domain ID)"
        )
    if as_int(domain) is not None or (as_int(service) is None and not services and domains):
        wanted = asked_id("domain", domain) or domains[0]
        if wanted not in domains and not whole_account(grant):
            raise ValueError(f"grant {grant['id']} covers no domain {wanted} to renew")
        return "domain", wanted
    return "service", wanted_service(grant, service)


def not_the_owners(kind: str, item: int, owner: int, holder: Any) -> str:
    """The sentence refusing a renewal of an item WHMCS does not have under the grant's owner now."""
    if as_int(holder) is None:
        return f"WHMCS has no {kind} #{item}: a grant renews only what its owner holds"
    return (
        f"{kind} #{item} belongs to client #{holder}, not to client #{owner}: a grant renews only what its owner holds"
    )


def settle_spec(renewal: dict[str, Any]) -> dict[str, Any]:
    """What a renewal was invoiced for, as the executor re-reads it from WHMCS (reads.renewal_now, the guard
    `renewal_settles`): the item, the period invoiced, the amount, the owner's line and the delegate's invoice."""
    what, item = item_of(renewal)
    return {
        f"{what}_id": item,
        "from": renewal["due"],
        "until": renewal["until"],
        "amount": renewal["amount"],
        "owner_invoice": renewal.get("owner_invoice"),
        "line_id": renewal.get("line"),
        **({"line_ids": renewal["lines"]} if renewal.get("lines") else {}),
        "delegate_invoice": renewal.get("delegate_invoice"),
    }
