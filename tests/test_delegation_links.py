"""What a delegate's copy keeps of an email's links (pure): a link that renews, pays, resets a password or
logs in without the owner's password goes; any other link stays."""

from __future__ import annotations

import pytest

from whmcs_bridge.families.delegation.copies import without_account_links


@pytest.mark.parametrize(
    ("email", "copy"),
    [
        ('<a href="https://b.example/pwreset.php?key=abc">Reset</a>', "Reset"),
        ('<a href="https://b.example/cart.php?a=renew&amp;id=3&amp;key=k1">Renew now</a>', "Renew now"),
        ("<a href='https://b.example/dologin.php?email=x&timestamp=1&hash=h'>Log in</a>", "Log in"),
        ("Visit https://b.example/pwreset.php?key=abc today", "Visit [link removed] today"),
        ("www.b.example/cart.php?a=renew&id=3 now", "[link removed] now"),
        (
            '<a href="https://b.example/clientarea.php">Client area</a>',
            '<a href="https://b.example/clientarea.php">Client area</a>',
        ),
        (
            '<a href="https://b.example/viewinvoice.php?id=5">Invoice</a>',
            '<a href="https://b.example/viewinvoice.php?id=5">Invoice</a>',
        ),
        ("no link at all, a key=value in words", "no link at all, a key=value in words"),
        # From the issue-16 break test: WHMCS 8's friendly routes, single sign-on, invitations, quick renew,
        # and an address written without its scheme.
        ('<a href="https://b.example/index.php?rp=/password/reset/redeem/T0K3N">Reset</a>', "Reset"),
        ("Go to https://b.example/index.php?rp=/login/sso/abc123 now", "Go to [link removed] now"),
        ("Join: https://b.example/index.php?rp=/invite/9f8e7d", "Join: [link removed]"),
        ("Renew: https://b.example/index.php?m=quickrenew&s=XYZ", "Renew: [link removed]"),
        ("Reset at billing.example.com/pwreset.php?key=abc.", "Reset at [link removed]"),
        ("See https://b.example/password/reset/redeem/T0K3N", "See [link removed]"),
        ("A word.with.dots/and a path, no link", "A word.with.dots/and a path, no link"),
        # From the second issue-16 break test: a quick-renew token in the path, and tokens, signatures and
        # payment tokens under other names in the query.
        ('<a href="https://b.example/renew/110/7f3a9c2b41d0">Renew</a>', "Renew"),
        ("Pay: https://b.example/x.php?auth_token=9a8b7c", "Pay: [link removed]"),
        ('<a href="https://b.example/viewinvoice.php?id=2&amp;payment_token=p1">Pay now</a>', "Pay now"),
        ("Done: https://b.example/callback/x.php?sig=AbC123", "Done: [link removed]"),
        ("Open https://b.example/login?access_token=eyJ", "Open [link removed]"),
        # From the eighth break round (M2): a relative reset link, WHMCS 8's reset route URL-encoded, and a
        # quick-renew address whose `?` is an HTML entity (a mail client shows `cart.php?a=renew&id=110`).
        ('<a href="/pwreset.php?key=deadbeef">Reset</a>', "Reset"),
        ('<a href="index.php?rp=%2Fpassword%2Freset%2Fredeem%2Fabc123">Reset</a>', "Reset"),
        ("Reset: https://b.example/index.php?rp=%2Fpassword%2Freset%2Fredeem%2Fabc123", "Reset: [link removed]"),
        ("Renew: cart.php&#63;a=renew&amp;id=110 today", "Renew: [link removed] today"),
        ("Renew: /index.php?m=quickrenew&amp;s=XYZ", "Renew: [link removed]"),
        # Eleventh break round (F6): WHMCS 8's renewal routes, and credentials written into a link.
        ('<a href="https://b.example/index.php?rp=/cart/domain/renew">Renew your domains</a>', "Renew your domains"),
        ("Renew: https://b.example/clientarea.php?action=domainrenew&domainid=11", "Renew: [link removed]"),
        ("FTP: ftp://marie:S3cret!@ftp.example.fr/www", "FTP: [link removed]"),
        ("Panel: https://b.example/login.php?user=marie&password=S3cret", "Panel: [link removed]"),
        ("Plesk: https://p.example:8443/enterprise/rsession_init.php?secret=abc", "Plesk: [link removed]"),
        ("Back: https://b.example/clientarea.php?PHPSESSID=a1b2c3", "Back: [link removed]"),
        # Nineteenth break round (H2): WHMCS's ticket link carries the ticket's access key (`c`), which opens the
        # thread (what the owner wrote in it) without logging in; one-letter and short token names (`k`, `tok`).
        ('<a href="https://b.example/viewticket.php?tid=781234&amp;c=Xy7AbCd9">here</a>', "here"),
        ("View: https://b.example/viewticket.php?tid=781234&c=Xy7AbCd9&feedback=1", "View: [link removed]"),
        ("Open https://b.example/x.php?tok=9a8b7c now", "Open [link removed] now"),
        ("Open https://b.example/dl.php?id=3&k=9a8b7c now", "Open [link removed] now"),
    ],
)
def test_account_links_are_taken_out(email: str, copy: str):
    assert without_account_links(email) == copy


# From the hostile round of issue 16 (finding 5): what WHMCS and cPanel emails carry that opens a session or
# proves an identity under other names: an email verification id, an OAuth authorisation code, and cPanel's
# session path (/cpsess<digits>/, which logs in whoever holds it until the session ends).
CPANEL_REPLY = (
    "<p>Hello Marie,</p><p>We restored your files. You can check them straight away in File Manager: "
    '<a href="https://server12.example-host.com:2083/cpsess7302881146/frontend/jupiter/filemanager/index.html">'
    "open File Manager</a>, or paste https://server12.example-host.com:2083/cpsess7302881146/3rdparty/roundcube/ "
    "into your browser for webmail.</p><p>Regards,<br>Support</p>"
)
VERIFY_EMAIL = (
    "<p>Dear Marie Dupont,</p><p>Please verify your email address by clicking the link below.</p>"
    '<p><a href="https://billing.example-host.com/clientarea.php?verificationId=QkQ3Yzk1ZjE4YTc2NDk">'
    "https://billing.example-host.com/clientarea.php?verificationId=QkQ3Yzk1ZjE4YTc2NDk</a></p>"
)
OAUTH_CALLBACK = (
    "To finish connecting Google Workspace, open "
    "https://billing.example-host.com/modules/servers/gws/callback.php?code=4/0AeanS0aX9k2&state=s7 within 10 minutes."
)


@pytest.mark.parametrize(
    ("email", "kept", "gone"),
    [
        (CPANEL_REPLY, ["open File Manager", "We restored your files", "into your browser"], ["cpsess7302881146"]),
        (VERIFY_EMAIL, ["Please verify your email address"], ["QkQ3Yzk1ZjE4YTc2NDk"]),
        (OAUTH_CALLBACK, ["To finish connecting Google Workspace", "within 10 minutes"], ["0AeanS0aX9k2"]),
    ],
    ids=["cpanel-session", "verification-id", "oauth-code"],
)
def test_session_and_verification_links_in_real_emails_are_taken_out(email: str, kept: list[str], gone: list[str]):
    copy = without_account_links(email)
    assert all(words in copy for words in kept), copy
    assert not any(secret in copy for secret in gone), copy


@pytest.mark.parametrize(
    "email",
    [
        '<a href="https://b.example/cart.php?a=add&amp;promocode=SPRING">Order with SPRING</a>',
        '<a href="https://b.example/knowledgebase/12/cpanel-session-tips.html">Tips</a>',
        "Your verification is done; the code of conduct is at https://b.example/terms.php",
        "Write to mailto:support@b.example or see https://b.example/renewals-faq.html",
    ],
)
def test_ordinary_links_that_look_alike_stay(email: str):
    assert without_account_links(email) == email
