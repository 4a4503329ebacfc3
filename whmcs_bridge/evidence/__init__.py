"""Evidence that holds up without the bridge: the signing key, the signed audit chain's checkpoints and
their WHMCS anchors, and sealed folders (dossiers) any rule family writes and anyone checks offline.

The API (stable: extended, never renamed):

Key (evidence.keys; the file is `signing-key.pem` beside the state database, 0600, made on first use)
    db.signer                                  the bridge's SigningKey, loaded by store.db.Database (None
                                               for a copy without its key beside it, or when opened with
                                               Database(path, signing=False): a throwaway copy)
    keys.key_path(state_path) -> Path          signing-key.pem beside the database file
    keys.load_or_create(path) -> (SigningKey, made_now)
    keys.load(path) -> SigningKey | None       refused if group or others may read it
    PublicKey.from_file(path) / .from_pem(bytes)
    SigningKey.public, .fingerprint ("SHA256:<hex of the raw public key>"), .sign(bytes) -> base64
    PublicKey.pem(), .fingerprint, .verifies(signature, bytes) -> bool

Chain (store.audit; the head is signed at every append)
    audit.verify(db, key=None) -> rows        key: the bridge's own by default
    audit.checkpoint(db, reason, at=None) -> Checkpoint   keep the head, signed
    audit.segment(db, first_id, last_id, at=None) -> Segment(rows, opening, closing, inner)
                                               the contiguous rows between the signed checkpoints that
                                               bound rows first_id..last_id (a closing one is signed now
                                               if none is kept yet); it closes at the first checkpoint
                                               anchored in WHMCS at or after last_id, if there is one
    audit.anchored_from(db, count) -> Checkpoint | None   the first anchored checkpoint at or after it
    audit.checkpoints(db, anchored=None) -> [Checkpoint]  Checkpoint.as_dict() / from_dict() / verifies(key)

Anchors (evidence.anchor)
    anchor.add_decisions(*audit_actions)       a family's case decisions, after which the daemon anchors
    anchor.anchor(db, api, now, reason) -> Checkpoint (with anchor_id: the WHMCS activity-log id)
    anchor.CASE_SUBJECT                        after a pass that ran a case's action (not a read), too
    anchor.anchor_if_due(db, api, now)         what the daemon runs each pass (decision, a move's step, or
                                               a day gone)
    anchor.compare(db, api, key) -> (anchors_checked, problems)

Sealed folders (evidence.folder)
    with FolderWriter(out) as w:               refuses a non-empty folder; 0700 folders, 0600 files, written in a
                                               hidden folder beside `out` that becomes `out` at seal (an error
                                               before: nothing left); locked while written, and one a killed
                                               writer left there is removed (logged) by the next writer
    w.add_bytes(name, data) / w.add_text(name, text) / w.add_copy(name, source, sha256=None) -> sha256
    w.seal(format=..., key=db.signer, exported_at=..., sections={...}, segment=..., own_rows=[ids])
        -> Sealed(folder, manifest, seal, signature)
       writes audit.jsonl (the segment), public-key.pem, manifest.json (format, exported_at, signed_by,
       files, audit, and the family's own sections) and manifest.sig (Ed25519 over manifest.json's bytes);
       `seal` is manifest.json's SHA-256, for the family's audit row recording the export
    inspect(folder, formats, public_key) -> Inspection(folder, manifest, rows, problems, seal)
    verify(folder, formats, public_key) -> Inspection, or raise EvidenceError(problems)
       offline: the signature and key fingerprint, every path (absolute or `..`: refused, never read),
       every file's SHA-256, files added, the segment's rows re-hashed, contiguous, bounded by checkpoints
       signed with the key; a family adds its own checks to `problems` and calls raise_problems()
    private_mode_problems(folder) -> [...]     anything not 0700/0600
"""

from whmcs_bridge.evidence.keys import PublicKey, SigningKey, key_path

__all__ = ["PublicKey", "SigningKey", "key_path"]
