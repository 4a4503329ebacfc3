"""The one-time consent pages in a real headless browser (Debian's chromium, driven by selenium):
consent, objection, an expired link, a reused link and a forged token, against the real receiver."""

from __future__ import annotations

import hashlib
import secrets
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import WEBHOOK_SECRET, needs
from whmcs_bridge.intake.receiver import Receiver, serve
from whmcs_bridge.intake.serving import run_in_thread, stop
from whmcs_bridge.store import audit, consent, inbox
from whmcs_bridge.store.db import Database

pytestmark = needs("chromium", "chromedriver", install="apt-get install chromium chromium-driver")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


class Site:
    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "state.db"
        Database(self.path).close()
        self.receiver = Receiver(self.path, [WEBHOOK_SECRET])
        self.server = serve(self.receiver, "127.0.0.1", 0)
        run_in_thread(self.server)
        self.base = f"http://127.0.0.1:{self.server.effective_port}"

    def link(
        self,
        purpose: str,
        case: str,
        *,
        expires_in: timedelta = timedelta(days=14),
        lang: str = "",
        summary: str = "PT Maju Makmur (client #21) asks to become the holder of majumakmur.co.id. Do you consent, or object?",
    ) -> str:
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with Database(self.path) as db, db.atomic():
            consent.create(
                db,
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                purpose=purpose,
                subject=case,
                summary=summary,
                expires_at=now + expires_in,
                now=now,
                lang=lang,
            )
        return f"{self.base}/consent/{token}"

    def events(self) -> list[dict[str, Any]]:
        with Database(self.path) as db:
            return [e.event().data for e in inbox.entries(db)]

    def audit(self, case: str) -> list[audit.AuditEntry]:
        with Database(self.path) as db:
            return list(audit.entries(db, case_id=case))


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    yield s
    stop(s.server)
    s.receiver.close()


def replaced(element: Any) -> bool:
    """Whether the page holding `element` was replaced: the element is stale, or Chromium, caught mid-navigation,
    says its node "does not belong to the document" (an inspector error, not a StaleElementReferenceException)."""
    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def answer(browser: webdriver.Chrome, link: str, button: str, reason: str) -> str:
    browser.get(link)
    form_page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.NAME, "reason").send_keys(reason)
    browser.find_element(By.XPATH, f"//button[normalize-space()='{button}']").click()
    # The answer page replaces the form: wait until the form's page is gone, whatever its language
    # (a bound, not a timing assertion), then read the page that replaced it.
    WebDriverWait(browser, 20).until(lambda _: replaced(form_page))
    return WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: d.find_element(By.TAG_NAME, "body").text
    )


def test_holder_consents_in_a_browser(browser: webdriver.Chrome, site: Site):
    link = site.link("ownership-holder", "o1234567")
    browser.get(link)
    assert browser.title == "Your decision is needed"
    assert "asks to become the holder of majumakmur.co.id" in browser.find_element(By.TAG_NAME, "body").text
    text = answer(browser, link, "I consent", "they are the brand owner")
    assert "Thank you" in text and "I consent" in text
    (event,) = site.events()
    assert event["command"] == "consent" and event["case"] == "o1234567" and event["decision"] == "accept"
    assert event["reason"] == "they are the brand owner" and event["ip"] == "127.0.0.1"
    (entry,) = site.audit("o1234567")
    assert entry.action == "consent.decided" and "HeadlessChrome" in entry.detail["user_agent"]

    # The same link again: a clear page, nothing recorded twice.
    browser.get(link)
    assert "This link has already been used" in browser.title
    assert "I consent" in browser.find_element(By.TAG_NAME, "body").text
    assert len(site.events()) == 1


def test_holder_objects_with_a_reason(browser: webdriver.Chrome, site: Site):
    text = answer(
        browser, site.link("ownership-holder", "o7654321"), "I object", "the invoices for the site are unpaid"
    )
    assert "I object" in text
    (event,) = site.events()
    assert event["decision"] == "decline" and event["reason"] == "the invoices for the site are unpaid"


def test_requester_confirms(browser: webdriver.Chrome, site: Site):
    text = answer(browser, site.link("ownership-requester", "o1111111"), "Yes, I made this request", "")
    assert "Yes, I made this request" in text
    assert site.events()[0]["purpose"] == "ownership-requester"


def test_expired_and_forged_links_change_nothing(browser: webdriver.Chrome, site: Site):
    browser.get(site.link("ownership-holder", "o2222222", expires_in=timedelta(seconds=-1)))
    assert browser.title == "This link has expired"
    assert browser.find_elements(By.TAG_NAME, "button") == []
    browser.get(f"{site.base}/consent/{secrets.token_urlsafe(32)}")
    assert browser.title == "This link is not valid"
    browser.get(f"{site.base}/consent/x%27%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert browser.title == "This link is not valid"
    assert site.events() == [] and site.audit("o2222222") == []


def test_the_page_speaks_the_language_of_the_email_that_carried_the_link(browser: webdriver.Chrome, site: Site):
    """A French owner's link (its email was French): the page, its buttons and its answers are French."""
    link = site.link(
        "delegation",
        "g1234567",
        lang="fr",
        summary="Pixelwerk <img src=x onerror=alert(1)> souhaite devenir le contact technique de Business (boulangerie-dupont.fr).",
    )
    browser.get(link)
    assert browser.title == "Votre décision est requise"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    body = browser.find_element(By.TAG_NAME, "body").text
    # The summary is shown as text, the way it was written: nothing in it is markup.
    assert "Pixelwerk <img src=x onerror=alert(1)> souhaite devenir le contact technique" in body
    assert browser.find_elements(By.TAG_NAME, "img") == []
    text = answer(browser, link, "Accepter", "c'est notre agence")
    assert "Merci" in text and "Accepter" in text
    browser.get(link)
    assert browser.title == "Ce lien a déjà été utilisé"
    assert site.events()[0]["decision"] == "accept"


def test_an_unknown_link_answers_in_the_browsers_language(site: Site):
    import requests

    answer = requests.get(
        f"{site.base}/consent/{secrets.token_urlsafe(32)}",
        headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"},
        timeout=5,
    )
    assert answer.status_code == 404 and "<title>Deze link is ongeldig</title>" in answer.text
    assert answer.headers["Content-Language"] == "nl"
