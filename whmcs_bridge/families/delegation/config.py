"""The delegation section of the configuration: roles, the rights each carries, expiry, links, digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from whmcs_bridge.config.reader import Duration, check, some_time
from whmcs_bridge.whmcs.templates import DEFAULT_TEMPLATES, TemplateInfo

SECRET_RANK = {"none": 0, "free-text": 1, "service-access": 1, "takeover": 2}  # what a template prints, least first
# What a default template of each kind prints, as a configuration error says it.
PRINTS = {
    "service-access": "access details",
    "free-text": "what a person wrote, which may carry a password",
    "takeover": "what hands over the account",
}

EmailCategory = Literal["product", "domain", "invoice", "support", "general"]


@dataclass(frozen=True, kw_only=True)
class NamedTemplates:
    """Templates a role names, by the exact name WHMCS gives them: each list overrides the template's
    category (copy_emails). A template that prints access details still follows the owner's choice."""

    copy: list[str] = field(default_factory=list)  # copied (the email itself, account links removed)
    notice: list[str] = field(default_factory=list)  # a notice that the owner received it, without its text
    never: list[str] = field(default_factory=list)  # nothing at all

    def policy(self, template: str) -> Literal["copy", "notice", "never"] | None:
        for name in ("never", "notice", "copy"):  # a name is in one list at most (checked when read)
            if template in getattr(self, name):
                return name
        return None


@dataclass(frozen=True, kw_only=True)
class RoleRights:
    copy_emails: list[EmailCategory] = field(default_factory=list)
    templates: NamedTemplates = field(default_factory=NamedTemplates)
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
    default_expiry: Duration | None = check(some_time, None)
    # Who is invoiced for an order an administrative contact's user placed in the owner's name: "owner"
    # (as WHMCS invoiced it) or "payer" (o2switch's rule: the ordering agency gets an invoice for exactly the
    # order's items, the owner's invoice stops asking for them, and the agency's payment accepts the order).
    order_invoice_to: Literal["owner", "payer"] = "owner"
    # When a grant is revoked, suggest to the owner that the service's credentials be changed.
    offer_password_change: bool = True
    # Who confirms a new grant through a one-time link before it is active: "owner" (a delegate's request
    # waits for the owner; staff's grant is active at once), "both" (the owner and the delegate, for a
    # request and for staff's grant alike: OVHcloud's practice) or "none" (a request is active at once).
    confirm: Literal["owner", "both", "none"] = "owner"
    # How long an owner's consent link stays valid; a request nobody answered by then lapses.
    consent_link_ttl: Duration = check(some_time, Duration(days=7))
    # This long before a grant's expiry, both sides are reminded of its end; null for no reminder.
    expiry_reminder: Duration | None = Duration(days=7)
    # This often, each owner gets one email per contact who acted, saying what it did on their
    # behalf (copies received, tickets answered as verified contact, renewals); null for none.
    digest_every: Duration | None = check(some_time, Duration(days=7))
    # Email templates beyond WHMCS's defaults (whmcs/templates.py), by the exact name WHMCS gives
    # them: a custom template, a renamed or translated default. Each says its type and what secret it
    # prints. An email whose template is neither a default nor listed here is never copied.
    email_templates: dict[str, TemplateInfo] = field(default_factory=dict)
    # Not a configuration key: whether one-time links can be sent (receiver.public_url is set).
    links: bool = field(default=True, metadata={"internal": True})

    def problem(self) -> str | tuple[str, str] | None:
        unknown = set(self.roles) - {"technical", "administrative"}
        if unknown:
            return f"roles named technical and administrative only (not {', '.join(sorted(unknown))})"
        return self.template_problem()

    def template_problem(self) -> tuple[str, str] | None:
        """A role's named template that is neither listed under email_templates nor a WHMCS default, or
        that hands over the account yet is not under `never`; or a WHMCS default listed under email_templates
        as printing less than it does: (its key path, what was expected)."""
        for name, listed in self.email_templates.items():
            default = DEFAULT_TEMPLATES.get(name)
            if default is not None and listed.type != default.type:
                return (
                    f"email_templates.{name}.type",
                    f"{default.type!r} (the type of WHMCS's default template {name!r})",
                )
            if default is not None and SECRET_RANK[listed.secret] < SECRET_RANK[default.secret]:
                return (
                    f"email_templates.{name}.secret",
                    f"{default.secret} or more (WHMCS's default template {name!r} prints "
                    f"{PRINTS[default.secret]}; "
                    "a listing cannot make it print less)",
                )
        for role, rights in self.roles.items():
            seen: dict[str, str] = {}
            for policy in ("copy", "notice", "never"):
                for i, name in enumerate(getattr(rights.templates, policy)):
                    info = self.email_templates.get(name) or DEFAULT_TEMPLATES.get(name)
                    where = f"roles.{role}.templates.{policy}[{i}]"
                    if seen.setdefault(name, policy) != policy:
                        return (where, f"each template in one list of a role ({name} is also under {seen[name]})")
                    if info is None:
                        return (
                            where,
                            "a template listed under delegation.email_templates or a WHMCS default template name",
                        )
                    if info.secret == "takeover" and policy != "never":
                        return (
                            where,
                            "a template a delegate may receive (this one hands over the account or a domain: never sent)",
                        )
        return None
