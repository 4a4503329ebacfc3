"""A payment on a renewal invoice the bridge had closed (issue 16, seventh break round H1): staff cancelled the
delegate's invoice by mistake, set it back to Unpaid, and the delegate paid it. The payment is never ignored: it
settles the renewal when WHMCS shows the owner's line still due, else it is a staff task and the delegate is told;
and no second renewal invoice is issued for the item while WHMCS shows the earlier one open or paid (pure rules)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_delegation_rules import NOW, RULES
from tests.test_delegation_wording import domain_renewal
from whmcs_bridge.families.delegation import renewal

# What WHMCS shows of renewal 1 (domain 11) when the reopened invoice #77 is paid: the owner's line still due.
STILL_DUE = {"status": "Active", "due": "2026-12-21", "owner_status": "Unpaid", "owner_paid": "0.00",
             "owner_line": "12.00", "delegate_status": "Paid", "delegate_paid": "12.00"}  # fmt: skip


@pytest.mark.parametrize(
    ("seen", "kinds", "status"),
    [
        ({}, ["renew_domain"], "paid"),
        ({"owner_status": "Cancelled"}, ["client_note", "email"], "needs staff"),
        ({"due": "2027-12-21"}, ["client_note", "email"], "needs staff"),
    ],
)
def test_a_payment_on_a_renewal_invoice_staff_had_cancelled_is_settled_or_a_staff_task(
    seen: dict[str, Any], kinds: list[str], status: str
):
    grant, entry = domain_renewal(status="cancelled", action=None)
    paid = renewal.renewal_payment(grant, "InvoicePaid", {"invoiceid": 77}, NOW)
    assert paid is not None
    [read] = paid.actions
    assert read.kind == "read_renewal", paid.actions
    decided = renewal.renewal_read(grant, {**read.params["report"], **STILL_DUE, **seen}, NOW)
    assert sorted(a.kind for a in decided.actions) == kinds, decided.actions
    assert entry["status"] == status


def test_no_second_renewal_invoice_while_whmcs_shows_the_earlier_one_open():
    grant, _ = domain_renewal(status="cancelled")
    asked = renewal.renew(grant, {"domain": 11, "by": "lena"}, NOW, RULES)
    [find] = asked.actions
    assert [o["invoice"] for o in find.params.get("others") or []] == [77], find.params
    new = grant["renewals"][-1]
    for whmcs_says in ("Unpaid", "Paid"):
        refused = renewal.refused_by_whmcs(grant, dict(new), {"others": [{"invoice": 77, "status": whmcs_says}]}, NOW)
        assert refused is not None and "invoice #77" in grant["history"][-1]["reason"], grant["history"][-1]
    assert renewal.refused_by_whmcs(grant, dict(new), {"others": [{"invoice": 77, "status": "Cancelled"}]}, NOW) is None


def test_another_agencys_renewal_invoice_staff_cancelled_is_asked_of_whmcs_too():
    """The two-agency variant (d2.sh): agency B's request asks WHMCS about agency A's cancelled invoice #8."""
    grant, _ = domain_renewal()
    grant["renewals"] = []
    other = {
        "id": "g3",
        "owner": 11,
        "renewals": [{"n": 1, "domain": 11, "status": "cancelled", "delegate_invoice": 8}],
    }
    asked = renewal.renew(grant, {"domain": 11, "by": "lena"}, NOW, RULES, others=[other])
    [find] = asked.actions
    assert [o["invoice"] for o in find.params.get("others") or []] == [8], find.params


def test_a_paid_renewal_invoice_whose_period_whmcs_shows_renewed_no_longer_blocks():
    """Noticed in the seventh round's fix: a renewal left to staff (paid, not applied) that staff then renewed by
    hand kept its item blocked for good, WHMCS showing its invoice Paid. It blocks only while WHMCS's next due date
    is still the one that invoice was for."""
    grant, _ = domain_renewal(status="needs staff")
    asked = renewal.renew(grant, {"domain": 11, "by": "lena"}, NOW, RULES)
    [find] = asked.actions
    [other] = find.params["others"]
    assert (other["invoice"], other["due"]) == (77, "2026-12-21"), other
    new = grant["renewals"][-1]
    paid = {**other, "status": "Paid"}
    assert renewal.refused_by_whmcs(grant, dict(new), {"others": [paid], "due": "2026-12-21"}, NOW) is not None
    assert renewal.refused_by_whmcs(grant, dict(new), {"others": [paid], "due": "2027-12-21"}, NOW) is None
