"""The delegation family's messages about a delegate's renewal of a service or domain (renewal.py, renewal_tasks.py),
pure: what the delegate is told, the invoice's words and the staff tasks. An administrative contact's order
invoiced to it (payer.py) speaks through order_messages.py."""

from whmcs_bridge.families.delegation.message_fields import grant_spec
from whmcs_bridge.messages.spec import MessageSpec, define

BILLING = define(
    # --- renewals by the delegate --------------------------------------------------------------------
    MessageSpec(
        "delegation.renewal_invoice_line",
        "text",
        "client",
        {
            "owner": "client",
            "service": "service",
            "domain": "domain",
            "start": "date",
            "end": "date",
            "owner_invoice": "text",
            "years": "number",
        },
        "The line of the delegate's invoice for a renewal: the hosting (`service`) or the `domain`, whose owner, "
        "the period from `start` to `end` (the day before the next due date, as WHMCS's own lines show it), and "
        "what priced it: the line on the owner's invoice `owner_invoice`, else `years` at the domain's renewal "
        "price. Written once, before WHMCS makes the invoice (the bridge finds the invoice again by it).",
        samples={"service": 1, "start": "2026-12-01", "end": "2026-12-31", "owner_invoice": "1012", "years": 1},
    ),
    MessageSpec(
        "delegation.renewal_invoice_notes",
        "text",
        "client",
        {"owner": "client", "service": "service", "domain": "domain", "until": "date", "owner_invoice": "text"},
        "The notes of the delegate's invoice for a renewal, after its fixed reference (\"Delegated renewal N, grant "
        'G: "): paying it renews the hosting (`service`) or the `domain`, whose next due date becomes `until`, '
        "and takes it off the owner's invoice `owner_invoice` when one billed it.",
        samples={"service": 1, "until": "2027-01-01", "owner_invoice": "1012"},
    ),
    MessageSpec(
        "delegation.renewal_nothing",
        "email",
        "client",
        {"owner": "client", "service": "service", "domain": "domain"},
        "To the delegate: the owner has no open invoice for the service, so there is nothing to renew yet.",
    ),
    grant_spec(
        "delegation.renewal_settled_note",
        "text",
        "staff",
        {
            "grant": "text",
            "invoice": "text",
            "owner_invoice": "text",
            "service": "service",
            "domain": "domain",
            "until": "date",
            "left": "text",
        },
        "Staff note on the owner's account: the delegate paid one service's renewal; the service is renewed "
        "until `until` and its line is off the owner's invoice: `left` is kept (the rest of that invoice is "
        "still due), cancelled (the line was its only item), or empty (not known, or it no longer billed it).",
        invoice="1043",
        owner_invoice="1012",
        service=1,
        until="2027-01-20",
    ),
    grant_spec(
        "delegation.renewal_paid_for_owner",
        "email",
        "client",
        {
            "grant": "text",
            "owner_invoice": "text",
            "service": "service",
            "domain": "domain",
            "until": "date",
            "left": "text",
            "suspended": "text",
        },
        "To the owner: the delegate (the agency acting for it) paid the renewal of one service or domain, renewed "
        "until `until`; `left` as in delegation.renewal_settled_note says what became of the owner's invoice; "
        '`suspended` "yes" when WHMCS still shows the service suspended (staff check it: not said to be back).',
        owner_invoice="1012",
        until="2027-01-21",
        left="kept",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_done_delegate",
        "email",
        "client",
        {"grant": "text", "invoice": "text", "service": "service", "domain": "domain", "until": "date"},
        "To the delegate whose paid renewal was held for staff (it was told its payment on `invoice` was being "
        "checked): the renewal went through once staff approved it; `until` is the next due date the renewal wrote "
        "in WHMCS (or found there).",
        invoice="1043",
        until="2027-01-21",
        domain=1,
    ),
    grant_spec(
        "delegation.renewal_suspended_note",
        "text",
        "staff",
        {
            "grant": "text",
            "invoice": "text",
            "amount": "money",
            "reason": "text",
            "until": "date",
            "service": "service",
            "domain": "domain",
        },
        "Staff task (sticky note on the owner's account): the delegate's payment (`amount`, invoice `invoice`) renewed "
        "the service until `until`, but WHMCS still shows it suspended for `reason`; unsuspend it in WHMCS if that "
        "suspension was for non-payment (the owner's invoice was cut or cancelled, not paid, so WHMCS did not).",
        invoice="1043",
        amount="14.95",
        reason="Overdue on Payment",
        until="2027-01-21",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_nothing_due_note",
        "text",
        "staff",
        {
            "grant": "text",
            "invoice": "text",
            "owner_invoice": "text",
            "total": "money",
            "service": "service",
            "domain": "domain",
        },
        "Staff task (sticky note on the owner's account): the delegate's paid renewal (invoice `invoice`) took its "
        "line off the owner's invoice `owner_invoice`, left open with nothing to pay (`total`, 0.00 or less): a free "
        "item's renewal WHMCS applies only once the invoice is paid, or a credit line of the owner's; staff decide.",
        invoice="1043",
        owner_invoice="1012",
        total="0.00",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_owner_part_refund_note",
        "text",
        "staff",
        {
            "grant": "text",
            "invoice": "text",
            "owner_invoice": "text",
            "status": "text",
            "paid": "money",
            "until": "date",
            "service": "service",
            "domain": "domain",
        },
        "Staff task (sticky note on the owner's account): the owner paid part (`paid`) of its invoice `owner_invoice` "
        "while the delegate's paid renewal (invoice `invoice`) took its line off it; WHMCS shows it `status`. The "
        "delegate's payment renewed the item once (until `until`); staff refund or credit the owner's part payment.",
        invoice="1043",
        owner_invoice="1012",
        status="Cancelled",
        paid="5.00",
        until="2027-01-24",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_refunded_unapplied_note",
        "text",
        "staff",
        {"grant": "text", "invoice": "text", "owner_invoice": "text", "service": "service", "domain": "domain"},
        "Staff note on the owner's account: the delegate's renewal invoice was refunded before the renewal was "
        "applied: nothing was renewed for it, and the owner's invoice (`owner_invoice`, none when priced from "
        "WHMCS's TLD price) still bills the period.",
        invoice="1043",
        owner_invoice="1012",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_refunded_note",
        "text",
        "staff",
        {
            "grant": "text",
            "invoice": "text",
            "owner_invoice": "text",
            "service": "service",
            "domain": "domain",
            "until": "date",
        },
        "Staff task (sticky note on the owner's account): the delegate's renewal invoice was refunded after "
        "the service had been renewed for it (and its line taken off the owner's invoice).",
        invoice="1043",
        owner_invoice="1012",
        service=1,
        until="2027-01-20",
    ),
    grant_spec(
        "delegation.renewal_paid_twice_note",
        "text",
        "staff",
        {
            "grant": "text",
            "invoice": "text",
            "owner_invoice": "text",
            "service": "service",
            "domain": "domain",
            "until": "date",
            "money_invoice": "text",
            "money_status": "text",
            "money_paid": "text",
        },
        "Staff task (sticky note on the delegate's account): the delegate paid a renewal, but the service "
        "had been renewed meanwhile (the owner paid its own invoice too): refund or credit the delegate; and, when "
        "the renewal changed the owner's invoice while the owner paid it, which invoice, its status and what was paid "
        "on it, to restore.",
        invoice="1043",
        owner_invoice="1012",
        service=1,
        until="2027-01-20",
        money_invoice="1012",
        money_status="Cancelled",
        money_paid="14.95",
    ),
    grant_spec(
        "delegation.renewal_mismatch_note",
        "text",
        "staff",
        {
            "grant": "text",
            "owner_invoice": "text",
            "service": "service",
            "domain": "domain",
            "line": "text",
            "due": "date",
            "cycle": "text",
            "until": "date",
        },
        "Staff task (sticky note on the owner's account): the delegate asked to renew a service, but the "
        "owner's invoice line (`line`, as WHMCS wrote it) does not bill the period WHMCS has for the service "
        "(next due date `due`, billing cycle `cycle`, so until `until`): nothing was invoiced to the delegate.",
        owner_invoice="1012",
        service=1,
        line="Business (21/12/2026 - 20/01/2027)",
        due="2026-12-21",
        cycle="Annually",
        until="2027-12-21",
    ),
    grant_spec(
        "delegation.renewal_staff_check",
        "email",
        "client",
        {"grant": "text", "service": "service", "domain": "domain"},
        "To the delegate: its renewal request needs a check by staff before anything is invoiced.",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_currency_note",
        "text",
        "staff",
        {
            "grant": "text",
            "owner_invoice": "text",
            "service": "service",
            "domain": "domain",
            "amount": "text",
            "currency": "text",
            "delegate_currency": "text",
            "due": "date",
            "until": "date",
        },
        "Staff task (sticky note on the owner's account): the delegate asked to renew a service, but its WHMCS "
        "account is in another currency (`delegate_currency`) than the owner's (`currency`), in which the "
        "renewal bills `amount` (the owner's invoice `owner_invoice`, or the renewal price when empty): a WHMCS "
        "invoice is in its client's currency, and the bridge converts no amount; nothing was invoiced.",
        owner_invoice="1012",
        service=1,
        amount="14.95",
        currency="EUR",
        delegate_currency="USD",
        due="2026-12-21",
        until="2027-01-21",
    ),
    grant_spec(
        "delegation.renewal_currency_check",
        "email",
        "client",
        {"grant": "text", "service": "service", "domain": "domain", "currency": "text", "delegate_currency": "text"},
        "To the delegate: its account's currency (`delegate_currency`) is not the owner's (`currency`), in which "
        "the renewal is billed: staff settle it; nothing was invoiced.",
        service=1,
        currency="EUR",
        delegate_currency="USD",
    ),
    grant_spec(
        "delegation.renewal_owner_paid",
        "email",
        "client",
        {"grant": "text", "invoice": "text", "service": "service", "domain": "domain"},
        "To the delegate: the owner paid the service's renewal itself; the delegate's invoice is cancelled.",
        invoice="1043",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_part_paid_note",
        "text",
        "staff",
        {
            "grant": "text",
            "invoice": "text",
            "owner_invoice": "text",
            "paid": "money",
            "service": "service",
            "domain": "domain",
        },
        "Staff task (sticky note on the delegate's account): the delegate's renewal invoice was no longer needed "
        "(the owner paid first, or the grant ended), but `paid` had been paid on it: the bridge did not cancel "
        "it; refund or credit that amount, then cancel the invoice.",
        invoice="1043",
        owner_invoice="1012",
        paid="5.00",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_part_paid",
        "email",
        "client",
        {"grant": "text", "invoice": "text", "paid": "money", "service": "service", "domain": "domain"},
        "To the delegate: its renewal invoice is no longer needed, but it had paid part of it: staff will refund "
        "or credit what it paid.",
        invoice="1043",
        paid="5.00",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_owner_part_paid_note",
        "text",
        "staff",
        {
            "grant": "text",
            "invoice": "text",
            "amount": "money",
            "owner_invoice": "text",
            "paid": "money",
            "service": "service",
            "domain": "domain",
        },
        "Staff task (sticky note on the delegate's account, the second payer's): the delegate paid its renewal "
        "invoice (`amount`), but the owner had paid `paid` of its own invoice (a payment or account credit), which "
        "bills the same renewal: nothing was renewed and "
        "neither invoice was changed; staff settle both.",
        invoice="1043",
        amount="14.95",
        owner_invoice="1012",
        paid="5.00",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_owner_part_paid",
        "email",
        "client",
        {"grant": "text", "owner_invoice": "text", "service": "service", "domain": "domain"},
        "To the delegate: its renewal request was refused, the owner having already paid part of the invoice "
        "that bills the renewal; staff can settle it.",
        owner_invoice="1012",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_already_open",
        "email",
        "client",
        {"grant": "text", "invoice": "text", "service": "service", "domain": "domain"},
        "To the delegate: its renewal request was refused, a renewal invoice for the same service or domain "
        "(`invoice`, through another contact's access; empty while it is being made) being open in WHMCS; it may "
        "ask again once that invoice is paid, cancelled or refunded.",
        invoice="1043",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_not_owners",
        "email",
        "client",
        {"grant": "text", "kind": "text", "id": "text"},
        "To the delegate: its renewal request through a grant on the owner's whole account was refused, WHMCS "
        "not having the service or domain (`kind` service or domain, `id`) under the owner's account. Named by "
        "its number only: it may be another client's.",
        kind="service",
        id="120",
    ),
    grant_spec(
        "delegation.renewal_unsettled_note",
        "text",
        "staff",
        {
            "grant": "text",
            "invoice": "text",
            "paid": "money",
            "amount": "money",
            "why": "text",
            "status": "text",
            "due": "text",
            "expiry": "text",
            "owner_invoice": "text",
            "owner_status": "text",
            "owner_paid": "money",
            "owner_line": "text",
            "delegate_status": "text",
            "holder": "text",
            "service": "service",
            "domain": "domain",
        },
        "Staff task (sticky note on the delegate's account): the delegate paid `paid` of its renewal invoice, but "
        "the bridge did not renew the service or domain, because of what WHMCS showed when it was to be settled "
        '(`why`: "ended", the item `status` cancelled or gone; "owner invoice", the owner\'s invoice '
        '`owner_status`; "moved", the item belongs to client #`holder` now, not to the owner; "renewed", its next due date moved meanwhile; "line gone"; "amount", the owner\'s line now `owner_line`, not the `amount` invoiced; '
        '"grant ended", the grant ended before it was renewed; "rejected", staff rejected its action; "registrar unknown", an interrupted domain renewal stopped (staff rejected it, or its grant ended) '
        'whose DomainRenew call may have reached the registrar; "cancelled", the delegate\'s invoice cancelled). '
        "The task states "
        "what WHMCS shows now (the item's status, next due date `due`, a domain's `expiry`, each invoice's "
        "status and what was paid on it) and asks staff to decide.",
        invoice="1043",
        paid="14.95",
        amount="14.95",
        why="amount",
        status="Active",
        due="2026-12-21",
        expiry="",
        owner_invoice="1012",
        owner_status="Unpaid",
        owner_paid="0.00",
        owner_line="9.95",
        delegate_status="Paid",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_unsettled",
        "email",
        "client",
        {
            "grant": "text",
            "invoice": "text",
            "paid": "money",
            "why": "text",
            "status": "text",
            "service": "service",
            "domain": "domain",
            "owner_paid": "money",
            "owner_invoice": "text",
        },
        "To the delegate: its payment (`paid`) on its renewal invoice did not renew the service or domain, and why "
        '(`why` as in delegation.renewal_unsettled_note; "owner paid": the owner paid the renewal too; "moved": it no '
        'longer belongs to the owner, and it is refunded or credited; "grant ended": '
        'the grant ended before it was renewed, and it is refunded or credited; "owner part paid": the owner paid `owner_paid` '
        'on its own invoice `owner_invoice` (as WHMCS showed it), which is not paid in full, so it is not renewed yet; "held": WHMCS refused its renewal after the payment, a registrar error say, and the '
        "action waits for staff): staff will renew it or refund or credit the payment.",
        invoice="1043",
        paid="14.95",
        why="ended",
        status="Cancelled",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_withdrawn",
        "email",
        "client",
        {
            "grant": "text",
            "invoice": "text",
            "why": "text",
            "status": "text",
            "owner_status": "text",
            "service": "service",
            "domain": "domain",
        },
        "To the delegate: its unpaid renewal invoice was cancelled, WHMCS showing the service or domain `status` "
        '(`why` "ended") or the owner\'s invoice that billed it `owner_status` (any other `why`).',
        invoice="1043",
        why="ended",
        status="Cancelled",
        owner_status="Cancelled",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_owner_held",
        "email",
        "client",
        {"grant": "text", "invoice": "text", "status": "text", "service": "service", "domain": "domain"},
        "To the delegate: its renewal request was refused, nothing invoiced, because the owner's own invoice for the "
        "service or domain (`invoice`) is held in WHMCS (`status`, WHMCS's word: Payment Pending, a payment on its "
        "way; Collections): it is settled there.",
        invoice="1044",
        status="Collections",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_nothing_to_pay",
        "email",
        "client",
        {"grant": "text", "amount": "money", "service": "service", "domain": "domain"},
        "To the delegate: its renewal request was refused, nothing invoiced, because the renewal comes to `amount` "
        "(0.00 or less: the owner's line and its promotions, or WHMCS's TLD price): there is nothing to pay.",
        amount="0.00",
        service=1,
    ),
    grant_spec(
        "delegation.renewal_not_renewable",
        "email",
        "client",
        {"grant": "text", "status": "text", "service": "service", "domain": "domain"},
        "To the delegate: its renewal request was refused, nothing invoiced, because WHMCS shows the service or "
        "domain with a status that is not renewed by paying (`status`, WHMCS's own word: a service's Terminated, "
        "Cancelled, Pending or Fraud; a domain's Expired, Transferred Away, Cancelled...).",
        status="Terminated",
        service=1,
    ),
)
