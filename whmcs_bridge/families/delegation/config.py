"""The delegation section of the configuration: roles, the rights each carries, expiry, links, digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from whmcs_bridge.config.reader import Duration
from whmcs_bridge.whmcs.templates import TemplateInfo

EmailCategory = Literal["product", "domain", "invoice", "support", "general"]


@dataclass(frozen=True, kw_only=True)
class RoleRights:
    copy_emails: list[EmailCategory] = field(default_factory=list)
    welcome_email: Literal["copy", "notice", "none"] = "notice"
    support_authority: bool = False
    renew: bool = False
    order_for_owner: bool = False


def _default_roles() -> dict[str, RoleRights]:
    return {
        "technical": RoleRights(copy_emails=["product", "domain"], support_authority=True, renew=True),
        "administrative": RoleRights(order_for_owner=True, welcome_email="none"),
    }


@dataclass(frozen=True, kw_only=True)
class DelegationSection:
    enabled: bool = False
    roles: dict[str, RoleRights] = field(default_factory=_default_roles)
    default_expiry: Duration | None = None
    # When a grant is revoked, suggest to the owner that the service's credentials be changed.
    offer_password_change: bool = True
    # Who confirms a new grant through a one-time link before it is active: "owner" (a delegate's request
    # waits for the owner; staff's grant is active at once), "both" (the owner and the delegate, for a
    # request and for staff's grant alike: OVHcloud's practice) or "none" (a request is active at once).
    confirm: Literal["owner", "both", "none"] = "owner"
    # How long an owner's consent link stays valid; a request nobody answered by then lapses.
    consent_link_ttl: Duration = Duration(days=7)
    # This long before a grant's expiry, both sides are reminded of its end; null for no reminder.
    expiry_reminder: Duration | None = Duration(days=7)
    # This often, each owner gets one email per contact who acted, saying what it did on their
    # behalf (copies received, tickets answered as verified contact, renewals); null for none.
    digest_every: Duration | None = Duration(days=7)
    # Email templates beyond WHMCS's defaults (whmcs/templates.py), by the exact name WHMCS gives
    # them: a custom template, a renamed or translated default. Each says its type and what secret it
    # prints. An email whose template is neither a default nor listed here is never copied.
    email_templates: dict[str, TemplateInfo] = field(default_factory=dict)
    # Not a configuration key: whether one-time links can be sent (receiver.public_url is set).
    links: bool = field(default=True, metadata={"internal": True})

    def problem(self) -> str | None:
        unknown = set(self.roles) - {"technical", "administrative"}
        return f"roles named technical and administrative only (not {', '.join(sorted(unknown))})" if unknown else None
