"""What delegation's staff tasks, notes and digests say, from the issue-16 break test's low findings (pure): a
domain's renewal is called a domain, a cancelled owner's invoice has no "other items still due", and a renewal
whose payment was refunded is not reported to the owner as paid."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_delegation_rules import NOW, RULES, body, event, grant_command, granted, shown, state_of
from whmcs_bridge.families.delegation import renewal, renewal_tasks
from whmcs_bridge.families.delegation.digest import digest
from whmcs_bridge.families.delegation.rules import decide_all, page_link


def grant_command_whole() -> Any:
    return grant_command(items=[{"kind": "client", "id": 11}])


def domain_renewal(**more: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Grant g1 (agency 10 for owner 11) with renewal 1 of domain 11, paid by the agency's invoice #77."""
    grant = granted(items=[{"kind": "domain", "id": 11}])
    entry = {
        "n": 1,
        "domain": 11,
        "status": "paid",
        "delegate_invoice": 77,
        "owner_invoice": 42,
        "line": 5,
        "amount": "12.00",
        "due": "2026-12-21",
        "until": "2027-12-21",
        "years": 1,
        "action": "renew-key",
        **more,
    }
    grant["renewals"] = [entry]
    return grant, entry


@pytest.mark.parametrize("lang", ["en", "fr", "nl", "id"])
def test_a_domains_staff_tasks_call_it_a_domain(lang: str):
    grant, entry = domain_renewal()
    twice = renewal_tasks.paid_twice(grant, entry, NOW, "renewed meanwhile")
    checked = renewal_tasks.needs_staff(grant, dict(entry, status="looking"), "Domain Renewal", "1 year(s)", "x", NOW)
    said = body(twice.actions[0], lang) + body(checked.actions[0], lang)
    words = {"en": ("domain", "service"), "fr": ("domaine", "service"), "nl": ("domein", "dienst")}
    if lang in words:
        right, wrong = words[lang]
        assert right in said.replace("boulangerie-dupont.fr", "") and f" {wrong} " not in said, said
    else:
        assert "layanan" not in said, said


def test_the_owners_invoice_cancelled_with_the_renewal_has_no_other_items_still_due():
    """The renewed line was the owner's invoice's only item: the executor cancelled the invoice (renew_service) and
    says so in its outcome; the note says the invoice was cancelled, not that its other items are still due."""
    grant, _ = domain_renewal()
    alone = {"status": "done", "action_key": "renew-key", "owner_invoice_left": "cancelled"}
    note = decide_all({"grant:g1": grant}, event("DelegationRenewalApplied", **alone), NOW, RULES)["grant:g1"]
    said = body(note.actions[0])
    assert "still due" not in said and "#42" in said and "cancelled" in said, said
    grant, _ = domain_renewal()
    cut = {"status": "done", "action_key": "renew-key", "owner_invoice_left": "kept"}
    note = decide_all({"grant:g1": grant}, event("DelegationRenewalApplied", **cut), NOW, RULES)["grant:g1"]
    assert "whose other items are still due" in body(note.actions[0])


def test_the_digest_says_a_refunded_renewal_was_refunded_not_paid():
    grant, _ = domain_renewal(status="renewed")
    grant["activity"] = [{"at": NOW.isoformat(), "what": "renewal", "domain": 11, "invoice": 77, "owner_invoice": 42}]
    refunded = decide_all({"grant:g1": grant}, event("InvoiceRefunded", invoiceid=77), NOW, RULES)["grant:g1"]
    sent = digest({"grant:g1": state_of(refunded)}, {}, NOW, RULES)["digest"].actions
    said = body(sent[0])
    assert "refunded" in said and "paid for it" not in said, said


@pytest.mark.parametrize("lang", ["en", "fr", "nl", "id"])
def test_a_whole_account_grant_is_not_named_after_its_owner_twice(lang: str):
    """A grant on the owner's whole account said "technical contact of Boulangerie Dupont for Boulangerie Dupont"
    (the account put where the services go): it says every service and domain of the account."""
    made = decide_all({}, grant_command_whole(), NOW, RULES)["grant:g1"]
    said = [shown(a, lang) for a in made.actions if a.kind in ("email", "client_note")]
    assert said, made.actions
    for subject, text in said:
        assert "for Boulangerie Dupont" not in subject + text and "pour Boulangerie Dupont" not in subject + text
    phrase = {"en": "every service and domain", "fr": "tous les services et domaines", "nl": "alle diensten",
              "id": "semua layanan"}[lang]  # fmt: skip
    assert all(phrase in subject + text for subject, text in said), said


def test_a_tickets_renew_while_another_contacts_renewal_invoice_is_open_sends_the_link_only():
    """M1 through a ticket: another contact's renewal invoice for the service is open as the bridge knows it. A
    ticket's [renew] starts nothing (no read of WHMCS's invoices, nothing invoiced): the delegate is sent its renewal
    page link, where WHMCS's facts decide at the click; the staff note says so, not "the renewal starts now"."""
    mine = granted()
    other = {
        **granted(),
        "id": "g2",
        "delegate": 21,
        "renewals": [{"n": 1, "service": 110, "status": "invoiced", "delegate_invoice": 88}],
    }
    mine["verified_ticket"] = 7
    data = {
        "ticketid": 7,
        "writer": 10,
        "items": [{"kind": "service", "id": 110, "name": "boulangerie-dupont.fr", "owner": 11}],
        "state_key": "ticket:7:0",
        "requested_by": "delegation",
        "renew": True,  # as an event queued before the upgrade says it
    }
    states = {"ticket:7:0": {"ticket": 7}, "grant:g1": mine, "grant:g2": other}
    decisions = decide_all(states, event("TicketResolved", **data), NOW, RULES)
    note, email = decisions["ticket:7:0"].actions
    said = body(note)
    assert "starts now" not in said and "was sent its renewal page link" in said, said
    assert email.kind == "email" and email.client_id == 10 and email.params["consent"]["purpose"] == "delegation-delegate"
    assert decisions["grant:g1"].actions == []


@pytest.mark.parametrize(
    ("lang", "said", "raw"),
    [("fr", "est annulé", "Cancelled"), ("nl", "is geannuleerd", "Cancelled"), ("id", "dibatalkan", "Cancelled")],
)
def test_whmcs_statuses_are_said_in_the_readers_language(lang: str, said: str, raw: str):
    """Break test LOW b: a French (Dutch, Indonesian) delegate read WHMCS's own word ("est Cancelled"); the
    catalogue says the status in the reader's language, the owner's invoice's too, and an unknown status as it is."""
    grant, entry = domain_renewal()
    seen = {"status": "Cancelled", "owner_status": "Paid", "delegate_status": "Paid", "delegate_paid": "12.00"}
    told = renewal_tasks.not_settled(grant, dict(entry), "ended", seen, NOW, "needs staff")
    text = body(told.actions[1], lang) + body(told.actions[0], lang)
    assert said in text and raw not in text and "Paid" not in text, text
    odd = renewal_tasks.not_settled(grant, dict(entry), "ended", {**seen, "status": "Quarantined"}, NOW, "x")
    assert "Quarantined" in body(odd.actions[1], lang)


@pytest.mark.parametrize(("lang", "paid"), [("en", "paid"), ("fr", "payé"), ("nl", "betaald"), ("id", "membayar")])
def test_the_owner_is_told_its_agency_paid_the_renewal(lang: str, paid: str):
    """Break test LOW c: when the agency's payment renewed the owner's domain, only staff's note said so; the owner
    gets an email too, in its language, naming the agency, the date it is renewed until and its own invoice."""
    grant, _ = domain_renewal()
    done = renewal.renewal_applied(
        grant, {"status": "done", "action_key": "renew-key", "owner_invoice_left": "kept"}, NOW
    )
    assert done is not None
    [email] = [a for a in done.actions if a.kind == "email"]
    assert email.client_id == 11, email
    text = shown(email, lang)[0] + body(email, lang)
    assert "Pixelwerk Agency" in text and paid in text and "#42" in text, text


@pytest.mark.parametrize(("lang", "ended"), [("en", "ended"), ("fr", "fin"), ("nl", "eindigde"), ("id", "berakhir")])
def test_a_delegate_whose_grant_ended_before_its_paid_renewal_ran_is_told(lang: str, ended: str):
    """Issue 16, noticed by the sixth break round: the agency paid while its grant was active, the grant ended
    before the renewal ran (its action cancelled: the grant no longer active); staff got a task, the agency that
    paid heard nothing about its money."""
    stopped = grant_ended_before_it_ran(owner_status="Unpaid", owner_line="12.00")
    kinds = sorted((a.kind, a.client_id) for a in stopped.actions)
    assert kinds == [("client_note", 10), ("email", 10)], kinds
    [email] = [a for a in stopped.actions if a.kind == "email"]
    text = body(email, lang)
    assert "#77" in text and ended in text, text


def grant_ended_before_it_ran(**seen: Any) -> Any:
    """Renewal 1 paid by the agency, its grant revoked before the renewal ran (its action cancelled), then WHMCS
    read (`seen`, as reads.renewal_now has it) for what it shows now: the rules' decision on that read."""
    grant, _ = domain_renewal()
    grant["status"] = "revoked"
    stopped = renewal.renewal_applied(grant, {"status": "cancelled", "action_key": "renew-key"}, NOW)
    assert stopped is not None
    [read] = stopped.actions
    assert read.kind == "read_renewal", stopped.actions
    report = {**read.params["report"], "status": "Active", "due": "2026-12-21", "delegate_status": "Paid"}
    return renewal.renewal_read(grant, {**report, "delegate_paid": "12.00", "owner_paid": "0.00", **seen}, NOW)


@pytest.mark.parametrize(
    ("seen", "shows", "not_said"),
    [
        # H2: killed during the owner-side UpdateInvoice, WHMCS had already cancelled the owner's invoice #42.
        ({"owner_status": "Cancelled"}, "invoice #42 of Boulangerie Dupont Cancelled", "still bills"),
        # H3: a parked DomainRenew that staff renewed by hand: WHMCS shows the new expiry and due date.
        (
            {"owner_status": "Unpaid", "owner_line": "12.00", "due": "2027-12-21", "expiry": "2027-12-21"},
            "next due date 2027-12-21, expiry date 2027-12-21",
            "nothing was renewed",
        ),
    ],
)
def test_a_grant_ended_before_the_paid_renewal_ran_states_what_whmcs_shows_now(
    seen: dict[str, Any], shows: str, not_said: str
):
    """Issue 16, seventh break round H2/H3: the staff task written when the grant ended before the paid renewal
    ran said from memory that nothing was renewed and the owner's invoice still billed it; it states what WHMCS
    shows when it is written, and the agency gets one email."""
    decided = grant_ended_before_it_ran(**seen)
    [task] = [a for a in decided.actions if a.kind == "client_note"]
    said = body(task, "en")
    assert shows in said and not_said not in said, said
    assert [a.kind for a in decided.actions].count("email") == 1, decided.actions


def test_the_owner_is_not_offered_to_end_an_access_that_already_ended():
    """Seventh break round LOW: the renewal ran, then the grant was revoked before its outcome was heard; the
    owner's "paid by your agency" email offered the one-click link to end the agency's access, already ended."""
    grant, _ = domain_renewal()
    grant["status"] = "revoked"
    done = renewal.renewal_applied(grant, {"status": "done", "action_key": "renew-key"}, NOW)
    assert done is not None
    [email] = [a for a in done.actions if a.kind == "email"]
    linked = page_link(email, grant, RULES)
    assert "footer" not in linked.params and "consent" not in linked.params, linked.params
    active = page_link(email, {**grant, "status": "active"}, RULES)
    assert "consent" in active.params
