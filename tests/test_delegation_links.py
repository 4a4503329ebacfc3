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
    ],
)
def test_account_links_are_taken_out(email: str, copy: str):
    assert without_account_links(email) == copy
