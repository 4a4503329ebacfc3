"""Issue 16, twenty-third break round (delegation) LOW 5: an invited user asking for a transfer code or a password in
common French, Dutch and Indonesian wording got only the general caution on the staff note, not the WARNING."""

from __future__ import annotations

import pytest

from whmcs_bridge.families.delegation.copies import SENSITIVE


@pytest.mark.parametrize(
    "text",
    [
        "Pouvez-vous m'envoyer le code d'autorisation de cabinet-martin.fr ?",
        "Merci de nous donner le code AUTH du domaine.",
        "J'ai perdu le mot-de-passe, pouvez-vous l'envoyer ?",
        "Kunt u de autorisatiecode van cabinet-martin.fr sturen?",
        "Verplaats cabinet-martin.fr naar ons account, graag.",
        "Mohon kirim kode otorisasi untuk domain cabinet-martin.fr.",
    ],
)
def test_transfer_codes_and_passwords_in_other_words_are_warned_about(text: str):
    assert SENSITIVE.search(text), text


@pytest.mark.parametrize("text", ["Le site est lent depuis ce matin.", "Graag de factuur van mei.", "Situs lambat."])
def test_everyday_words_still_are_not(text: str):
    assert not SENSITIVE.search(text), text
