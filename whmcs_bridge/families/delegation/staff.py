"""Staff views and commands for contact delegation: grants listed, shown, granted and revoked (store only)."""

from __future__ import annotations

import secrets
from datetime import datetime, tzinfo
from typing import Any

from whmcs_bridge import staff
from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import BridgeError, UsageProblem, WhmcsApiError
from whmcs_bridge.executor.reads import renewals_elsewhere
from whmcs_bridge.families.delegation import renewal_scope
from whmcs_bridge.families.delegation.grants import (
    CUSTOM,
    FAMILY,
    UNKNOWN_TEMPLATES,
    held_subjects,
    new_grant_subjects,
)
from whmcs_bridge.readable import one_line
from whmcs_bridge.store import holds, states
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi, account_items, not_found


def grants(db: Database, *, owner: int | None = None, delegate: int | None = None) -> list[dict[str, Any]]:
    return [
        g
        for g in staff.states_of(db, FAMILY, "grant:")
        if (owner is None or g["owner"] == owner) and (delegate is None or g["delegate"] == delegate)
    ]


def grant(db: Database, grant_id: str) -> dict[str, Any]:
    """The grant the command line names; an id naming none is a usage error (exit 2), as an unknown client is."""
    found = states.get(db, FAMILY, f"grant:{grant_id}")
    if found is None:
        raise UsageProblem(f"there is no grant {grant_id}; `whmcs-bridge delegations list` shows them")
    return found


def unknown_templates(db: Database) -> list[dict[str, Any]]:
    """The email templates WHMCS sent that nobody classified (never copied), most seen first: each with how many
    emails and the first and last instant (ISO, UTC)."""
    seen = states.get(db, FAMILY, UNKNOWN_TEMPLATES) or {}
    ranked = sorted(seen.items(), key=lambda item: (-int(item[1]["count"]), item[0]))
    return [
        {
            "template": name,
            "count": int(entry["count"]),
            "first": entry["first"],
            "last": entry["last"],
            "custom": name == CUSTOM,
        }
        for name, entry in ranked
    ]


def unknown_template_line(entry: dict[str, Any], zone: tzinfo | None = None) -> str:
    seen = f"{entry['count']} email(s), first {when(entry['first'], zone)}, last {when(entry['last'], zone)}"
    if entry["template"] == CUSTOM:
        return (
            f"custom emails (no template): {seen} to owners with a delegate; never copied: nothing tells what they "
            "carry, so forward one by hand when its delegate needs it"
        )
    return f"{one_line(entry['template'])}: {seen}; never copied: list it under delegation.email_templates with its type and the secret it prints"


def _enabled(config: Config) -> None:
    if not config.delegation.enabled:
        raise BridgeError("delegation is not enabled (delegation.enabled in the configuration)")


def new_grant(
    config: Config,
    db: Database,
    *,
    owner: int,
    delegate: int,
    role: str,
    items: list[dict[str, Any]],
    by: str,
    basis: str,
    expires: datetime | None,
    now: datetime,
    api: WhmcsApi,
    request: bool = False,
) -> str:
    """A grant by staff (active at once), or a delegate's request (active once the owner consents),
    once WHMCS confirmed what it names."""
    _enabled(config)
    if role not in config.delegation.roles:
        raise BridgeError(f"role {role!r} is not configured; delegation.roles has {', '.join(config.delegation.roles)}")
    if owner == delegate:
        raise UsageProblem(f"client #{owner} is the owner and cannot be its own delegate: give another --delegate")
    if not items:
        raise UsageProblem("name what the grant covers: --service ID, --domain ID or --whole-client")
    if expires is not None and expires <= now:
        raise UsageProblem(
            f"--expires {expires.date().isoformat()} is in the past: a grant's last day is today or later (or give "
            "no --expires)"
        )
    # A service or domain named twice is covered once.
    items = list({(i["kind"], int(i["id"])): {**i, "id": int(i["id"])} for i in items}.values())
    refusal = holds.refusal(db, new_grant_subjects(items, owner), now)
    if refusal:
        raise BridgeError(f"no new grant: {refusal}")
    same = same_grant(db, owner=owner, delegate=delegate, role=role, items=items)
    superseded = None
    if same is not None:
        if request or not is_request(same):
            return asked_again(same, by, basis, expires.isoformat(timespec="seconds") if expires else None)
        superseded = same  # staff grant what the delegate asked for: the request gives way (below)
    if (request or config.delegation.confirm == "both") and not config.receiver.public_url:
        raise BridgeError(
            "a request needs the owner's consent link: set receiver.public_url to where clients reach the daemon"
        )
    check_in_whmcs(api, owner=owner, delegate=delegate, items=items)
    held_in_account(db, api, owner, items, now)
    grant_id = new_id(db)
    data = {
        "command": "request" if request else "grant",
        "grant": grant_id,
        "owner": owner,
        "delegate": delegate,
        "role": role,
        "items": items,
        "by": by,
        "basis": basis,
        "expires": expires.isoformat(timespec="seconds") if expires else None,
    }
    staff.submit(db, config, "DelegationCommand", data, by=by, client_id=owner, now=now)
    if superseded is not None:
        # The request is withdrawn in the new grant's favour, and the delegate hears its request was replaced.
        replaced = {"command": "supersede", "grant": superseded["id"], "by": by, "reason": f"grant {grant_id}"}
        staff.submit(
            db, config, "DelegationCommand", {**replaced, "by_grant": grant_id}, by=by, client_id=owner, now=now
        )
    return grant_id


def asked_again(same: dict[str, Any], by: str, basis: str, expires: str | None) -> str:
    """The same grant asked again: a command run twice gets its grant back and nothing new is sent; another staff
    member (or another basis) is told whose grant already gives it, so who agreed to what stays on record; another
    end is refused, not dropped without a word (twentieth break round LOW)."""
    other = (same.get("by"), same.get("basis")) != (by, basis)
    whose = f"{same['status']}, {granted(same)}" if other else str(same["status"])
    if same.get("expires") != expires:  # said whoever asks: the grant does not end when this one would have
        ends = f"ends {same['expires'][:10]}" if same.get("expires") else "has no end"
        raise BridgeError(
            f"no new grant: {same['id']} ({whose}) already gives this and {ends}; a grant's end is not changed: "
            "revoke it and grant again with the end wanted" + (f"; nothing was recorded by {by}" if other else "")
        )
    if other:
        raise BridgeError(
            f"no new grant: {same['id']} ({whose}) already gives exactly this; nothing was recorded by {by}"
        )
    return str(same["id"])


def is_request(g: dict[str, Any]) -> bool:
    """A delegate's request still waiting for the owner (not a grant staff made that waits for confirmations)."""
    return g["status"] == "pending" and bool(g.get("history")) and g["history"][0]["what"] == "requested"


def same_grant(
    db: Database, *, owner: int, delegate: int, role: str, items: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The active or pending grant that is exactly this one (same sides, role and items), if any."""
    wanted = sorted((i["kind"], int(i["id"])) for i in items)
    for g in grants(db, owner=owner, delegate=delegate):
        if g["status"] in ("active", "pending") and g["role"] == role:
            if sorted((i["kind"], int(i["id"])) for i in g["items"]) == wanted:
                return g
    return None


def superseded_by(db: Database, grant_id: str) -> str | None:
    """The request a grant superseded (withdrawn in its favour), if any: for the CLI's sentence."""
    for g in staff.states_of(db, FAMILY, "grant:"):
        if g.get("superseded_by") == grant_id:
            return str(g["id"])
    return None


def new_id(db: Database) -> str:
    """A short grant id never given before: a grant revoked and granted again is a new grant, with its
    own history, never the revoked one brought back."""
    while True:
        grant_id = "g" + secrets.token_hex(4)[:7]
        if not staff.states_of(db, FAMILY, f"grant:{grant_id}"):
            return grant_id


def check_in_whmcs(api: WhmcsApi, *, owner: int, delegate: int, items: list[dict[str, Any]]) -> None:
    """WHMCS, not the command line, says what exists: the owner and the delegate are clients whose accounts are
    not Closed, and each service or domain is the owner's (DD:api-reference/getclientsdetails.md, getclientsproducts.md,
    getclientsdomains.md). Otherwise one sentence, and nothing is recorded or sent."""
    for client, side in ((owner, "owner"), (delegate, "delegate")):
        try:
            details = api.client_details(client)
        except WhmcsApiError as exc:
            if not_found(exc):
                raise UsageProblem(f"WHMCS has no client #{client}: check --owner and --delegate") from None
            raise
        if details.status == "Closed":  # GetClientsDetails `status` (DD:api-reference/getclientsdetails.md)
            raise UsageProblem(
                f"client #{client} (the {side}) is Closed in WHMCS: a grant is neither given on nor to a closed "
                "account (reopen it in WHMCS first)"
            )
    for item in items:
        if item["kind"] not in ("service", "domain"):
            continue
        holder = holder_of(api, item)
        if holder is None:
            raise UsageProblem(f"WHMCS has no {item['kind']} #{item['id']}: check --{item['kind']}")
        if holder != owner:
            raise UsageProblem(
                f"{item['kind']} #{item['id']} belongs to client #{holder}, not to client #{owner}: "
                "a grant covers only what its owner holds"
            )


def holder_of(api: WhmcsApi, item: dict[str, Any]) -> int | None:
    """The client WHMCS has a service or domain under now (GetClientsProducts / GetClientsDomains), or None."""
    if item["kind"] == "service":
        service = api.service(int(item["id"]))
        return service.client_id if service else None
    domain = next(api.domains(domain_id=int(item["id"])), None)
    return domain.client_id if domain else None


def whmcs_now(api: WhmcsApi, g: dict[str, Any]) -> list[str]:
    """What WHMCS says now that a live grant no longer matches, a sentence each, for staff reading it: an item
    its owner no longer holds (staff moved it: the grant does not act on it, and renews nothing of it), a side
    whose account is closed (the grant does not act for it). Read when shown, never remembered."""
    if g["status"] not in ("active", "pending"):
        return []
    out = []
    for item in g.get("items") or []:
        if item["kind"] not in ("service", "domain"):
            continue
        holder = holder_of(api, item)
        if holder != g["owner"]:
            where = f"belongs to client #{holder}" if holder else "no longer exists"
            out.append(
                f"{item['kind']} #{item['id']} {where} in WHMCS now, not to client #{g['owner']}: the grant does "
                "not act on it (revoke the grant, or grant the new holder's)"
            )
    for side in ("owner", "delegate"):
        if closed(api, int(g[side])):
            out.append(f"the {side}, client #{g[side]}, is Closed in WHMCS now: the grant does not act (revoke it)")
    return out


def closed(api: WhmcsApi, client: int) -> bool:
    """WHMCS shows the client's account Closed (GetClientsDetails `status`, DD:api-reference/getclientsdetails.md;
    UpdateClient `status`, DD:api-reference/updateclient.md)."""
    return api.client_details(client).status == "Closed"


def held_in_account(db: Database, api: WhmcsApi, owner: int, items: list[dict[str, Any]], now: datetime) -> None:
    """A grant on a whole account reaches each service and domain WHMCS shows in it now: one held (a lock after an
    ownership change, a dispute) refuses it, as a grant naming it would be (twentieth break round, ownership M1)."""
    if not any(i["kind"] == "client" for i in items):
        return
    for subject in account_items(api, owner):
        refusal = holds.refusal(db, [subject], now)
        if refusal:
            kind, item = subject.split(":")
            raise BridgeError(f"no new grant: client #{owner}'s account holds {kind} #{item}: {refusal}")


def _on_active(
    config: Config,
    db: Database,
    grant_id: str,
    data: dict[str, Any],
    *,
    by: str,
    now: datetime,
    why: str,
    status: str = "active",
    ends_as: str = "",
) -> dict[str, Any]:
    """Submit a staff command about a grant in `status`; return the grant as the rules left it. A command that ends
    the grant (`ends_as`) and did not (what waited in the inbox, decided first, changed it: the owner's acceptance
    before a withdrawal) is refused with the sentence it gets without a backlog."""
    _enabled(config)
    current = grant(db, grant_id)
    if current["status"] != status:
        raise BridgeError(f"grant {grant_id} is {current['status']}: {why}")
    if data["command"] == "renew" and not config.delegation.roles[current["role"]].renew:
        raise BridgeError(f"the {current['role']} role may not renew (delegation.roles.{current['role']}.renew)")
    # A revocation only takes access away and stays possible; anything else waits for the case.
    # A renewal acts on its item (one of a whole account's too): the hold on that item refuses it.
    target = [f"{k}:{int(data[k])}" for k in ("service", "domain") if data.get(k)]
    refusal = (
        holds.refusal(db, [*held_subjects(current["items"], current["owner"]), *target], now)
        if data["command"] not in ("revoke", "withdraw")
        else None
    )
    if refusal:
        raise BridgeError(f"grant {grant_id}: {refusal}")
    staff.submit(
        db,
        config,
        "DelegationCommand",
        {**data, "grant": grant_id, "by": by, "owner": current["owner"]},
        by=by,
        client_id=current["owner"],
        now=now,
    )
    after = grant(db, grant_id)
    if ends_as and after["status"] != ends_as:
        raise BridgeError(f"grant {grant_id} is {after['status']}: {why}")
    return after


def revoke(config: Config, db: Database, grant_id: str, *, by: str, reason: str, now: datetime) -> dict[str, Any]:
    return _on_active(
        config, db, grant_id, {"command": "revoke", "reason": reason}, by=by, now=now, why="nothing to revoke"
    )


def withdraw(config: Config, db: Database, grant_id: str, *, by: str, reason: str, now: datetime) -> dict[str, Any]:
    """The requester takes back a request the owner has not answered (its consent link then does nothing)."""
    return _on_active(
        config,
        db,
        grant_id,
        {"command": "withdraw", "reason": reason},
        by=by,
        now=now,
        why="only a pending request can be withdrawn",
        status="pending",
        ends_as="withdrawn",
    )


def renew(
    config: Config,
    db: Database,
    grant_id: str,
    *,
    by: str,
    service: int | None,
    now: datetime,
    domain: int | None = None,
    api: WhmcsApi | None = None,
) -> dict[str, Any]:
    """A renewal of one granted service (or domain), refused while another of the same one is open through this
    grant, or through another grant while WHMCS says its renewal invoice is still open; on a whole-account
    grant, refused when WHMCS says the owner does not hold the item. With no `api`, the rules ask WHMCS."""
    current = grant(db, grant_id)
    if current["status"] == "active":
        try:
            kind, wanted = renewal_scope.wanted_item(current, service, domain)
        except ValueError as exc:  # the command line names no item the grant covers: a usage error
            raise UsageProblem(str(exc)) from None
        why = renewal_scope.refusal(current, wanted, kind) or elsewhere_open(db, api, current, kind, wanted)
        if why:
            raise BridgeError(f"grant {grant_id}: {why}")
        if api is not None and renewal_scope.whole_account(current):
            check_in_whmcs(
                api, owner=current["owner"], delegate=current["delegate"], items=[{"kind": kind, "id": wanted}]
            )
    command = {"command": "renew", "service": service, "domain": domain}
    return _on_active(config, db, grant_id, command, by=by, now=now, why="it cannot renew")


def elsewhere_open(db: Database, api: WhmcsApi | None, current: dict[str, Any], kind: str, item: int) -> str | None:
    """Why another grant's renewal of the same item stops this one (one sentence), or None: one being invoiced,
    or whose invoice WHMCS says is open now. WHMCS not answering leaves it to the rules, which ask it again."""
    pending = renewal_scope.elsewhere(grants(db, owner=current["owner"]), current, kind, item)
    busy = renewal_scope.being_invoiced(kind, item, pending)
    if busy or api is None or not pending:
        return busy
    try:  # read as the rules read it (find_open_invoice), weighed as they weigh it
        found, due_now = renewal_scope.seen_elsewhere(renewals_elsewhere(api, kind, item, pending))
    except WhmcsApiError:
        return None
    return renewal_scope.held(kind, item, found, due_now)


# --- how staff read a grant (the CLI's list and show; the CLI is in English) ----------------------------


def client_name(g: dict[str, Any], side: str) -> str:
    """A side of the grant by its name as WHMCS gave it (once the bridge read it), and its number."""
    name = g.get(f"{side}_name")
    return f"{name} (client #{g[side]})" if name else f"client #{g[side]}"


def describe(g: dict[str, Any]) -> str:
    """What the grant covers: "the whole account", or each name with the records it names."""
    items = g.get("items") or []
    if any(i["kind"] == "client" for i in items):
        return "the whole account"
    named: dict[str, list[str]] = {}
    for item in items:
        named.setdefault(item.get("name") or "", []).append(f"{item['kind']} #{item['id']}")
    return ", ".join(f"{name} ({', '.join(ids)})" if name else ", ".join(ids) for name, ids in named.items())


def when(at: str | None, zone: tzinfo | None = None, *, time: bool = False) -> str:
    """A stored instant as staff read it: its date (and time), in the configured zone."""
    if not at:
        return "never"
    moment = datetime.fromisoformat(at)
    if zone is not None and moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M %Z" if time else "%Y-%m-%d").strip()


def granted(g: dict[str, Any]) -> str:
    order = g.get("order")
    if order:
        return (
            f"automatically: order #{order['id']} placed by user #{order['user']} (administrative grant {order['via']})"
        )
    return f"by {one_line(g['by'])}" + (f": {one_line(g['basis'])}" if g.get("basis") else "")


def line(g: dict[str, Any]) -> str:
    expiry = f", expires {when(g['expires'])}" if g.get("expires") else ""
    return (
        f"{g['id']} {g['status']}: {client_name(g, 'delegate')} is {g['role']} contact of {client_name(g, 'owner')} "
        f"for {describe(g)} (since {when(g['since'])}, {granted(g)}{expiry})"
    )


def show(g: dict[str, Any], zone: tzinfo | None = None) -> list[str]:
    """One grant as fields, then its renewals and history, a line each."""
    fields = [
        ("delegate", client_name(g, "delegate")),
        ("owner", client_name(g, "owner")),
        ("role", f"{g['role']} contact"),
        ("covers", describe(g)),
        ("status", g["status"]),
        ("since", when(g.get("since"), zone, time=True)),
        ("granted", granted(g)),
        ("expires", when(g.get("expires"), zone, time=True)),
    ]
    if g.get("ended"):
        fields.append(("ended", when(g["ended"], zone, time=True)))
    out = [f"Grant {g['id']}"] + [f"  {name + ':':<10} {value}" for name, value in fields]
    for r in g.get("renewals") or []:
        invoices = ", ".join(
            f"{label} #{r[key]}"
            for key, label in (("delegate_invoice", "delegate's invoice"), ("owner_invoice", "owner's invoice"))
            if r.get(key)
        )
        amount = f", {r['amount']}" if r.get("amount") else ""
        out.append(
            f"  renewal {r['n']}: {'domain' if r.get('domain') else 'service'} #{r.get('domain') or r['service']}, "
            f"{r['status']}{amount}{', ' + invoices if invoices else ''}"
        )
    billing = g.get("billing")
    if billing:  # an order invoiced to the delegate (delegation.order_invoice_to: payer)
        invoice = f", the delegate's invoice #{billing['delegate_invoice']}" if billing.get("delegate_invoice") else ""
        amount = f", {billing['amount']}" if billing.get("amount") else ""
        out.append(
            f"  order #{billing['order']}: {billing['status']}{amount}{invoice}, the owner's invoice #{billing['owner_invoice']}"
        )
    if g.get("history"):
        out.append("  history:")
    for entry in g.get("history", []):
        said = one_line(entry.get("basis") or entry.get("reason") or "")
        by = one_line(entry.get("by"))
        out.append(f"    {when(entry['at'], zone, time=True)}  {entry['what']} by {by}{': ' + said if said else ''}")
    return out
