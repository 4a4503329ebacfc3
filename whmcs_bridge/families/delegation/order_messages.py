"""The delegation family's messages about an administrative contact's order invoiced to the agency that placed it
(delegation.order_invoice_to: payer; payer.py, orders.py), pure: the invoice's words, what the agency is told and the
staff tasks on the owner's account."""

from whmcs_bridge.families.delegation.message_fields import grant_spec
from whmcs_bridge.messages.spec import MessageSpec, define

ORDERS = define(
    # --- an order invoiced to the agency that placed it (delegation.order_invoice_to: payer) ------------
    grant_spec(
        "delegation.order_invoiced_note",
        "text",
        "staff",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text", "amount": "text"},
        "Staff note on the owner's account: the order its administrative contact placed is invoiced to that "
        "contact (`invoice`, `amount`); its items came off the owner's invoice `owner_invoice`.",
        order="7",
        owner_invoice="501",
        invoice="502",
        amount="21.90",
    ),
    grant_spec(
        "delegation.order_settled_note",
        "text",
        "staff",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text", "kept": "text"},
        "Staff note on the owner's account: the contact paid its invoice for the order, which was accepted; `kept` "
        "\"yes\" when the order's items are still on the owner's invoice, whose payment was pending.",
        order="7",
        owner_invoice="501",
        invoice="502",
        kept="",
    ),
    grant_spec(
        "delegation.order_due_not_moved_note",
        "text",
        "staff",
        {
            "grant": "text",
            "order": "text",
            "owner_invoice": "text",
            "invoice": "text",
            "service": "service",
            "due": "text",
            "cycle": "text",
        },
        "Sticky staff task on the owner's account: the contact paid for the order, which was accepted, but WHMCS "
        "still shows the order's `service` due on its order date (`due`, `cycle`): WHMCS moves it only when the "
        "order's own invoice is paid, whose items came off it; staff move it one cycle on.",
        order="7",
        owner_invoice="501",
        invoice="502",
        due="2026-11-29",
        cycle="Monthly",
    ),
    grant_spec(
        "delegation.order_unsettled_note",
        "text",
        "staff",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text", "why": "text", "paid": "money"},
        "Sticky staff task on the owner's account: the contact's invoice for the order was \"cancelled\", is "
        '"overdue" (the order stays unpaid and not accepted), was "paid twice" (after the owner paid), or was left '
        'open "part paid" when the owner paid; `paid`, '
        "what the contact had already paid on a cancelled one (read from WHMCS; none when nothing).",
        order="7",
        owner_invoice="501",
        invoice="502",
        why="cancelled",
        paid="10.00",
    ),
    grant_spec(
        "delegation.order_refunded_note",
        "text",
        "staff",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text", "amount": "text"},
        "Sticky staff task on the owner's account: the contact paid its invoice `invoice` (`amount`) for the order, "
        "which was accepted, and staff refunded that invoice afterwards: the order's items had come off the owner's "
        "invoice `owner_invoice`, so its services are unpaid; staff decide (invoice the owner, have the contact pay, "
        "or suspend or cancel them).",
        order="7",
        owner_invoice="501",
        invoice="502",
        amount="21.90",
    ),
    grant_spec(
        "delegation.order_left_to_owner_note",
        "text",
        "staff",
        {"grant": "text", "order": "text", "owner_invoice": "text", "lines": "text", "moved": "text"},
        "Sticky staff task on the owner's account: a user of its administrative contact placed an order that bills "
        "something other than a hosting or a domain (those order lines' types, `lines`: an addon, say); with "
        "`order_invoice_to: payer` the bridge moves only hostings and domains, so those lines (the whole order, or, "
        "`moved` \"yes\", what is left once its hostings and domains were invoiced to the contact) stayed on the "
        "owner's invoice `owner_invoice` (none when WHMCS named no invoice).",
        order="7",
        owner_invoice="501",
        lines="addon",
    ),
    grant_spec(
        "delegation.order_parked_note",
        "text",
        "staff",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text", "owner_paid": "money"},
        "Sticky staff task on the owner's account: the order is parked (pending, not accepted) because the owner "
        "had paid `owner_paid` of its invoice, which bills the order: the bridge did not invoice the contact (no "
        "`invoice`), or did (`invoice`) but left the order's lines on the owner's invoice.",
        order="7",
        owner_invoice="501",
        invoice="502",
        owner_paid="5.00",
    ),
    grant_spec(
        "delegation.order_owner_paid_during_note",
        "text",
        "staff",
        {
            "grant": "text",
            "order": "text",
            "owner_invoice": "text",
            "invoice": "text",
            "status": "text",
            "paid": "money",
            "order_status": "text",
            "both": "text",
        },
        "Sticky staff task on the owner's account: the owner paid its order invoice while the bridge took the order's "
        "items off it; WHMCS shows that invoice `status` with `paid` on it. Staff restore it, then accept the order "
        "(`order_status`: its status in WHMCS, when read), or, the contact having paid too (`both`) and the order "
        "accepted for it, refund or credit the contact.",
        order="7",
        owner_invoice="501",
        invoice="502",
        status="Cancelled",
        paid="21.90",
        order_status="Pending",
        both="",
    ),
    grant_spec(
        "delegation.order_owner_part_paid_during_note",
        "text",
        "staff",
        {
            "grant": "text",
            "order": "text",
            "owner_invoice": "text",
            "invoice": "text",
            "status": "text",
            "paid": "money",
            "bills": "money",
        },
        "Sticky staff task on the owner's account: the owner paid part (`paid`) of its order invoice while the bridge "
        "took the order's items off it; WHMCS shows that invoice `status`, billing `bills` now. The order stays "
        "invoiced to the contact (`invoice`); staff refund or credit the owner's money.",
        order="7",
        owner_invoice="501",
        invoice="502",
        status="Unpaid",
        paid="15.00",
        bills="5.00",
    ),
    grant_spec(
        "delegation.order_owner_pending_note",
        "text",
        "staff",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text", "amount": "money"},
        "Sticky staff task on the owner's account: the owner's order invoice was Payment Pending when the bridge "
        "would take the order's items off it, so they stay on it while the contact's invoice (`invoice`, `amount`) "
        "bills them too: whichever payment comes second is to refund or credit.",
        order="7",
        owner_invoice="501",
        invoice="502",
        amount="21.90",
    ),
    grant_spec(
        "delegation.order_owner_paid_second_note",
        "text",
        "staff",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text", "amount": "money"},
        "Sticky staff task on the owner's account: the owner's pending payment of its order invoice cleared after "
        "the contact paid its invoice (`invoice`) and the order was accepted for it: staff refund or credit the "
        "owner the order's `amount`.",
        order="7",
        owner_invoice="501",
        invoice="502",
        amount="21.90",
    ),
    grant_spec(
        "delegation.order_currency_note",
        "text",
        "staff",
        {
            "grant": "text",
            "order": "text",
            "owner_invoice": "text",
            "amount": "text",
            "currency": "text",
            "delegate_currency": "text",
        },
        "Sticky staff task on the owner's account: the order its administrative contact placed was not invoiced "
        "to that contact, whose WHMCS account is in another currency (`delegate_currency`) than the owner's "
        "invoice `owner_invoice` (`amount` `currency`): the bridge converts no amount; the order stays pending.",
        order="7",
        owner_invoice="501",
        amount="21.90",
        currency="EUR",
        delegate_currency="USD",
    ),
    grant_spec(
        "delegation.order_currency_told",
        "email",
        "client",
        {"grant": "text", "order": "text", "currency": "text", "delegate_currency": "text"},
        "To the contact: the order it placed is billed in the owner's currency, not its account's: it was not "
        "invoiced; staff settle it.",
        order="7",
        currency="EUR",
        delegate_currency="USD",
    ),
    grant_spec(
        "delegation.order_owner_paid",
        "email",
        "client",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text"},
        "To the contact: the owner paid the order itself, so the contact's invoice for it is cancelled.",
        order="7",
        owner_invoice="501",
        invoice="502",
    ),
    grant_spec(
        "delegation.order_gone_note",
        "text",
        "staff",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text", "paid": "money"},
        "Sticky staff task on the owner's account: the contact paid `paid` on its invoice for the order, but the "
        "order no longer exists in WHMCS (staff deleted it): nothing was accepted; refund or credit the contact.",
        order="7",
        owner_invoice="501",
        invoice="502",
        paid="21.90",
    ),
    grant_spec(
        "delegation.order_gone",
        "email",
        "client",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text", "paid": "money"},
        "To the contact: it paid `paid` on its invoice for the order, which no longer exists (it was not "
        "accepted): our staff will refund or credit the payment.",
        order="7",
        owner_invoice="501",
        invoice="502",
        paid="21.90",
    ),
    grant_spec(
        "delegation.order_closed_note",
        "text",
        "staff",
        {
            "grant": "text",
            "order": "text",
            "owner_invoice": "text",
            "invoice": "text",
            "paid": "money",
            "status": "text",
            "earlier": "money",
            "kept": "text",
        },
        "Sticky staff task on the owner's account: the contact paid `paid` on its invoice for the order, but WHMCS "
        "shows the order `status` (Cancelled, or Fraud: staff cancelled it or marked it as fraud): nothing was "
        "accepted; refund or credit the contact, or set the order back to Pending and accept it if it is to go ahead. "
        "`earlier`: what an earlier task named, when the contact had paid part of the invoice then and paid the rest "
        "since (`paid` is then the whole invoice; none otherwise). `kept` \"yes\": the order's items are still on the "
        "owner's invoice `owner_invoice` (the order was closed before they came off); else they had come off it.",
        order="7",
        owner_invoice="501",
        invoice="502",
        paid="21.90",
        status="Cancelled",
        earlier="10.00",
        kept="yes",
    ),
    grant_spec(
        "delegation.order_closed",
        "email",
        "client",
        {
            "grant": "text",
            "order": "text",
            "owner_invoice": "text",
            "invoice": "text",
            "paid": "money",
            "status": "text",
            "earlier": "money",
        },
        "To the contact: it paid `paid` on its invoice for the order, which had been cancelled (`status`: Cancelled "
        "or Fraud, both told as cancelled), so it was not carried out: our staff will refund or credit the payment. "
        "`earlier`: the part paid an earlier email named, when the contact has paid the rest since (none otherwise).",
        order="7",
        owner_invoice="501",
        invoice="502",
        paid="21.90",
        status="Cancelled",
        earlier="10.00",
    ),
    grant_spec(
        "delegation.order_ended_note",
        "text",
        "staff",
        {
            "grant": "text",
            "order": "text",
            "owner_invoice": "text",
            "invoice": "text",
            "amount": "text",
            "paid": "money",
            "lines_off": "text",
        },
        "Sticky staff task on the owner's account: the grant under which the contact was invoiced `invoice` "
        "(`amount`) for the order ended (revoked, expired) before the contact paid: that invoice was cancelled "
        "(`paid` none) or, `paid`, the contact paid it all the same (refund or credit it); the order is pending, not "
        "accepted. `lines_off` \"yes\": the order's items had come off the owner's invoice `owner_invoice` (staff "
        "invoice the owner again, or cancel the order); else they are still on it.",
        order="7",
        owner_invoice="501",
        invoice="502",
        amount="21.90",
        paid="21.90",
        lines_off="yes",
    ),
    grant_spec(
        "delegation.order_ended",
        "email",
        "client",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text", "amount": "text", "paid": "money"},
        "To the contact: its role for the owner ended before it paid its invoice `invoice` for the order it placed "
        "for the owner, so that invoice was cancelled (nothing to pay), or, `paid`, what it paid on it all the same "
        "will be refunded or credited; the order was not carried out on its payment.",
        order="7",
        owner_invoice="501",
        invoice="502",
        amount="21.90",
        paid="21.90",
    ),
    grant_spec(
        "delegation.order_ended_owner",
        "email",
        "client",
        {
            "grant": "text",
            "order": "text",
            "owner_invoice": "text",
            "invoice": "text",
            "amount": "text",
            "paid": "money",
            "lines_off": "text",
        },
        "To the owner: the order its former contact placed in its name was to be paid by that contact, whose role "
        "ended first: the order is not paid and waits; our staff will contact the owner about paying it (it is no "
        "longer on the owner's invoice `owner_invoice` when `lines_off` is \"yes\", else still on it).",
        order="7",
        owner_invoice="501",
        invoice="502",
        amount="21.90",
        lines_off="yes",
    ),
    grant_spec(
        "delegation.order_cancelled",
        "email",
        "client",
        {"grant": "text", "order": "text", "owner_invoice": "text", "invoice": "text"},
        "To the contact: the order it placed for the owner was cancelled in WHMCS (by staff, or as fraud: both told "
        "as cancelled) before it paid its invoice for it, so that invoice was cancelled: nothing to pay.",
        order="7",
        owner_invoice="501",
        invoice="502",
    ),
    MessageSpec(
        "delegation.order_invoice_line",
        "text",
        "client",
        {"said": "text", "owner": "client", "order": "text"},
        "A line of the agency's invoice for an order it placed in the owner's name: WHMCS's own description of the "
        "item as the owner's invoice has it (`said`, with the item's name when it does not say it), for whom and "
        "which order. Written once, before WHMCS makes the invoice (the bridge finds the invoice again by it).",
        samples={"said": "Starter (01/12/2026 - 31/12/2026) - example.fr", "order": "7"},
    ),
    MessageSpec(
        "delegation.order_invoice_notes",
        "text",
        "client",
        {"owner": "client", "order": "text", "owner_invoice": "text"},
        "The notes of the agency's invoice for an order it placed in the owner's name, after its fixed reference "
        '("Order #N, grant G: "): paying it settles the order, whose items came off the owner\'s invoice '
        "`owner_invoice`.",
        samples={"order": "7", "owner_invoice": "501"},
    ),
)
