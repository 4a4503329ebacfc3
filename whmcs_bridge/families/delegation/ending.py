"""A grant's end: revoked by staff or the delegate, expired with its date or ended by an ownership change (for the
moved items only when others stay the owner's; the owner and the delegate told, what the delegate still covers said,
its open renewal cancelled), its expiry reminder, and a pending request's end (withdrawn, superseded or lapsed with its
links). Pure: decisions from the grant and the rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from whmcs_bridge.families.delegation import payer_closing
from whmcs_bridge.families.delegation.config import DelegationSection
from whmcs_bridge.families.delegation.copies import while_active
from whmcs_bridge.families.delegation.grants import about_grant, act, covered, grant_refs, kept_names, note, notice
from whmcs_bridge.families.delegation.renewal_invoice import grant_ended
from whmcs_bridge.model import Action, Decision, as_int, message


def end(
    grant: dict[str, Any],
    status: str,
    now: datetime,
    rules: DelegationSection,
    *,
    by: str,
    reason: str,
    case: str | None = None,
    remaining: dict[str, Any] | None = None,
    offer: bool = True,
    account_moved: bool = False,
) -> Decision:
    """The grant ends (`status` revoked or expired; `case`: the ownership case that ended it; `remaining`:
    what the same delegate still covers for the owner, which the owner is told stays; `offer`: whether the owner may
    be offered a password change; `account_moved`: the owner's whole account changed holder)."""
    if grant.get("status") != "active":
        return Decision(state=grant)
    grant["status"] = status
    grant["ended"] = now.isoformat(timespec="seconds")
    grant["history"].append({"at": grant["ended"], "what": status, "by": by, "reason": reason})
    actions = told_ended(
        grant, status, rules, by=by, reason=reason, case=case, remaining=remaining, offer=offer,
        account_moved=account_moved,
    )  # fmt: skip
    actions += grant_ended(grant, now)  # its open renewals end with it
    actions += payer_closing.grant_ended(grant, now)  # and the order invoiced to the delegate, unpaid
    return Decision(state=grant, actions=actions, due_at=None, refs=grant_refs(grant))


def told_ended(
    grant: dict[str, Any],
    status: str,
    rules: DelegationSection,
    *,
    by: str,
    reason: str,
    case: str | None = None,
    remaining: dict[str, Any] | None = None,
    purpose: str | None = None,
    offer: bool = True,
    account_moved: bool = False,
) -> list[Action]:
    """The notes on both accounts and the emails to both sides saying what ended (`grant`'s items), keyed by `purpose`
    (the status, or what ended of a grant that stays); `offer`: whether the owner may be offered a password change."""
    purpose = purpose or status
    ended = about_grant(grant, status=status, by=by, reason=reason, case=case)
    # A side staff deleted in WHMCS meanwhile hears nothing (its note and email are cancelled, not parked), and the
    # other side's texts name it as the grant last knew it, not "client #10".
    exists = {side: {"client_exists": grant[side]} for side in ("owner", "delegate")}
    actions = [
        act(
            grant,
            "client_note",
            f"{purpose}-note-owner",
            note(kept_names(grant, message("delegation.ended_owner_note", **ended))),
            grant["owner"],
            exists["owner"],
        ),
        act(
            grant,
            "client_note",
            f"{purpose}-note-delegate",
            note(kept_names(grant, message("delegation.ended_delegate_note", **ended))),
            grant["delegate"],
            exists["delegate"],
        ),
        act(
            grant,
            "email",
            f"{purpose}-told-delegate",
            notice(
                grant["delegate"],
                kept_names(
                    grant,
                    message(
                        "delegation.ended_delegate",
                        **ended,
                        **open_renewal(grant),
                        remaining=(remaining or {}).get("remaining") if purpose != status else None,
                        account_moved="yes" if account_moved else None,
                    ),
                ),
            ),
            grant["delegate"],
            exists["delegate"],
        ),
    ]
    owner_email = owner_end_email(grant, status, rules, remaining, offer=offer)
    owner_email["msg"] = kept_names(grant, owner_email["msg"])
    actions.append(act(grant, "email", f"{purpose}-told-owner", owner_email, grant["owner"], exists["owner"]))
    return actions


def open_renewal(grant: dict[str, Any]) -> dict[str, Any]:
    """The delegate's renewal invoice still open in the grant (the latest one invoiced), and the owner's invoice it
    would have settled: the grant's end cancels the first (renewal_invoice.grant_ended), the second stays due. Both sides
    are told, before the end and at it."""
    invoiced = [r for r in grant.get("renewals") or [] if r["status"] == "invoiced" and r.get("delegate_invoice")]
    if not invoiced:
        return {}
    return {"renewal_invoice": invoiced[-1]["delegate_invoice"], "owner_invoice": invoiced[-1].get("owner_invoice")}


def remaining(grant: dict[str, Any], others: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the grant's delegate still covers for its owner through its other active grants, as the owner's email
    says it (delegation.ended_owner): `remaining`, the services and domains, in `remaining_role` (None when its grants
    differ); `remaining_whole`, the role in which it stays the contact of the whole account (never the owner's own
    name as if it were a thing covered)."""
    staying = [
        other
        for other in others
        if other.get("id") != grant["id"]
        and other.get("status") == "active"
        and (other.get("owner"), other.get("delegate")) == (grant["owner"], grant["delegate"])
    ]
    whole = [o["role"] for o in staying if any(s.startswith("client:") for s in covered(o))]
    named = [o for o in staying if o["role"] not in whole]  # a whole-account role already covers its items
    # What another grant covers stays, the ended grant's own items too (an administrative grant ended, the technical
    # one on the same hosting stays).
    items = [s for o in named for s in covered(o) if not s.startswith("client:")]
    roles = {o["role"] for o in named if any(s in items for s in covered(o))}
    return {
        "remaining": list(dict.fromkeys(items)),
        "remaining_role": roles.pop() if len(roles) == 1 else None,
        "remaining_whole": "administrative" if "administrative" in whole else (whole[0] if whole else None),
        "access_copies": "yes" if any(gets_access_details(o, grant) for o in staying) else None,
    }


def gets_access_details(other: dict[str, Any], grant: dict[str, Any]) -> bool:
    """Whether `other`, a grant of the same delegate that stays, receives the access details WHMCS sends for what
    `grant` covered (the owner chose full copies for it, copies.copies): a new password made because `grant` ended
    would reach the same delegate (fourteenth break round, G7)."""
    if other.get("credentials") != "copy":
        return False
    mine, theirs = set(covered(grant)), set(covered(other))
    return bool(mine & theirs) or any(s.startswith("client:") for s in mine | theirs)


def owner_end_email(
    grant: dict[str, Any],
    status: str,
    rules: DelegationSection,
    remaining: dict[str, Any] | None = None,
    *,
    offer: bool = True,
) -> dict[str, Any]:
    """The owner hears that the grant ended and, if configured, is offered a password change: by
    replying, or (for services, with links) through a one-time link."""
    services = [i for i in grant.get("items", []) if i["kind"] == "service"]
    offered = None
    # A new password would reach the same delegate through the access that stays (remaining's access_copies): no offer.
    if offer and rules.offer_password_change and not (remaining or {}).get("access_copies"):
        offered = "link" if services and rules.links else "reply"
    owner_email = notice(
        grant["owner"],
        message(
            "delegation.ended_owner",
            **about_grant(grant, status=status, offer=offered, **(remaining or {})),
            **open_renewal(grant),
        ),
    )
    if offered == "link":
        changed = {**grant, "items": services}  # the password change concerns the services only
        owner_email["consent"] = {
            "purpose": "password-change",
            "subject": grant["id"],
            "summary": message("delegation.password_summary", **about_grant(changed)),
            "ttl_s": int(rules.consent_link_ttl.total_seconds()),
        }
    return owner_email


def expire(grant: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    """A grant's timer: its end reached, its reminder due, or (pending) its request lapsed."""
    if grant.get("status") == "pending" and (lapse := lapses(grant, rules)) and lapse <= now:
        return request_ended(grant, "lapsed", now, by="bridge", reason="no answer before the link expired")
    if grant.get("status") != "active" or not grant.get("expires"):
        return Decision(state=grant)
    if datetime.fromisoformat(grant["expires"]) <= now:
        return end(grant, "expired", now, rules, by="bridge", reason="expiry date")
    remind = reminder_at(grant, rules)
    if remind is None or remind > now:
        return Decision(state=grant)
    grant["reminded"] = now.isoformat(timespec="seconds")
    ending = about_grant(grant, expires=grant["expires"], **open_renewal(grant))
    actions = [
        act(
            grant,
            "email",
            f"reminder-{side}",
            notice(grant[side], kept_names(grant, message("delegation.expiry_reminder", side=side, **ending))),
            grant[side],
            # A side staff deleted is not reminded (cancelled, not parked); nor anyone once the grant ended, a reminder
            # queued during an outage say (revocation wins, like a copy's).
            {"client_exists": grant[side], **while_active(grant)},
        )
        for side in ("owner", "delegate")
    ]
    return Decision(state=grant, actions=actions)


def lapses(grant: dict[str, Any], rules: DelegationSection) -> datetime | None:
    """When a pending request lapses: with its consent link (a request from before this was kept, a link's
    lifetime after it was made)."""
    if grant.get("lapses"):
        return datetime.fromisoformat(grant["lapses"])
    return datetime.fromisoformat(grant["since"]) + rules.consent_link_ttl if grant.get("since") else None


def reminder_at(grant: dict[str, Any], rules: DelegationSection) -> datetime | None:
    """When an active grant's end is announced to both sides (once), if it has an end and a reminder is due."""
    if grant.get("reminded") or not grant.get("expires") or rules.expiry_reminder is None:
        return None
    return datetime.fromisoformat(grant["expires"]) - rules.expiry_reminder


def next_timer(grant: dict[str, Any], rules: DelegationSection) -> datetime | None:
    """The grant's next deadline, from its state alone, so that no decision about it loses the timer."""
    if grant.get("status") == "pending":
        return lapses(grant, rules) if grant.get("consent_sent") or grant.get("lapses") else None
    if grant.get("status") != "active" or not grant.get("expires"):
        return None
    expires = datetime.fromisoformat(grant["expires"])
    remind = reminder_at(grant, rules)
    return min(remind, expires) if remind is not None else expires


def request_ended(
    grant: dict[str, Any], status: str, now: datetime, *, by: str, reason: str, superseded_by: str = ""
) -> Decision:
    """A pending request ends unanswered: withdrawn by its requester (the owner is told), superseded by staff's
    grant of the same (the delegate is told), or lapsed with its links (each side hears what happened: who
    did not confirm); a note on the owner's account says which."""
    if grant.get("status") != "pending":
        return Decision(state=grant)
    grant["status"] = status
    grant["ended"] = now.isoformat(timespec="seconds")
    grant["history"].append({"at": grant["ended"], "what": status, "by": by, "reason": reason})
    # Who had not confirmed when it lapsed: the owner, the delegate (confirm: both) or both of them.
    waiting = [side for side in grant.get("needs", ["owner"]) if side not in grant.get("confirmed", {})]
    missing = "both" if len(waiting) > 1 else (waiting[0] if waiting else "owner")
    ended = about_grant(grant, status=status, reason=reason, missing=missing if status == "lapsed" else "")
    if superseded_by:
        grant["superseded_by"] = superseded_by
        ended["reason"] = f"superseded by grant {superseded_by}"
    actions = [
        act(
            grant,
            "client_note",
            f"{status}-note-owner",
            note(
                message(
                    "delegation.request_ended_note", **{**ended, **({"status": "superseded"} if superseded_by else {})}
                )
            ),
            grant["owner"],
        )
    ]
    if superseded_by:
        told = message("delegation.request_superseded", **about_grant(grant, by_grant=superseded_by))
        actions.append(
            act(grant, "email", "superseded-told-delegate", notice(grant["delegate"], told), grant["delegate"])
        )
    elif status == "withdrawn":
        declined = "yes" if grant.get("declined_by") == "delegate" else ""  # staff's grant, declined (confirm: both)
        told = message("delegation.request_withdrawn", **ended, declined=declined)
        actions.append(act(grant, "email", "withdrawn-told-owner", notice(grant["owner"], told), grant["owner"]))
    elif missing == "owner":  # the owner never answered: the requester hears it lapsed
        told = message("delegation.request_lapsed", **ended)
        actions.append(act(grant, "email", "lapsed-told-delegate", notice(grant["delegate"], told), grant["delegate"]))
    else:  # the delegate did not confirm (confirm: both): each side hears what actually happened
        actions += [
            act(
                grant,
                "email",
                f"lapsed-told-{side}",
                notice(grant[side], message("delegation.confirmation_lapsed", **ended, side=side)),
                grant[side],
            )
            for side in ("owner", "delegate")
        ]
    return Decision(state=grant, actions=actions, refs=grant_refs(grant))


def covers(grant: dict[str, Any], data: dict[str, Any]) -> bool:
    """Does an ownership change (its subjects, from its holder) touch this grant? A subject is its kind and id, never
    its name: a domain and a hosting of the same name are different subjects (issue 16, Build 1)."""
    if grant.get("status") != "active" or grant["owner"] != as_int(data.get("holder")):
        return False
    return any(item["kind"] == "client" for item in grant.get("items", [])) or bool(moved_items(grant, data))


def moved_items(grant: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
    """The grant's services and domains among the subjects an ownership change moved (by kind and id)."""
    moved = {(str(s["kind"]), as_int(s["id"])) for s in data.get("subjects") or []}
    return [i for i in grant.get("items", []) if (str(i["kind"]), as_int(i["id"])) in moved]


def ownership_changed(grant: dict[str, Any], data: dict[str, Any], now: datetime, rules: DelegationSection) -> Decision:
    """The subjects changed holder (an ownership case executed): the old holder's grants on them end. A grant on the
    whole account, or all of whose items moved, ends; one with items that stay the owner's ends for the moved ones
    only (a hosting company's staff expect the agency to stay the contact of the site it still looks after). Every
    text says the grant ended because what it covered changed holder, not that it was revoked."""
    case = str(data.get("case") or "")
    gone = moved_items(grant, data)
    whole = any(i["kind"] == "client" for i in grant["items"])
    if whole or len(gone) == len(grant["items"]):
        # A password change is offered for what stays the owner's (a whole account's other services), never for
        # what the case moved away: its new holder gets its own access from the case.
        account = {"kind": "client", "id": grant["owner"]}
        moved_all = any((str(s.get("kind")), as_int(s.get("id"))) == tuple(account.values()) for s in data.get("subjects") or [])
        return end(grant, "revoked", now, rules, by=f"ownership case {case}", reason="holder changed", case=case,
                   offer=whole and not moved_all, account_moved=moved_all)  # fmt: skip
    return items_ended(grant, gone, case, now, rules)


def items_ended(
    grant: dict[str, Any], gone: list[dict[str, Any]], case: str, now: datetime, rules: DelegationSection
) -> Decision:
    """Some of an active grant's items moved to another holder: the grant stays for the others, and both sides are
    told what ended (the owner what stays); open renewals of the moved items end (their invoice cancelled). No
    password change is offered: what moved is no longer the owner's (the ownership case changes its access)."""
    at = now.isoformat(timespec="seconds")
    grant["items"] = [i for i in grant["items"] if i not in gone]
    ended = {**grant, "items": gone, "status": "revoked"}
    names = covered(ended)
    grant["history"].append(
        {"at": at, "what": f"ended for {', '.join(names)}", "by": f"ownership case {case}", "reason": "holder changed"}
    )
    stays = {"remaining": covered(grant), "remaining_role": grant["role"]}
    # What the moved items' open renewals are: the delegate is told not to pay them, and they end.
    ended["renewals"] = [r for r in grant.get("renewals") or [] if any(r.get(i["kind"]) == i["id"] for i in gone)]
    actions = told_ended(
        ended,
        "revoked",
        rules,
        by=f"ownership case {case}",
        reason="holder changed",
        case=case,
        remaining=stays,
        purpose=f"moved:{case}",
        offer=False,
    )
    actions += grant_ended(ended, now)
    return Decision(state=grant, actions=actions, refs=grant_refs(grant))
