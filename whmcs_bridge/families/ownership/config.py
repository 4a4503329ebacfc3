"""The `ownership:` configuration section (SPEC §4.3): policies per subject and party kind, the
evidence each needs, consent or notice, response window, approvals, post-change lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from whmcs_bridge.config.reader import Duration, _positive, a_word, check, some_time, staff_names

SubjectKind = Literal["domain", "service", "client"]
PartyKind = Literal["company", "person", "any"]
Grounds = Literal["vendor", "ex-employee", "brand", "dissolved", "deceased", "court-order"]
EvidenceKind = Literal[
    "letterhead-letter",  # on company letterhead, signed by an authorised representative
    "registry-extract",  # company registry extract (e.g. Kbis, Handelsregisterauszug, AHU)
    "signatory-id",  # the signatory's identity document
    "vendor-contract",  # the contract between the requester and the vendor
    "court-order",
    "death-certificate",
    "heir-authority",  # the heir's or the estate's authority: grant of probate, certificate of inheritance
    "dissolution-record",
    "liquidator-letter",  # the liquidator's or the successor company's letter
    "holder-statement",  # the holder's own signed statement of hand-over
    "other",
]
GROUNDS: tuple[str, ...] = ("vendor", "ex-employee", "brand", "dissolved", "deceased", "court-order")
EVIDENCE_KINDS: tuple[str, ...] = EvidenceKind.__args__  # type: ignore[attr-defined]
# The largest evidence file the bridge takes (ownership.max_evidence_mb at most this): what `verify-dossier`, which
# has no configuration, hashes of a file a dossier lists, at most (evidence/bounded.py LARGEST_LISTED; twenty-fourth
# round: a 200 GB sparse file under an evidence name was read for minutes).
LARGEST_EVIDENCE_MB = 1024


def _evidence_mb(value: int) -> str | None:
    return None if 0 < value <= LARGEST_EVIDENCE_MB else f"a number of MB from 1 to {LARGEST_EVIDENCE_MB}"


@dataclass(frozen=True, kw_only=True)
class EvidenceRule:
    kind: EvidenceKind
    # The document's own date (given with `ownership attach --dated`) may be no older than this.
    max_age_days: int | None = check(_positive, None)


@dataclass(frozen=True, kw_only=True)
class OwnershipPolicy:
    # Which cases it covers: the subject kinds, the holder's and requester's kind (a client with a
    # company name is a company), the grounds (empty: any). The first policy that matches applies.
    subjects: list[SubjectKind]
    holder: PartyKind = "any"
    requester: PartyKind = "any"
    grounds: list[Grounds] = field(default_factory=list)
    evidence: list[EvidenceRule] = field(default_factory=list)
    # required: the holder must consent through the link; notice: no objection within the window suffices;
    # none: the holder is not asked (a deceased holder, a dissolved company, a court order): the checked
    # documents go straight to staff review.
    consent: Literal["required", "notice", "none"] = "notice"
    # When consent is required and the window passes without it: staff may only reject, or approve a
    # hand-over of a backup (the service itself stays with the holder, e.g. the vendor's own application).
    without_consent: Literal["reject", "backup-only"] = "reject"
    window: Duration = check(some_time, Duration(days=14))
    approvals: int = check(_positive, 1)
    # After completion no other case or delegation change on the subject is accepted for this long.
    lock: Duration = Duration(days=60)
    # List a commission to the vendor (the holder) in the execution checklist, to keep its goodwill.
    vendor_commission: bool = False
    # Further lines for staff's checklist ticket, as written (in the staff language; the parties never
    # see them).
    side_effects: list[str] = field(default_factory=list)

    def problem(self) -> str | None:
        if not self.subjects:
            return "at least one subject kind (domain, service, client)"
        if self.without_consent == "backup-only" and self.consent != "required":
            return "without_consent: backup-only only together with consent: required"
        return None


def _default_request_words() -> list[str]:
    return [
        "full access",
        "full control",
        "ownership",
        "owner of",
        "take over",
        "transfer the account",
        "change the owner",
        "change of owner",
        "akses penuh",  # seed 000 is Indonesian: "full access"
        "kepemilikan",  # "ownership"
    ]


@dataclass(frozen=True, kw_only=True)
class OwnershipSection:
    enabled: bool = False
    # Named policies, tried in order.
    policies: dict[str, OwnershipPolicy] = field(default_factory=dict)
    # Where case tickets (to the requester, the holder and staff) are opened [default:
    # safety.staff_department_id].
    department_id: int | None = check(_positive, None)
    # A reminder to the holder this long before the response window ends.
    remind_before: Duration = Duration(days=3)
    # Staff are reminded when the execution checklist is still undone after this long.
    checklist_reminder: Duration = Duration(days=3)
    # While a case is executing, WHMCS is read this often to see whether staff moved the subjects.
    check_every: Duration = check(some_time, Duration(hours=1))
    # How long a requester's confirmation link stays valid.
    confirm_link_ttl: Duration = check(some_time, Duration(days=14))
    # Evidence files: where they are kept (content-addressed, read-only) [default: an `evidence`
    # folder beside state.path], their size limit, and the accepted types.
    evidence_dir: str | None = None
    max_evidence_mb: int = check(_evidence_mb, 20)
    evidence_types: list[Literal["pdf", "png", "jpeg", "text", "eml"]] = field(
        default_factory=lambda: ["pdf", "png", "jpeg", "text", "eml"]
    )
    # A ticket containing one of these (case-insensitive) about something the writer does not own
    # opens a draft case for staff to confirm; empty: never.
    request_words: list[str] = check(a_word, factory=_default_request_words, each=True)
    # The WHMCS email template that gives a service's access details (the product's welcome email): sent
    # with SendEmail for a service once it is the new holder's and its password was changed.
    welcome_email: str = "Hosting Account Welcome Email"
    # Who may decide on cases (`--by`, compared without case); empty: the shared top-level `staff:` list.
    staff: list[str] = check(staff_names, factory=list)

    def problem(self) -> str | tuple[str, str] | None:
        if self.enabled and not self.policies:
            return "at least one policy under `policies` when ownership is enabled"
        for name, policy in self.policies.items():
            if policy.consent != "none" and policy.window <= self.remind_before:
                return (
                    f"policies.{name}.window",
                    f"a window longer than ownership.remind_before ({self.remind_before})",
                )
        return None

    def staff_problem(self, shared: list[str]) -> tuple[str, str] | None:
        """A policy asking for more approvals than there are staff to give them (this section's `staff:`, else
        the shared list): (its key path in this section, the expected phrase)."""
        staff = list(self.staff) or shared
        for name, policy in self.policies.items() if self.enabled else ():
            if policy.approvals > len(staff):
                who = ", ".join(staff) if staff else "nobody: list them under `staff:` or `ownership.staff:`"
                return (
                    f"policies.{name}.approvals",
                    "at most as many approvals as members of staff who may give them "
                    f"({policy.approvals} approval{'s' if policy.approvals > 1 else ''}; staff: {who})",
                )
        return None
