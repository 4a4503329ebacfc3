"""Codes and passwords a person pastes into what they write (pure): "password: hunter22", "the EPP code is
Xy7#pQ2!kLzz", "kode EPP (auth code) domain x.co.id: ...", 'password: "Quoted Pass"', "the EPP code Nocolon55aa",
"auth code -> X", "pw: x", "password - x", "login: budi / x". A party's words are kept (the inbox, a case's replies and answers, the audit chain, a dossier
handed to lawyers and the other party, a message to the other party); a secret in them is not: whoever holds an EPP
code can transfer the domain away. The value written after such a label is masked where the words enter the bridge
(a ticket's message, subject and staff notes, a consent link's reason); the words around it stay readable, and the label says
what was there."""

from __future__ import annotations

import re

HIDDEN = "[hidden]"

# What names a secret, in the catalogue's languages (en, fr, nl, id) and German: a password, a domain's transfer
# (EPP/auth) code, an API key or token.
LABEL = (
    r"(?:password|passwd|pwd|passphrase|pass ?code|passwort|kennwort|mot de passe|\bmdp|wachtwoord|kata sandi"
    r"|kata kunci|\bsandi|\bepp\b(?:[- ]?code)?|auth(?:ori[sz]ation)?[-_ ]?(?:code|info)|transfer[- ]?code"
    r"|code de transfert|code d'autorisation|verhuiscode|overdrachtscode|kode (?:epp|otorisasi|transfer)"
    r"|api[- ]?key|secret|\btoken)"
)
# What is not a secret's name alone but is one right before ":" or "=" ("pw: x", "pass=x", "PIN: 4711").
SHORT = r"\b(?:pw|pass|pin)"
# Where a login is written as a pair, the password after the name ("login: budi / x", "identifiants : martin | x").
PAIR = r"\b(?:login|log-in|logins|identifiants?|inloggegevens|inlog|credentials|username|user|akun)"
QUOTES = "\"'“”‘’«»„"
# The value: in quotes (whatever it holds on the line, the quotes stay), or at least four characters without a
# space or a quote.
VALUE = rf"(?:[{QUOTES}](?P<quoted>[^{QUOTES}\n]{{4,200}}?)[{QUOTES}]|(?P<value>[^\s<>{QUOTES}]{{4,}}))"
# Each way a secret follows its label; the value is masked, the words around it stay.
WAYS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # The label, then a few words on the same line ("password cPanel", "kode EPP (auth code) domain x.co.id"),
        # then ":", "=", "is" or an arrow, and the value.
        LABEL + r"(?:(?:[^\n.!?:=]|[.!?](?=\S)){0,60}?(?:\s(?:is|est|adalah|adl|=)\s+|\s*[:=]\s*"
        r"|\s*(?:-+>|=>|→)\s*))" + VALUE,
        SHORT + r"\s*[:=]\s*" + VALUE,
        # A dash right after the label ("password - hunter22").
        LABEL + r"\s*[-–—]+\s+" + VALUE,
        PAIR + rf"\b\s*[:=]?\s*[^\s/|:{QUOTES}]+\s*[/|]\s*(?P<value>[^\s/<>{QUOTES}][^\s<>{QUOTES}]{{3,}})",
        # The label right before the value, with nothing between: a quoted value ('authcode "x y"'), or one that
        # looks like a code, letters and digits mixed, six characters or more ("the EPP code Nocolon55aa"; "the
        # password of x.fr", "token 2026" stay). The whole word goes, up to the space: "Rahasia99!" is a password.
        LABEL + rf"\s+(?:[{QUOTES}](?P<quoted>[^{QUOTES}\n]{{4,200}}?)[{QUOTES}]"
        rf"|(?P<value>(?=\S*\d)(?=\S*[^\W\d_])[^\s<>{QUOTES}]{{6,}}))",
    )
)


def masked(text: str) -> str:
    """The text with every value written after a secret's label replaced by [hidden]."""
    if not text:
        return text
    for way in WAYS:
        text = way.sub(_hide, text)
    return text


def _hide(m: re.Match[str]) -> str:
    """The match with its value (the quoted words, or the bare value) replaced by [hidden]."""
    group = "quoted" if "quoted" in m.re.groupindex and m.group("quoted") is not None else "value"
    start, end = m.span(group)
    return m.group(0)[: start - m.start(0)] + HIDDEN + m.group(0)[end - m.start(0) :]
