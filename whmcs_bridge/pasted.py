"""Codes and passwords a person pastes into what they write (pure): "password: hunter22", "the EPP code is
Xy7#pQ2!kLzz", "kode EPP (auth code) domain x.co.id: ...". A ticket's words are kept (the inbox, a case's
replies, the audit chain, a dossier handed to lawyers and the other party); a secret in them is not: whoever
holds an EPP code can transfer the domain away. The value written after such a label is masked where the words
enter the bridge; the words around it stay readable, and the label says what was there."""

from __future__ import annotations

import re

HIDDEN = "[hidden]"

# What names a secret, in the catalogue's languages (en, fr, nl, id): a password, a domain's transfer (EPP/auth)
# code, an API key or token.
LABEL = (
    r"(?:password|passwd|pwd|passphrase|pass ?code|mot de passe|\bmdp|wachtwoord|kata sandi|\bsandi"
    r"|\bepp\b(?:[- ]?code)?|auth(?:ori[sz]ation)?[- ]?(?:code|info)|authinfo|transfer ?code|code de transfert"
    r"|code d'autorisation|verhuiscode|overdrachtscode|kode (?:epp|otorisasi|transfer)|api[- ]?key|secret|\btoken)"
)
# The label, then a few words on the same line ("password cPanel", "kode EPP (auth code) domain x.co.id"), then
# ":", "=" or "is" and the value: at least four characters without a space.
PASTED = re.compile(
    LABEL + r"(?P<between>(?:[^\n.!?:=]|[.!?](?=\S)){0,60}?(?:\s(?:is|est|adalah|adl|=)\s+|\s*[:=]\s*))"
    r"(?P<value>[^\s<>\"']{4,})",
    re.IGNORECASE,
)


def masked(text: str) -> str:
    """The text with every value written after a secret's label replaced by [hidden]."""
    if not text:
        return text
    return PASTED.sub(lambda m: m.group(0)[: m.start("value") - m.start(0)] + HIDDEN, text)
