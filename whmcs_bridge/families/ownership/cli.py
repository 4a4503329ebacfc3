"""`whmcs-bridge ownership ...`: ownership-change cases and their evidence (their dossier: cli_dossier.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from whmcs_bridge.cli.common import (
    CASE_ID,
    ID,
    JSON_LIST,
    JSON_OBJECT,
    ONE_LINE,
    Context,
    Group,
    Words,
    echo_json,
    echo_list,
    note_if_disabled,
    open_state,
    user_errors,
)
from whmcs_bridge.clock import utcnow
from whmcs_bridge.config.load import Config
from whmcs_bridge.errors import (
    BridgeError,
    WhmcsApiError,
    WhmcsProtocolError,
    WhmcsUnavailableError,
)
from whmcs_bridge.evidence import files, keys
from whmcs_bridge.families.ownership import seen
from whmcs_bridge.families.ownership import staff as own
from whmcs_bridge.families.ownership.case import FINAL
from whmcs_bridge.families.ownership.cli_dossier import export, verify_dossier
from whmcs_bridge.families.ownership.cli_output import anchor_now, echo_anchor, echo_case
from whmcs_bridge.families.ownership.config import EVIDENCE_KINDS, GROUNDS
from whmcs_bridge.families.ownership.evidence_store import evidence_dir
from whmcs_bridge.families.ownership.policies import msg_ref, reply_arg
from whmcs_bridge.families.ownership.staff_view import StaffView, case_lines, execution_steps
from whmcs_bridge.families.ownership.whmcs_reads import ticket_file, whmcs_now
from whmcs_bridge.whmcs.api import WhmcsApi


@contextmanager
def _store(obj: Context, *, changes: bool = False) -> Iterator[tuple[Any, Any]]:
    """The configuration and the state; `changes`: refused first while the state is behind WHMCS's anchors."""
    config = obj.config()
    with open_state(config, changes=changes) as db:
        yield config, db


def _api(config: Any) -> Any:
    return WhmcsApi.from_config(config)


BY = click.option(
    "--by",
    required=True,
    help="The member of staff acting, one of the configured staff (ownership.staff or staff; any case); "
    "recorded in the audit chain with the operating-system user.",
)
NOTE = click.option("--note", default="", help="Why (recorded, and in the dossier).")


class ReplyRef(click.ParamType):
    """A message as `show` lists it: TICKET:REPLY (the opening message of a ticket is reply 0), TICKET:nNOTE for a
    note staff added to the ticket (its own ids: note 3 is not reply 3), or TICKET alone."""

    name = "TICKET[:REPLY|:nNOTE]"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[int, int | str | None]:
        if isinstance(value, tuple):
            return value
        found = re.fullmatch(r"\s*#?(\d{1,18})\s*(?::\s*([nN]?)(\d{1,18})\s*)?", str(value))
        if not found:
            self.fail(f"{value!r} is not TICKET:REPLY or TICKET:nNOTE (e.g. 3:4, 3:n2, or 3)", param, ctx)
        if found.group(3) is None:
            return int(found.group(1)), None
        number = int(found.group(3))
        return int(found.group(1)), f"n{number}" if found.group(2) else number


REPLY = ReplyRef()


@click.group(cls=Group)
def ownership() -> None:
    """Ownership-change cases: a company claims a domain or hosting its vendor or ex-employee holds."""


@ownership.command("open")
@click.option(
    "--subject", "subjects", multiple=True, required=True, help="service:ID, domain:ID or client:ID (repeatable)."
)
@click.option("--requester", required=True, help='client:ID, or an outside company: "Company name, contact@email".')
@click.option("--grounds", type=click.Choice(GROUNDS), required=True, help="Why the requester claims it.")
@BY
@NOTE
@click.pass_obj
@user_errors
def open_(obj: Context, subjects: tuple[str, ...], requester: str, grounds: str, by: str, note: str) -> None:
    """Open a case: the current holder is read from WHMCS, the matching policy says what evidence,
    consent and approvals it needs, and the requester is asked to confirm."""
    with _store(obj, changes=True) as (config, db):
        c = own.open_case(
            config,
            db,
            _api(config),
            subjects=list(subjects),
            requester=requester,
            grounds=grounds,
            by=by,
            note=note,
            now=utcnow(),
        )
    echo_case(c)


@ownership.command("confirm")
@click.argument("case_id", type=CASE_ID)
@click.option("--grounds", type=click.Choice(GROUNDS), required=True, help="Why the requester claims it.")
@click.option(
    "--requester",
    "named",
    type=ONE_LINE,
    default=None,
    help="Who asks, for a draft from a guest's ticket (no WHMCS client wrote it): client:ID (the client made for "
    "it), or 'Company, email' for a requester outside WHMCS.",
)
@BY
@NOTE
@click.pass_obj
@user_errors
def confirm(obj: Context, case_id: str, grounds: str, named: str | None, by: str, note: str) -> None:
    """Confirm a draft case opened from a ticket (the holder and parties are read again from WHMCS)."""
    with _store(obj, changes=True) as (config, db):
        draft = own.case(db, case_id)
        if draft["status"] != "draft":
            raise own.BridgeError(f"case {case_id} is {draft['status']}, not a draft")
        subjects = [f"{s['kind']}:{s['id']}" for s in draft["subjects"]]
        requester = named or f"client:{draft['requester'].get('client') or 0}"
        if requester == "client:0":  # a guest wrote the ticket (twenty-fourth break round, ownership MEDIUM 6)
            raise own.BridgeError(
                f"case {case_id} was drafted from a guest's ticket, written by no WHMCS client: confirm it with "
                "--requester client:ID (the client made for the requester) or --requester 'Company, email'"
            )
        c = own.open_case(
            config,
            db,
            _api(config),
            subjects=subjects,
            requester=requester,
            grounds=grounds,
            by=by,
            note=note,
            now=utcnow(),
            draft=draft,
        )
    echo_case(c)


# A case's statuses, in the order a case goes through them (a status no case can have is a usage error).
CASE_STATUSES = (
    "draft", "collecting", "notified", "review", "executing", "disputed", "completed", "rejected", "cancelled",
)  # fmt: skip


@ownership.command("list")
@click.option(
    "--status",
    type=click.Choice(CASE_STATUSES, case_sensitive=False),
    default=None,
    help="Only cases in this status.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_LIST)
@click.pass_obj
@user_errors
def list_(obj: Context, status: str | None, as_json: bool) -> None:
    """List cases: subjects, holder, requester, status and the next deadline."""
    with _store(obj) as (config, db):
        rows = [c for c in own.cases(db) if status is None or c["status"] == status]
    echo_list(config, "ownership", rows, as_json, own.line, "no ownership cases")


@ownership.command("show")
@click.argument("case_id", type=CASE_ID)
@click.option("--json", "as_json", is_flag=True, help=JSON_OBJECT)
@click.pass_obj
@user_errors
def show(obj: Context, case_id: str, as_json: bool) -> None:
    """One case: its parties, evidence, answers, approvals, what staff still have to do, and its timeline."""
    note_if_disabled(obj.config(), "ownership")
    with _store(obj) as (config, db):
        c = own.case(db, case_id)
        steps = execution_steps(config, db, c)
    if as_json:
        echo_json(c)
        return
    now_seen = _whmcs_now(config, c)
    if isinstance(now_seen, list):  # a step the bridge has under way is not staff's to record
        with _store(obj) as (_, db):
            now_seen = [x for x in now_seen if not (x.done and own.under_way(own.step_rows(db, c, x.step, x.subject)))]
    for text in case_lines(StaffView(config), c, steps, now_seen):
        click.echo(text)


def _whmcs_now(config: Any, c: dict[str, Any]) -> list[seen.Seen] | str:
    """What WHMCS shows now of an executing case's remaining steps, or why it could not be read."""
    if c["status"] != "executing":
        return []
    try:
        return whmcs_now(_api(config), c)
    except (WhmcsUnavailableError, WhmcsApiError, WhmcsProtocolError) as exc:
        return f"WHMCS could not be read now ({exc}): the steps are as the case last recorded them"


def _evidence_file(config: Config, path: Path) -> tuple[str, bytes]:
    """The file staff attach, refused if it is a link, not a regular file, too large, one of the bridge's own
    (configuration, .env, state database, signing key, evidence store: by path or as the same file under
    another name), or if it holds a private key or one of the bridge's secrets (evidence.files)."""
    state = config.state.path
    private = [config.source, config.source.parent / ".env", evidence_dir(config), keys.key_path(state)]
    private += [state.with_name(state.name + suffix) for suffix in ("", "-wal", "-shm", ".lock")]
    limit = config.ownership.max_evidence_mb * 1048576
    return files.read(
        path, limit=limit, limit_name="ownership.max_evidence_mb", private=private, secrets=files.bridge_secrets(config)
    )


@ownership.command("attach")
@click.argument("case_id", type=CASE_ID)
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--ticket",
    "message",
    type=REPLY,
    default=None,
    help="Take the file from a ticket instead: TICKET for its opening message, TICKET:REPLY for a reply, "
    "TICKET:nNOTE for a staff note, as `show` lists them.",
)
@click.option(
    "--index",
    type=click.IntRange(0, 1000),
    default=0,
    show_default=True,
    help="Which attachment of the message (from 0).",
)
@click.option("--kind", type=click.Choice(EVIDENCE_KINDS), required=True, help="What the document is.")
@click.option(
    "--from",
    "sender",
    type=ONE_LINE,
    required=True,
    help="Who sent it, on one line (e.g. 'requester', 'holder', a name).",
)
@click.option(
    "--via",
    type=click.Choice(["email", "ticket", "post", "upload"]),
    default=None,
    help="How it came (required with a FILE; a file taken with --ticket came by ticket).",
)
@click.option("--dated", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The document's own date.")
@BY
@click.pass_obj
@user_errors
def attach(
    obj: Context,
    case_id: str,
    file: Path | None,
    message: tuple[int, int | str | None] | None,
    index: int,
    kind: str,
    sender: str,
    via: str | None,
    dated: Any,
    by: str,
) -> None:
    """Add a piece of evidence: kept by its SHA-256, read-only, never overwritten. Refused: the bridge's own
    files (also under another name), and a file holding a private key or one of the bridge's secrets. A file taken
    from a ticket is recorded as from whoever WHMCS says wrote its message (a party's; staff forwarding what a
    party sent keep --from), via ticket."""
    if (file is None) == (message is None):
        raise click.UsageError("give either a FILE or --ticket TICKET[:REPLY|:nNOTE]")
    if message is None and via is None:
        raise click.UsageError("give --via with a FILE: how it came")
    source = None
    with _store(obj, changes=True) as (config, db):
        if message is not None:
            name, data, sender, source = ticket_file(
                _api(config), own.case(db, case_id), message, index, sender, via, files.bridge_secrets(config)
            )
            via = "ticket"
        else:
            assert file is not None
            name, data = _evidence_file(config, file)
        item = own.attach(
            config,
            db,
            case_id,
            data,
            name=name,
            kind=kind,
            sender=sender,
            via=str(via),
            source=source,
            dated=dated.date().isoformat() if dated else None,
            ticket=message[0] if message else None,
            message=reply_arg({"ticket": message[0], "reply": message[1]}) if message and message[1] else None,
            by=by,
            now=utcnow(),
        )
        c = own.case(db, case_id)
    click.echo(f"evidence {item['item']} of case {case_id}: {kind}, sha256 {item['sha256']} (to be checked)")
    echo_case(c)


@ownership.command("check-evidence")
@click.argument("case_id", type=CASE_ID)
@click.argument("item", type=ID)
@click.option("--ok/--reject", "ok", required=True, help="Accept the document, or reject it (the requester is told).")
@BY
@NOTE
@click.pass_obj
@user_errors
def check_evidence(obj: Context, case_id: str, item: int, ok: bool, by: str, note: str) -> None:
    """Record a staff check of one piece of evidence."""
    _command(obj, case_id, {"command": "check", "item": item, "ok": ok, "note": note}, by)


@ownership.command("withdraw-evidence")
@click.argument("case_id", type=CASE_ID)
@click.argument("item", type=ID)
@BY
@NOTE
@click.pass_obj
@user_errors
def withdraw_evidence(obj: Context, case_id: str, item: int, by: str, note: str) -> None:
    """Mark a piece of evidence withdrawn (it stays in the store and the dossier)."""
    _command(obj, case_id, {"command": "withdraw", "item": item, "note": note}, by)


@ownership.command("record-answer")
@click.argument("case_id", type=CASE_ID)
@click.option("--party", type=click.Choice(["holder", "requester"]), required=True, help="Whose answer it is.")
@click.option(
    "--answer",
    type=click.Choice(["consent", "object", "unrelated"]),
    required=True,
    help="What the party answered; unrelated: its replies waiting to be classified are about something else (no "
    "answer is recorded, and a holder's window they interrupted goes on).",
)
@click.option("--via", type=click.Choice(["ticket", "email", "post", "phone"]), required=True, help="How it came.")
@click.option(
    "--reply",
    "reply_to",
    type=REPLY,
    default=None,
    help="The written reply this answer classifies, TICKET:REPLY as `show` lists it (TICKET:nNOTE for a note staff "
    "added to the ticket; TICKET alone when one waits there): the party's own, or one by a writer who is neither party (a guest, staff, another account). Without "
    "it, an answer --via ticket (or unrelated) classifies the one reply of the party itself waiting, and refuses "
    "when several wait or when only someone else's wait; an answer by email, post or phone classifies no written "
    "reply.",
)
@click.option(
    "--evidence",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The letter, email or call notes, kept as the case's evidence.",
)
@BY
@NOTE
@click.pass_obj
@user_errors
def record_answer(
    obj: Context,
    case_id: str,
    party: str,
    answer: str,
    via: str,
    reply_to: tuple[int, int | str | None] | None,
    evidence: Path | None,
    by: str,
    note: str,
) -> None:
    """Record an answer received outside the one-time link (a ticket reply, an email, a letter, a call): it
    counts as the party's answer (an objection disputes the case, consent sends it to review) and
    classifies the written reply it is (--reply; a reply by a writer who is neither party is classified only
    when named, and the output says whose words it classified). The holder's
    consent after its objection needs a second listed member of staff (another login) recording it too, with
    or without --evidence FILE: a file is kept but never replaces the second person. The decision is anchored
    in WHMCS's activity log before the command returns."""
    with _store(obj, changes=True) as (config, db):
        data = None
        if evidence is not None:
            try:
                data = _evidence_file(config, evidence)
            except BridgeError as exc:
                raise own.not_recorded(exc, party, answer) from None
        before = {(r["ticket"], r["reply"]): r.get("classified") for r in own.case(db, case_id).get("replies", [])}
        c = own.record_answer(
            config,
            db,
            case_id,
            party=party,
            answer=answer,
            via=via,
            evidence=data,
            by=by,
            note=note,
            now=utcnow(),
            reply_to=reply_to,
        )
        anchored = anchor_now(config, db)
    for r in c.get("replies", []):
        where = msg_ref(r)
        if r.get("classified") and not before.get((r["ticket"], r["reply"])):
            if r["party"] != party:  # whose words they were, and what they say (thirteenth round H9)
                words = " ".join(str(r.get("message") or "").split())
                words = words if len(words) <= 160 else words[:157] + "..."
                where = f"{where} by {r.get('writer') or 'someone'} (not the {party}): '{words}'"
            taken = r["party"] != party and r["classified"] != "unrelated"  # unrelated: no one's answer
            click.echo(f"{where} classified as {r['classified']}" + (f" ({party}'s answer)" if taken else ""))
        elif not r.get("classified"):
            click.echo(f"{where} still to classify (--reply {reply_arg(r)})")
    echo_case(c)
    echo_anchor(anchored)
    if c.get("status") in FINAL:
        click.echo(
            f"case {case_id} is {c['status']}: the answer is recorded in its timeline and changes nothing in the case; "
            "staff get a ticket note to decide whether anything must be done outside it"
        )


def _simple(name: str, help_text: str) -> None:
    """A command that takes a case, who acts and why, and submits one step of the case."""

    @ownership.command(name, help=help_text)
    @click.argument("case_id", type=CASE_ID)
    @BY
    @NOTE
    @click.pass_obj
    @user_errors
    def step(obj: Context, case_id: str, by: str, note: str) -> None:
        _command(obj, case_id, {"command": name, "note": note}, by)


for _name, _help in (
    (
        "approve",
        "Approve a case under review; with enough distinct approvals it executes (distinct listed staff, each "
        "under their own login: one operating-system user does not count as two). WHMCS is read first: a subject "
        "gone or with a third client refuses it, one already with the requester is recorded as moved before it; a "
        "party's message in the case's tickets or the parties' tickets that the bridge has not read yet, or WHMCS "
        "not answering, refuses it.",
    ),
    ("reject", "Reject the request; both parties are told."),
    (
        "cancel",
        "Cancel an open case (e.g. the parties settled it between them). An executing case is cancelled once WHMCS, "
        "read first, shows nothing with the requester.",
    ),
    (
        "complete",
        "Complete an executing case whose checklist has no move left to detect (a backup-only hand-over, or a mixed "
        "case's backup): records each backup as sent, with --note. WHMCS is read first: what the case does not hand "
        "over, found with another client than its holder, refuses it.",
    ),
):
    _simple(_name, _help)


@ownership.command("resolve")
@click.argument("case_id", type=CASE_ID)
@click.option(
    "--outcome",
    type=click.Choice(["court-order", "objection-withdrawn", "request-withdrawn"]),
    required=True,
    help="How the dispute ended (a court order must be attached and checked first; objection-withdrawn takes two "
    "distinct listed staff).",
)
@BY
@NOTE
@click.pass_obj
@user_errors
def resolve(obj: Context, case_id: str, outcome: str, by: str, note: str) -> None:
    """End a dispute: a court order or a withdrawn objection goes to staff review; a withdrawn request cancels."""
    _command(obj, case_id, {"command": "resolve", "outcome": outcome, "note": note}, by)


@ownership.command("record-step")
@click.argument("case_id", type=CASE_ID)
@click.option(
    "--step",
    "what",
    type=click.Choice(sorted(seen.STEPS)),
    required=True,
    help="What staff did in WHMCS's admin area: the registrant update, or the move to the new holder.",
)
@click.option(
    "--subject", required=True, help="What it was done for, as the case names it: domain:ID, service:ID or client:ID."
)
@BY
@NOTE
@click.pass_obj
@user_errors
def record_step(obj: Context, case_id: str, what: str, subject: str, by: str, note: str) -> None:
    """Record a step of an executing case done by hand in WHMCS (the registrar refused the bridge's registrant
    update, a move made before the bridge's next read). WHMCS is read first: refused unless it shows the step
    done (the registrant block holds the new holder's details; the subject belongs to the new holder). The
    bridge's own parked action for it is rejected (refused while that action is approved to run or running);
    the audit chain names who recorded it and what was read."""
    with _store(obj, changes=True) as (config, db):
        api = _api(config)
        c = own.record_step(config, db, api, case_id, what=what, subject=subject, by=by, note=note, now=utcnow())
        anchored = anchor_now(config, db)
    echo_case(c)
    echo_anchor(anchored)


class ContactText(Words):
    """A registrant field staff type: on one line without hidden characters, as --by and --from (a newline or a
    text-direction mark would reach the WHOIS record: twenty-fourth break round, ownership LOW 7); left empty, it
    clears the field."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return super().convert(value, param, ctx) if str(value).strip() else ""


CONTACT = ContactText()


@ownership.command("requester-contact")
@click.argument("case_id", type=CASE_ID)
@click.option("--name", type=CONTACT, default=None, help="The contact person's name (the registrant's Name fields).")
@click.option("--address1", type=CONTACT, default=None, help="Street and number.")
@click.option("--address2", type=CONTACT, default=None, help="Second address line.")
@click.option("--city", type=CONTACT, default=None, help="City.")
@click.option("--state", type=CONTACT, default=None, help="State, region or province, where the country has them.")
@click.option("--postcode", type=CONTACT, default=None, help="Postcode.")
@click.option("--country", type=CONTACT, default=None, help="Two-letter ISO country code (ID, NL, FR).")
@click.option("--phone", type=CONTACT, default=None, help="Phone as +CC.NUMBER, e.g. +62.215550100.")
@BY
@click.pass_obj
@user_errors
def requester_contact(obj: Context, case_id: str, by: str, **fields: str | None) -> None:
    """Give the contact of a requester outside WHMCS, the domain's new registrant: a case moving a domain to
    it executes only once its contact person's name, address1, city, postcode, country and phone are known (the
    old holder's are never left in the WHOIS record, nor the company's name in the person's). A requester that is
    a WHMCS client gets them from its profile."""
    given = {k: v for k, v in fields.items() if v is not None}
    _command(obj, case_id, {"command": "contact", **given}, by)


def _command(obj: Context, case_id: str, data: dict[str, Any], by: str) -> None:
    with _store(obj, changes=True) as (config, db):
        # What moves (an approval), what stays (a completion), and whether anything moved (a cancel) is read in
        # WHMCS first.
        api = _api(config) if data.get("command") in ("approve", "complete", "cancel") else None
        said: list[str] = []
        c = own.submit(config, db, case_id, data, by=by, now=utcnow(), api=api, said=said)
        anchored = anchor_now(config, db)
    echo_case(c)
    for line in said:
        click.echo(f"  note: {line}")
    echo_anchor(anchored)


ownership.add_command(export)
ownership.add_command(verify_dossier)

group = ownership  # what the command line registers (families/__init__.py)
