"""An email's identity from its WHMCS template name and related id (whmcs/templates.py), table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from whmcs_bridge.whmcs.templates import DEFAULT_TEMPLATES, EmailIdentity, TemplateInfo, identify

LISTED = {
    "Bienvenue - hébergement": TemplateInfo(type="product", secret="service-access"),
    "Service Suspension Notification": TemplateInfo(type="product", secret="takeover"),  # staff re-marked it
}


@pytest.mark.parametrize(
    ("messagename", "relid", "userid", "expected"),
    [
        (
            "Dedicated/VPS Server Welcome Email",
            110,
            11,
            EmailIdentity("Dedicated/VPS Server Welcome Email", "product", "service-access", "service", 110),
        ),
        (
            "Domain Registration Confirmation",
            "11",
            11,
            EmailIdentity("Domain Registration Confirmation", "domain", "none", "domain", 11),
        ),
        ("Invoice Created", 501, 11, EmailIdentity("Invoice Created", "invoice", "none", "invoice", 501)),
        (
            "Password Reset Validation",
            0,
            11,
            EmailIdentity("Password Reset Validation", "general", "takeover", "client", 11),
        ),
        (
            "  Bienvenue - hébergement ",
            110,
            11,
            EmailIdentity("Bienvenue - hébergement", "product", "service-access", "service", 110),
        ),
        (
            "Service Suspension Notification",
            110,
            11,
            EmailIdentity("Service Suspension Notification", "product", "takeover", "service", 110),
        ),
        (
            "Hosting Account Welcome Email",
            "",
            11,
            EmailIdentity("Hosting Account Welcome Email", "product", "service-access", "service", None),
        ),
        (
            "Hosting Account Welcome Email",
            "1e3",
            11,
            EmailIdentity("Hosting Account Welcome Email", "product", "service-access", "service", None),
        ),
        ("hosting account welcome email", 110, 11, None),  # WHMCS's names are exact
        ("Bienvenue VPS", 110, 11, None),  # nobody listed it
        ("", 110, 11, None),  # a custom message
        (None, None, 11, None),  # an event from a hook before version 2
        (["Hosting Account Welcome Email"], 110, 11, None),
    ],
)
def test_identify(messagename: Any, relid: Any, userid: Any, expected: EmailIdentity | None):
    assert identify(messagename, relid, userid, LISTED) == expected


def test_every_welcome_template_prints_service_access_and_every_reset_is_takeover():
    welcomes = {n: t for n, t in DEFAULT_TEMPLATES.items() if n.endswith("Welcome Email")}
    assert len(welcomes) >= 5 and all(t.type == "product" and t.secret == "service-access" for t in welcomes.values())
    assert all(t.secret == "takeover" for n, t in DEFAULT_TEMPLATES.items() if "Password" in n)
