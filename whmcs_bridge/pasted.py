"""Codes and passwords a person pastes into what they write (pure): "password: hunter22", "the EPP code is
Xy7#pQ2!kLzz", "kode EPP (auth code) domain x.co.id: ...", 'password: "Quoted Pass"', "the EPP code Nocolon55aa",
"auth code -> X". A party's words are kept (the inbox, a case's replies and answers, the audit chain, a dossier
handed to lawyers and the other party, a message to the other party); a secret in them is not: whoever holds an EPP
code can transfer the domain away. The value written after such a label is masked where the words enter the bridge
(a ticket's message and subject, a consent link's reason); the words around it stay readable, and the label says
what was there."""

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
# The value: in quotes (whatever it holds on the line, the quotes stay), or at least four characters without a
# space or a quote.
VALUE = r"(?:[\"'“‘«„](?P<quoted>[^\"'”’»\n]{4,200}?)[\"'”’»]|(?P<value>[^\s<>\"'“”‘’«»]{4,}))"
# The label, then a few words on the same line ("password cPanel", "kode EPP (auth code) domain x.co.id"), then
# ":", "=", "is" or an arrow, and the value.
PASTED = re.compile(
    LABEL + r"(?:(?:[^\n.!?:=]|[.!?](?=\S)){0,60}?(?:\s(?:is|est|adalah|adl|=)\s+|\s*[:=]\s*|\s*(?:-+>|=>|→)\s*))"
    + VALUE,
    re.IGNORECASE,
)
# The label right before the value, with nothing between ("the EPP code Nocolon55aa"): only a value that looks like
# a code, letters and digits mixed, six characters or more ("the password of x.fr", "token 2026" stay).
BARE = re.compile(LABEL + r"\s+(?P<value>(?=[^\s]*\d)(?=[^\s]*[^\W\d_])[^\s<>\"'“”‘’«»]{6,}?)(?=[\s.,;!?)]*(?:\s|$))",
                  re.IGNORECASE)  # fmt: skip


def masked(text: str) -> str:
    """The text with every value written after a secret's label replaced by [hidden]."""
    if not text:
        return text
    return BARE.sub(_hide, PASTED.sub(_hide, text))


def _hide(m: re.Match[str]) -> str:
    """The match with its value (the quoted words, or the bare value) replaced by [hidden]."""
    group = "quoted" if "quoted" in m.re.groupindex and m.group("quoted") is not None else "value"
    start, end = m.span(group)
    return m.group(0)[: start - m.start(0)] + HIDDEN + m.group(0)[end - m.start(0) :]
