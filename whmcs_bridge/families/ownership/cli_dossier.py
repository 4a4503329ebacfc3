"""`whmcs-bridge ownership export` and `verify-dossier`: a case's signed dossier, written and checked (cli.py
registers them on the ownership group)."""

from __future__ import annotations

from pathlib import Path

import click

from whmcs_bridge.cli.common import CASE_ID, Context, OnceCommand, open_state, user_errors
from whmcs_bridge.clock import utcnow
from whmcs_bridge.errors import ConfigError, UsageProblem
from whmcs_bridge.evidence import keys
from whmcs_bridge.evidence.keys import PublicKey
from whmcs_bridge.families.ownership import dossier
from whmcs_bridge.families.ownership.evidence_store import evidence_dir
from whmcs_bridge.whmcs.api import WhmcsApi


@click.command("export", cls=OnceCommand)
@click.argument("case_id", type=CASE_ID)
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="A new, empty folder."
)
@click.pass_obj
@user_errors
def export(obj: Context, case_id: str, out: Path) -> None:
    """Write the case's signed dossier into a new folder (0700, files 0600): summary.html and its PDF copy,
    manifest.json signed in manifest.sig, the evidence files, the audit segment from the case's first to
    its last row, and the public key. The audit chain is anchored in WHMCS's activity log first. Refused if
    the case's state says staff did something (an approval, a recorded answer, a timeline step) that no audit
    row records: the state was edited in the database."""
    config = obj.config()
    with open_state(config, changes=True) as db:
        store = evidence_dir(config).resolve()
        if out.resolve() == store or store in out.resolve().parents:  # round 20 L8: its files are the bridge's own
            raise UsageProblem(f"--out {out} is inside the evidence store ({store}): write the dossier elsewhere")
        sealed = dossier.export(config, db, case_id, out, now=utcnow(), api=WhmcsApi.from_config(config))
    manifest = sealed.manifest
    anchors = manifest["audit"]["anchors"]
    click.echo(
        f"dossier of case {case_id} written to {out}: {len(manifest['files'])} files, signed with "
        f"{manifest['signed_by']['fingerprint']}, seal {sealed.seal}; audit rows {manifest['audit']['from']} to "
        f"{manifest['audit']['to']}, WHMCS anchor(s) {', '.join(map(str, anchors)) or 'none yet'}"
        + ("" if "summary.pdf" in manifest["files"] else "; no summary.pdf (Chromium is not installed)")
    )


@click.command("verify-dossier", cls=OnceCommand)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--public-key",
    "public_key",
    type=click.Path(dir_okay=False, path_type=Path),
    multiple=True,
    help="The bridge's public key (PEM, from `whmcs-bridge audit key`); without it, the key beside the "
    "configured state database, which must be the pinned one (state.key_fingerprint) if a key is pinned. With "
    "it, needs no configuration or database. Repeat it to add the public half of a key replaced with "
    "`audit key --new`, for a case whose audit rows span the replacement.",
)
@click.option(
    "--against-state",
    is_flag=True,
    help="Also check the audit rows and the export against this bridge's live audit chain.",
)
@click.pass_obj
@user_errors
def verify_dossier(obj: Context, folder: Path, public_key: tuple[Path, ...], against_state: bool) -> None:
    """Check a dossier offline: its signature with the public key, every file's SHA-256, no path leaving the
    folder, the audit segment against its signed checkpoints (each with the given key of its fingerprint: the
    replaced key's before an `audit key --new`), each staff fact and answer of the case against its audit row;
    name each thing that failed (exit 1)."""
    given = [PublicKey.from_file(path) for path in public_key]
    key = given[0] if given else None
    if key is None:
        try:
            config = obj.config()
        except ConfigError as exc:  # a reader's machine has no bridge: the key is all it needs
            raise click.UsageError(
                "give the bridge's public key with --public-key FILE (from `whmcs-bridge audit key --out FILE`); "
                f"without it the key is taken beside the configured state database, and there is no configuration "
                f"here ({exc})"
            ) from None
        key = keys.verifying_key(config)
        if key is None:
            raise click.UsageError("give the bridge's public key with --public-key (there is no key beside the state)")
    older = given[1:]
    if against_state:
        with open_state(obj.config()) as db:
            manifest = dossier.verify(folder, key, db, older=older)
    else:
        manifest = dossier.verify(folder, key, older=older)
    click.echo(
        f"dossier of case {manifest['case']['id']} verifies with {' and '.join(k.fingerprint for k in (key, *older))}: "
        f"{len(manifest['files'])} files "
        f"and audit rows {manifest['audit']['from']} to {manifest['audit']['to']} match"
        + (" and the live audit chain" if against_state else "")
    )
