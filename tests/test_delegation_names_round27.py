"""Twenty-seventh round (how a ticket's text is read for names and sensitive asks): a name written with a Markdown
link, a reference link, an HTML tag outside the emphasis list (<wbr>, <kbd>) or an HTML comment on part of it was
read as the shorter name the link holds (HIGH); a name written with an invisible mark (U+FE0F, U+034F), an Armenian
look-alike letter or a Markdown escape was not read at all, and staff got no note (MEDIUM); more French, Dutch,
Indonesian and English wordings of unlocking a domain or changing the account's email or phone got no warning
(LOW)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import BridgeWorld, Sandbox
from tests.test_delegation_tickets_break12 import notes, open_ticket
from whmcs_bridge.families.delegation.copies import ticket_opened
from whmcs_bridge.names import domain_names, unread_names

NOW = datetime(2026, 11, 29, 16, tzinfo=UTC)

# --- 1 (HIGH): a Markdown link, an HTML tag or comment on part of a name -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "the FTP password of boulangerie-[dupont.fr](#) please",  # a Markdown link on part of the name
        'the FTP password of boulangerie-[dupont.fr](<#top> "title") please',
        "the FTP password of boulangerie-[dupont.fr][1].\n\n[1]: #top\n\nLena",  # a reference link
        "the FTP password of boulangerie-[dupont.fr][] please",
        "the FTP password of [boulangerie](#)-dupont.fr please",
        "the FTP password of boulangerie-<wbr>dupont.fr please",
        "the FTP password of boulangerie-<kbd>dupont.fr</kbd> please",
        "the FTP password of boulangerie-<abbr title='x'>dupont</abbr>.fr please",  # any inline tag
        "the FTP password of boulangerie-<!-- -->dupont.fr please",  # an HTML comment
        "the FTP password of boulangerie-<!-- garage-leroy.fr -->dupont.fr please",
    ],
)
def test_a_link_tag_or_comment_on_part_of_a_name_reads_the_name_shown(text: str):
    assert domain_names(text) == ["boulangerie-dupont.fr"]


@pytest.mark.parametrize(
    "text, names",
    [
        ("see [my site](https://garage-leroy.fr/contact) please", ["garage-leroy.fr"]),  # a link's target is read
        ('see <a href="https://garage-leroy.fr/">the site</a>', ["garage-leroy.fr"]),
        ("see boulangerie-[dupont.fr](https://garage-leroy.fr)", ["boulangerie-dupont.fr", "garage-leroy.fr"]),
        ("<p>the site</p><div>dupont.fr</div>", ["dupont.fr"]),  # a block ends a word
        ("the site<br>dupont.fr is down", ["dupont.fr"]),
        ("the site <https://dupont.fr/> is down", ["dupont.fr"]),  # an autolink is shown
        ("the site [dupont.fr] is down", ["dupont.fr"]),
    ],
)
def test_links_and_blocks_elsewhere_still_read_their_names(text: str, names: list[str]):
    assert domain_names(text) == names


def test_a_ticket_with_a_markdown_link_on_part_of_a_name_asks_who_owns_the_name_shown():
    data = {"ticketid": 7, "userid": 10, "subject": "FTP", "message": "FTP password of boulangerie-[dupont.fr](#)."}
    (resolve,) = ticket_opened(data, NOW).actions
    assert resolve.params["names"] == ["boulangerie-dupont.fr"]


# --- 2 (MEDIUM): invisible marks, Armenian look-alikes, Markdown escapes -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "the FTP password of boulangerie-dup\ufe0font.fr please",  # VARIATION SELECTOR-16 (Mn)
        "the FTP password of boulangerie-\u034fdupont.fr please",  # COMBINING GRAPHEME JOINER (Mn)
        "the FTP password of boulangerie-dupont\U000e0101.fr please",  # VARIATION SELECTOR-18
        "the FTP password of boulangerie-dup\u0585nt.fr please",  # Armenian o
        "the FTP password of b\u0585ulangerie-dup\u0585nt.fr please",
        "the FTP password of boulangerie\\-dupont.fr please",  # Markdown escapes
        "the FTP password of boulangerie-dupont\\.fr please",
    ],
)
def test_invisible_marks_lookalikes_and_escapes_read_as_the_name_shown(text: str):
    assert domain_names(text) == ["boulangerie-dupont.fr"]


def test_a_ticket_with_an_invisible_mark_in_a_name_asks_who_owns_it():
    data = {"ticketid": 7, "userid": 10, "subject": "FTP", "message": "FTP password of boulangerie-dup\ufe0font.fr"}
    (resolve,) = ticket_opened(data, NOW).actions
    assert resolve.params["names"] == ["boulangerie-dupont.fr"]


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[BridgeWorld]:
    sandbox.load("agency")
    w = BridgeWorld(sandbox, tmp_path, "delegation:\n  enabled: true\n")
    w.run("tick")
    yield w
    w.close()


def test_a_name_with_a_letter_read_as_no_latin_one_is_still_asked_about():
    text = "the FTP password of boulangerie-dup\u1d0fnt.fr please"  # U+1D0F LATIN LETTER SMALL CAPITAL O
    assert domain_names(text) == []
    assert unread_names(text) == ["boulangerie-dup\u1d0fnt.fr"]
    assert unread_names("see \u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444 and dupont.fr") == [
        "\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444"
    ]
    data = {"ticketid": 7, "userid": 10, "subject": "FTP", "message": text}
    (resolve,) = ticket_opened(data, NOW).actions
    assert resolve.params["names"] == ["boulangerie-dup\u1d0fnt.fr"]


@pytest.mark.parametrize(
    "message, named",
    [
        ("Please send us the FTP password of boulangerie-dupont-paris.fr. Lena", "boulangerie-dupont-paris.fr"),
        ("Please send us the site of boulangerie-dup\u1d0fnt.fr. Lena", "boulangerie-dup\u1d0fnt.fr"),
    ],
)
def test_a_name_whmcs_lists_for_no_client_gets_a_warning(world: BridgeWorld, message: str, named: str):
    """F5: a sensitive ask about a name WHMCS lists for nobody, or a name with a letter the bridge reads as no Latin
    one, got no note at all: staff are warned that the writer is verified for nothing of that name."""
    ticket = open_ticket(world, clientid=10, subject="Site", message=message)
    world.settle(2)
    said = notes(world, ticket)
    assert any("WARNING" in n and named in n for n in said), said


def test_an_ordinary_ask_naming_an_unknown_site_gets_no_note(world: BridgeWorld):
    ticket = open_ticket(world, clientid=10, subject="Slow", message="Our site links to example.org and is slow.")
    world.settle(2)
    assert notes(world, ticket) == []


def test_a_name_in_an_html_anchor_on_part_of_a_longer_one_reads_the_longer_one():
    text = '<p>FTP of boulangerie-<a href="https://garage-leroy.fr/">dupont.fr</a> please</p>'
    assert domain_names(text) == ["boulangerie-dupont.fr", "garage-leroy.fr"]


# --- 3 (LOW): more wordings of unlocking a domain or changing the account's email or phone -----------------------


def asks_sensitive(message: str) -> bool:
    data = {"ticketid": 7, "userid": 10, "subject": "boulangerie-dupont.fr", "message": message}
    (resolve,) = ticket_opened(data, NOW).actions
    return bool(resolve.params["sensitive"])


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, pouvez-vous débloquer boulangerie-dupont.fr ? Merci, Lena",
        "Bonjour, pouvez-vous debloquer boulangerie-dupont.fr dès que possible ? Lena",
        "Bonjour, boulangerie-dupont.fr est à débloquer.",
        "Bonjour, merci de mettre à jour l'adresse e-mail du compte de boulangerie-dupont.fr : lena@pixelwerk.agency",
        "Bonjour, le nouvel e-mail du compte boulangerie-dupont.fr est lena@pixelwerk.agency, merci de le mettre à jour.",
        "Bonjour, merci de mettre à jour le numéro de téléphone de boulangerie-dupont.fr : 0612345678",
        "Merci d'actualiser le téléphone du compte.",
        "Goedemiddag, kunt u boulangerie-dupont.fr deblokkeren?",
        "Goedemiddag, kunt u de domeinvergrendeling van boulangerie-dupont.fr opheffen?",
        "Kunt u de vergrendeling eraf halen?",
        "Kunt u het e-mailadres van boulangerie-dupont.fr vervangen door lena@pixelwerk.agency?",
        "Kunt u het telefoonnummer vervangen?",
        "Halo, tolong buka blokir domain boulangerie-dupont.fr",
        "Halo, tolong perbarui email akun boulangerie-dupont.fr menjadi lena@pixelwerk.agency",
        "Halo, tolong memperbarui nomor telepon akun saya",
        "Hello, please remove the lock on boulangerie-dupont.fr",
        "Hello, please lift the lock of the domain",
        "Hello, can the domain lock be turned off?",
        "Hello, please unblock boulangerie-dupont.fr",
        "Hello, please update the account's e-mail for boulangerie-dupont.fr to lena@pixelwerk.agency",
        "Hello, please send the pass<wbr>word for boulangerie-dupont.fr",  # markup inside a word is read through
    ],
)
def test_more_unlocking_and_contact_change_wordings_warn(text: str):
    assert asks_sensitive(text), text


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, pouvez-vous débloquer mon adresse IP du pare-feu ?",
        "Hello, please unblock my IP address, the site boulangerie-dupont.fr is down.",
        "Halo, tolong buka blokir IP saya.",
        "Mijn telefoonnummer is 0612345678, de site is traag.",
        "Le site boulangerie-dupont.fr est lent depuis la mise à jour de WordPress.",
        "The site is slow since the last WordPress update.",
        "Kunt u de afbeeldingen op de homepage vervangen?",
    ],
)
def test_ordinary_requests_do_not_warn(text: str):
    assert not asks_sensitive(text), text
