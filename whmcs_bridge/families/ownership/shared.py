"""What a case's two parties share, as WHMCS and their one-time links recorded it (pure): facts the reviewers read
before they approve. The holder's address on the requester's own mail domain (an ex-employee's work mailbox, which
the company reads, the holder's link included) and both parties' link answers from one IP address and browser say
who may have answered for whom; the bridge states them, staff judge (twenty-fourth break round, ownership MEDIUM 9).
A person who is a user of both accounts holds the holder's consent for staff (users_of_both)."""

from __future__ import annotations

from typing import Any


def mail_domain(address: str) -> str:
    """The domain of an email address as WHMCS holds it, case-folded ("" without one)."""
    local, at, domain = str(address or "").strip().rpartition("@")
    return domain.casefold() if at and local and domain else ""


def shared_mail_domain(case: dict[str, Any]) -> dict[str, str]:
    """The holder's address and the requester's when both are on one mail domain (the client profiles' emails the
    case recorded from GetClientsDetails, DD:api-reference/getclientsdetails.md; an outside requester's as given),
    as the review's fields; else empty ones."""
    holder = str(case["holder"].get("email") or "").strip()
    requester = str(case["requester"].get("email") or "").strip()
    domain = mail_domain(holder)
    if domain and domain == mail_domain(requester):
        return {"mail_domain": domain, "holder_email": holder, "requester_email": requester}
    if domain and claimed_mail(case, domain):
        # The holder's mailbox is on a domain the case moves: whoever runs its mail now may read the holder's link,
        # and the requester gets the holder's mail with the domain (twenty-sixth break round, ownership LOW 13). No
        # requester's address: the review's sentence says so (catalogue `staff_review`).
        return {"mail_domain": domain, "holder_email": holder, "requester_email": ""}
    return {"mail_domain": "", "holder_email": "", "requester_email": ""}


def claimed_mail(case: dict[str, Any], domain: str) -> bool:
    """Whether a mail domain is a domain the case claims (a domain, a hosting's), or a name under one."""
    names = {str(s.get("name") or "").strip().casefold() for s in case.get("subjects") or []} - {""}
    return any(domain == name or domain.endswith(f".{name}") for name in names if "." in name)


def one_browser(case: dict[str, Any]) -> dict[str, str]:
    """The IP address both parties answered their links from (and the browser, when that is one too), as the review's
    fields; else empty ones. Each link answer carries its consent.decided row's `ip` and `user_agent`
    (web/consent.py, flow.link_answer); answers staff recorded carry neither."""
    answers = [a for a in case.get("answers") or [] if a.get("ip")]
    pairs = [
        (r, h)
        for r in answers
        if r["party"] == "requester"
        for h in answers
        if h["party"] == "holder" and h["ip"] == r["ip"]
    ]
    same = [(r, h) for r, h in pairs if r.get("user_agent") and r.get("user_agent") == h.get("user_agent")]
    if same:
        return {"one_ip": str(same[0][0]["ip"]), "one_agent": str(same[0][0]["user_agent"])}
    return {"one_ip": str(pairs[0][0]["ip"]) if pairs else "", "one_agent": ""}


def users_of_both(case: dict[str, Any], holder_users_now: list[str] | None = None) -> list[str]:
    """The addresses that are the holder's (its own, its account's users') and the requester's (likewise) at once,
    as the case recorded both when it opened (GetClientsDetails `users`, DD:api-reference/getclientsdetails.md).
    One rule for both directions: the requester's person invited on the holder's account reads the holder's email
    history, where the holder's link is (twenty-fourth break round, ownership HIGH 4); the holder's login invited on
    the requester's account reads the requester's, and would see the hosting and its new access there (MEDIUM 10).
    Either way one person may answer for both parties: the holder's consent through its link waits for staff
    (flow.consent_held). The holder's account's users read when the answer came (`holder_users_now`,
    web/consent.holder_users) count too: one invited since the opening reads that history as well (twenty-fifth
    break round, ownership HIGH 4)."""
    now = [str(a).strip().casefold() for a in holder_users_now or []]
    return sorted((set(addresses(case["holder"])) | {a for a in now if a}) & set(addresses(case["requester"])))


# Mail domains anyone may have an address on (free mail): an address there says nothing of whose mailbox it is, so only
# the holder's own addresses on them count (holders_marks).
FREE_MAIL = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.id", "ymail.com", "rocketmail.com", "hotmail.com",
        "outlook.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
        "protonmail.com", "gmx.com", "gmx.net", "mail.com", "yandex.com", "zoho.com",
    }
)  # fmt: skip


def holders_marks(case: dict[str, Any]) -> dict[str, list[str]]:
    """What makes an address the holder's, for the steps that write or send to the new holder's address read at
    execution (the registrant's email, the welcome email with the new password): the addresses the case recorded for
    the holder and its account's users, and their mail domains but a free-mail one, the requester's own, or a domain
    the case hands over (mail there is the requester's from now on). The requester's profile email changed before the
    hand-over to one of these would give the holder the registrant's mailbox or the new password (twenty-sixth break
    round, ownership HIGH 3 and 4)."""
    own = addresses(case["holder"])
    theirs = {mail_domain(a) for a in addresses(case["requester"])}
    handed = {str(s.get("name") or "").casefold() for s in case.get("subjects") or []}
    domains = {mail_domain(a) for a in own} - theirs - handed - FREE_MAIL - {""}
    return {"addresses": sorted(set(own)), "domains": sorted(domains)}


def addresses(party: dict[str, Any]) -> list[str]:
    """A party's profile address and its account's users' addresses, case-folded."""
    found = [str(a).strip().casefold() for a in [party.get("email") or "", *(party.get("user_emails") or [])]]
    return [a for a in found if a]
