"""The ownership rules' building blocks (pure): policies and what a case requires, the case's
actions and history, the notices to the parties and staff, the side effects and checklist."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.families.ownership.config import OwnershipPolicy, OwnershipSection
from whmcs_bridge.model import Action, action_key
from whmcs_bridge.whmcs.whois import holder_details

FAMILY = "ownership"



class Rules:
    def __init__(
        self, section: OwnershipSection, department_id: int | None, staff_email: str | None, links: bool
    ) -> None:
        self.section = section
        self.department_id = department_id
        self.staff_email = staff_email
        self.links = links


def is_request(data: dict[str, Any], rules: OwnershipSection) -> bool:
    text = f"{data.get('subject') or ''} {data.get('message') or ''}".lower()
    if "[wb-" in text:  # a ticket the bridge itself opened
        return False
    return any(word.lower() in text for word in rules.request_words)


# --- policies -------------------------------------------------------------------------------------


def party_kind(party: dict[str, Any]) -> str:
    return "company" if (party.get("company") or "").strip() else "person"


def match_policy(
    rules: OwnershipSection, subject_kind: str, holder: dict[str, Any], requester: dict[str, Any], grounds: str
) -> tuple[str, OwnershipPolicy] | None:
    for name, policy in rules.policies.items():
        if subject_kind not in policy.subjects:
            continue
        if policy.holder != "any" and policy.holder != party_kind(holder):
            continue
        if policy.requester != "any" and policy.requester != party_kind(requester):
            continue
        if policy.grounds and grounds not in policy.grounds:
            continue
        return name, policy
    return None


def snapshot(policy: OwnershipPolicy) -> dict[str, Any]:
    """The policy as it stood when the case opened: later configuration changes do not change a case."""
    return {
        "evidence": [{"kind": e.kind, "max_age_days": e.max_age_days} for e in policy.evidence],
        "consent": policy.consent,
        "without_consent": policy.without_consent,
        "window_s": int(policy.window.total_seconds()),
        "approvals": policy.approvals,
        "lock_s": int(policy.lock.total_seconds()),
        "vendor_commission": policy.vendor_commission,
        "side_effects": list(policy.side_effects),
    }


def requirements(case: dict[str, Any]) -> dict[str, Any]:
    """The case's combined requirements: every subject's evidence, the longest window and lock, the
    most approvals."""
    policies = list(case["policies"].values())
    evidence: dict[str, Any] = {}
    for policy in policies:
        for rule in policy["evidence"]:
            ages = [a for a in (evidence.get(rule["kind"]), rule["max_age_days"]) if a]
            evidence[rule["kind"]] = min(ages) if ages else None
    return {
        "evidence": evidence,
        "window_s": max(p["window_s"] for p in policies),
        "approvals": max(p["approvals"] for p in policies),
        "lock_s": max(p["lock_s"] for p in policies),
    }


def missing_evidence(case: dict[str, Any], now: datetime) -> list[str]:
    """What is still needed before the holder is notified, as readable phrases."""
    out = []
    for kind, max_age in requirements(case)["evidence"].items():
        items = [e for e in case.get("evidence", []) if e["kind"] == kind and e["status"] == "ok"]
        if not items:
            pending = any(e["kind"] == kind and e["status"] == "pending" for e in case.get("evidence", []))
            out.append(f"{kind} ({'received, not yet checked' if pending else 'not received'})")
            continue
        if max_age and not any(
            e.get("dated") and datetime.fromisoformat(e["dated"]).date() >= (now - timedelta(days=max_age)).date()
            for e in items
        ):
            out.append(f"{kind} no older than {max_age} days")
    return out


# --- execution texts ---------------------------------------------------------------------------------


def side_effects(case: dict[str, Any]) -> list[str]:
    holder, requester = case["holder"], case["requester"]
    out = []
    for s in case["subjects"]:
        if s["hand_over"] == "move":
            out.append(f"{label(s)}: moves from client #{holder['client']} to {party_name(requester)}")
        elif s["hand_over"] == "backup-only":
            out.append(
                f"{label(s)}: stays with client #{holder['client']}; {party_name(requester)} gets a backup of its data only"
            )
        else:
            out.append(f"{label(s)}: stays with client #{holder['client']} (no consent)")
    moving = [s for s in case["subjects"] if s["hand_over"] == "move"]
    if moving:
        out.append("Delegations (technical and administrative contacts) on the moved subjects end")
        out.append(f"Invoices already issued stay with client #{holder['client']}; new ones go to the new holder")
    if any(s["kind"] == "service" for s in moving):
        out.append("The service's control-panel password is changed (the holder may know it)")
    if any(s["kind"] == "domain" for s in moving):
        out.append("The domain's WHOIS registrant becomes the requester (previous details kept in the dossier)")
    if any(p["vendor_commission"] for p in case["policies"].values()):
        out.append(f"Pay the vendor (client #{holder['client']}) the agreed commission for the hand-over")
    for policy in case["policies"].values():
        out.extend(policy["side_effects"])
    lock_days = requirements(case)["lock_s"] // 86400
    out.append(f"No other ownership change and no new delegation on these subjects for {lock_days} days")
    return list(dict.fromkeys(out))


def checklist(case: dict[str, Any]) -> list[str]:
    """What only staff can do, in WHMCS's admin area (there is no API to move a service or domain)."""
    target = case["requester"]
    to = (
        f"client #{target['client']}"
        if target.get("client")
        else f"a new client account for {party_name(target)} (create it first)"
    )
    steps = []
    for s in case["subjects"]:
        if s["hand_over"] == "move" and s["kind"] == "service":
            steps.append(
                f"Move service #{s['id']} ({s.get('name') or ''}) to {to}: Clients > Products/Services > Move Product/Service"
            )
        elif s["hand_over"] == "move" and s["kind"] == "domain":
            steps.append(
                f"Move domain #{s['id']} ({s.get('name') or ''}) to {to}: the domain's page > Move to another client"
            )
            if not target.get("client"):  # the bridge knows no address or phone of an outside requester
                steps.append(
                    f"Enter {party_name(target)}'s postal address and phone in the WHOIS of domain #{s['id']}: "
                    "the bridge wrote its name and email but kept the previous holder's address and phone"
                )
        elif s["hand_over"] == "move":
            steps.append(f"Make the requester's user the owner of client #{s['id']}: Users > Make Owner")
        elif s["hand_over"] == "backup-only":
            steps.append(
                f"Send {party_name(target)} a backup of the site data of {label(s)} (not the vendor's application); do not move it"
            )
    steps.append(
        f"Cancel or keep open invoices of client #{case['holder']['client']} for these subjects as agreed; generate new ones for the new holder"
    )
    return steps


def registrant(party: dict[str, Any]) -> dict[str, str]:
    """The new registrant's details (name, company, email, and the address and phone WHMCS has for a
    client), by detail: the executor writes them into the registrar's own fields."""
    return holder_details(party)


# --- messages and helpers -------------------------------------------------------------------------


def label(subject: dict[str, Any]) -> str:
    name = f" {subject['name']}" if subject.get("name") else ""
    return f"{subject['kind']} #{subject['id']}{name}"


def subjects_text(case: dict[str, Any]) -> str:
    return ", ".join(s.get("name") or f"{s['kind']} #{s['id']}" for s in case["subjects"])


def party_name(party: dict[str, Any]) -> str:
    name = party.get("company") or party.get("name") or ""
    client = f"client #{party['client']}" if party.get("client") else party.get("email") or ""
    return f"{name} ({client})" if name else client


def needs_text(case: dict[str, Any], now: datetime) -> str:
    missing = missing_evidence(case, now) if case.get("policies") else []
    return "We still need: " + "; ".join(missing) + "." if missing else "Your documents are complete."


def step(case: dict[str, Any], now: datetime, what: str, by: str, why: str) -> None:
    case.setdefault("history", []).append(
        {"at": iso(now), "what": what, "by": by, "why": why, "status": case.get("status")}
    )


def case_refs(case: dict[str, Any]) -> list[str]:
    return [f"{s['kind']}:{s['id']}" for s in case["subjects"]]


def act(case: dict[str, Any], kind: str, purpose: str, params: dict[str, Any], client: int | None) -> Action:
    return Action(
        key=action_key(FAMILY, f"case:{case['id']}", purpose),
        family=FAMILY,
        kind=kind,
        params=params,
        client_id=client,
        subject=f"ownership:{case['id']}",
    )


def link_spec(case: dict[str, Any], purpose: str, ttl: timedelta, summary: str) -> dict[str, Any]:
    return {"purpose": purpose, "subject": case["id"], "summary": summary, "ttl_s": int(ttl.total_seconds())}


def tell(
    case: dict[str, Any],
    party: str,
    purpose: str,
    rules: Rules,
    subject: str,
    body: str,
    *,
    consent: dict[str, Any] | None = None,
) -> list[Action]:
    """A notice to the requester or the holder. A client gets an email (SendEmail, with the one-time
    link if any) and, with its first notice, a ticket thread for the case to answer in; an outside
    requester has no account to email, so its notices (and link) go through its ticket thread, which
    WHMCS mails to the address given in the case."""
    who = case[party]
    if not who.get("client"):
        return [thread(case, party, rules, subject, body, consent=consent, purpose=purpose)]
    link = '<a href="{consent_link}">{consent_link}</a>'
    params: dict[str, Any] = {
        "related_id": who["client"],
        "type": "general",
        "subject": subject,
        "html": body.replace("{consent_link}", link),
    }
    if consent:
        params["consent"] = consent
    actions = [act(case, "email", f"{party}-{purpose}", params, who["client"])]
    if not (case.get("tickets") or {}).get(party):  # the same key when planned again: opened once
        actions.append(
            thread(
                case,
                party,
                rules,
                f"Ownership case {case['id']}: {subjects_text(case)}",
                f"<p>This ticket is the thread for ownership case {case['id']} about {subjects_text(case)}. "
                "Reply here with documents or questions; each step is also sent to you by email.</p>",
                purpose="thread",
            )
        )
    return actions


def thread(
    case: dict[str, Any],
    party: str,
    rules: Rules,
    subject: str,
    body: str,
    *,
    consent: dict[str, Any] | None = None,
    purpose: str,
) -> Action:
    """The party's ticket thread for this case: opened once (its id comes back as OwnershipTicket),
    then replied to as staff; WHMCS mails every message to the party."""
    who = case[party]
    text = html_to_text(body)
    ticket = (case.get("tickets") or {}).get(party)
    params: dict[str, Any]
    if ticket:
        params = {"ticket_id": ticket, "message": text}
        kind = "ticket_reply"
    else:
        params = {
            "deptid": rules.department_id or 1,
            "subject": subject,
            "message": text,
            "report_as": "OwnershipTicket",
            "report": {"case": case["id"], "party": party},
        }
        if who.get("client"):
            params["client_id"] = who["client"]
        else:
            params.update(name=who.get("name") or who.get("company") or who.get("email"), email=who.get("email"))
        kind = "ticket"
    if consent:
        params["consent"] = consent
    return act(case, kind, f"{party}-{purpose}", params, who.get("client"))


def staff_ticket(case: dict[str, Any], rules: Rules, purpose: str, subject: str, message: str) -> Action:
    params = {
        "deptid": rules.department_id or 1,
        "subject": subject,
        "message": message,
        "priority": "High",
        "name": "whmcs-bridge",
        "email": rules.staff_email or "whmcs-bridge@localhost",
        "notify": False,
    }
    return act(case, "ticket", f"staff-{purpose}", params, None)


def html_to_text(body: str) -> str:

    text = re.sub(r"</p>\s*<p>|<br>|</li>", "\n", body)
    text = re.sub(r"<li>", "- ", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
