"""Twenty-fifth break round (evidence and the names a ticket gives): a live one-time link rewritten by Proofpoint URL
Defense (v1, v2, v3) was accepted as evidence (HIGH); a name was read out of a longer one written with U+1680 (a space
drawn as a dash) or with emphasis markup on part of it, and a name with Cyrillic or Greek look-alike letters was not
read at all (HIGH); the webhook secret as PHP's json_encode writes it or percent-encoded was accepted as evidence
(MEDIUM); French and Dutch wordings of unlocking a domain or changing the account's email or phone got no warning
(LOW)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.test_evidence_round24 import LINK, TOKEN, safelinks
from tests.test_ownership_e2e import World, open_and_document, vendor_world
from whmcs_bridge.errors import BridgeError
from whmcs_bridge.evidence.files import refuse_secrets
from whmcs_bridge.evidence.links import refuse_live_links
from whmcs_bridge.families.delegation.copies import SENSITIVE, ticket_opened
from whmcs_bridge.names import domain_names

# --- 1 (HIGH): a live link rewritten by Proofpoint URL Defense -------------------------------------------------


def proofpoint_v2(link: str) -> str:
    """As URL Defense v2 writes a link: percent-encoded ('-' and '_' too), then '%' as '-' and '/' as '_'."""
    encoded = urllib.parse.quote(link, safe="").replace("-", "%2D").replace("_", "%5F")
    return (
        "https://urldefense.proofpoint.com/v2/url?u=" + encoded.replace("%", "-").replace("-2F", "_")
        + "&d=DwMFaQ&c=euGZstcaTDllvimEN8b7jXrwqOf-v5A_CdpgnVfiiMM&r=abc&m=def&s=ghi&e="
    )  # fmt: skip


def proofpoint_v1(link: str) -> str:
    return (
        "https://urldefense.proofpoint.com/v1/url?u=" + urllib.parse.quote(link, safe="")
        + "&k=oIdAB%2F1vXiX0WUoDHcG2Vw%3D%3D%0A&r=abc%3D%0A&m=def%0A&s=ghi"
    )  # fmt: skip


def proofpoint_v3(link: str, replaced: str = "") -> str:
    """As URL Defense v3 writes a link: as it is between __ and __, each character it replaced by '*' given after
    ';' in URL-safe base64."""
    return f"https://urldefense.com/v3/__{link}__;{replaced}!!NLFGqXoFfo8MMQ!vW1Lw8Kc6Fd9hR6Zx1rsjO1gzQ2FPvD0$"


PROOFPOINT = {
    "v2 (u=http-3A__host_consent_TOKEN)": f"We object.\n> Answer here: {proofpoint_v2(LINK)}\n",
    "v1 (u= percent-encoded)": f"We object.\n> Answer here: {proofpoint_v1(LINK)}\n",
    "v3 (__URL__;!!...)": f"We object.\n> Answer here: {proofpoint_v3(LINK)}\n",
    "v3 with '*' standing for the '/'": f"Answer: {proofpoint_v3(LINK.replace('/consent/', '/consent*'), 'Lw')}\n",
    "v2 inside Safe Links": f"We object.\n{safelinks(proofpoint_v2(LINK))}\n",
    "Safe Links inside v2": f"We object.\n{proofpoint_v2(safelinks(LINK))}\n",
    "v2 in an HTML email": f'<p><a href="{proofpoint_v2(LINK).replace("&", "&amp;")}">answer</a></p>',
}


@pytest.mark.parametrize("name", PROOFPOINT)
def test_a_live_link_rewritten_by_proofpoint_is_found(name: str):
    with pytest.raises(BridgeError, match="live one-time link"):
        refuse_live_links("evidence", PROOFPOINT[name].encode(), lambda token: token == TOKEN)
    refuse_live_links("evidence", PROOFPOINT[name].encode(), lambda token: False)  # used or expired: taken


def test_a_token_ending_in_dashes_or_underscores_is_read_whole_from_proofpoint_v2_and_v3():
    token = "Q2x7bD9kR3tLw9nB7cY3dH-_"
    link = f"http://127.0.0.1:8080/consent/{token}"
    for text in (proofpoint_v2(link), proofpoint_v3(link)):
        with pytest.raises(BridgeError, match="live one-time link"):
            refuse_live_links("evidence", text.encode(), lambda seen: seen == token)


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    yield from vendor_world(sandbox, tmp_path)


def test_a_forwarded_email_holding_the_holders_link_in_proofpoint_form_is_refused(world: World):
    """The repro: the holder's mailbox rewrote the live link with URL Defense v2; the forward was attached, and the
    link decoded from it recorded the holder's consent."""
    case_id = open_and_document(world, "domain:20")
    link = world.link(20, "Ownership request")
    forwarded = (
        "From: budi@kreatifstudio.id\r\nSubject: Fwd: Ownership request\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\nForwarded, I have not decided yet.\r\n\r\n> Answer here: {proofpoint_v2(link)}\r\n"
    ).encode()
    args = [case_id, world.file("fwd.eml", forwarded), "--kind", "other", "--from", "holder", "--via", "email"]
    refused = world.fail("ownership", "attach", *args, "--by", "alice")
    assert "live one-time link" in refused, refused


# --- 2 (HIGH): a name read out of a longer one, and look-alike letters ------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "the FTP password of boulangerie\u1680dupont.fr please",  # OGHAM SPACE MARK: a space drawn as a dash
        "the FTP password of boulangerie-**dupont.fr** please",  # Markdown bold on part of the name
        "the FTP password of boulangerie-*dupont.fr* please",
        "the FTP password of boulangerie-__dupont.fr__ please",
        "the FTP password of boulangerie-~~dupont.fr~~ please",
        "the FTP password of boulangerie-`dupont.fr` please",
        "the FTP password of boulangerie-<b>dupont.fr</b> please",
        "the FTP password of boulangerie-<strong>dupont.fr</strong> please",
        '<p>the FTP password of boulangerie-<span style="color:red">dupont.fr</span> please</p>',
        "the FTP password of boulangerie&#8209;dupont.fr please",  # an HTML character reference for U+2011
    ],
)
def test_a_name_glued_by_a_space_drawn_as_a_dash_or_by_emphasis_reads_whole(text: str):
    assert domain_names(text) == ["boulangerie-dupont.fr"]


@pytest.mark.parametrize(
    "text",
    [
        "the site **dupont.fr** is down",
        "the site <b>dupont.fr</b> is down",
        "the site *dupont.fr* is down",
        "<p>the site</p><p>dupont.fr</p><br>is down",
        "the site\u00a0dupont.fr is down",  # a no-break space is a space
        "the site\u3000dupont.fr is down",
    ],
)
def test_emphasis_or_a_space_around_a_whole_name_still_reads_it(text: str):
    assert domain_names(text) == ["dupont.fr"]


@pytest.mark.parametrize(
    "text",
    [
        "the FTP password of dup\u043ent.fr please",  # Cyrillic o
        "the FTP password of \u0440\u0430yp\u0430l.com please",  # Cyrillic p and a: "paypal.com"
        "the FTP password of dup\u03bfnt.fr please",  # Greek omicron
        "the FTP password of DUP\u039fNT.FR please",  # Greek capital omicron
    ],
)
def test_lookalike_letters_read_as_the_name_they_show(text: str):
    shown = "paypal.com" if "yp" in text else "dupont.fr"
    assert domain_names(text) == [shown]


def test_a_name_in_another_script_without_latin_lookalikes_is_left_alone():
    assert domain_names("see \u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444 and garage-roy.fr") == ["garage-roy.fr"]


def test_a_ticket_naming_a_lookalike_or_glued_name_asks_who_owns_the_name_shown():
    now = datetime(2026, 11, 29, 6, tzinfo=UTC)
    for message, names in [
        ("Send the FTP password of boulangerie\u1680dupont.fr please", ["boulangerie-dupont.fr"]),
        ("Send the FTP password of boulangerie-**dupont.fr** please", ["boulangerie-dupont.fr"]),
        ("Send the FTP password of b\u043eulangerie-dupont.fr please", ["boulangerie-dupont.fr"]),
    ]:
        data = {"ticketid": 7, "userid": 10, "subject": "FTP", "message": message}
        (resolve,) = ticket_opened(data, now).actions
        assert resolve.params["names"] == names, message


# --- 3 (MEDIUM): the webhook secret as PHP's json_encode writes it, or percent-encoded ---------------------------

HOOK = "whsec_xgts5Y+eyL/vdm6MkLUQPpq/ucqx09E7bG+w5FNZw/8="
HOOK_SECRETS = [("the value of WHMCS_BRIDGE_WEBHOOK_SECRET", HOOK.encode())]


@pytest.mark.parametrize(
    "text",
    [
        '{"url":"https://bridge.example/hooks/whmcs","secret":"' + HOOK.replace("/", "\\/") + '"}',
        "body: url=x&secret=" + urllib.parse.quote(HOOK, safe="") + "&save=1",
        "body: secret=" + re.sub("%..", lambda m: m.group(0).lower(), urllib.parse.quote(HOOK, safe="")),  # %2b
        "GET /hooks?secret=" + urllib.parse.quote(HOOK) + " HTTP/1.1",  # '/' left as it is
        "body: secret=" + urllib.parse.quote_plus(HOOK),
    ],
)
def test_the_webhook_secret_escaped_for_json_or_a_form_is_refused(text: str):
    with pytest.raises(BridgeError, match="WHMCS_BRIDGE_WEBHOOK_SECRET"):
        refuse_secrets("evidence", text.encode(), HOOK_SECRETS)


def test_a_file_without_the_secret_in_any_form_is_accepted():
    refuse_secrets("evidence", b'{"url":"https:\\/\\/bridge.example\\/hooks","secret":"whsec_other%2B"}', HOOK_SECRETS)


# --- 4 (LOW): French and Dutch wordings of unlocking a domain or changing the account's email or phone ----------


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, pouvez-vous débloquer le domaine boulangerie-dupont.fr ? Merci, Lena",
        "Bonjour, pouvez-vous debloquer le nom de domaine ?",
        "Le domaine boulangerie-dupont.fr est à débloquer.",
        "Bonjour, merci de retirer le verrou de boulangerie-dupont.fr. Lena",
        "Merci d'enlever le verrouillage du domaine",
        "Goedemiddag, kunt u het e-mailadres van het account van boulangerie-dupont.fr wijzigen naar lena@pixelwerk.agency?",
        "Kunt u het telefoonnummer van boulangerie-dupont.fr aanpassen naar 0612345678?",
        "Kunt u het e-mailadres aanpassen?",
        "Graag het e-mailadres van het account bijwerken",
        "Kunt u het domein deblokkeren?",
    ],
)
def test_french_and_dutch_unlocking_and_contact_changes_warn(text: str):
    assert SENSITIVE.search(text), text


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, pouvez-vous débloquer mon adresse IP du pare-feu ?",
        "Mijn telefoonnummer is 0612345678, de site is traag.",
        "Het e-mailadres werkt goed, de pagina laadt traag.",
    ],
)
def test_ordinary_french_and_dutch_do_not_warn(text: str):
    assert not SENSITIVE.search(text), text
