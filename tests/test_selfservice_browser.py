"""Contact delegation's self-service pages in a real headless browser (Debian's chromium, driven by selenium),
against the sandbox, the real receiver and the CLI's passes: the links come in the bridge's own emails; the
delegate asks for a renewal with one click and sees its invoice with WHMCS's pay link; the owner sees who
acts on what since when and ends the access with one click; a used link changes nothing.

Set WHMCS_BRIDGE_SHOTS to a folder to keep a screenshot of each page (owner.png, delegate.png)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import Sandbox, SelfServiceWorld, needs
from whmcs_bridge.store import audit
from whmcs_bridge.store.db import Database

pytestmark = needs("chromium", "chromedriver", install="apt-get install chromium chromium-driver")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=900,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


World = SelfServiceWorld


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.load("agency")
    w = World(sandbox, tmp_path)
    w.run("tick")
    yield w
    w.close()


def page_link(email: dict[str, str]) -> str:
    found = re.findall(r'href="([^"]+/consent/[^"]+)"', email["message"])
    assert found, "the email carries its self-service link"
    return found[-1]


def last_email(world: World, client: int, subject: str) -> dict[str, str]:
    return [e for e in world.emails(client) if subject in e["subject"]][-1]


def shot(browser: webdriver.Chrome, name: str) -> None:
    folder = os.environ.get("WHMCS_BRIDGE_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(folder) / name))


def click(browser: webdriver.Chrome, label: str) -> str:
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.XPATH, f"//button[normalize-space()='{label}']").click()
    # Wait until the clicked page is gone (a bound, not a timing assertion), then read the new one.
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(page))
    return WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: d.find_element(By.TAG_NAME, "body").text
    )


def test_the_delegate_renews_and_the_owner_ends_the_access_in_a_browser(
    browser: webdriver.Chrome, world: World, tmp_path: Path
):
    sandbox = world.sandbox
    out = world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email",
    ).output  # fmt: skip
    grant_id = out.split()[0]
    world.settle()
    due = sandbox.rows("services", id=110)[0]["nextduedate"]

    # The delegate's page, from the link in its "you are now the contact" email.
    browser.get(page_link(last_email(world, 10, "You are now the technical contact")))
    assert browser.title == "Services you are contact for"
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "boulangerie-dupont.fr" in body and "Owner: Boulangerie Dupont" in body and "Status: Active" in body
    done = click(browser, "Renew service boulangerie-dupont.fr (#110) (invoiced to you)")
    assert "Renewal requested" in done
    world.settle(4)
    [invoice] = [i for i in sandbox.rows("invoices", client_id=10) if "Delegated renewal" in i["notes"]]
    assert invoice["total"] == "14.95"

    # A later copy carries a fresh link: the page shows the invoice issued to the delegate and WHMCS's pay link.
    sandbox.control("act", {"action": "SendEmail", "id": 110, "messagename": "Service Unsuspension Notification"})
    world.settle()
    browser.get(page_link(last_email(world, 10, "[Copy] Service Unsuspension Notification")))
    body = browser.find_element(By.TAG_NAME, "body").text
    assert f"invoice #{invoice['id']} (€14.95) was issued to you" in body
    pay = browser.find_element(By.CSS_SELECTOR, "a.pay").get_attribute("href")
    assert pay == f"{sandbox.url.rstrip('/')}/viewinvoice.php?id={invoice['id']}"
    assert browser.find_elements(By.TAG_NAME, "button") == []  # one renewal at a time
    shot(browser, "delegate.png")

    # The owner's page, from its "is now your technical contact" email: who, on what, since when.
    owner_link = page_link(last_email(world, 11, "is now your technical contact"))
    browser.get(owner_link)
    assert browser.title == "Who acts on your behalf"
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Pixelwerk Agency" in body and "Technical contact for boulangerie-dupont.fr since" in body
    assert "active" in body and grant_id in body
    shot(browser, "owner.png")
    assert "Access ended" in click(browser, "End access for Pixelwerk Agency")
    world.settle()
    assert f"{grant_id} revoked" in world.run("delegations", "list", "--owner", "11").output
    assert any("has ended" in e["subject"] for e in world.emails(10))
    assert "revoked by owner (self-service page)" in world.run("delegations", "show", grant_id).output
    with Database(tmp_path / "state.db") as db:
        [used] = [e for e in audit.entries(db, action="selfservice.used") if "revoke" in e.detail["decision"]]
        assert used.detail["ip"] == "127.0.0.1" and "HeadlessChrome" in used.detail["user_agent"]

    # The owner's link again: used, nothing more happens.
    browser.get(owner_link)
    assert "This link has already been used" in browser.title
    assert browser.find_elements(By.TAG_NAME, "button") == []
    assert sandbox.rows("services", id=110)[0]["nextduedate"] == due  # not paid: nothing renewed


def test_a_page_does_only_what_its_holder_may(world: World):
    """A delegate's link cannot end the access, nor renew what another grant covers; nothing is done, and a
    refused click uses the link (one time is one time)."""
    world.run(
        "delegations", "grant", "--owner", "11", "--delegate", "10", "--service", "110", "--by", "alice",
        "--basis", "owner's email",
    )  # fmt: skip
    world.settle()
    link = page_link(last_email(world, 10, "You are now the technical contact"))
    grant_id = world.run("delegations", "list").output.split()[0]
    refused = requests.post(link, data={"do": "revoke", "grant": grant_id}, timeout=5)
    assert refused.status_code == 400 and "Only the owner can end this access here." in refused.text
    assert requests.get(link, timeout=5).status_code == 410  # used by the refused click
    world.run("delegations", "grant", "--owner", "12", "--delegate", "10", "--service", "120", "--by", "alice",
              "--basis", "owner's email")  # fmt: skip
    world.settle()
    other_link = page_link(last_email(world, 10, "now the technical contact"))
    other = requests.post(other_link, data={"do": "renew", "grant": "g0000000", "service": "120"}, timeout=5)
    # A grant id the page never offered is a changed form (outside tester L1): refused naming it, the link unused.
    assert other.status_code == 400 and "grant &#34;g0000000&#34;, which this page did not offer" in other.text
    assert requests.get(other_link, timeout=5).status_code == 200
    assert f"{grant_id} active" in world.run("delegations", "list").output
