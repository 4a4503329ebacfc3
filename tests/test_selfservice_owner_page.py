"""The owner's own self-service page names what each grant covers: a grant on the whole account is said to
cover every service and domain of the account, in the page's language, not by the owner's own name (the
issue-16 break test: 'Technical contact for Garage Leroy' on Garage Leroy's page)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from whmcs_bridge.messages.load import shipped
from whmcs_bridge.web.selfservice import SelfService

WHOLE = {
    "en": "every service and domain of your account",
    "fr": "tous les services et domaines de votre compte",
    "nl": "alle diensten en domeinen van uw account",
    "id": "semua layanan dan domain di akun Anda",
}


def page(lang: str, items: list[dict[str, Any]]) -> str:
    pages = SelfService(lambda: None, shipped(), ZoneInfo("UTC"), may_renew=lambda _: True, pay_link=str)  # type: ignore[arg-type, return-value]
    grant = {
        "id": "g1",
        "owner": 11,
        "owner_name": "Garage Leroy",
        "delegate": 10,
        "delegate_name": "Pixelwerk",
        "role": "technical",
        "since": "2026-11-20",
        "status": "active",
        "items": items,
    }
    return pages.owner_page(SimpleNamespace(subject="11", expires_at="2026-12-03T10:00:00+00:00"), [grant], lang)  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", sorted(WHOLE))
def test_a_whole_account_grant_is_not_named_by_the_owners_name_on_the_owners_page(lang: str):
    shown = page(lang, [{"kind": "client", "id": 11}])
    row = shown[shown.index("Pixelwerk</h2>") :]
    assert WHOLE[lang] in row and "Garage Leroy" not in row, row


def test_a_grant_on_named_items_names_them():
    shown = page("en", [{"kind": "service", "id": 110, "name": "Hosting (garage-leroy.fr)"}])
    assert "Technical contact for Hosting (garage-leroy.fr) since" in shown


def test_a_hosting_and_a_domain_of_one_name_are_two_things_on_the_owners_page():
    """Hostile round of issue 16 (finding 3): a grant on hosting #110 and domain #11, both boulangerie-dupont.fr,
    read as one name once; each is now named, with its id where the name alone does not tell them apart."""
    shown = page(
        "en",
        [
            {"kind": "service", "id": 110, "name": "boulangerie-dupont.fr"},
            {"kind": "domain", "id": 11, "name": "boulangerie-dupont.fr"},
        ],
    )
    assert "boulangerie-dupont.fr (#110), boulangerie-dupont.fr (#11) since" in shown, shown
