"""Anchors: the audit chain's signed head written into WHMCS's activity log (LogActivity), out of reach of
whoever holds the bridge's database, at every case decision, after each step and the completion of an
ownership move, and at least daily; and the comparison of
the chain with those entries (`audit verify --against-whmcs`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from whmcs_bridge.clock import iso
from whmcs_bridge.errors import RolledBack
from whmcs_bridge.evidence.keys import PublicKey
from whmcs_bridge.executor.kinds import action_kind
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.records import ActivityEntry

# "[wb-" marks the bridge's own activity lines: the poller does not read them back as news.
PREFIX = "[wb-anchor] whmcs-bridge audit chain"
_TEXT = re.compile(
    r"\[wb-anchor\] whmcs-bridge audit chain: (?P<count>\d+) rows, head (?P<hash>[0-9a-f]{64}), "
    r"key (?P<fingerprint>SHA256:[0-9a-f]{64}), signed (?P<signature>[A-Za-z0-9+/=]+), at (?P<at>\S+)"
)
EVERY = timedelta(days=1)
log = logging.getLogger("whmcs_bridge.evidence")

# Audit actions that are a case decision: the chain is anchored after each (families add theirs). Staff's
# ownership commands are audited as staff.OwnershipCommand.<command> (staff.py: every one is, decisive()); a party's answer through
# a one-time link (consent, or an objection that disputes the case) as consent.decided (web/consent.py).
DECISIONS: set[str] = {
    "consent.decided",
    # An ownership move's completion, by staff's `complete` or by the bridge seeing every subject moved.
    "ownership.execution_completed",
}
# The subject of an ownership case's actions: after a pass that changed something in WHMCS for a case (its
# move's start: the registrant, the transfer lock, the checklist, the notes and notices; its completion: the
# new holder's password, the notes), the chain is anchored, so the rows of a move are out of reach from its
# start, not only from the next daily anchor. Reads (who owns a subject now, a reply's writer) are not steps:
# a locked case reads WHMCS every `check_every` for weeks.
CASE_SUBJECT = "ownership:"
# The audit action of staff's acknowledgement that the database was rolled back behind WHMCS's anchors.
ACKNOWLEDGED = "audit.rollback_acknowledged"


# Every staff command on an ownership case is one: an evidence item attached or checked, an answer recorded, a
# requester named; left to the daily anchor, a tail cut back to the signed head before it went unseen (twenty-fourth
# break round, MEDIUM 6).
STAFF_CASE_COMMAND = "staff.OwnershipCommand."


def decisive(action: str) -> bool:
    """Whether the chain is anchored after this audit action at the next pass."""
    return action in DECISIONS or action.startswith(STAFF_CASE_COMMAND)


def add_decisions(*actions: str) -> None:
    """Name more audit actions after which the chain is anchored (a family's case decisions)."""
    DECISIONS.update(actions)


class ActivityLog(Protocol):
    """What anchoring needs of WHMCS (whmcs.api.WhmcsApi has it)."""

    def log_activity(self, description: str, client_id: int | None = None) -> None: ...

    def activity(self, *, client_id: int | None = None, description: str | None = None) -> Iterable[ActivityEntry]: ...


def text(point: audit.Checkpoint) -> str:
    """The activity-log line of a checkpoint: all a reader of WHMCS needs to check it with the public key."""
    return (
        f"{PREFIX}: {point.count} rows, head {point.hash}, key {point.fingerprint}, "
        f"signed {point.signature}, at {point.at}"
    )


def parse(description: str) -> audit.Checkpoint | None:
    found = _TEXT.search(description)
    if not found:
        return None
    return audit.Checkpoint(
        int(found["count"]), found["hash"], found["signature"], found["fingerprint"], found["at"], "anchor"
    )


def due(db: Database, now: datetime) -> str | None:
    """Why the chain should be anchored now (a decision or a move's step since the last anchor, or a day
    gone), or None."""
    if db.signer is None:
        return None
    current = audit.head(db)
    if current is None:
        return None
    last = audit.last_anchored(db)
    if last is not None and last.count >= current[0]:
        return None
    decided = sorted(a for a in audit.actions_since(db, last.count if last else 0) if decisive(a))
    if decided:
        return f"decision ({decided[0]})"
    stepped = sorted(k for k in audit.kinds_run_since(db, last.count if last else 0, CASE_SUBJECT) if not _read(k))
    if stepped:
        return f"ownership step ({stepped[0]})"
    # Unanchored rows a day old: the oldest since the last anchor (or since the chain began).
    oldest = audit.first_at_after(db, last.count if last else 0)
    if oldest is not None and now - datetime.fromisoformat(oldest) >= EVERY:
        return "daily"
    return None


def _read(kind: str) -> bool:
    try:
        return action_kind(kind).read_only
    except ValueError:  # a kind this version no longer runs: what it did is kept like any step
        return False


def find(api: ActivityLog, point: audit.Checkpoint) -> int | None:
    """The id of the activity-log line carrying this checkpoint, if WHMCS has it."""
    for entry in api.activity(description=point.hash):
        if parse(entry.description) == _as_anchor(point):
            return entry.id
    return None


def _as_anchor(point: audit.Checkpoint) -> audit.Checkpoint:
    return audit.Checkpoint(point.count, point.hash, point.signature, point.fingerprint, point.at, "anchor")


def anchor(db: Database, api: ActivityLog, now: datetime, reason: str) -> audit.Checkpoint:
    """Keep the head as a checkpoint and write it into WHMCS's activity log (once: a line already there
    is found by its hash first); return the checkpoint with its activity-log id."""
    refuse_if_rolled_back(db, api)  # never an anchor on top of a chain WHMCS knows to have gone further
    point = audit.checkpoint(db, reason, at=iso(now))
    if point.anchor_id is not None:
        return point  # this head is anchored already
    found = find(api, point)
    if found is None:
        # LogActivity answers only `result` (DD:api-reference/logactivity.md): the new line's id is read
        # back through GetActivityLog's description search (DD:api-reference/getactivitylog.md).
        api.log_activity(text(point))
        found = find(api, point)
    if found is None:
        # Written, but not found back by its hash: recorded as anchored (id 0, unknown) so that no later
        # pass writes it again; `audit verify --against-whmcs` reads WHMCS itself.
        log.warning("the audit chain's anchor of %s rows was written into WHMCS but not found back", point.count)
        found = 0
    audit.record_anchor(db, point.count, found, iso(now))
    return audit.checkpoint_at(db, point.count) or point


def anchor_if_due(db: Database, api: ActivityLog, now: datetime) -> audit.Checkpoint | None:
    reason = due(db, now)
    return anchor(db, api, now, reason) if reason else None


def compare(
    db: Database,
    api: ActivityLog,
    key: PublicKey,
    older: Iterable[PublicKey] = (),
    ahead: list[audit.Checkpoint] | None = None,
) -> tuple[int, list[str]]:
    """The chain against every anchor WHMCS's activity log holds: each must be signed with `key`, name a
    row the chain still has with the same hash, and none may count more rows than the chain has (a
    truncated, wiped or rolled-back chain). Returns how many anchors were checked and the problems; `ahead`
    receives the genuine anchors this chain does not reach or no longer has (newer, or rewritten since)."""
    problems: list[str] = []
    checked = 0
    count = audit.head(db)
    total = count[0] if count else 0
    found: dict[int, audit.Checkpoint] = {}
    keys = {k.fingerprint: k for k in (key, *older)}
    replaced = audit.replaced_keys(db)
    matching: list[int] = []  # anchored heads the chain still has
    rewritten: list[tuple[int, audit.Checkpoint]] = []
    for entry in api.activity(description=PREFIX):
        point = parse(entry.description)
        if point is None:
            continue
        entry_id = entry.id
        found[entry_id] = point
        checked += 1
        if point.fingerprint not in keys and point.fingerprint in replaced:
            problems.append(
                f"WHMCS activity-log entry {entry_id}: an anchor signed with the key replaced at audit row "
                f"{replaced[point.fingerprint]} ({point.fingerprint}), not checked: give its public half with "
                "another --public-key FILE"
            )
        elif point.fingerprint not in keys:
            problems.append(
                f"WHMCS activity-log entry {entry_id}: an anchor signed with another key ({point.fingerprint}): "
                "the chain and its key were replaced since"
            )
        elif not point.verifies(keys[point.fingerprint]):
            problems.append(f"WHMCS activity-log entry {entry_id}: an anchor whose signature does not verify (forged)")
        elif point.count > total:
            if ahead is not None:
                ahead.append(point)
            problems.append(
                f"WHMCS activity-log entry {entry_id} anchors {point.count} rows, newer than the chain's head "
                f"({total} rows): rows were cut off, the log wiped or an older copy of the database restored"
            )
        elif point.count and audit.hash_of(db, point.count) != point.hash:
            rewritten.append((entry_id, point))
            if ahead is not None:
                ahead.append(point)
        else:
            matching.append(point.count)
    problems.extend(_rewritten(db, rewritten, matching))
    problems.extend(missing(db, found))
    return checked, problems


def _rewritten(db: Database, rewritten: list[tuple[int, audit.Checkpoint]], matching: list[int]) -> list[str]:
    """An anchor whose row no longer has its hash: every row's hash covers those before it, so the edit lies
    after the last anchor that still matches and at or before this one (a chain re-hashed and re-signed
    tells no more than that range; an edit without the key is named by `audit verify` to the row)."""
    problems = []
    for entry_id, point in rewritten:
        after = max((count for count in matching if count < point.count), default=0)
        span = f"row {after + 1}" if after + 1 == point.count else f"rows {after + 1} to {point.count}"
        problems.append(
            f"WHMCS activity-log entry {entry_id}: row {point.count} is not the row anchored on {point.at} (the "
            f"chain was rewritten in {span}"
            + (f"; the anchor of row {after} still matches)" if after else ")")
        )
    return problems


def missing(db: Database, found: dict[int, audit.Checkpoint]) -> list[str]:
    """The anchors the chain records as written into WHMCS that its activity log no longer has (pruned, or
    the line deleted): what they vouched for can no longer be shown from outside the bridge."""
    problems = []
    carried = {(p.count, p.hash) for p in found.values()}
    for point in audit.checkpoints(db, anchored=True):
        if point.anchor_id and point.anchor_id in found and found[point.anchor_id].hash == point.hash:
            continue
        if not point.anchor_id and (point.count, point.hash) in carried:
            continue  # written but its id never read back: found by its content
        where = f"entry {point.anchor_id}" if point.anchor_id else "an entry (its id was not read back)"
        problems.append(
            f"the anchor of {point.count} rows (head {point.hash[:16]}…) the chain records in WHMCS activity-log "
            f"{where} on {point.at} is missing from WHMCS (the activity log was pruned or the entry deleted)"
        )
    return problems


def not_reached(db: Database, api: ActivityLog, key: PublicKey) -> list[audit.Checkpoint]:
    """The anchors in WHMCS, signed with `key`, that this chain does not reach or no longer has (a database
    restored from an older backup, or rewritten), less those staff acknowledged (`audit acknowledge-rollback`);
    the newest last. Read with the comparison of `audit verify --against-whmcs`."""
    ahead: list[audit.Checkpoint] = []
    compare(db, api, key, ahead=ahead)
    known = acknowledged(db)
    return sorted((p for p in ahead if (p.count, p.hash) not in known), key=lambda p: p.count)


def acknowledged(db: Database) -> set[tuple[int, str]]:
    """The anchors staff acknowledged as lost with a rollback (count, head hash), from the audit chain."""
    return {
        (int(count), str(head))
        for entry in audit.entries(db, action=ACKNOWLEDGED)
        for count, head in entry.detail.get("anchors", [])
    }


def refuse_if_rolled_back(db: Database, api: ActivityLog) -> None:
    """RolledBack when WHMCS holds anchors this chain does not reach (a database restored from an older backup,
    not yet acknowledged): the one check before anything acts on the state, by the daemon's pass before it
    sends, by an anchor before it is written, and by every staff command that changes the state before it
    writes (cli.common.open_state). A database without its key has no anchors to compare."""
    if db.signer is None:
        return
    lost = rolled_back(db, api, db.signer.public)
    if lost:
        raise RolledBack(lost)


def rolled_back(db: Database, api: ActivityLog, key: PublicKey) -> str | None:
    """One sentence when WHMCS holds anchors this chain does not reach (what was lost, and what to do), or None."""
    ahead = not_reached(db, api, key)
    if not ahead:
        return None
    newest = ahead[-1]
    current = audit.head(db)
    total = current[0] if current else 0
    here = (
        f"this database stops at row {total}"
        if newest.count > total
        else f"this database's row {newest.count} is another one (it has {total} rows)"
    )
    return (
        f"WHMCS's activity log holds an anchor of this audit chain that this database does not reach: the chain "
        f"in WHMCS goes to row {newest.count} (head {newest.hash[:16]}…, anchored {newest.at}), {here}, so what "
        "was recorded after the backup it was restored from (decisions, objections, steps) is lost here; restore "
        "a newer backup, or see `whmcs-bridge audit verify --against-whmcs`, and once you have looked, "
        "`whmcs-bridge audit acknowledge-rollback --by NAME` lets the bridge go on from this database (recorded)"
    )
