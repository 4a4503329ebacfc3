"""Twenty-fourth break round (delegation): a domain name written with a look-alike hyphen read as a shorter
granted domain (HIGH 1); a full copy's subject at rest (MEDIUM 2); a request accepted after its last day (MEDIUM 3);
transfer-code wordings without a warning (LOW 4); ..."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox, SelfServiceWorld, sql, staff_login
from tests.test_delegation_backlog_round23 import cron_burst
from tests.test_delegation_break12 import consent_link, world  # noqa: F401  (the fixture)
from tests.test_delegation_confirm_e2e import consent_link as confirm_link
from tests.test_delegation_confirm_e2e import grant as confirm_grant
from tests.test_delegation_confirm_e2e import world_with as confirm_world
from tests.test_delegation_e2e import grant_agency
from tests.test_delegation_email_e2e import grant as email_grant
from tests.test_delegation_email_e2e import report, send
from tests.test_delegation_email_e2e import world_with as email_world
from tests.test_delegation_identity_e2e import stored_text, world_with
from tests.test_delegation_rules import NOW, RULES, event, grant_command
from whmcs_bridge.cli import app as cli
from whmcs_bridge.families.delegation.copies import SENSITIVE, ticket_opened
from whmcs_bridge.families.delegation.rules import decide_all
from whmcs_bridge.names import domain_names
from whmcs_bridge.store.db import Database


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


MAINT = """  roles:
    technical:
      copy_emails: [product, domain]
      templates:
        copy: [Maint notice]
  email_templates:
    Maint notice:
      type: product
      secret: none
"""


def test_a_full_copys_subject_is_not_kept_in_its_outcome_either(sandbox: Sandbox, tmp_path: Path, worlds):
    """MEDIUM 2: the subject of a full copy (a template with no secret, its subject printing one a member of staff
    put there) was hashed in the message but kept in clear in the facts told back to the grant: the outbox row, the
    audit chain, the DelegationCopyEnded event and the grant's activity."""
    bridge = world_with(sandbox, tmp_path, worlds, MAINT)
    sandbox.control("template", {"name": "Maint notice", "type": "product",
                                 "subject": "Maint for {$service_domain} pw Hunter2xq",
                                 "message": "<p>Works on {$service_domain}</p>"})  # fmt: skip
    bridge.run("delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
              "--basis", "mandate")  # fmt: skip
    bridge.settle()
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Maint notice"})
    bridge.settle()
    assert [e for e in bridge.emails(10) if "Hunter2xq" in e["subject"]]  # copied in full, as the role says
    bridge.run("tick")
    assert b"Hunter2xq" not in stored_text(tmp_path / "state.db")


def test_a_request_accepted_after_its_last_day_ends_and_activates_nothing(world: SelfServiceWorld):  # noqa: F811
    """MEDIUM 3: a request (`grant --request ... --expires DAY`) whose owner clicked "accept" after DAY became active
    with its start after its end, and both sides were told it started; staff's `--expires` in the past is refused,
    and so is this acceptance: the page says the request's last day has passed, and the request ends."""
    grant_id = grant_agency(world, "--request", "--expires", date.today().isoformat(), by="lena",  # type: ignore[arg-type]
                            basis="a one-day fix").output.split()[0]  # fmt: skip
    world.settle()
    link = consent_link(world, 11)
    with Database(world.config.parent / "state.db") as db:  # its last day was yesterday: the owner clicks late
        sql(db, "UPDATE family_state SET state = json_set(state, '$.expires', ?) WHERE key = ?",
            "2020-01-01T23:59:59+01:00", f"grant:{grant_id}")  # fmt: skip
    answer = requests.post(link, data={"decision": "accept"}, timeout=5)
    assert answer.status_code == 409 and "last day of this request (2020-01-01) has passed" in answer.text, answer.text
    world.settle()
    shown = world.run("delegations", "show", grant_id).output
    assert "void" in shown and "active" not in shown.split("\n")[0], shown
    started = [e for e in world.emails(10) + world.emails(11) if "is now" in e["subject"]]
    assert started == [], started
    [told] = [e for e in world.emails(10) if "was not activated" in e["subject"]]
    assert "the last day of the request had passed" in told["message"], told["message"]


def test_the_rules_refuse_an_acceptance_decided_after_the_last_day_whatever_the_page_saw():
    """The page records the answer; the rules decide it later (a backlog, a pause): it is the decision's time that
    counts, as for staff's grant."""
    request = grant_command(command="request", expires="2026-11-23T23:59:59+01:00")
    grant = decide_all({}, request, NOW, RULES)["grant:g1"].state or {}
    assert grant["status"] == "pending"
    answer = event("DelegationCommand", command="consent", grant="g1", decision="accept", purpose="delegation")
    decided = decide_all({"grant:g1": grant}, answer, NOW + timedelta(days=2), RULES)["grant:g1"]
    assert decided.state and decided.state["status"] == "void", decided.state
    assert "last day" in decided.state["history"][-1]["reason"]
    assert not [a for a in decided.actions if a.kind == "email" and a.client_id == 11 and "told-owner" in a.key]


def test_a_custom_message_labelled_with_an_aborted_sends_template_is_not_copied(sandbox: Sandbox, tmp_path: Path):
    """HIGH 5: the PHP hook pairs each EmailPreSend with the next EmailPreLog of its client; one whose send another
    hook aborted (no EmailPreLog) left its template name waiting, and the custom message logged next in the same
    request took it: staff's "Your FTP password is now ..." went to the delegate as a Service Suspension
    Notification, in full. A copy goes only when the logged subject is one that template renders; otherwise the
    email is unknown: not copied, not even as a notice, and counted for staff."""
    bridge = email_world(sandbox, tmp_path)
    try:
        email_grant(bridge, "--service", "110")
        report(bridge, "msg_paired_wrongly", {
            "userid": 11, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "to": "marie@boulangerie-dupont.fr",
            "subject": "Your FTP access", "message": "<p>Your FTP password is now: hunter2</p>",
            "messagename": "Service Suspension Notification", "relid": 110,
        })  # fmt: skip
        bridge.settle()
        to_agency = bridge.emails(10)
        assert not [e for e in to_agency if "FTP" in e["subject"] or "Suspension" in e["subject"]], to_agency
        listed = json.loads(bridge.run("delegations", "templates", "--json").output)
        assert [(t["template"], t["count"]) for t in listed] == [("(custom message)", 1)], listed
        sent = send(bridge, "Service Suspension Notification", 110)  # the template's own email is still copied
        bridge.settle()
        assert [e for e in bridge.emails(10) if e["subject"] == f"[Copy] {sent['subject']}"], bridge.emails(10)
    finally:
        bridge.close()


def test_a_withdrawal_decided_after_the_owners_acceptance_in_a_backlog_is_refused_as_without_one(
    sandbox: Sandbox, tmp_path: Path
):
    """LOW 6: `delegations withdraw` typed while a backlog held the owner's acceptance exited 0 printing the grant
    "active", without saying the withdrawal did nothing; without a backlog it refuses with a sentence."""
    bridge = email_world(sandbox, tmp_path)
    try:
        asked = ["delegations", "grant", "--request", "--owner", "11", "--delegate", "10", "--service", "110",
                 "--by", "lena", "--basis", "site"]  # fmt: skip
        grant_id = bridge.run(*asked).output.split()[0]
        bridge.settle()
        cron_burst(tmp_path / "state.db", 600)
        link = confirm_link(bridge, 11, "Your consent is needed")
        assert requests.post(link, data={"decision": "accept"}, timeout=5).status_code == 200
        args = [
            "--config",
            str(bridge.config),
            "delegations",
            "withdraw",
            grant_id,
            "--by",
            "lena",
            "--reason",
            "not needed",
        ]
        out = bridge.runner.invoke(cli.main, args, env=staff_login(args))
        assert out.exit_code != 0, out.output
        assert f"grant {grant_id} is active: only a pending request can be withdrawn" in out.output, out.output
    finally:
        bridge.close()


def test_the_owner_hears_the_delegate_declined_a_staff_grant_not_that_a_request_was_withdrawn(
    sandbox: Sandbox, tmp_path: Path
):
    """LOW 6: under `confirm: both`, staff's grant declined by the delegate told the owner "the request of <delegate>
    was withdrawn", and the owner's link said "withdrawn by whoever made it": staff made it, the delegate declined."""
    both = confirm_world(sandbox, tmp_path, "both")
    try:
        confirm_grant(both)
        both.settle()
        owner = confirm_link(both, 11, "Your consent is needed")
        delegate = confirm_link(both, 10, "Please confirm: you become the technical contact")
        assert requests.post(delegate, data={"decision": "decline"}, timeout=5).status_code == 200
        both.settle()
        page = requests.get(owner, timeout=5).text
        assert "declined by the contact it named" in page and "whoever made it" not in page, page
        [told] = [e for e in both.emails(11) if "Pixelwerk Agency" in e["subject"] and "declined" in e["subject"]]
        assert "withdrawn" not in told["subject"] + told["message"], told
    finally:
        both.close()
