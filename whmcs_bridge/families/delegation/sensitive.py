"""What a ticket asks that only an account's owner may have (pure): the words the support-authority note looks for
(copies.ticket_note), in the catalogue's languages, read in the text as a reader sees it (names.read_as_shown)."""

from __future__ import annotations

import re

from whmcs_bridge.names import read_as_shown

# What a ticket asks that only the account's owner may have (seed 000): access, ownership, a transfer. In
# the catalogue's languages (en, fr, nl, id), by stems where one covers a language's ways to say it; a match only adds
# a warning to a staff-only note.
# A few words later in the same sentence (a dot inside an address or a name, "lena@pixelwerk.agency", does not end it).
NEAR = r"(?:[^.!?\n]|[.](?=\S)){0,40}"
# A Dutch clause, object first and verb last: the account, the domain and who it is for may come between.
CLAUSE = r"(?:[^.!?\n]|[.](?=\S)){0,80}"
# Verbs of changing, by stem, in the catalogue's languages: en, fr ("mettre à jour", "actualiser"), nl (in a clause
# the verb comes last, infinitive or participle: "vervangen door", "bij te werken", "bijgewerkt"), id ("perbarui",
# "memperbarui"): twenty-seventh round LOW.
CHANGE = (
    r"(?:change|updat\w*|set|replac\w*|modif\w*|remplac\w*|chang\w*|corrig\w*|actualis\w*|m[ei][st]\w*\s+[àa]\s+jour"
    r"|wijzig\w*|verander\w*|vervang\w*|aanpass\w*|aan\s+te\s+passen|bijwerk\w*|bij\s+te\s+werken|gewijzigd|veranderd"
    r"|aangepast|bijgewerkt|ge-?update|zet|ubah|ganti|\w*perbar\w*|\w*perbahar\w*)"
)
# The account's email address or phone number.
CONTACT = r"(?:e-?mail|adresse|adres|alamat|phone|t[ée]l[ée]phone|telefoon|telepon|num[ée]ro|nummer|nomor|gsm)"
# A few words of the same phrase (no comma between): "unblock my IP, the site dupont.fr is down" unblocks no domain.
PHRASE = r"(?:[^.!?,;\n]|[.](?=\S)){0,40}"
# Unblocking, and what is unblocked: the domain, in a word or by a name.
UNBLOCK = r"\b(?:d[ée]bloqu|deblokk|debloque|unblock|buka\s+blokir)\w*"
DOMAIN = r"(?:\b(?:domaine|domein|domain)|[\w-]+\.[a-z]{2,24}\b)"
SENSITIVE = re.compile(
    r"password|passwd|\bpwd\b|credential|log-?in|sign-?in|access|owner|transfer|\bepp\b"
    r"|auth(?:orization|orisation)?[- ]?code|(?:code|kode)\s+auth\b|autori[sz]ati\w*|otorisasi|mot-de-passe|verplaats"
    r"|\bftp\b|\bsftp\b|\bssh\b|cpanel|plesk|directadmin|primary contact"
    r"|mot de passe|\bmdp\b|identifiant|acc[eè]s|codes? d'acc[eè]s|les codes|propri[eé]taire|propri[eé]t[eé]|transf[eé]r"
    r"|contact principal|wachtwoord|inlog|toegang|eigenaar|verhuiz|overdracht|hoofdcontact"
    r"|kata sandi|sandi|akses|pemilik|kepemilikan|pindah|kontak utama"
    # A registrant (holder) change hands the domain over; an admin role or two-factor off hands the account over.
    r"|registrant|titulaire|holder|houder|pemegang|\bwhois\b|administrat\w*|\badmin\b|beheerder"
    r"|\b2fa\b|\bmfa\b|two[- ]?factor|two[- ]?step|deux facteurs|double authentification|authenticator"
    r"|tweestaps|twee[- ]?factor|dua faktor|dua langkah|verifikasi dua"
    # Changing the account's email address or phone hands the account over at its next password reset: a verb of
    # changing (CHANGE) and what is changed (CONTACT), in either order ("le nouvel e-mail ... merci de le mettre à jour").
    r"|" + CHANGE + r"\b" + NEAR + CONTACT + r"|" + CONTACT + r"\w*" + CLAUSE + r"\b" + CHANGE + r"\b"
    r"|(?:receive|recevoir|ontvang\w*|menerima|terima)\b" + NEAR + r"\b(?:all|tous|toutes|alle|semua)\b"
    # Unlocking a domain (with its code, a transfer), its nameservers or MX (the site and the mail), a code to move it.
    r"|unlock|d[ée]verrouill|ontgrendel|vergrendel|buka\s+kunci|name ?servers?|naamserver|\bdns\b|\bmx\b"
    # Unblocking the domain, in either order ("le domaine ... à débloquer"; a name, "boulangerie-dupont.fr deblokkeren"),
    # its lock ("retirer le verrou", "remove the lock", "la vergrendeling opheffen"): twenty-fifth and twenty-seventh
    # rounds LOW. Unblocking anything else (an IP address at the firewall) is an ordinary ask.
    r"|\bverrou(?:s|illage)?\b|"
    + UNBLOCK
    + PHRASE
    + DOMAIN
    + r"|"
    + DOMAIN
    + PHRASE
    + UNBLOCK
    + r"|\b(?:remov|lift|disabl|releas|drop|turn\w*\s+off|tak\w*\s+off|hapus|lepas|nonaktif)\w*"
    + NEAR
    + r"\b(?:lock|kunci)\b"
    r"|\b(?:lock|kunci)\b" + NEAR + r"\b(?:off|removed|lifted|disabled|dihapus|dilepas)\b"
    r"|verhuiscode|(?:code|kode)\b" + NEAR + r"(?:move|moving|d[ée]m[ée]nag|verhuiz|pindah)"
    # A new user of the account, or rights on it.
    r"|invit\w*|uitnodig\w*|undang|permission|droits|rechten|\bizin\b"
    r"|(?:add|ajout\w*|voeg\w*|toevoeg\w*|tambah\w*)\b" + NEAR + r"(?:user|utilisateur|gebruiker|pengguna)"
    # A transfer code spelled apart (auth-info, Auth Info, AUTH_INFO), a move to another registrar or, for .uk, a new
    # IPS tag (its registrar's tag): the domain leaves; a domain put in someone's name is a registrant change.
    r"|auth[-_. ]?info|registrar|registrateur|bureau d'enregistrement|\bips[-_ ]?tag|\btag\s+ips\b"
    r"|d[ée]pla[cç]\w*\s+(?:le|du|mon|notre|ce|nos|mes|les|ces)\s+(?:noms?\s+de\s+)?domaines?"
    r"|\b(?:put|place|register\w*|change|switch|transfer\w*|move)\b"
    + NEAR
    + r"\b(?:in|into|under|to)\s+(?:my|our|his|her|their|your|the\s+\w+'s)\s+(?:own\s+)?(?:company'?s?\s+)?name\b"
    r"|\b(?:mett\w*|mis\w*|pass\w*|enregistr\w*|chang\w*)\b"
    + NEAR
    + r"(?:[àa]\s+(?:mon|notre|son|leur|ton|votre)\s+nom\b|\bau\s+nom\s+d)"
    r"|\b(?:zet\w*|overzet\w*|registreer\w*|wijzig\w*|verander\w*)\b"
    + NEAR
    + r"\bop\s+(?:(?:mijn|onze|ons|zijn|haar|hun|jouw|uw)\s+)?naam\b"
    r"|balik\s+nama|\b(?:ubah|ganti|alih\w*|jadikan|daftar\w*)\b" + NEAR + r"\batas\s+nama\b",
    re.IGNORECASE,
)


def asks_for_the_account(*texts: str) -> bool:
    """Whether the texts (a ticket's subject and message) ask for access, ownership, a transfer or the account's
    contact details, as the reader sees them: markup inside a word ('pass<wbr>word') is read through."""
    return bool(SENSITIVE.search(read_as_shown("\n".join(texts))))  # a subject's words end with it
