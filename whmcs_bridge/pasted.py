"""Codes and passwords a person pastes into what they write (pure): "password: hunter22", "the EPP code is
Xy7#pQ2!kLzz", "kode EPP (auth code) domain x.co.id: ...", 'password: "Quoted Pass"', "the EPP code Nocolon55aa",
"auth code -> X", "pw: x", "password - x", "login: budi / x", "**Password:** `x`", "Das Kennwort lautet x". A
party's words are kept (the inbox, a case's replies and answers, the audit chain, a dossier handed to lawyers and the
other party, a message to the other party); a secret in them is not: whoever holds an EPP code can transfer the domain
away. It is masked where the words enter the bridge (a ticket's message, subject and staff notes, a consent link's
reason, a note staff type); the words around it stay readable, and the label says what was there.

Two signals, as no list of phrasings sees every way to write one: the value after a secret's label, and, anywhere, a
word shaped like a generated code or password (eight characters or more mixing capitals, small letters and digits,
as EPP codes and generated passwords are). After a label, an everyday word that goes on into a sentence is not a
value ("the EPP code is never to be given", "Token: thanks for your patience"): an objection keeps its "not". Markup
(markdown, HTML tags and entities) and full-width letters are seen through. A passphrase of plain words written
without quotes cannot be told from a sentence and is kept."""

from __future__ import annotations

import html
import re
import unicodedata

from whmcs_bridge.readable import CONTROLS

HIDDEN = "[hidden]"

# What names a secret, in the catalogue's languages (en, fr, nl, id) and German: a password, a domain's transfer
# (EPP/auth) code, an API key or token.
LABEL = (
    r"(?:p[a@]ssw[o0]rd|passwd|contrase[ñn]a|senha|pwd|passphrase|pass ?code|passwort|kennwort|mot[- ]de[- ]passe"
    r"|\bmdp|wachtwoord|kata sandi|kata kunci|\bsandi|\bepp\b(?:[- ]?code)?|auth(?:ori[sz]ation)?[-_ ]?(?:code|info)"
    r"|transfer[- ]?(?:code|key)|übertragungscode|code de transfert|code d'autorisation|verhuiscode|verhuistoken"
    r"|overdrachtscode|kode (?:epp|otorisasi|transfer|auth)|api[- ]?key|secret|\btoken)"
)
# What is not a secret's name alone but is one right before ":" or "=" or a code ("pw: x", "pass=x", "PIN: 4711").
SHORT = r"\b(?:pw|pass|pin)"
# Where a login is written as a pair, the password after the name ("login: budi / x", "identifiants : martin | x").
PAIR = (
    r"\b(?:login|log-in|logins|identifiants?|nom d'utilisateur|utilisateur|inloggegevens|inlog|gebruikersnaam"
    r"|credentials|username|user|akun|nama pengguna|pengguna|zugangsdaten|benutzer(?:name)?)"
)
QUOTES = "\"'“”‘’«»„`"
# A word that looks like a code: letters and digits mixed, four characters or more.
CODE = rf"(?=[^\s{QUOTES}=]*\d)(?=[^\s{QUOTES}=]*[^\W\d_])[^\s<>{QUOTES}=]{{4,}}"
# The value: in quotes (whatever it holds on the line, the quotes stay), or at least four characters without a
# space or a quote, and the codes listed after it ("first1234, second5678"; "Ab12-Cd34 Ef56").
VALUE = (
    rf"(?:[{QUOTES}](?P<quoted>[^{QUOTES}\n]{{2,200}}?)[{QUOTES}]"
    rf"|(?P<value>[^\s<>{QUOTES}]{{4,}}(?:(?:[ \t]*,[ \t]*|[ \t]+(?:and|et|en|dan|und)[ \t]+|[ \t]+){CODE})*))"
)
SEPARATOR = (
    r"(?:\s(?:is|est|ist|lautet|adalah|adl|it's|it is|c'est|=)\s+|'s\s+|\s*[:=]\s*|\s*(?:-+>|=>|→)\s*|\s+[–—]\s+)"
)
# Each way a secret follows its label; the value is masked, the words around it stay.
WAYS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # The label, then a few words on the same line ("password cPanel", "kode EPP (auth code) domain x.co.id"),
        # then ":", "=", "is" or an arrow, and the value.
        LABEL + r"(?:(?:[^\n.!?:=]|[.!?](?=\S)){0,100}?" + SEPARATOR + ")" + VALUE,
        SHORT + r"\s*[:=]\s*" + VALUE,
        SHORT + rf"\s+(?P<value>{CODE})",
        r"\bpin\b\s*(?P<value>\d{4,8})\b",
        # A dash right after the label ("password - hunter22", "password — x").
        LABEL + r"\s*[-–—]+\s+" + VALUE,
        PAIR + rf"\b\s*[:=]?\s*[^\s/|:{QUOTES}]+\s*[/|:]\s*(?P<value>[^\s/<>{QUOTES}][^\s<>{QUOTES}]{{3,}})",
        # The label right before the value, with nothing between: a quoted value ('authcode "x y"'), or one that
        # looks like a code ("the EPP code Nocolon55aa"; "the password of x.fr", "token 2026" stay). The whole word
        # goes, up to the space: "Rahasia99!" is a password.
        LABEL + rf"\s+(?:[{QUOTES}](?P<quoted>[^{QUOTES}\n]{{2,200}}?)[{QUOTES}]|(?P<value>{CODE}))",
    )
)
# Anywhere: a word shaped like a generated code or password (EPP codes must mix them): eight characters or more, two
# capitals (or one and a sign), a small letter and a digit; not an address, a link or a file's or domain's name.
GENERATED = re.compile(rf"(?<![^\s{QUOTES}(\[>:=,;/|])[^\s<>{QUOTES}:=/|]{{8,}}")
# After a label, a plain word that goes on into a sentence is not its value; nor one of these, alone.
EVERYDAY = frozenset(
    "never not none nothing unknown forgot forgotten lost expired changed reset required attached below sent please "
    "thanks niet nooit geen vergeten kwijt onbekend verlopen bijgevoegd jamais pas aucun oublié perdu inconnu expiré "
    "joint tidak bukan belum lupa hilang terlampir nicht nie kein keine vergessen unbekannt".split()
)


def masked(text: str) -> str:
    """The text without its terminal escapes and invisible controls (line breaks kept), with every value written
    after a secret's label, and every word shaped like a generated code, replaced by [hidden]. The controls go
    first: an escape inside a code would otherwise split it into harmless-looking pieces, and one after a word
    would make the word look like a code."""
    if not text:
        return text
    text = CONTROLS.sub(lambda m: m.group() if m.group() == "\r" else "", text)
    seen = seen_through(text)
    spans = [span for way in WAYS for m in way.finditer(seen) if (span := value_span(m)) is not None]
    spans += [m.span() for m in GENERATED.finditer(seen) if generated(m.group())]
    for start, end in merged(spans)[::-1]:
        text = text[:start] + HIDDEN + text[end:]
    return text


def seen_through(text: str) -> str:
    """The text as it reads, one character for each of the original's (so that a span found in it is the same
    span in the original): markdown's stars, HTML tags as spaces, an entity as the character it stands for (at its
    end), full-width letters as ASCII ones."""
    chars = [c if len(n := unicodedata.normalize("NFKC", c)) != 1 else n for c in text]
    seen = "".join(" " if c == "*" else c for c in chars)
    seen = re.sub(r"<[^<>\n]{1,60}>", lambda m: " " * len(m.group()), seen)

    def entity(m: re.Match[str]) -> str:
        char = html.unescape(m.group())
        char = " " if char in ("\xa0", "<", ">", m.group()) or len(char) != 1 else char
        return " " * (len(m.group()) - 1) + char

    return re.sub(r"&#?\w{1,10};", entity, seen)


def value_span(m: re.Match[str]) -> tuple[int, int] | None:
    """The span of the value the match found, or None where it is an everyday word going on into a sentence."""
    group = "quoted" if "quoted" in m.re.groupindex and m.group("quoted") is not None else "value"
    value = m.group(group)
    word = value.rstrip(".,;:!?)").casefold()
    if group == "value" and re.fullmatch(r"[^\W\d_]+(?:['-][^\W\d_]+)*", word):
        goes_on = re.match(r"[ \t]+[^\W\d_]", m.string[m.end() :])
        if word in EVERYDAY or goes_on:
            return None
    return m.span(group)


def generated(word: str) -> bool:
    """A word shaped like a generated code or password (GENERATED), its surrounding signs aside."""
    word = word.strip(".,;:!?)(][")
    if len(word) < 8 or "@" in word or "://" in word or re.search(r"\.[a-z]{2,6}$", word):
        return False
    capitals = sum(c.isupper() for c in word)
    signs = any(not c.isalnum() for c in word)
    return (
        any(c.islower() for c in word)
        and any(c.isdigit() for c in word)
        and (capitals >= 2 or (capitals == 1 and signs))
    )


def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans sorted, overlapping ones joined."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
