"""Twenty-seventh round (how a ticket's text is read for names and sensitive asks): a name written with a Markdown
link, a reference link, an HTML tag outside the emphasis list (<wbr>, <kbd>) or an HTML comment on part of it was
read as the shorter name the link holds (HIGH); a name written with an invisible mark (U+FE0F, U+034F), an Armenian
look-alike letter or a Markdown escape was not read at all, and staff got no note (MEDIUM); more French, Dutch,
Indonesian and English wordings of unlocking a domain or changing the account's email or phone got no warning
(LOW)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from whmcs_bridge.families.delegation.copies import ticket_opened
from whmcs_bridge.names import domain_names

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
