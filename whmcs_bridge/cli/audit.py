"""`whmcs-bridge audit`: verify the hash-chained audit log (and its anchors in WHMCS), show it, sign and
anchor its head, and the signing key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from whmcs_bridge import readable
from whmcs_bridge import staff as shared_staff
from whmcs_bridge.cli.common import (
    ID,
    JSON_LIST,
    JSON_OBJECT,
    Context,
    Group,
    echo_json,
    existing_state,
    open_state,
    user_errors,
)
from whmcs_bridge.clock import utcnow
from whmcs_bridge.errors import AuditChainError, BridgeError, EnvironmentProblem, StateEdited
from whmcs_bridge.evidence import anchor, keys
from whmcs_bridge.evidence.keys import PublicKey
from whmcs_bridge.evidence.signer import chain_signer
from whmcs_bridge.families import FAMILIES
from whmcs_bridge.families.ownership import integrity
from whmcs_bridge.store import audit as audit_log
from whmcs_bridge.store import fed, planned
from whmcs_bridge.store.db import Database
from whmcs_bridge.whmcs.api import WhmcsApi


@click.group(cls=Group)
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@click.option(
    "--public-key",
    "public_key",
    type=click.Path(dir_okay=False, path_type=Path),
    multiple=True,
    help="Check the signatures with this public key (PEM, as `audit key` prints it) instead of the bridge's own; "
    "repeat it to add the public half of a key replaced with `audit key --new`.",
)
@click.option(
    "--against-whmcs",
    is_flag=True,
    help="Also compare the chain with the anchors the bridge wrote into WHMCS's activity log.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_OBJECT)
@click.pass_obj
@user_errors
def audit_verify(obj: Context, public_key: tuple[Path, ...], against_whmcs: bool, as_json: bool) -> None:
    """Recompute the audit chain and check its signed head and checkpoints; exit 1 and name the first
    broken row if rows were edited, deleted, added, renumbered or wiped without the signing key.
    Without the signing key beside the database (and no --public-key) it never says intact: it says what
    it could not check and exits 1; a key there that is not the one the log was signed with (the key file
    replaced) is named as such, against the pinned fingerprint if there is one, and no row is blamed. With the key's fingerprint pinned in the configuration
    (state.key_fingerprint), exit 1 if the chain is signed with any other key; unpinned, it says that a
    replaced key would not be detected. With --against-whmcs, also exit 1 if the chain is not the one anchored
    in WHMCS (cut short, rewritten, an anchor missing from WHMCS, or restored from an older copy). A chain
    intact also exits 1 naming a case's state, an outbox action, or an inbox event claiming to be what the
    executor read in WHMCS, that disagrees with it (edited or inserted in the database without the key)."""
    config = obj.config()
    with Database(existing_state(config), migrate=False, signing=False) as db:
        given = [PublicKey.from_file(path) for path in public_key]
        head_by = audit_log.head_fingerprint(db)
        key = next((k for k in given if k.fingerprint == head_by), given[0]) if given else None
        local = keys.load(keys.key_path(db.path.resolve()))  # read, never signing: a swapped key is named below
        key = key or (local.public if local else None)
        if not given and key is not None and head_by is not None and key.fingerprint != head_by:
            path = keys.key_path(db.path.resolve())
            pinned = config.state.key_fingerprint
            raise BridgeError(keys.not_the_signer(path, key.fingerprint, head_by, pinned, config.source))
        unchecked: list[audit_log.Checkpoint] = []
        count = audit_log.verify(db, key, older=[k for k in given if k is not key], unchecked=unchecked)
        if unchecked:
            lost = sorted({p.fingerprint for p in unchecked})
            raise BridgeError(
                f"audit chain NOT verified: its {count} row(s) link up and its head is signed with "
                f"{key.fingerprint if key else '?'}, but {len(unchecked)} checkpoint(s) up to row "
                f"{unchecked[-1].count} are signed with the replaced key {', '.join(lost)} and were not checked: "
                "give that key's public half too with another --public-key FILE"
            )
        if key is None:
            # Rows recomputed by a forger link up as well as the bridge's: without a key nothing is vouched for.
            raise BridgeError(
                f"audit chain NOT verified: its {count} row(s) link up, but the signing key "
                f"{keys.key_path(db.path.resolve())} is missing, so the signed head and checkpoints were not "
                "checked: restore the key, or give the bridge's public key with --public-key FILE"
            )
        pinned = keys.pin_problem(key.fingerprint, config.state.key_fingerprint, config.source)
        if pinned:
            raise BridgeError(
                f"audit chain NOT verified: its {count} row(s) link up but its head is signed with {pinned}"
            )
        anchors = None
        if against_whmcs:
            anchors, problems = anchor.compare(
                db, WhmcsApi.from_config(config), key, [k for k in given if k is not key]
            )
            if problems:
                raise AuditChainError(count, "; ".join(problems))
        _states_agree(db, count)
    is_pinned = config.state.key_fingerprint is not None
    signed = f", signed with {key.fingerprint}" + (", the key pinned in the configuration" if is_pinned else "")
    whmcs = f", matching {anchors} anchor(s) in WHMCS's activity log" if anchors is not None else ""
    if as_json:
        echo_json(
            {
                "intact": True,
                "entries": count,
                "key": key.fingerprint,
                "key_pinned": is_pinned,
                "whmcs_anchors": anchors,
            }
        )
    else:
        click.echo(f"audit chain intact: {count} entr{'y' if count == 1 else 'ies'}{signed}{whmcs}")
    if not is_pinned:
        click.echo(f"warning: {keys.unpinned(key.fingerprint, config.source)}", err=True)


def _states_agree(db: Database, count: int) -> None:
    """Refuse (StateEdited) a chain that links up and is signed, but that a case's state, an action not yet
    ended in the outbox, or an event claiming to be an executor's read disagrees with (edited in the database
    without the key)."""
    edited = integrity.edited_cases(db)
    if edited:
        raise StateEdited(
            f"audit chain intact ({count} entries), but {len(edited)} case state(s) disagree with it: {edited[0]}"
        )
    actions = planned.edited(db)
    if actions:
        raise StateEdited(
            f"audit chain intact ({count} entries), but {len(actions)} action(s) in the outbox disagree with it: "
            f"{actions[0]}"
        )
    events = fed.unbacked(db)
    if events:
        raise StateEdited(
            f"audit chain intact ({count} entries), but {len(events)} event(s) in the inbox disagree with it: "
            f"{events[0]}"
        )


@audit.command("key")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the public key to this new file (to hand to whoever checks dossiers); an existing file is refused.",
)
@click.option(
    "--new",
    "new",
    is_flag=True,
    help="Make a new key because signing-key.pem is lost for good (never while it exists): recorded in the audit "
    "chain with the old and new fingerprints and who did it (--by).",
)
@click.option(
    "--by",
    default=None,
    help="With --new: the member of staff doing it, one of the configured `staff` or `ownership.staff`.",
)
@click.option("--note", default="", help="With --new: why (recorded).")
@click.pass_obj
@user_errors
def audit_key(obj: Context, out: Path | None, new: bool, by: str | None, note: str) -> None:
    """Print the public half of the bridge's signing key (PEM) and its fingerprint: what a dossier or the
    audit chain is checked with. The private half stays in signing-key.pem beside the database (0600).
    Restore a lost key from your backup; only if it is lost for good, `--new --by NAME` makes another, on
    purpose and recorded (what the lost key signed is then checked only with its public half)."""
    config = obj.config()
    if new:
        _new_key(config, by, note)
        return
    if by is not None or note:
        raise click.UsageError("--by and --note go with --new only")
    signer = keys.load(keys.key_path(config.state.path))
    if signer is None:
        raise BridgeError(
            f"there is no signing key at {keys.key_path(config.state.path)} yet: it is made when the bridge "
            "first opens its database (`whmcs-bridge check --online`, `run` or any case command)"
        )
    if out is not None:
        try:
            with out.open("x", encoding="ascii") as handle:  # a file already there is someone's: never replaced
                handle.write(signer.public.pem())
        except FileExistsError:
            raise BridgeError(
                f"{out} exists: give a new file name to --out (an existing file is not replaced)"
            ) from None
        except OSError as exc:
            raise EnvironmentProblem(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(signer.public.pem() + f"fingerprint: {signer.fingerprint}")
    exposed = keys.exposure(keys.key_path(config.state.path), config.state.path)
    if exposed:
        click.echo(f"warning: {exposed}", err=True)
    _pin_advice(config, signer)


def _pin_advice(config: Any, signer: keys.SigningKey) -> None:
    """How to pin the key, or why it is not the pinned one or the one the audit log was signed with."""
    pinned = config.state.key_fingerprint
    chain = chain_signer(config.state.path)
    signed_by = chain.signed_by if chain else None
    if pinned is None and signed_by is not None and signed_by != signer.fingerprint:  # never pin a swapped key
        swapped = keys.not_the_log_signer(
            keys.key_path(config.state.path), signer.fingerprint, signed_by, config.source
        )
        click.echo(f"warning: {swapped}", err=True)
    elif pinned is None:
        click.echo(
            f"pin it: add `key_fingerprint: {signer.fingerprint}` under `state:` in {config.source} (a file the "
            "bridge's user cannot rewrite): `audit verify` then refuses a chain signed with any other key"
        )
    elif pinned != signer.fingerprint:
        problem = keys.pin_problem(signer.fingerprint, pinned, config.source)
        click.echo(f"warning: the signing key beside the database is {problem}", err=True)


def _new_key(config: Any, by: str | None, note: str) -> None:
    """A new signing key for a chain whose key is lost: refused while one exists; audited (old and new
    fingerprints, the member of staff and the operating-system user) by the first row the new key signs."""
    if not by:
        raise click.UsageError("say who makes the new key (--by NAME): it is recorded in the audit chain")
    member = shared_staff.member(config, by)
    with Database(existing_state(config), signing=False) as db:
        path = keys.key_path(db.path.resolve())
        if path.exists():
            raise BridgeError(
                f"the signing key {path} exists: --new makes a key only when it is lost (a key in place is never "
                "replaced)"
            )
        count = audit_log.verify(db, None)  # the rows must still link up: a broken chain is not re-signed
        old = sorted(
            {fp for fp in (audit_log.head_fingerprint(db), *(p.fingerprint for p in audit_log.checkpoints(db))) if fp}
        )
        if not old and audit_log.was_signed(db):  # signed once, every signature gone: stripped, not lost
            raise BridgeError(
                f"the audit chain in {db.path} was signed but its signatures are gone (removed from the head and "
                "checkpoints): a new key would vouch for whatever the rows say now; restore the state and its key "
                "from a backup, and check the rows against WHMCS's anchors (`audit verify --against-whmcs`)"
            )
        signer, _ = keys.load_or_create(path)
        db.signer = signer
        row = audit_log.append(
            db,
            audit_log.KEY_REPLACED,
            actor=f"staff:{member}",
            detail={
                "old_fingerprints": old,
                "new_fingerprint": signer.fingerprint,
                "rows_before": count,
                "by": member,
                "os_user": shared_staff.os_user(),
                "note": note,
            },
        )
    replaced = ", ".join(old) or "no key (the chain was never signed)"
    click.echo(
        f"new signing key {path}: {signer.fingerprint}; replaced {replaced}; recorded at audit row {row.id} by "
        f"{member}. Hand the new public key (`whmcs-bridge audit key --out FILE`) to whoever checks dossiers."
    )


@audit.command("anchor")
@click.pass_obj
@user_errors
def audit_anchor(obj: Context) -> None:
    """Sign the chain's head now and write it into WHMCS's activity log (the daemon does this after each
    case decision and at least daily). Refused (exit 3) while WHMCS holds an anchor this database does not
    reach (restored from an older backup): see `audit acknowledge-rollback`."""
    config = obj.config()
    with open_state(config, migrate=False) as db:
        if db.signer is None:
            raise db.refused or keys.missing(db.path)
        point = anchor.anchor(db, WhmcsApi.from_config(config), utcnow(), "staff")
    where = f"WHMCS activity-log entry {point.anchor_id}" if point.anchor_id else "WHMCS (its entry was not found back)"
    click.echo(f"audit chain anchored: {point.count} entries, head {point.hash[:16]}…, in {where}")


@audit.command("acknowledge-rollback")
@click.option(
    "--by",
    required=True,
    help="The member of staff who looked, one of the configured `staff` or `ownership.staff` (recorded).",
)
@click.option("--note", default="", help="What was looked at and why the bridge may go on (recorded).")
@click.pass_obj
@user_errors
def audit_acknowledge_rollback(obj: Context, by: str, note: str) -> None:
    """Let the bridge go on from a database restored from a backup older than the newest anchor in WHMCS
    (`run`, `tick`, `check --online`, `audit anchor` and every staff command that changes the state refuse until
    then): what the lost rows recorded (an objection, a decision) is not in this database, so check it first
    with `audit verify --against-whmcs`. Recorded in the audit chain with the anchors acknowledged, who and the
    note; later anchors are written after it. Lists the open ownership cases to re-check against WHMCS."""
    config = obj.config()
    member = shared_staff.member(config, by)
    with open_state(config, migrate=False) as db:
        if db.signer is None:
            raise db.refused or keys.missing(db.path)
        lost = anchor.not_reached(db, WhmcsApi.from_config(config), db.signer.public)
        if not lost:
            click.echo("nothing to acknowledge: this database reaches every anchor WHMCS holds")
            return
        recheck = [item for spec in FAMILIES for item in spec.to_recheck(db)]
        row = audit_log.append(
            db,
            anchor.ACKNOWLEDGED,
            actor=f"staff:{member}",
            detail={
                "anchors": [[p.count, p.hash] for p in lost],
                "rows_here": (audit_log.head(db) or (0, ""))[0],
                "by": member,
                "os_user": shared_staff.os_user(),
                "note": note,
                "recheck": recheck,
            },
        )
    click.echo(
        f"rollback acknowledged at audit row {row.id} by {member}: the chain in WHMCS went to row {lost[-1].count}; "
        "the bridge goes on from this database"
    )
    if recheck:
        click.echo(
            "what was recorded after the backup is not in this database, so re-check each open case against WHMCS "
            f"(its tickets, client notes and activity log) before deciding it: {', '.join(recheck)}; a case opened "
            "after the backup is not here at all (its tickets in WHMCS name it)"
        )


@audit.command("show")
@click.option("--client", "client_id", type=ID, help="Only entries about this WHMCS client id.")
@click.option("--case", "case_id", help="Only entries of this case.")
@click.option("--action", help="Only this action (or prefix, e.g. 'escalation.').")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=None, help="Only the last N matching entries.")
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def audit_show(
    obj: Context, client_id: int | None, case_id: str | None, action: str | None, limit: int | None, as_json: bool
) -> None:
    """List audit entries, oldest first."""
    with open_state(obj.config()) as db:
        found = list(audit_log.entries(db, client_id=client_id, case_id=case_id, action=action, limit=limit))
    if as_json:
        echo_json([entry.__dict__ for entry in found])
        return
    for entry in found:
        who = f" client {entry.client_id}" if entry.client_id is not None else ""
        case = f" case {entry.case_id}" if entry.case_id else ""
        detail = readable.fields(entry.detail)
        click.echo(f"#{entry.id} {readable.value(entry.at)} {entry.actor} {entry.action}{who}{case} {detail}".rstrip())
    if not found:
        click.echo("no audit entries match")
