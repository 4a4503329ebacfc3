"""Services and module commands: GetClientsProducts, UpdateClientProduct, ModuleSuspend/Unsuspend/Terminate/ChangePw/Custom."""

from __future__ import annotations

import secrets
from typing import Any

from whmcs_bridge.sandbox.actions.base import (
    ApiFail,
    Hook,
    Params,
    Where,
    listing,
    money,
)
from whmcs_bridge.sandbox.state import SandboxState


def _service_dict(sb: SandboxState, r: Any) -> dict[str, Any]:
    product = sb.one("SELECT * FROM products WHERE id = ?", [r["pid"]])
    fields = sb.all("SELECT * FROM service_customfields WHERE service_id = ? ORDER BY field_id", [r["id"]])
    return {
        "id": str(r["id"]),
        "qty": "1",
        "clientid": str(r["client_id"]),
        "orderid": str(r["order_id"]),
        "ordernumber": str(1000000 + r["order_id"]) if r["order_id"] else "",
        "pid": str(r["pid"]),
        "regdate": r["regdate"],
        "name": product["name"] if product else "",
        "translated_name": product["name"] if product else "",
        "groupname": product["groupname"] if product else "",
        "translated_groupname": product["groupname"] if product else "",
        "domain": r["domain"],
        "dedicatedip": "",
        "serverid": str(r["serverid"]),
        "servername": "Saturn",
        "serverip": "192.0.2.10",
        "serverhostname": "saturn.example.net",
        "suspensionreason": r["suspensionreason"],
        "firstpaymentamount": money(r["firstpaymentamount"]),
        "recurringamount": money(r["recurringamount"]),
        "paymentmethod": r["paymentmethod"],
        "paymentmethodname": "Bank Transfer",
        "billingcycle": r["billingcycle"],
        "nextduedate": r["nextduedate"],
        "status": r["status"],
        "username": r["username"],
        "password": r["password"],
        "subscriptionid": "",
        "promoid": "0",
        "overideautosuspend": "on" if r["overideautosuspend"] else "",
        "overidesuspenduntil": r["overidesuspenduntil"] or "0000-00-00",
        "ns1": "",
        "ns2": "",
        "assignedips": "",
        "notes": r["notes"],
        "diskusage": "0",
        "disklimit": "0",
        "bwusage": "0",
        "bwlimit": "0",
        "lastupdate": r["lastupdate"],
        "customfields": {
            "customfield": [
                {"id": str(f["field_id"]), "name": f["name"], "translated_name": f["name"], "value": f["value"]}
                for f in fields
            ]
        },
        "configoptions": {"configoption": []},
    }


def get_clients_products(sb: SandboxState, p: Params) -> dict[str, Any]:
    where = Where()
    where.ids(p, clientid="client_id", serviceid="id", pid="pid")
    where.texts(p, domain="domain", username2="username")
    total, start, rows = listing(sb, p, "SELECT * FROM services WHERE " + where.sql, where.args)
    return {
        "clientid": p.text("clientid") or None,
        "serviceid": p.text("serviceid") or None,
        "pid": p.text("pid") or None,
        "domain": p.text("domain") or None,
        "totalresults": str(total),
        "startnumber": start,
        "numreturned": len(rows),
        "products": {"product": [_service_dict(sb, r) for r in rows]},
    }


def _service_row(sb: SandboxState, p: Params, key: str = "serviceid") -> Any:
    sid = p.num(key) or p.num("accountid")  # `accountid` was the name before 7.7 and is still accepted
    if not sid:
        raise ApiFail("Service ID is required")
    row = sb.one("SELECT * FROM services WHERE id = ?", [sid])
    if row is None:
        raise ApiFail("Service ID not found")
    return row


def update_client_product(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = sb.one("SELECT * FROM services WHERE id = ?", [p.num("serviceid")])
    if row is None:
        raise ApiFail("Service ID Not Found")
    changes: dict[str, Any] = {}
    changes.update(
        p.given(
            "domain",
            "nextduedate",
            "regdate",
            "billingcycle",
            "status",
            "notes",
            "paymentmethod",
            "overidesuspenduntil",
        )
    )
    if "suspendreason" in p.values:
        changes["suspensionreason"] = p.text("suspendreason")
    if "recurringamount" in p.values:
        changes["recurringamount"] = money(p.money("recurringamount"))
    if "overideautosuspend" in p.values:
        changes["overideautosuspend"] = int(p.flag("overideautosuspend"))
    if "serviceusername" in p.values:
        changes["username"] = p.text("serviceusername")
    for key in p.sub("unset").values():
        column = {"suspendreason": "suspensionreason", "serviceusername": "username"}.get(key, key)
        if column in ("domain", "suspensionreason", "username", "notes"):
            changes[column] = ""
    if changes:
        sb.update("services", row["id"], **changes)
        p.hooks.append(Hook("ServiceEdit", {"userid": row["client_id"], "serviceid": row["id"]}))
    return {"serviceid": str(row["id"])}


def _module_params(sb: SandboxState, row: Any) -> dict[str, Any]:
    """What the PHP hook forwards of AfterModule* `params` (secrets already stripped, as the hook does)."""
    product = sb.one("SELECT * FROM products WHERE id = ?", [row["pid"]])
    fields = sb.all("SELECT name, value FROM service_customfields WHERE service_id = ?", [row["id"]])
    return {
        "params": {
            "serviceid": row["id"],
            "userid": row["client_id"],
            "pid": row["pid"],
            "serverid": row["serverid"],
            "domain": row["domain"],
            "username": row["username"],
            "producttype": product["type"] if product else "other",
            "moduletype": product["module"] if product else "",
            "customfields": {f["name"]: f["value"] for f in fields},
        }
    }


def _needs_module(sb: SandboxState, row: Any) -> None:
    product = sb.one("SELECT module FROM products WHERE id = ?", [row["pid"]])
    if not product or not product["module"]:
        raise ApiFail("Service not assigned to a module")


def _transition(
    sb: SandboxState,
    p: Params,
    *,
    to: str,
    allowed_from: tuple[str, ...],
    verb: str,
    hook: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """A module command that moves a service from one status to another, as WHMCS logs and hooks it."""
    row = _service_row(sb, p)
    _needs_module(sb, row)
    if row["status"] == to:
        raise ApiFail(f"Service is already {to.lower()}")
    if row["status"] not in allowed_from:
        raise ApiFail(f"Service status is {row['status']}: cannot {verb.lower()} it")
    changes: dict[str, Any] = {"status": to, "lastupdate": sb.stamp()}
    if reason is not None:
        changes["suspensionreason"] = reason
    sb.update("services", row["id"], **changes)
    sb.log(f"Module {verb} Successful - Service ID: {row['id']}", row["client_id"])
    updated = sb.one("SELECT * FROM services WHERE id = ?", [row["id"]])
    p.hooks.append(Hook(hook, _module_params(sb, updated)))
    return {}


def module_suspend(sb: SandboxState, p: Params) -> dict[str, Any]:
    reason = p.text("suspendreason")
    return _transition(
        sb, p, to="Suspended", allowed_from=("Active",), verb="Suspend", hook="AfterModuleSuspend", reason=reason
    )


def module_unsuspend(sb: SandboxState, p: Params) -> dict[str, Any]:
    return _transition(
        sb, p, to="Active", allowed_from=("Suspended",), verb="Unsuspend", hook="AfterModuleUnsuspend", reason=""
    )


def module_terminate(sb: SandboxState, p: Params) -> dict[str, Any]:
    allowed = ("Active", "Suspended", "Pending")
    return _transition(sb, p, to="Terminated", allowed_from=allowed, verb="Terminate", hook="AfterModuleTerminate")


def module_change_pw(sb: SandboxState, p: Params) -> dict[str, Any]:
    row = _service_row(sb, p)
    _needs_module(sb, row)
    password = p.text("servicepassword") or secrets.token_urlsafe(12)
    sb.update("services", row["id"], password=password, lastupdate=sb.stamp())
    sb.log(f"Module Change Password Successful - Service ID: {row['id']}", row["client_id"])
    return {}


def module_custom(sb: SandboxState, p: Params) -> dict[str, Any]:
    # DD:api-reference/modulecustom.md: `serviceid` since 7.7, `accountid` still accepted.
    row = _service_row(sb, p)
    _needs_module(sb, row)
    command = p.text("func_name")
    if not command:
        raise ApiFail("Function name is required")
    sb.insert("module_commands", service_id=row["id"], command=command, at=sb.stamp())
    sb.log(f"Module Custom Command ({command}) Successful - Service ID: {row['id']}", row["client_id"])
    return {}
