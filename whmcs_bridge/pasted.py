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
value ("the EPP code is never to be given", "Token: thanks for your patience"): an objection keeps its "not"; any
other value is the whole word up to the next space, whatever signs it holds (registrars' codes hold "<", "&" and
quotes: "Ab3<xY9!qz" cut at its "<" would leave most of it). Markup (markdown, HTML tags and entities) and
full-width letters are seen through. A passphrase of plain words written without quotes cannot be told from a
sentence and is kept."""

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
# A word that looks like a code: letters and digits mixed, four characters or more, whatever signs it holds
# (registrars' codes hold "<", ">", "&" and quotes too).
CODE = rf"(?=[^\s{QUOTES}=]*\d)(?=[^\s{QUOTES}=]*[^\W\d_])[^\s{QUOTES}=]\S{{3,}}"
# What follows a closing quote: a quote followed by a letter or a sign is part of the value ('Q7'u>tT2#w').
CLOSES = r"[\s.,;:!?)]|$"
QUOTED = rf"[{QUOTES}](?P<quoted>(?:[^{QUOTES}\n]|[{QUOTES}](?!{CLOSES})){{2,200}}?)[{QUOTES}](?={CLOSES})"
# The value: in quotes (whatever it holds on the line, the quotes stay; a quote inside it does not close it unless a
# space or a sign follows), or the whole word up to the next space (whatever signs it holds: a value cut at a sign
# would leave the rest of the secret), and the codes listed after it ("first1234, second5678"; "Ab12-Cd34 Ef56").
VALUE = (
    rf"(?:{QUOTED}"
    rf"|(?P<value>\S{{4,}}(?:(?:[ \t]*,[ \t]*|[ \t]+(?:and|et|en|dan|und)[ \t]+|[ \t]+){CODE})*))"
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
        PAIR + rf"\b\s*[:=]?\s*[^\s/|:{QUOTES}]+\s*[/|:]\s*(?P<value>[^\s/{QUOTES}]\S{{3,}})",
        # The label right before the value, with nothing between: a quoted value ('authcode "x y"'), or one that
        # looks like a code ("the EPP code Nocolon55aa"; "the password of x.fr", "token 2026" stay). The whole word
        # goes, up to the space: "Rahasia99!" is a password.
        LABEL + rf"\s+(?:{QUOTED}|(?P<value>{CODE}))",
    )
)
# Anywhere: a word shaped like a generated code or password (EPP codes must mix them): eight characters or more, two
# capitals (or one and a sign), a small letter and a digit; not an address, a link or a file's or domain's name.
GENERATED = re.compile(rf"(?<![^\s{QUOTES}(\[>:=,;/|])[^\s<>{QUOTES}:=/|]{{8,}}")
# A code may hold ":", "=", "/", "|", "<" or ">" too ("Tr4n:sF3r9"): the whole word, when its pieces are no plain
# words ("/home/user", "Re:Invoice2024", "lang=FR" are joined words) and it is not a link (JOINED, joined).
JOINED = re.compile(rf"(?<![^\s{QUOTES}(\[,;])(?=[^\s{QUOTES}]*[:=/|<>])[^\s{QUOTES}]{{8,}}")
JOINERS = r"[:=/|<>]+"
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
    seen, origin = seen_through(text)
    spans = [span for way in WAYS for m in way.finditer(seen) if (span := value_span(m)) is not None]
    spans += [m.span() for m in GENERATED.finditer(seen) if generated(m.group())]
    spans += [m.span() for m in JOINED.finditer(seen) if joined(m.group())]
    for start, end in merged([(origin[start][0], origin[end - 1][1]) for start, end in spans])[::-1]:
        text = text[:start] + HIDDEN + text[end:]
    return text


# An HTML tag: its name (letters, and a heading's digit), then its attributes after a space or "/"; a comment or a
# doctype. "<xY9!qz>" or "<Ab12Cd34>" is not one: it is part of a code.
TAG = r"</?[A-Za-z]+[1-6]?(?:[\s/][^<>\n]{0,58})?>|<![^<>\n]{1,58}>"
ENTITY = r"&#?\w{1,10};"


def seen_through(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The text as it reads, and the span in the original each of its characters comes from (a span found in it is
    masked in the original, tag or entity whole): markdown's stars as spaces, an HTML tag as one space, an entity
    as the character it stands for, full-width letters as ASCII ones. An entity is one character, as "<" in a code
    pasted into an email ("Ab3&lt;xY9"): padded, it would cut the code in two."""
    chars: list[str] = []
    origin: list[tuple[int, int]] = []
    for m in re.finditer(rf"{TAG}|{ENTITY}|.", text, re.DOTALL):
        got = m.group()
        if len(got) > 1 and got.startswith("<"):
            got = " "
        elif len(got) > 1:
            got = html.unescape(got)
            got = " " if got == "\xa0" else got if len(got) == 1 else m.group()
        elif len(normal := unicodedata.normalize("NFKC", got)) == 1:
            got = " " if normal == "*" else normal
        chars.append(got)
        # An entity it does not know is read as written, each character from where it stands.
        origin += [m.span()] if len(got) == 1 else [(m.start() + i, m.start() + i + 1) for i in range(len(got))]
    return "".join(chars), origin


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


def joined(word: str) -> bool:
    """A word holding ":", "=", "/", "|", "<" or ">" shaped like a generated code (generated), none of its pieces a
    plain word (a path, a ratio, "key=value", "Windows/Office365" are kept) nor the word a path or a link."""
    word = word.strip(".,;:!?)(][")
    pieces = re.split(JOINERS, word)
    if word.startswith(("/", "~", "www.")) or "." in pieces[0] and "/" in word:
        return False
    return generated(word) and not any(re.fullmatch(r"[a-z]{2,}|[A-Z][a-z]+|[A-Z]{2,}", p) for p in pieces)


def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans sorted, overlapping ones joined."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
