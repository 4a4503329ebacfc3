"""Seventeenth break round, issue 16, the self-service pages: a renew form posted to a page that offered none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Sandbox, SelfServiceWorld
from tests.test_delegation_pages_break12 import grant
from tests.test_delegation_selfservice_e2e import last_link, text


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[SelfServiceWorld]:
    """As the daemon runs it: the pages read WHMCS."""
    sandbox.load("agency")
    w = SelfServiceWorld(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def test_a_renew_form_posted_to_the_owners_page_leaves_its_link_usable(world: SelfServiceWorld):
    """L2: the owner's page has no renew button; a POST of do=renew to it used the link up with "This contact may
    not renew this service". A form the page did not offer is refused naming it, and the link still works."""
    grant_id = grant(world, "--service", "110")
    owner_link = last_link(world, 11)
    click = requests.post(owner_link, data={"do": "renew", "grant": grant_id, "service": "110"}, timeout=10)
    assert click.status_code == 400 and "did not offer" in text(click), text(click)
    page = requests.get(owner_link, timeout=10)
    assert page.status_code == 200 and "name=do value=revoke" in page.text, text(page)
