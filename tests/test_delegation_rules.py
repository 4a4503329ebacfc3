"""Contact delegation's pure decisions: grants, expiry, revocation, email copies (and no copy loops), ticket notes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from whmcs_bridge.families.delegation import billing_periods, renewal_scope
from whmcs_bridge.families.delegation.config import DelegationSection, RoleRights
from whmcs_bridge.families.delegation.copies import COPY_MARK
from whmcs_bridge.families.delegation.rules import decide_all
from whmcs_bridge.messages import load
from whmcs_bridge.messages.render import Named, Reader
from whmcs_bridge.model import Action, Decision, Event
from whmcs_bridge.names import domain_names
from whmcs_bridge.whmcs.templates import TemplateInfo

RULES = DelegationSection(enabled=True)
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
CONTEXT = {
    "userid": 11,
    "name": "Marie Dupont",
    "company": "Boulangerie Dupont",
    "services": [{"id": 110, "domain": "boulangerie-dupont.fr"}],
    "domains": [{"id": 11, "name": "boulangerie-dupont.fr"}],
    "requested_by": "delegation",
}


class Names:
    """Clients, services and domains as the sandbox's seed 002 names them."""

    clients = {10: "Pixelwerk Agency", 11: "Boulangerie Dupont", 12: "Cabinet Martin Avocats", 21: "Garage Leroy"}

    def client(self, client_id: int) -> Named:
        return Named(self.clients.get(client_id, f"client {client_id}"), client_id)

    def service(self, service_id: int) -> Named:
        return Named("Business (boulangerie-dupont.fr)" if service_id == 110 else f"Hosting {service_id}", service_id)

    def domain(self, domain_id: int) -> Named:
        return Named("boulangerie-dupont.fr" if domain_id == 11 else f"domain{domain_id}.fr", domain_id)


def shown(action: Action, lang: str = "en") -> tuple[str, str]:
    """What the action's reader sees: its message rendered (subject, body) as the executor renders it,
    with a copy's original email after its header."""
    planned = action.params["msg"]
    made = load.shipped().render(planned["id"], planned["data"], Reader(lang, "EUR", UTC), Names())
    return made.subject or "", made.body + str(action.params.get("original_html", ""))


def body(action: Action, lang: str = "en") -> str:
    return shown(action, lang)[1]


def state_of(decision: Decision) -> dict[str, Any]:
    """A decision's state, which these steps keep (a deleted state would fail here)."""
    assert decision.state is not None
    return decision.state


def event(kind: str, **data: Any) -> Event:
    return Event(id=f"e-{kind}", type=kind, data=data)


def grant_command(**changes: Any) -> Event:
    """Staff's command making the agency (client 10) technical contact of client 11's service 110, as grant g1."""
    command = {
        "command": "grant",
        "grant": "g1",
        "owner": 11,
        "delegate": 10,
        "role": "technical",
        "items": [{"kind": "service", "id": 110}],
        "by": "alice",
        "basis": "owner's email",
    }
    return event("DelegationCommand", **{**command, **changes})


def granted(**extra: Any) -> dict[str, Any]:
    decision = decide_all({}, grant_command(**extra), NOW, RULES)["grant:g1"]
    named = decide_all({"grant:g1": decision.state or {}}, event("ClientContext", **CONTEXT), NOW, RULES)["grant:g1"]
    return named.state or {}


def test_a_grant_is_announced_to_both_sides_and_mirrored_as_notes():
    decision = decide_all({}, grant_command(), NOW, RULES)["grant:g1"]
    assert decision.state and decision.state["status"] == "active"
    assert [(a.kind, a.client_id) for a in decision.actions] == [
        ("refresh_client", 11),
        ("refresh_client", 10),
        ("client_note", 11),
        ("client_note", 10),
        ("email", 11),
        ("email", 10),
    ]
    assert {"owner:11", "delegate:10", "service:110"} <= set(decision.refs or [])


def test_the_owners_context_names_the_granted_items():
    grant = granted()
    assert grant["items"][0]["name"] == "boulangerie-dupont.fr" and grant["owner_name"] == "Boulangerie Dupont"


def copy_of(
    grant: dict[str, Any],
    subject: str,
    message: str,
    now: datetime = NOW,
    *,
    template: str | None = "Service Unsuspension Notification",
    relid: int | None = 110,
    rules: DelegationSection = RULES,
) -> list[Any]:
    """The actions for an email WHMCS logged for the owner (client 11), announced by EmailPreSend with
    `template` and `relid` as the PHP hook pairs them (None: an email no EmailPreSend announced)."""
    data: dict[str, Any] = {"userid": 11, "date": "2026-11-23 10:00:00", "subject": subject, "message": message}
    if template is not None:
        data.update(messagename=template, relid=relid)
    decisions = decide_all({"grant:g1": grant}, event("EmailPreLog", **data), now, rules)
    return decisions["grant:g1"].actions if "grant:g1" in decisions else []


def test_copies_follow_the_roles_rights():
    grant = granted()
    (copy,) = copy_of(grant, "SSL certificate renewed", "<p>The SSL of boulangerie-dupont.fr was renewed.</p>")
    subject, text = shown(copy)
    assert copy.kind == "email" and copy.params["related_id"] == 10 and subject == "[Copy] SSL certificate renewed"
    assert text.startswith(
        "<p><em>This is a copy of an email sent to Boulangerie Dupont about Business (boulangerie-dupont.fr)."
    )
    assert text.endswith(f"<!-- {COPY_MARK} --><p>The SSL of boulangerie-dupont.fr was renewed.</p>")
    assert shown(copy, "fr")[0] == "[Copie] SSL certificate renewed" and COPY_MARK in body(copy, "fr")
    assert (
        copy_of(
            grant,
            "Invoice Payment Confirmation",
            "boulangerie-dupont.fr paid",
            template="Invoice Payment Confirmation",
            relid=501,
        )
        == []
    )  # invoices are not in technical's copies
    assert copy_of(grant, "SSL certificate renewed", "<p>boulangerie-dupont.fr</p>", relid=111) == []  # another service


def test_the_welcome_email_becomes_a_notice_by_default():
    (notice,) = copy_of(
        granted(),
        "New Account Information",
        "<p>Domain: boulangerie-dupont.fr Username: boulange Password: s3cret</p>",
        template="Hosting Account Welcome Email",
    )
    assert "s3cret" not in str(notice.params) and "s3cret" not in body(notice)
    assert "Boulangerie Dupont has received the access details for Business (boulangerie-dupont.fr)" in body(notice)
    copying = DelegationSection(
        enabled=True,
        roles={
            "technical": RULES.roles["technical"].__class__(
                copy_emails=["product"], welcome_email="copy", support_authority=True
            )
        },
    )
    welcome = event(
        "EmailPreLog",
        userid=11,
        date="d",
        subject="New Account Information",
        message="boulangerie-dupont.fr Password: s3cret",
        messagename="Hosting Account Welcome Email",
        relid=110,
    )
    # The role allows copies, but only the owner may choose them (its consent page): a staff grant, a notice.
    by_staff = decide_all({"grant:g1": granted()}, welcome, NOW, copying)
    assert "s3cret" not in body(by_staff["grant:g1"].actions[0])
    chosen = decide_all({"grant:g1": {**granted(), "credentials": "copy"}}, welcome, NOW, copying)
    assert "s3cret" in body(chosen["grant:g1"].actions[0])


def test_no_copy_loops_and_one_copy_per_email():
    grant = granted()
    assert copy_of(grant, "[Copy] SSL certificate renewed", f"<p>{COPY_MARK}: boulangerie-dupont.fr</p>") == []
    first = copy_of(grant, "SSL certificate renewed", "boulangerie-dupont.fr")
    again = copy_of(grant, "SSL certificate renewed", "boulangerie-dupont.fr")
    assert first[0].key == again[0].key  # the hook and the poll of one email: one copy (outbox dedupes the key)


def suspension(relid: int, **extra: Any) -> Event:
    """WHMCS's "Service Suspension Notification" to client 11 about service `relid`, as the hook reports it."""
    data = {
        "userid": 11,
        "date": "2026-11-23 10:00:00",
        "subject": "Service Suspension Notification",
        "message": "<p>Your service has been suspended.</p>",
        "messagename": "Service Suspension Notification",
        "relid": relid,
        **extra,
    }
    return event("EmailPreLog", **data)


def copy_keys(grant: dict[str, Any], *emails: Event) -> set[str]:
    return {a.key for e in emails for a in decide_all({"grant:g1": grant}, e, NOW, RULES)["grant:g1"].actions}


def test_each_distinct_email_is_copied_once():
    """Found by the issue-13 break test: two suspension emails to one client in one second with one
    subject, about services 110 and 111, gave one copy (the key was client, date and subject). The key
    names the email itself (its template and related id, and its text), and not WHMCS's email id, which
    the hook's EmailPreLog never has: the same email reported with and without it is one copy."""
    grant = granted(items=[{"kind": "service", "id": 110}, {"kind": "service", "id": 111}])
    assert len(copy_keys(grant, suspension(110), suspension(111))) == 2
    assert len(copy_keys(grant, suspension(110), suspension(110), suspension(110, emailid=901))) == 1
    other_text = suspension(110, message="<p>Your service has been suspended again.</p>")
    assert len(copy_keys(grant, suspension(110), other_text)) == 2
    assert len(copy_keys(grant, suspension(110), suspension(110, date="2026-11-23 10:00:01"))) == 2


def test_revocation_stops_copies_and_tells_both_sides():
    grant = granted()
    ended = decide_all(
        {"grant:g1": grant},
        event("DelegationCommand", command="revoke", grant="g1", by="owner", reason="changed agency"),
        NOW,
        RULES,
    )["grant:g1"]
    assert ended.state and ended.state["status"] == "revoked"
    kinds = [(a.kind, a.client_id) for a in ended.actions]
    assert kinds == [("client_note", 11), ("client_note", 10), ("email", 10), ("email", 11)]
    assert "recommend changing it" in body(ended.actions[-1])
    assert shown(ended.actions[2])[0] == "Your access to Business (boulangerie-dupont.fr) has ended"
    assert body(ended.actions[0]).startswith(
        "Delegation g1 revoked (by owner: changed agency): Pixelwerk Agency (#10) is no longer the technical contact"
    )
    assert copy_of(ended.state, "SSL certificate renewed", "boulangerie-dupont.fr") == []


def test_expiry():
    grant = granted(expires=(NOW + timedelta(days=30)).isoformat())
    assert (
        state_of(decide_all({"grant:g1": grant}, event("Tick"), NOW + timedelta(days=10), RULES)["grant:g1"])["status"]
        == "active"
    )
    expired: Decision = decide_all({"grant:g1": grant}, event("Tick"), NOW + timedelta(days=31), RULES)["grant:g1"]
    assert expired.state and expired.state["status"] == "expired" and expired.actions
    assert (
        copy_of(grant, "SSL certificate renewed", "boulangerie-dupont.fr", NOW + timedelta(days=31)) == []
    )  # past expiry, before the tick


def resolved(grants: dict[str, dict[str, Any]], writer: int | None, owner: int) -> str:
    data = {
        "ticketid": 7,
        "writer": writer,
        "items": [{"kind": "service", "id": 110, "name": "boulangerie-dupont.fr", "owner": owner}],
        "state_key": "ticket:7:0",
        "requested_by": "delegation",
    }
    decisions = decide_all({"ticket:7:0": {"ticket": 7}, **grants}, event("TicketResolved", **data), NOW, RULES)
    (note,) = decisions["ticket:7:0"].actions
    assert note.kind == "ticket_note" and note.params["ticket_id"] == 7 and decisions["ticket:7:0"].state is None
    return body(note)


def test_ticket_notes_verified_owner_or_warning():
    grant = granted()
    assert (
        "VERIFIED technical contact of Boulangerie Dupont (#11): Pixelwerk Agency (#10), grant g1, since November 23, 2026"
        in resolved({"grant:g1": grant}, writer=10, owner=11)
    )
    assert "written by the owner, Boulangerie Dupont (#11)" in resolved({"grant:g1": grant}, writer=11, owner=11)
    guest = resolved({}, writer=None, owner=11)
    assert "WARNING: the writer (a guest, without a client account) has NO grant on this" in guest
    warning = resolved({}, writer=21, owner=20)
    assert warning.startswith("whmcs-bridge: ticket writer is NOT authorised")
    assert "Garage Leroy (#21) has NO grant" in warning


def test_a_ticket_asks_who_owns_what_it_names():
    decision = decide_all(
        {},
        event(
            "TicketOpen",
            ticketid=7,
            userid=10,
            subject="cPanel password for boulangerie-dupont.fr",
            message="please reset it",
        ),
        NOW,
        RULES,
    )["ticket:7:0"]
    (resolve,) = decision.actions
    assert (
        resolve.kind == "resolve_ticket"
        and resolve.params["names"] == ["boulangerie-dupont.fr"]
        and resolve.params["writer"] == 10
    )
    # A ticket that names nothing and that WHMCS links to nothing (the poller's event carries GetTicket's `service`)
    # is a general question; the hook's TicketOpen does not carry the link (DD:hooks-reference/ticket.md), so WHMCS
    # is read for it (twelfth round N2: a ticket about a service only through WHMCS's related-service field).
    general = event("TicketOpen", ticketid=8, userid=10, subject="How do I use FTP?", message="thanks", service=None)
    assert decide_all({}, general, NOW, RULES)["ticket:8:0"].actions == []
    hooked = event("TicketOpen", ticketid=9, userid=10, subject="How do I use FTP?", message="thanks")
    (read,) = decide_all({}, hooked, NOW, RULES)["ticket:9:0"].actions
    assert read.kind == "resolve_ticket" and read.params["related"] is True and read.params["names"] == []


def test_helpers():
    assert domain_names(
        "visit <a href='https://www.boulangerie-dupont.fr/index.php'>x</a> or mail me@site.com, garage-leroy.fr."
    ) == ["boulangerie-dupont.fr", "garage-leroy.fr"]


def renewing(due: str = "2026-12-21", period: str = "21/12/2026 - 20/01/2027") -> tuple[dict[str, Any], list[Any]]:
    """Grant g1's renewal 1 of service 110, monthly, due `due`, whose line on the owner's invoice #42 bills `period`:
    invoiced to the agency as #77."""
    grant = granted()
    asked = decide_all(
        {"grant:g1": grant}, event("DelegationCommand", command="renew", grant="g1", by="lena"), NOW, RULES
    )["grant:g1"]
    (find,) = asked.actions
    assert find.kind == "find_open_invoice" and find.params == {
        "client_id": 11,
        "service_id": 110,
        "delegate_id": 10,
        "report": {"grant": "g1", "n": 1},
        "parties": {"owner": 11, "delegate": 10},  # WHMCS says whether either account is Closed
    }
    found_line = {
        "invoice_id": 42,
        "line_id": 5,
        "amount": "14.95",
        "due": due,
        "cycle": "Monthly",
        "line": f"Business - boulangerie-dupont.fr ({period})",
    }
    found = decide_all(
        {"grant:g1": asked.state or {}},
        event("OpenInvoiceFound", grant="g1", n=1, requested_by="delegation", **found_line),
        NOW,
        RULES,
    )["grant:g1"]
    (invoice,) = found.actions
    assert invoice.kind == "create_invoice" and invoice.params["client_id"] == 10
    [[line, amount, taxed]] = invoice.params["lines"]  # the owner's line is not taxed (the read said nothing of it)
    assert (amount, taxed) == ("14.95", False) and invoice.params["reference"] == "Delegated renewal 1, grant g1"
    created = decide_all(
        {"grant:g1": found.state or {}},
        event("RenewalInvoiceCreated", grant="g1", n=1, invoice_id=77, requested_by="delegation"),
        NOW,
        RULES,
    )["grant:g1"]
    assert {"invoice:77", "invoice:42"} <= set(created.refs or [])
    return created.state or {}, [find, invoice]


def invoice_text(action: Action, lang: str) -> tuple[str, str]:
    """The agency's invoice line and notes as the executor renders them for a reader of `lang`."""
    catalogue, reader = load.shipped(), Reader(lang, "EUR", UTC)
    line = action.params["lines"][0][0]
    notes = action.params["notes"]
    said = [catalogue.render(m["id"], m["data"], reader, Names()).body.strip() for m in (line, notes)]
    return said[0], f"{action.params['reference']}: {said[1]}"


@pytest.mark.parametrize(
    ("lang", "line", "notes"),
    [
        (
            "en",
            "Renewal of hosting Business (boulangerie-dupont.fr) for Boulangerie Dupont, December 21, 2026 to "
            "January 20, 2027 (its line on their invoice #42)",
            "Delegated renewal 1, grant g1: paying this invoice renews hosting Business (boulangerie-dupont.fr) for "
            "Boulangerie Dupont: its next due date becomes January 21, 2027, and its line comes off their invoice #42.",
        ),
        (
            "fr",
            "Renouvellement de l'hébergement Business (boulangerie-dupont.fr) de Boulangerie Dupont, du 21 décembre "
            "2026 au 20 janvier 2027 (ligne de sa facture #42)",
            "Delegated renewal 1, grant g1: le règlement de cette facture renouvelle l'hébergement Business "
            "(boulangerie-dupont.fr) de Boulangerie Dupont : sa prochaine échéance passera au 21 janvier 2027 et sa "
            "ligne sera retirée de sa facture #42.",
        ),
        (
            "nl",
            "Verlenging van hosting Business (boulangerie-dupont.fr) van Boulangerie Dupont, 21 december 2026 t/m "
            "20 januari 2027 (regel op hun factuur #42)",
            "Delegated renewal 1, grant g1: met de betaling van deze factuur wordt hosting Business "
            "(boulangerie-dupont.fr) van Boulangerie Dupont verlengd: de volgende vervaldatum wordt 21 januari 2027 "
            "en de regel wordt van hun factuur #42 gehaald.",
        ),
    ],
)
def test_the_agencys_renewal_invoice_says_hosting_and_the_period_in_its_language(lang: str, line: str, notes: str):
    """Issue 16, eighth break round M3: the line was English with ISO dates, named no kind, and ended the period
    on the next due date (2027-01-21) where WHMCS's own line ends it the day before; the invoice was due at once."""
    _, [_, invoice] = renewing()
    assert invoice_text(invoice, lang) == (line, notes)
    assert invoice.params["duedate"] == "2026-12-21"


def test_a_renewal_already_due_is_invoiced_due_the_day_it_is_decided():
    """The owner's line was due before the agency asked (NOW is 23 November): the agency's invoice is due that day,
    not in the past; the period shown is still the line's."""
    _, [_, invoice] = renewing(due="2026-11-01", period="01/11/2026 - 30/11/2026")
    assert invoice.params["duedate"] == NOW.date().isoformat()
    line, _ = invoice_text(invoice, "en")
    assert "November 1, 2026 to November 30, 2026" in line


def test_a_domain_priced_at_its_tld_price_is_invoiced_as_a_domain_for_its_years():
    grant = granted(items=[{"kind": "domain", "id": 11}])
    asked = decide_all(
        {"grant:g1": grant}, event("DelegationCommand", command="renew", grant="g1", domain=11, by="lena"), NOW, RULES
    )["grant:g1"]
    priced = {"priced": True, "amount": "24.00", "due": "2027-03-10", "years": 2, "name": "boulangerie-dupont.fr"}
    found = decide_all(
        {"grant:g1": asked.state or {}},
        event("OpenInvoiceFound", grant="g1", n=1, requested_by="delegation", **priced),
        NOW,
        RULES,
    )["grant:g1"]
    (invoice,) = found.actions
    assert invoice_text(invoice, "fr")[0] == (
        "Renouvellement du nom de domaine boulangerie-dupont.fr de Boulangerie Dupont, du 10 mars 2027 au 9 mars 2029 "
        "(2 ans au tarif de renouvellement du domaine)"
    )
    assert invoice_text(invoice, "id")[0] == (
        "Perpanjangan nama domain boulangerie-dupont.fr milik Boulangerie Dupont, 10 Maret 2027 s.d. 9 Maret 2029 "
        "(2 tahun dengan harga perpanjangan domain)"
    )
    assert invoice.params["duedate"] == "2027-03-10"


def test_delegated_renewal_renews_the_one_service_once():
    grant, _ = renewing()
    paid = decide_all({"grant:g1": grant}, event("InvoicePaid", invoiceid=77), NOW, RULES)["grant:g1"]
    (apply,) = paid.actions
    assert apply.kind == "renew_service" and apply.params == {
        "service_id": 110,
        "from": "2026-12-21",
        "until": "2027-01-21",
        "owner_invoice": 42,
        "line_id": 5,
        "outcome_to": "DelegationRenewalApplied",
        "tell_parked": True,
    }
    # Renewed once, only while the grant stands (revocation wins), and only as invoiced, as WHMCS has things when it
    # runs: the period invoiced, the owner's line at the amount paid, nothing paid on the owner's invoice (nor on
    # another of its invoices billing that period, read then: reads.later_invoices).
    assert apply.guard == {
        "state_active": ["delegation", "grant:g1"],
        "renewal_settles": {
            "service_id": 110,
            "from": "2026-12-21",
            "until": "2027-01-21",
            "amount": "14.95",
            "owner_invoice": 42,
            "line_id": 5,
            "delegate_invoice": 77,
        },
    }
    again = decide_all({"grant:g1": paid.state or {}}, event("InvoicePaid", invoiceid=77), NOW, RULES)["grant:g1"]
    assert again.actions == []  # the payment reported twice (hook and poll): renewed once
    outcome = {"action_key": apply.key, "status": "done"}
    done = decide_all({"grant:g1": paid.state or {}}, event("DelegationRenewalApplied", **outcome), NOW, RULES)[
        "grant:g1"
    ]
    assert state_of(done)["renewals"][0]["status"] == "renewed"
    assert body(done.actions[0]).startswith("Business (boulangerie-dupont.fr) renewed until January 21, 2027")
    refunded = decide_all({"grant:g1": state_of(done)}, event("InvoiceRefunded", invoiceid=77), NOW, RULES)["grant:g1"]
    task = body(refunded.actions[0])
    assert (
        task.startswith("STAFF TASK: the renewal invoice #77 of Pixelwerk Agency (#10) was refunded") and "#42" in task
    )


@pytest.mark.parametrize(
    ("line", "due", "cycle", "why"),
    [
        ("Business (21/12/2026 - 20/01/2027)", "2026-12-21", "Monthly", None),
        ("Business (12/21/2026 - 01/20/2027)", "2026-12-21", "Monthly", None),  # WHMCS set to US dates
        ("Business (2026-12-21 - 2027-01-21)", "2026-12-21", "Monthly", None),
        ("Business (21.12.2026 - 20.03.2027)", "2026-12-21", "Quarterly", None),
        ("Business (21/12/2026 - 20/01/2027)", "2026-12-21", "Annually", "its line bills another period"),
        ("Business (21/11/2026 - 20/12/2026)", "2026-12-21", "Monthly", "its line bills another period"),
        ("Business renewal", "2026-12-21", "Monthly", "its line names no period"),
    ],
)
def test_the_renewal_period_is_the_one_the_owners_line_bills(line: str, due: str, cycle: str, why: str | None):
    start = date.fromisoformat(due)
    until = billing_periods.next_due(start, cycle)
    assert until is not None and renewal_scope.period_mismatch(line, start, until) == why


def test_delegated_renewal_both_paid_owner_first_cancelled_or_nothing_to_renew():
    grant, _ = renewing()
    paid = decide_all({"grant:g1": grant}, event("InvoicePaid", invoiceid=77), NOW, RULES)["grant:g1"]
    stopped = {"action_key": paid.actions[0].key, "status": "cancelled", "error": "guard service_due: renewed"}
    twice = decide_all({"grant:g1": state_of(paid)}, event("DelegationRenewalApplied", **stopped), NOW, RULES)[
        "grant:g1"
    ]
    assert state_of(twice)["renewals"][0]["status"] == "paid twice"
    assert twice.actions[0].params["client_id"] == 10 and twice.actions[0].params["sticky"] is True
    owner_first = decide_all({"grant:g1": grant}, event("InvoicePaid", invoiceid=42), NOW, RULES)["grant:g1"]
    cancel, told = owner_first.actions
    assert cancel.kind == "invoice_status" and cancel.params == {
        "invoice_id": 77,
        "status": "Cancelled",
        "outcome_to": "DelegationRenewalApplied",  # left part paid, it is a staff task (delegate_part_paid)
    }
    assert cancel.guard == {"invoices_open": [77], "nothing_paid": [77]} and not cancel.is_destructive
    assert shown(told)[0] == "Boulangerie Dupont already paid the renewal of Business (boulangerie-dupont.fr)"
    cancelled = decide_all({"grant:g1": grant}, event("InvoiceCancelled", invoiceid=77), NOW, RULES)["grant:g1"]
    assert state_of(cancelled)["renewals"][0]["status"] == "cancelled"
    # Paid once staff set it back to Unpaid: never ignored, WHMCS is read (issue 16, seventh break round H1).
    [read] = decide_all({"grant:g1": state_of(cancelled)}, event("InvoicePaid", invoiceid=77), NOW, RULES)[
        "grant:g1"
    ].actions
    assert read.kind == "read_renewal" and read.params["report"]["why"] == "paid cancelled"
    asked = decide_all(
        {"grant:g1": granted()}, event("DelegationCommand", command="renew", grant="g1", by="lena"), NOW, RULES
    )["grant:g1"]
    nothing = decide_all(
        {"grant:g1": asked.state or {}},
        event("OpenInvoiceFound", grant="g1", n=1, invoice_id=None, requested_by="delegation"),
        NOW,
        RULES,
    )["grant:g1"]
    assert shown(nothing.actions[0])[0] == "Nothing to renew yet for Business (boulangerie-dupont.fr)"


def test_the_delegate_paying_after_the_owner_paid_first_is_a_staff_task():
    """The owner paid; the delegate paid too before its invoice was cancelled: nothing renewed twice, staff told."""
    grant, _ = renewing()
    owner_first = decide_all({"grant:g1": grant}, event("InvoicePaid", invoiceid=42), NOW, RULES)["grant:g1"]
    paid = decide_all({"grant:g1": state_of(owner_first)}, event("InvoicePaid", invoiceid=77), NOW, RULES)["grant:g1"]
    # WHMCS is read first (eighteenth round HIGH 1): a payment it does not show is nobody's to refund.
    [read] = paid.actions
    assert read.kind == "read_renewal" and read.params["report"]["why"] == "paid owner paid"
    seen = {**read.params["report"], "delegate_status": "Paid", "delegate_paid": "14.95"}
    late = decide_all({"grant:g1": state_of(paid)}, event("RenewalRead", **seen), NOW, RULES)["grant:g1"]
    assert state_of(late)["renewals"][0]["status"] == "paid twice"
    task, told = late.actions
    assert task.kind == "client_note" and task.params["client_id"] == 10 and task.params["sticky"] is True
    assert body(task).startswith("STAFF TASK: Pixelwerk Agency (#10) paid invoice #77 to renew")
    # The delegate is told its payment did not renew it a second time (the owner paid too), not that it renewed it.
    assert told.kind == "email" and told.client_id == 10
    assert shown(told)[0] == "Your payment on invoice #77 is being checked by our staff"
    assert "has paid its renewal too, so it was not renewed a second time" in shown(told)[1]


def test_a_second_renewal_while_one_is_open_starts_nothing():
    grant, _ = renewing()
    again = decide_all(
        {"grant:g1": grant}, event("DelegationCommand", command="renew", grant="g1", by="lena"), NOW, RULES
    )["grant:g1"]
    assert again.actions == [] and len(state_of(again)["renewals"]) == 1
    assert "renewal 1 of service #110 is open" in state_of(again)["history"][-1]["reason"]


def administrative(users: list[int]) -> dict[str, Any]:
    command = grant_command(
        grant="a1", owner=12, role="administrative", items=[{"kind": "client", "id": 12}], basis="signed mandate"
    )
    made = decide_all({}, command, NOW, RULES)["grant:a1"]
    assert [a.params.get("client_id") for a in made.actions if a.kind == "refresh_client"] == [
        12,
        10,
    ]  # names, and the delegate's users
    context = {
        "userid": 10,
        "name": "Lena Vogel",
        "company": "Pixelwerk Agency",
        "users": [{"id": u, "is_owner": u == users[0]} for u in users],
        "requested_by": "delegation",
    }
    return (
        decide_all({"grant:a1": made.state or {}}, event("ClientContext", **context), NOW, RULES)["grant:a1"].state
        or {}
    )


def users_read(admin: dict[str, Any], order: dict[str, Any], users: list[int], owner_user: int = 7) -> dict[str, Any]:
    """The order's OrderPlaced, then WHMCS's answer to the read it asks for: the delegate's users and the owner's
    owner user now."""
    [read] = decide_all({"grant:a1": admin}, event("OrderPlaced", **order), NOW, RULES)["grant:a1"].actions
    assert read.kind == "refresh_client" and read.client_id == 10 and read.params["report"]["order"] == order
    assert read.params["owner_user_of"] == order["userid"]
    context = {
        "userid": 10,
        "users": [{"id": u, "is_owner": u == users[0]} for u in users],
        "requested_by": "delegation",
        "owner_user": owner_user,
        "order": order,
    }
    return decide_all({"grant:a1": admin}, event("ClientContext", **context), NOW, RULES)


def test_an_administrative_contacts_order_makes_it_technical_contact_of_what_it_ordered():
    admin = administrative([5])
    order = {
        "orderid": 1,
        "userid": 12,
        "requestor_id": 5,
        "lines": [
            {"type": "product", "relid": 121, "domain": "martin-notaires.fr"},
            {"type": "domain", "relid": 121, "domain": "martin-notaires.fr"},
        ],
    }
    # Who the agency's users are is read from WHMCS for every order, never taken from the grant's last read
    # (tenth break round H3): the order alone grants nothing yet.
    assert not any(
        k.startswith("grant:o") for k in decide_all({"grant:a1": admin}, event("OrderPlaced", **order), NOW, RULES)
    )
    new = users_read(admin, order, [5])["grant:o1-10"]
    assert new.state and new.state["role"] == "technical" and new.state["delegate"] == 10 and new.state["owner"] == 12
    assert [(i["kind"], i["id"]) for i in new.state["items"]] == [("service", 121), ("domain", 121)]
    assert new.state["order"] == {"id": 1, "user": 5, "via": "a1"} and new.actions
    note = next(a for a in new.actions if a.kind == "client_note" and a.client_id == 12)
    assert "(automatic: order #1 placed by a user of Pixelwerk Agency, the client's administrative contact)" in body(
        note
    )
    again = decide_all({"grant:a1": admin, "grant:o1-10": new.state}, event("OrderPlaced", **order), NOW, RULES)
    assert "grant:o1-10" not in again  # seen twice: only the read (the same action key) is asked again
    # No longer among the agency's users in WHMCS (the grant last read it there): nothing.
    assert set(users_read(admin, order, [6])) == {"grant:a1"}
    # A user invited since: WHMCS's answer decides.
    by_invited = {**order, "requestor_id": 99}
    assert users_read(admin, by_invited, [5, 99])["grant:o1-10"].state["order"]["user"] == 99
    # The owner's own (owner) user, also a user of the agency's account: her own order (tenth break round H2).
    hers = users_read(admin, by_invited, [5, 99], owner_user=99)
    assert not any(k.startswith("grant:o") for k in hers) and hers["grant:a1"].actions == []


def test_a_request_waits_for_the_owners_consent():
    command = grant_command(command="request", grant="r1", by="lena", basis="we build their site")
    asked = decide_all({}, command, NOW, RULES)["grant:r1"]
    assert asked.state and asked.state["status"] == "pending"
    assert not [a for a in asked.actions if a.kind == "email" and a.client_id == 11]  # not before the names are known
    named = decide_all({"grant:r1": asked.state}, event("ClientContext", **CONTEXT), NOW, RULES)["grant:r1"]
    email = next(a for a in named.actions if a.kind == "email" and a.client_id == 11)
    summary = email.params["consent"]["summary"]
    assert (
        load.shipped()
        .render(summary["id"], summary["data"], Reader("en", None, UTC), Names())
        .body.startswith(
            "Pixelwerk Agency asks to become the technical contact for Business (boulangerie-dupont.fr) in your account"
        )
    )
    assert (
        decide_all({"grant:r1": state_of(named)}, event("ClientContext", **CONTEXT), NOW, RULES)["grant:r1"].actions
        == []
    )  # once
    asked = named
    assert '<a href="{{ consent_link }}">' in load.shipped().templates[(email.params["msg"]["id"], "en")].body
    assert email.params["consent"] == {
        "purpose": "delegation",
        "subject": "r1",
        "summary": email.params["consent"]["summary"],
        "ttl_s": 7 * 86400,
    }
    pending_copy = decide_all(
        {"grant:r1": state_of(asked)},
        event(
            "EmailPreLog",
            userid=11,
            date="d",
            subject="SSL renewed",
            message="service #110",
            messagename="Service Unsuspension Notification",
            relid=110,
        ),
        NOW,
        RULES,
    )
    assert pending_copy == {}  # not active: no copies
    accepted = decide_all(
        {"grant:r1": state_of(asked)},
        event("DelegationCommand", command="consent", grant="r1", decision="accept", ip="192.0.2.7"),
        NOW,
        RULES,
    )["grant:r1"]
    assert (
        accepted.state and accepted.state["status"] == "active" and accepted.state["history"][-1]["ip"] == "192.0.2.7"
    )
    assert ("email", 10) in [(a.kind, a.client_id) for a in accepted.actions]
    twice = decide_all(
        {"grant:r1": accepted.state},
        event("DelegationCommand", command="consent", grant="r1", decision="decline"),
        NOW,
        RULES,
    )["grant:r1"]
    assert twice.state == accepted.state and twice.actions == []
    declined = decide_all(
        {"grant:r1": state_of(asked)},
        event("DelegationCommand", command="consent", grant="r1", decision="decline"),
        NOW,
        RULES,
    )["grant:r1"]
    assert declined.state and declined.state["status"] == "declined"


def test_the_bridges_own_emails_are_never_copied():
    grant = granted()
    own = "<p>Accept here: https://billing.example.com/bridge/consent/abc for boulangerie-dupont.fr</p>\n<!-- [wb-0123456789abcdef0123] -->"
    assert copy_of(grant, "Your consent is needed", own) == []


def copy_ended(grant: dict[str, Any], copy: Any, status: str) -> dict[str, Any]:
    """The grant after its copy's action ended with `status`, as the executor tells it (store/outbox.py)."""
    data = {"status": status, "at": NOW.isoformat(), "action_key": copy.key, **copy.params["outcome_facts"]}
    ended = decide_all({"grant:g1": grant}, event(copy.params["outcome_to"], **data), NOW, RULES)
    return (ended["grant:g1"].state or {}) if "grant:g1" in ended else grant


def test_the_owner_digest_lists_what_each_delegate_did():
    start = decide_all({}, grant_command(), NOW, RULES)
    assert start["digest"].due_at == NOW + timedelta(days=7)  # the first grant starts the digest clock
    second = grant_command(grant="g2", owner=12, items=[{"kind": "service", "id": 120}])
    assert "digest" not in decide_all({"digest": {"last": "x"}}, second, NOW, RULES)
    grant = granted()
    decided = decide_all(
        {"grant:g1": grant},
        event(
            "EmailPreLog",
            userid=11,
            date="d",
            subject="SSL certificate renewed",
            message="boulangerie-dupont.fr",
            messagename="Service Unsuspension Notification",
            relid=110,
        ),
        NOW,
        RULES,
    )["grant:g1"]
    # Seventeenth break round M1: the digest counts a copy once it was sent, as its action's outcome tells.
    assert not (decided.state or {}).get("activity")
    (copy,) = decided.actions
    copied = copy_ended(decided.state or {}, copy, "done")
    assert copy_ended(decided.state or {}, copy, "cancelled").get("activity") in (None, [])
    resolved_data = {
        "ticketid": 7,
        "writer": 10,
        "items": [{"kind": "service", "id": 110, "name": "boulangerie-dupont.fr", "owner": 11}],
        "state_key": "ticket:7:0",
        "requested_by": "delegation",
    }
    after_ticket = (
        decide_all({"ticket:7:0": {}, "grant:g1": copied}, event("TicketResolved", **resolved_data), NOW, RULES)[
            "grant:g1"
        ].state
        or {}
    )
    assert [a["what"] for a in after_ticket["activity"]] == ["copy", "ticket"]
    sent = decide_all(
        {"digest": {"last": NOW.isoformat()}, "grant:g1": after_ticket},
        Event(id="t", type="Tick", data={"key": "digest"}, source="timer"),
        NOW + timedelta(days=7),
        RULES,
    )
    (mail,) = sent["digest"].actions
    subject, text = shown(mail)
    assert mail.params["related_id"] == 11 and subject == "What Pixelwerk Agency did on your behalf"
    # By its template, not its subject: the grant's activity is kept for good (twenty-fourth break round MEDIUM 2).
    assert "<li>received a copy of 1 email we sent you: Service Unsuspension Notification</li>" in text
    assert "<li>contacted our support team once about it" in text
    assert "Depuis le 23 novembre 2026, Pixelwerk Agency" in body(mail, "fr")
    assert state_of(sent["grant:g1"])["activity"] == [] and sent["digest"].due_at == NOW + timedelta(days=14)
    quiet = decide_all(
        {"digest": {"last": "x"}, "grant:g1": state_of(sent["grant:g1"])},
        Event(id="t2", type="Tick", data={"key": "digest"}, source="timer"),
        NOW + timedelta(days=14),
        RULES,
    )
    assert quiet["digest"].actions == []  # nothing done: no email


def test_an_agency_user_ordering_for_a_client_without_a_grant_is_flagged():
    grant = granted()
    context = {
        "userid": 10,
        "name": "Lena Vogel",
        "company": "Pixelwerk Agency",
        "users": [{"id": 5, "is_owner": True}],
        "requested_by": "delegation",
    }
    grant = decide_all({"grant:g1": grant}, event("ClientContext", **context), NOW, RULES)["grant:g1"].state or {}
    assert grant["delegate_users"] == [5]
    order = {
        "orderid": 9,
        "userid": 40,
        "requestor_id": 5,
        "lines": [{"type": "product", "relid": 400, "domain": "newclient.fr"}],
    }
    (flag,) = decide_all({"grant:g1": grant}, event("OrderPlaced", **order), NOW, RULES)["grant:g1"].actions
    assert flag.kind == "client_note" and flag.params["client_id"] == 40 and flag.params["sticky"]
    assert "Make Owner" in body(flag) and "delegations grant --owner 40 --delegate 10" in body(flag)
    assert decide_all({"grant:g1": grant}, event("OrderPlaced", **{**order, "requestor_id": 6}), NOW, RULES) == {}
    assert (
        decide_all({"grant:g1": grant}, event("OrderPlaced", **{**order, "userid": 11}), NOW, RULES) == {}
    )  # its own end client


# --- what an email is: its template name and related id, never its words (issue 13) -------------------

ROOT_MAIL = "<p>ServerName: boulangerie-dupont.fr<br />Main IP: 192.0.2.7<br />Root pass: R00t-Vault-55</p>"
COPYING = DelegationSection(
    enabled=True,
    roles={
        "technical": RoleRights(
            copy_emails=["product", "domain", "invoice", "support", "general"],
            welcome_email="copy",
            support_authority=True,
        )
    },
)


def test_a_whole_account_grants_notice_names_the_service_whose_access_was_sent():
    """Break round 13, F13: under a grant on the whole account, the notice names the service the welcome email was
    for (its related id), not the account: the agency can tell which service's access details were sent."""
    (notice,) = copy_of(
        granted(items=[{"kind": "client", "id": 11}]),
        "New Account Information",
        "<p>Domain: boulangerie-dupont.fr Username: boulange Password: s3cret</p>",
        template="Hosting Account Welcome Email",
    )
    assert "s3cret" not in body(notice)
    assert "Boulangerie Dupont has received the access details for Business (boulangerie-dupont.fr)" in body(notice)


def test_the_dedicated_server_welcome_email_is_a_notice_by_default():
    """Its subject ("New Dedicated Server Information") has no welcome word, and "server" made it a
    product email copied as is, root password included."""
    (notice,) = copy_of(
        granted(), "New Dedicated Server Information", ROOT_MAIL, template="Dedicated/VPS Server Welcome Email"
    )
    assert "R00t-Vault-55" not in str(notice.params) and "has received the access details" in body(notice)


@pytest.mark.parametrize("listed", [True, False])
def test_a_renamed_or_translated_welcome_template(listed: bool):
    """Staff made "Bienvenue - hébergement" their hosting welcome email. Listed in the configuration as
    printing service access: a notice. Not listed: nothing at all, never a copy by guess."""
    name = "Bienvenue - hébergement"
    templates = {name: TemplateInfo(type="product", secret="service-access")} if listed else {}
    rules = DelegationSection(enabled=True, email_templates=templates)
    sent = copy_of(granted(), "Vos accès", "<p>Mot de passe : Mdp-9931</p>", template=name, rules=rules)
    assert "Mdp-9931" not in str([a.params for a in sent])
    assert [("has received the access details" in body(a)) for a in sent] == ([True] if listed else [])


@pytest.mark.parametrize(
    ("template", "subject", "message"),
    [
        (
            "Password Reset Validation",
            "Password Reset Validation",
            "https://billing.example.com/pwreset.php?key=9f8e7d",
        ),
        ("Automated Password Reset", "Your new password", "<p>Your new client area password is: Cl-7712</p>"),
        ("Client Signup Email", "Welcome", "<p>Email Address: marie@boulangerie-dupont.fr Password: Cl-7712</p>"),
        ("Client Email Address Verification", "Confirm Your Registration", "verify.php?token=55aa"),
    ],
)
def test_what_hands_over_the_account_is_never_copied(template: str, subject: str, message: str):
    """With `welcome_email: copy`, every category copied and a grant on the whole client, the password
    reset and the client-area password went to the delegate: an account takeover."""
    whole = {**granted(items=[{"kind": "client", "id": 11}]), "credentials": "copy"}
    assert copy_of(whole, subject, message, template=template, relid=11, rules=COPYING) == []
    # while a service's welcome email, which the owner chose to have copied, is copied
    (copy,) = copy_of(
        whole,
        "New Dedicated Server Information",
        ROOT_MAIL,
        template="Dedicated/VPS Server Welcome Email",
        rules=COPYING,
    )
    assert "R00t-Vault-55" in body(copy)


def test_an_email_without_template_name_is_not_copied():
    """A custom message, or an event from a hook older than version 2: nothing tells what it carries."""
    assert copy_of(granted(), "SSL certificate renewed", "<p>boulangerie-dupont.fr</p>", template=None) == []
    assert copy_of(granted(), "New Account Information", ROOT_MAIL, template=None) == []
    assert copy_of(granted(), "Some notice", "<p>boulangerie-dupont.fr</p>", template="A Template Nobody Listed") == []


def test_the_related_id_says_which_service_or_domain():
    """A grant on hosting 110 (boulangerie-dupont.fr): the domain of the same name (domain 11) is another
    thing, and so is another service whose email mentions the name."""
    grant = granted()
    assert (
        copy_of(
            grant,
            "Domain Registration Confirmation",
            "boulangerie-dupont.fr",
            template="Domain Registration Confirmation",
            relid=11,
        )
        == []
    )
    assert (
        copy_of(
            grant,
            "Service Suspension Notification",
            "about boulangerie-dupont.fr",
            template="Service Suspension Notification",
            relid=111,
        )
        == []
    )
    (copy,) = copy_of(
        grant,
        "Service Suspension Notification",
        "<p>suspended</p>",
        template="Service Suspension Notification",
        relid=110,
    )
    assert "about Business (boulangerie-dupont.fr)" in body(copy)  # named from the grant, not the text


# --- named templates per role (delegation.roles.ROLE.templates) ------------------------------------

NAMED = """\
whmcs:
  url: https://billing.example.com/
  identifier: ${WHMCS_API_IDENTIFIER}
  secret: ${WHMCS_API_SECRET}
receiver:
  secret: ${WHMCS_BRIDGE_WEBHOOK_SECRET}
state:
  path: state.db
delegation:
  enabled: true
  roles:
    technical:
      copy_emails: [product, domain]
      templates:
        copy: [Invoice Payment Reminder, Disk space warning]
        notice: [Domain Renewal Confirmation, Hosting Account Welcome Email]
        never: [Service Suspension Notification]
  email_templates:
    Disk space warning: {type: product, secret: none}
"""
ENV = {"WHMCS_API_IDENTIFIER": "i", "WHMCS_API_SECRET": "s", "WHMCS_BRIDGE_WEBHOOK_SECRET": "whsec_" + "A" * 32}


def named_rules(text: str = NAMED) -> DelegationSection:
    from pathlib import Path

    from whmcs_bridge.config.load import parse_config

    return parse_config(text, Path("/etc/whmcs-bridge/bridge.yaml"), ENV).delegation


def test_a_named_template_overrides_its_category():
    rules = named_rules()
    grant = granted()
    # An invoice email is no category the role copies, but the role names this one: copied (about the
    # invoice, so only a whole-account grant gets it).
    whole = granted(items=[{"kind": "client", "id": 11}])
    (reminder,) = copy_of(
        whole, "Payment reminder", "<p>due</p>", template="Invoice Payment Reminder", relid=501, rules=rules
    )
    assert "This is a copy" in body(reminder) and "<p>due</p>" in body(reminder)
    # A product email the role copies by category, named under never: nothing.
    assert copy_of(grant, "Suspended", "<p>x</p>", template="Service Suspension Notification", rules=rules) == []
    # A domain email named under notice: a notice without the email's text.
    domain = granted(items=[{"kind": "domain", "id": 11}])
    (told,) = copy_of(
        domain, "Renewed", "<p>Secret-ish text</p>", template="Domain Renewal Confirmation", relid=11, rules=rules
    )
    assert "Secret-ish text" not in str(told.params) and "received an email from us" in body(told)
    # A custom template named under copy (listed under email_templates): copied.
    (disk,) = copy_of(grant, "Disk space warning", "<p>95% used</p>", template="Disk space warning", rules=rules)
    assert "95% used" in body(disk)


def test_a_credential_template_named_copy_still_follows_the_owners_choice():
    rules = named_rules(
        NAMED.replace("notice: [Domain Renewal Confirmation, Hosting Account Welcome Email]", "notice: []").replace(
            "copy: [Invoice Payment Reminder, Disk space warning]", "copy: [Hosting Account Welcome Email]"
        )
    )
    (notice,) = copy_of(granted(), "Your hosting", ROOT_MAIL, template="Hosting Account Welcome Email", rules=rules)
    assert "R00t-Vault-55" not in str(notice.params) and "has received the access details" in body(notice)


@pytest.mark.parametrize(
    ("change", "line", "path"),
    [
        (("Disk space warning]", "Disk space warnin]"), 15, "delegation.roles.technical.templates.copy[1]"),
        (
            ("never: [Service Suspension Notification]", "never: [Nope]"),
            17,
            "delegation.roles.technical.templates.never[0]",
        ),
        # A template that hands over the account is never sent to a delegate: only `never` may name it.
        (
            ("copy: [Invoice Payment Reminder, Disk space warning]", "copy: [Automated Password Reset]"),
            15,
            "delegation.roles.technical.templates.copy[0]",
        ),
    ],
)
def test_an_unknown_named_template_is_a_config_error_at_its_line(change: tuple[str, str], line: int, path: str):
    from whmcs_bridge.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        named_rules(NAMED.replace(*change))
    assert f"bridge.yaml:{line}: {path}: expected " in str(caught.value), str(caught.value)


def test_the_digest_names_renewed_domains_as_well_as_services():
    """Found after the domain renewal was added: the digest listed renewed services only."""
    from whmcs_bridge.families.delegation.digest import activity

    done = activity(
        [
            {"at": "2026-11-20T10:00:00+00:00", "what": "renewal", "service": 110},
            {"at": "2026-11-21T10:00:00+00:00", "what": "renewal", "service": None, "domain": 11},
        ]
    )
    assert done["renewed"] == ["service:110", "domain:11"]


@pytest.mark.parametrize(
    ("listing", "path"),
    [
        ("    Hosting Account Welcome Email: {type: product, secret: none}\n", "Hosting Account Welcome Email"),
        ("    Automated Password Reset: {type: general, secret: service-access}\n", "Automated Password Reset"),
    ],
)
def test_a_whmcs_default_credential_template_cannot_be_listed_as_printing_less(listing: str, path: str):
    """From the second issue-16 break test: listing WHMCS's own welcome email with `secret: none` passed
    `check`, and its copy then carried the password to the delegate without the owner choosing it."""
    from whmcs_bridge.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        named_rules(NAMED + listing)
    assert f"bridge.yaml:20: delegation.email_templates.{path}.secret: expected " in str(caught.value), str(
        caught.value
    )


def rendered(msg: dict[str, Any], lang: str = "en") -> str:
    made = load.shipped().render(msg["id"], msg["data"], Reader(lang, "EUR", UTC), Names())
    return f"{made.subject or ''}\n{made.body}"


@pytest.mark.parametrize(
    ("lang", "orders", "copies"),
    [
        ("en", "place orders in", "cop"),
        ("fr", "passer des commandes", "copie"),
        ("nl", "bestellingen plaatsen op", "kopie"),
        ("id", "memesan atas nama", "salinan"),
    ],
)
def test_what_an_administrative_contact_may_do_is_what_both_sides_and_staff_read(lang, orders, copies):
    # The administrative role by default: no copies, no support authority, no renewal; it orders for the owner
    # (break round 9, M3). Nothing may promise copies, support or one-click renewals it will never get.
    decision = decide_all({}, grant_command(role="administrative"), NOW, RULES)["grant:g1"]
    told_owner, told_delegate = (rendered(a.params["msg"], lang) for a in decision.actions[4:6])
    footer = rendered(decision.actions[5].params["footer"], lang)
    request = grant_command(role="administrative", command="request", grant="r1", by="lena", basis="site")
    pending = decide_all({}, request, NOW, RULES)["grant:r1"]
    named = decide_all({"grant:r1": state_of(pending)}, event("ClientContext", **CONTEXT), NOW, RULES)["grant:r1"]
    consent = next(a for a in named.actions if a.kind == "email" and a.client_id == 11)
    asked, summary = rendered(consent.params["msg"], lang), rendered(consent.params["consent"]["summary"], lang)
    for text in (told_owner, told_delegate, asked, summary):
        assert orders in text and copies not in text.lower(), text
    assert "one click" not in footer and "renew" not in footer.lower()
    if lang == "en":
        assert "support team may deal" not in told_owner + asked + summary
    revoke = event("DelegationCommand", command="revoke", grant="g1", by="owner", reason="changed agency")
    ended = decide_all({"grant:g1": granted(role="administrative")}, revoke, NOW, RULES)["grant:g1"]
    reminded = granted(role="administrative", expires=(NOW + timedelta(days=30)).isoformat())
    reminders = decide_all({"grant:g1": reminded}, event("Tick"), NOW + timedelta(days=24), RULES)["grant:g1"]
    for told in (ended.actions[2], *reminders.actions):
        assert copies not in rendered(told.params["msg"], lang).lower()
    technical = decide_all({}, grant_command(), NOW, RULES)["grant:g1"]
    assert copies in rendered(technical.actions[4].params["msg"], lang).lower()
    assert orders not in rendered(technical.actions[4].params["msg"], lang)


def test_a_writer_holding_a_grant_without_support_authority_is_named_with_it_not_as_without_grant():
    note = resolved({"grant:g1": granted(role="administrative")}, writer=10, owner=11)
    assert "NO grant" not in note
    assert "Pixelwerk Agency (#10) holds grant g1 as administrative contact of Boulangerie Dupont (#11)" in note
    assert "WITHOUT support authority: do not act on its word for the owner" in note
