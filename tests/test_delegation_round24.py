"""Twenty-fourth break round (delegation): a domain name written with a look-alike hyphen read as a shorter
granted domain (HIGH 1); a full copy's subject at rest (MEDIUM 2); a request accepted after its last day (MEDIUM 3);
transfer-code wordings without a warning (LOW 4); ..."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from whmcs_bridge.families.delegation.copies import SENSITIVE, ticket_opened
from whmcs_bridge.names import domain_names


@pytest.mark.parametrize(
    "text",
    [
        "the FTP password of boulangerie\u2011dupont.fr please",  # non-breaking hyphen
        "the FTP password of boulangerie\u2010dupont.fr please",  # hyphen
        "the FTP password of boulangerie\u2013dupont.fr please",  # en dash
        "the FTP password of boulangerie\u2212dupont.fr please",  # minus sign
        "the FTP password of boulangerie\uff0ddupont.fr please",  # full-width hyphen-minus
    ],
)
def test_a_lookalike_hyphen_reads_as_the_whole_name(text: str):
    assert domain_names(text) == ["boulangerie-dupont.fr"]


@pytest.mark.parametrize(
    "text",
    [
        "the site garage\u200broy.fr is down",  # zero-width space inside the name
        "the site garage\u200droy.fr is down",  # zero-width joiner
        "the site garage\u2060roy.fr is down",  # word joiner
        "the site garage\ufeffroy.fr is down",  # zero-width no-break space
        "the site garage\u00adroy.fr is down",  # soft hyphen (shown only at a line break)
    ],
)
def test_an_invisible_character_is_not_a_place_where_a_name_starts(text: str):
    assert domain_names(text) == ["garageroy.fr"]


def test_full_width_dots_and_letters_read_as_their_ascii_name():
    assert domain_names("site \uff44\uff55\uff50\uff4f\uff4e\uff54\uff0e\uff46\uff52 please") == ["dupont.fr"]
    assert domain_names("site boulangerie-dupont\u3002fr please") == ["boulangerie-dupont.fr"]


@pytest.mark.parametrize("glue", ["\u00b7", "\u2027", "~", "+", "\u2043", "\u02d7", "\u2796", "%", "&", "^", "\u00b4"])
def test_no_shorter_name_is_read_out_of_a_longer_one(glue: str):
    assert "dupont.fr" not in domain_names(f"the FTP password of boulangerie{glue}dupont.fr please")


def test_names_after_ordinary_punctuation_and_links_still_read():
    text = (
        "See (dupont.fr), «roy.fr», \u201cgarage-leroy.fr\u201d; https://www.cabinet-martin.fr/x and "
        "site:ovh.com or [a.fr]\n"
        "b.fr/c.fr\t'd.fr'"
    )
    assert domain_names(text) == [
        "dupont.fr",
        "roy.fr",
        "garage-leroy.fr",
        "cabinet-martin.fr",
        "ovh.com",
        "a.fr",
        "b.fr",
        "c.fr",
        "d.fr",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "send me the auth-info",
        "the Auth Info code please",
        "AUTH_INFO please",
        "auth.info of the domain",
        "move the domain to another registrar",
        "we are moving boulangerie-dupont.fr to a new registrar",
        "déplacer le domaine chez un autre registrar",
        "changer de bureau d'enregistrement pour le domaine",
        "change the IPS tag to OURTAG",
        "please set the tag IPS of the .uk name",
        "put the domain in my name",
        "put boulangerie-dupont.fr in our name",
        "mettre le domaine à mon nom",
        "mettre le domaine au nom de notre société",
        "zet het domein op mijn naam",
        "zet het domein op naam van ons bedrijf",
        "pindahkan domain ke registrar lain",
        "ubah domain atas nama saya",
        "Domain dipindahkan ke registrar baru",
    ],
)
def test_auth_info_registrar_moves_ips_tags_and_names_are_warned_about(text: str):
    assert SENSITIVE.search(text), text


@pytest.mark.parametrize(
    "text",
    [
        "The author info on the blog page is wrong.",
        "My name is Lena, the site is slow.",
        "Le nom du site est faux sur la page.",
        "Mijn naam staat verkeerd op de factuur.",
        "Nama saya Lena, situs lambat.",
        "Please register a new domain for us.",
        "The tips on the page look odd.",
    ],
)
def test_ordinary_words_do_not_warn(text: str):
    assert not SENSITIVE.search(text), text


def test_a_ticket_spelling_a_word_with_a_lookalike_hyphen_still_warns():
    data = {"ticketid": 7, "userid": 10, "subject": "Domain", "message": "Send the auth\u2011info of roy.fr please"}
    (resolve,) = ticket_opened(data, datetime(2026, 11, 29, 6, tzinfo=UTC)).actions
    assert resolve.params["names"] == ["roy.fr"] and resolve.params["sensitive"] is True
