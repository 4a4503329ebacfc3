"""What a renewal request may renew and what stops it (renewal_scope, pure; issue-16 break test M1 and M4): another
grant's renewal invoice for the same item refuses it by what WHMCS says of that invoice now, and a whole-account
grant names any item (WHMCS then says whether the owner holds it)."""

from __future__ import annotations

from typing import Any

import pytest

from whmcs_bridge.families.delegation import renewal_scope as scope

LISTED = {"id": "g1", "owner": 11, "items": [{"kind": "service", "id": 110}, {"kind": "domain", "id": 11}]}
WHOLE = {"id": "g2", "owner": 11, "items": [{"kind": "client", "id": 11}]}


@pytest.mark.parametrize(
    "found,says",
    [
        ([{"invoice": 12, "status": "Unpaid", "grant": "g9"}], "already open: invoice #12 (grant g9), Unpaid in WHMCS"),
        ([{"invoice": 12, "status": "Collections"}], "already open: invoice #12, Collections in WHMCS"),
        ([{"invoice": 12, "status": "Paid"}], "invoice #12 is paid and its renewal is not applied yet"),
        ([{"invoice": 1, "status": "Cancelled"}, {"invoice": 12, "status": "Unpaid"}], "invoice #12, Unpaid"),
        ([{"invoice": 12, "status": "Cancelled"}], None),
        ([{"invoice": 12, "status": "Refunded"}], None),
        ([{"invoice": 12, "status": "Deleted"}], None),
        ([], None),
    ],
)
def test_another_grants_invoice_refuses_by_what_whmcs_says_now(found: list[dict[str, Any]], says: str | None):
    why = scope.held("service", 110, found, None)
    if says is None:
        assert why is None and scope.blocking(found, None) is None
    else:
        assert why is not None and why.startswith("a renewal invoice for service #110 is already open") and says in why
        entry = scope.blocking(found, None)
        assert entry is not None and f"#{entry['invoice']}" in says


def test_only_the_owners_other_grants_open_renewals_of_the_same_item_count():
    mine = {**LISTED, "renewals": [{"n": 1, "service": 110, "status": "invoiced", "delegate_invoice": 5}]}
    other = {"id": "g3", "owner": 11, "renewals": [{"n": 1, "service": 110, "status": "looking"}]}
    closed = {"id": "g4", "owner": 11, "renewals": [{"n": 1, "service": 110, "status": "cancelled"}]}
    elsewhere = {"id": "g5", "owner": 12, "renewals": [{"n": 1, "service": 110, "status": "invoiced"}]}
    pending = scope.elsewhere([mine, other, closed, elsewhere], mine, "service", 110)
    assert pending == [{"grant": "g3", "n": 1, "invoice": None, "status": "looking", "due": None}]
    assert "being invoiced" in str(scope.being_invoiced("service", 110, pending))
    assert scope.elsewhere([mine, other], mine, "domain", 11) == []


@pytest.mark.parametrize(
    "grant,service,domain,wanted",
    [
        (LISTED, None, None, ("service", 110)),
        (LISTED, None, 11, ("domain", 11)),
        (LISTED, 120, None, "covers no service 120"),
        (WHOLE, 120, None, ("service", 120)),  # WHMCS then says whose it is
        (WHOLE, None, 13, ("domain", 13)),
        (WHOLE, None, None, "name the service or domain to renew"),
    ],
)
def test_what_a_grant_may_ask_to_renew(grant: dict[str, Any], service: Any, domain: Any, wanted: Any):
    if isinstance(wanted, tuple):
        assert scope.wanted_item(grant, service, domain) == wanted
    else:
        with pytest.raises(ValueError, match=wanted):
            scope.wanted_item(grant, service, domain)


def test_an_item_the_owner_does_not_hold_is_named_by_its_number():
    assert scope.not_the_owners("service", 120, 11, 12).startswith("service #120 belongs to client #12, not to client")
    assert scope.not_the_owners("domain", 99, 11, None).startswith("WHMCS has no domain #99")


EXPECT = {"from": "2026-12-21", "amount": "14.95", "owner_invoice": 2}
AS_INVOICED = {"status": "Active", "due": "2026-12-21", "owner_status": "Unpaid", "owner_paid": "0.00",
               "owner_line": "14.95"}  # fmt: skip


@pytest.mark.parametrize(
    "now,why",
    [
        ({}, None),
        ({"status": "Suspended"}, None),
        ({"status": "Cancelled"}, "ended"),  # H3: staff cancelled the service (and the owner's invoice)
        ({"status": "Terminated", "owner_status": "Cancelled"}, "ended"),
        ({"status": "Deleted", "due": None}, "ended"),
        ({"due": "2027-01-21", "owner_status": "Paid"}, scope.OWNER_PAID),  # H2: the owner paid, WHMCS renewed it
        ({"due": "2027-01-21"}, "renewed"),  # staff moved the date: not renewed again, no owner payment named
        ({"owner_status": "Cancelled"}, "owner invoice"),
        ({"owner_status": "Refunded"}, "owner invoice"),
        # Seventh break round M2: settled only from an Unpaid owner's invoice (GetInvoice `status`,
        # DD:api-reference/getinvoice.md); one in collections, pending a payment or a draft is staff's.
        ({"owner_status": "Collections"}, "owner invoice"),
        ({"owner_status": "Payment Pending"}, "owner invoice"),
        ({"owner_status": "Draft"}, "owner invoice"),
        ({"owner_paid": "5.00"}, "owner part paid"),
        ({"owner_line": None}, "line gone"),
        ({"owner_line": "9.95"}, "amount"),  # H4: staff lowered the owner's line
        ({"owner_line": "14.950"}, None),
        # Ninth break round H5: staff moved it to another client after the request, whatever else holds.
        ({"moved_to": 12}, scope.MOVED),
        ({"moved_to": 12, "owner_status": "Cancelled"}, scope.MOVED),
    ],
)
def test_a_paid_renewal_settles_only_as_invoiced_by_what_whmcs_says_now(now: dict[str, Any], why: str | None):
    assert scope.unsettled(EXPECT, {**AS_INVOICED, **now}) == why


def test_a_domain_priced_without_an_owners_invoice_settles_on_its_due_date_alone():
    expect = {"from": "2027-07-14", "amount": "12.00", "owner_invoice": None}
    assert scope.unsettled(expect, {"status": "Active", "due": "2027-07-14"}) is None
    assert scope.unsettled(expect, {"status": "Active", "due": "2028-07-14"}) == "renewed"


def later(status: str, paid: str = "0.00") -> dict[str, Any]:
    """An owner's invoice WHMCS made after the request that bills the period renewed (reads.later_lines)."""
    return {"invoice": 9, "status": status, "paid": paid, "lines": [12]}


@pytest.mark.parametrize(
    "owner_invoice,found,why",
    [
        (None, [later("Unpaid")], None),  # its line comes off when the renewal is applied
        (None, [later("Paid")], scope.OWNER_PAID),  # the owner paid it too: staff refund one payer
        (None, [later("Unpaid", "5.00")], "owner part paid"),
        (None, [later("Collections")], "owner invoice"),
        (None, [later("Payment Pending")], "owner invoice"),
        (40, [later("Paid")], scope.OWNER_PAID),  # the one it was priced from still open, another paid
        (40, [later("Unpaid")], None),
    ],
)
def test_an_owners_invoice_made_after_the_request_counts_at_settlement(
    owner_invoice: int | None, found: list[dict[str, Any]], why: str | None
):
    """Issue 16, break s13/s13b: the owner's invoices that bill the period, read from WHMCS at settlement, not only
    the one the renewal was priced from."""
    expect = {**EXPECT, "owner_invoice": owner_invoice}
    now = {**AS_INVOICED, "later": found} if owner_invoice else {"status": "Active", "due": EXPECT["from"], "later": found}
    assert scope.unsettled(expect, now) == why
    paid = scope.owner_paid(now)
    assert paid == (9 if why == scope.OWNER_PAID else None)


@pytest.mark.parametrize(
    "now,why",
    [
        ({"owner_status": "Cancelled"}, None),  # its own first write: the invoice cancelled, its only line
        ({"owner_line": None}, None),  # its own first write: the line deleted
        ({"owner_status": "Cancelled", "owner_paid": "5.00"}, "owner invoice"),  # it never cancels a paid one
        ({"owner_status": "Refunded"}, "owner invoice"),
        ({"owner_paid": "5.00"}, "owner part paid"),
        ({"owner_line": "9.95"}, "amount"),
        ({"status": "Cancelled"}, "ended"),
        ({"due": "2027-01-21", "owner_status": "Paid"}, scope.OWNER_PAID),
    ],
)
def test_a_renewal_resumed_after_an_unknown_outcome_takes_its_own_first_write_for_its_own(
    now: dict[str, Any], why: str | None
):
    """Fifth break test, H1: WHMCS applied the renewal's UpdateInvoice but answered after the timeout."""
    assert scope.unsettled({**EXPECT, "resumed": True}, {**AS_INVOICED, **now}) == why
