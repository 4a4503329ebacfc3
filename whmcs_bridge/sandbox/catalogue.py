"""The products every sandbox scenario sells (the generated `scale` world too)."""

from __future__ import annotations

from whmcs_bridge.sandbox.state import SandboxState

PRODUCTS = [
    (1, "Reseller Pro", "Reseller Hosting", "reselleraccount", "cpanel"),
    (2, "Dedicated E-2236", "Dedicated Servers", "server", "ipmi"),
    (3, "Starter", "Shared Hosting", "hostingaccount", "cpanel"),
    (4, "Business", "Shared Hosting", "hostingaccount", "cpanel"),
]


def products(sb: SandboxState) -> None:
    for pid, name, group, ptype, module in PRODUCTS:
        sb.insert("products", id=pid, name=name, groupname=group, type=ptype, module=module)
