"""What a ticket or an email names: domain names found in free text, and the read that asks WHMCS who
owns them, for the families that act on what a text names (pure)."""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime
from typing import Any

from whmcs_bridge.clock import iso
from whmcs_bridge.model import Action, Decision, action_key, as_int

DOMAIN_NAME = re.compile(r"(?<![@\w.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})\b", re.IGNORECASE)
# Characters that look like '-' (phones and word processors type U+2011 or a dash): read as the hyphen they show,
# else 'boulangerie\u2011dupont.fr' reads as 'dupont.fr', another client's domain. NFKC has already folded the
# full-width and small hyphen-minus; these are the look-alikes it leaves (dashes are Unicode's category Pd).
HYPHENS = "\u2212\u2043\u02d7\u2796\u2e3a\u2e3b"
# What may come right before a name: the text's start, a space, or punctuation that opens or separates (a URL's
# '/' and ':', brackets, quotes). After any other character the name is part of a longer word, never read alone.
BEFORE_NAME = set("/\\([{<>,;:!?*|\"'«»“”„‘’‚‹›")
# Emphasis a ticket's Markdown puts on part of a name (WHMCS renders a ticket's Markdown): between two of a name's
# characters it is not shown, so 'boulangerie-**dupont.fr**' shows 'boulangerie-dupont.fr' and is read so (twenty-fifth
# round HIGH); elsewhere ('**dupont.fr**') it opens a name. An underscore between two letters is part of a word
# (CommonMark: no emphasis inside a word), not markup. HTML tags are read as shown before (SHOWN_TAG).
GLUED_MARKUP = re.compile(r"(?<=[\w.-])(?<!_)(?:[*~`]+|(?<![^\W_])_+|_+(?![^\W_]))+(?=[\w.-])(?!_)")
EDGE_UNDERSCORES = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])")  # '__dupont.fr__' elsewhere: emphasis, not the name
# Cyrillic, Greek and Armenian letters, and Latin IPA ones (dotless i, alpha, script g), drawn like a Latin one
# (Unicode's confusables, the letters of a name): a name written with them shows as the Latin name and is read as it
# (its skeleton), when every letter of it has such a look-alike (twenty-fifth round HIGH: 'dup\u043ent.fr' was read as
# no name at all, and staff got no note; twenty-seventh round MEDIUM: the Armenian 'dup\u0585nt.fr'). A name in
# another script (a letter without a Latin look-alike, '\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444') is
# left as it is.
LOOKALIKES = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u04bb\u0501\u051b\u051d\u04cf"
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0423\u0406\u0408\u0405\u051a\u051c"
    "\u03bf\u03b1\u03bd\u03b9\u03ba\u03c1\u03c5\u03c7"
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7"
    "\u0585\u0578\u057d\u0570\u0581\u0566\u0555\u054d\u0131\u0251\u0261\u0269",
    "aeopcyxijshdqwlABEKMHOPCTXYIJSQWoavikpuxABEZHIKMNOPTYXonuhgqOUiagi",
)
# The rest of what a reader does not see as written (twenty-seventh round HIGH: 'boulangerie-[dupont.fr](#)' shows
# 'boulangerie-dupont.fr' and was read as 'dupont.fr'), read once for every kind rather than one case each: an HTML
# comment shows nothing; a Markdown link or image, inline or by reference ('[dupont.fr](#)', '[dupont.fr][1]'), shows
# its text where it stands (its target is read apart, after the text, as a name of its own); an HTML tag (CommonMark's
# raw HTML syntax) shows nothing, a block's ends the word before it ('<p>', '<br>'), any other ('<wbr>', '<kbd>',
# '<a href=...>') joins what is either side (its attributes are read apart too); a Markdown escape ('\\-', '\\.')
# shows the character it escapes.
COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
LINK = re.compile(
    r"!?\[([^\[\]\n]*)\](?:\(\s*<?([^()\s<>]*)>?(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)|\[[^\[\]\n]*\])?"
)
SHOWN_TAG = re.compile(
    r"</?([a-z][a-z0-9-]*)(?:\s+[a-z_:][\w.:-]*(?:\s*=\s*(?:[^\s\"'=<>`]+|'[^']*'|\"[^\"]*\"))?)*\s*/?>", re.IGNORECASE
)
# CommonMark's HTML blocks (its spec, 4.6 condition 6) and what a browser draws as a box of its own.
BLOCK_TAGS = frozenset(
    "address article aside base basefont blockquote body caption center col colgroup dd details dialog dir div dl dt"
    " fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 head header hr html iframe legend li"
    " link main menu menuitem nav noframes ol optgroup option p param search section summary table tbody td tfoot th"
    " thead title tr track ul br img input button select textarea video audio object embed canvas svg".split()
)
HIDDEN = "\x00"  # where a link's target or a tag stood, until it is put after its word
ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# Characters Unicode says are drawn as nothing (its Default_Ignorable_Code_Point property) that are not of category
# Cf: the combining grapheme joiner, the variation selectors, the Hangul fillers, Khmer's inherent vowels
# (twenty-seventh round MEDIUM: 'boulangerie-dup\ufe0font.fr' was read as no name at all).
IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
WORD = re.compile(r"[\w.-]*\.[\w.-]*")
# A word shaped like a domain name in any script (labels of letters, digits and hyphens, a last label of letters):
# one the bridge cannot read as a Latin name ('dup\u1d0fnt.fr', a letter no table lists) is still asked about, and a
# name WHMCS lists for nobody gets staff a warning (twenty-seventh round MEDIUM: such a name got no note at all).
NAME_SHAPED = re.compile(r"(?<![\w.@-])((?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24})(?![\w@-]|\.[^\W_])")


def plain(text: str) -> str:
    """The text as a reader sees it: NFKC (full-width letters and dots, U+3002 the ideographic full stop), every
    dash or look-alike hyphen as '-', invisible characters (zero-width, soft hyphen, joiners, variation selectors:
    IGNORABLE) removed. A space NFKC
    leaves is one fonts draw as a stroke (U+1680 OGHAM SPACE MARK; the others become ' '): read as the '-' it shows,
    else 'boulangerie\u1680dupont.fr' reads as 'dupont.fr' (twenty-fifth round HIGH)."""
    text = IGNORABLE.sub("", unicodedata.normalize("NFKC", text).replace("\u3002", "."))
    return "".join(_as_shown(c) for c in text if unicodedata.category(c) != "Cf")


def _as_shown(char: str) -> str:
    dash = char in HYPHENS or unicodedata.category(char) == "Pd" or (unicodedata.category(char) == "Zs" and char != " ")
    return "-" if dash else char


def shown(text: str) -> str:
    """The text as a ticket's Markdown or an email's HTML shows it (COMMENT, LINK, SHOWN_TAG, ESCAPE), what it hides
    but points to (a link's target, a tag's attributes) right after the word it is in: read apart, never joined."""
    apart: list[str] = []

    def link(match: re.Match[str]) -> str:
        apart.append(match.group(2) or "")
        return match.group(1) + HIDDEN

    def tag(match: re.Match[str]) -> str:
        if match.group(1).lower() in BLOCK_TAGS:
            return f"\n{match.group(0)}\n"
        apart.append(match.group(0))
        return HIDDEN

    text = ESCAPE.sub(r"\1", SHOWN_TAG.sub(tag, LINK.sub(link, COMMENT.sub("", text.replace(HIDDEN, "")))))
    hidden = iter(apart)
    return re.sub(
        rf"\S*{HIDDEN}\S*",
        lambda w: " ".join([w[0].replace(HIDDEN, ""), *(next(hidden) for _ in range(w[0].count(HIDDEN)))]),
        text,
    )


def read_as_shown(text: str) -> str:
    """The text as its reader sees it, for the names and words in it: HTML character references read, plain, what
    Markdown and HTML show (shown), emphasis glued inside a word dropped."""
    return _unmarked(shown(plain(html.unescape(text or ""))))  # '&#8209;' is the U+2011 it shows


def _unmarked(text: str) -> str:
    return EDGE_UNDERSCORES.sub(" ", GLUED_MARKUP.sub("", text))


def _skeleton(word: re.Match[str]) -> str:
    shown = word.group(0).translate(LOOKALIKES)
    return shown if shown.isascii() else word.group(0)


def domain_names(*texts: str) -> list[str]:
    """The distinct domain names in the texts, lower case, without www., at most 20; file names and
    email addresses are not domains."""
    found: list[str] = []
    for text in texts:
        read = WORD.sub(_skeleton, re.sub(r"[<>\"'=]", " ", read_as_shown(text)))
        for hit in DOMAIN_NAME.finditer(read):
            before = read[hit.start() - 1] if hit.start() else " "
            if not (before.isspace() or before in BEFORE_NAME):
                continue  # 'boulangerie·dupont.fr': a longer name, not dupont.fr
            name = hit.group(1).lower().rstrip(".").removeprefix("www.")  # the site's name is the service's domain
            if "@" not in name and name not in found and not name.endswith((".php", ".html", ".png", ".jpg")):
                found.append(name)
    return found[:20]


def unread_names(*texts: str) -> list[str]:
    """The words shaped like a domain name that domain_names does not read (a letter outside ASCII left once
    look-alikes are read as Latin ones: an internationalised name, or a look-alike no table lists), lower case."""
    found: list[str] = []
    for text in texts:
        read = re.sub(r"[<>\"'=]", " ", read_as_shown(text))
        for hit in NAME_SHAPED.finditer(read):
            name = hit.group(1).lower()
            if not name.translate(LOOKALIKES).isascii() and name not in found:
                found.append(name)
    return found[:20]


def ask_owners(family: str, key: str, data: dict[str, Any], names: list[str], now: datetime, **extra: Any) -> Decision:
    """A state `key` waiting for WHMCS to say who owns what a ticket (`data`: TicketOpen's variables)
    names; the answer comes back as TicketResolved to the family that asked."""
    params = {
        "ticket_id": as_int(data.get("ticketid")),
        "writer": as_int(data.get("userid")),
        "names": names,
        "link": None,
        "state_key": key,
        **extra,
    }
    resolve = Action(
        key=action_key(family, key, "resolve"),
        family=family,
        kind="resolve_ticket",
        params=params,
        client_id=as_int(data.get("userid")),
        subject=key,
    )
    return Decision(state={"ticket": params["ticket_id"], "asked": iso(now)}, actions=[resolve])
