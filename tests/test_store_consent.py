"""store/consent.py: a link is made, found by its token's hash, answered once, and listed for its subject."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from whmcs_bridge.store import consent
from whmcs_bridge.store.db import Database

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def make(db: Database, token_hash: str, purpose: str, subject: str, *, ttl: timedelta = timedelta(days=7)) -> int:
    with db.atomic():
        return consent.create(
            db, token_hash=token_hash, purpose=purpose, subject=subject, summary="s", expires_at=NOW + ttl, now=NOW
        )


def test_a_link_is_answered_once(db: Database):
    link_id = make(db, "h1", "ownership-holder", "o1")
    link = consent.by_token_hash(db, "h1")
    assert link is not None and link.id == link_id and link.used_at is None
    assert link.expires_at == "2026-11-29T10:00:00+00:00" and link.created_at == "2026-11-22T10:00:00+00:00"
    assert consent.claim(db, link_id, decision="accept", ip="10.0.0.1", user_agent="ua", now=NOW)
    assert not consent.claim(db, link_id, decision="decline", ip="10.0.0.2", user_agent="ua", now=NOW)
    answered = consent.get(db, link_id)
    assert answered is not None and (answered.decision, answered.ip, answered.used_at) == (
        "accept",
        "10.0.0.1",
        "2026-11-22T10:00:00+00:00",
    )
    assert consent.by_token_hash(db, "unknown") is None


def test_an_expired_link_cannot_be_claimed(db: Database):
    link_id = make(db, "h2", "delegation", "g1", ttl=timedelta(hours=1))
    assert not consent.claim(db, link_id, decision="accept", ip="", user_agent="", now=NOW + timedelta(hours=1))
    link = consent.get(db, link_id)
    assert link is not None and link.used_at is None


def test_links_for_a_subject_by_purpose_prefix(db: Database):
    make(db, "a", "ownership-holder", "o1")
    make(db, "b", "delegation", "o1")
    make(db, "c", "ownership-requester", "o1")
    make(db, "d", "ownership-holder", "o2")
    assert [link.token_hash for link in consent.for_subject(db, "o1", "ownership-")] == ["a", "c"]
    assert [link.token_hash for link in consent.for_subject(db, "o1")] == ["a", "b", "c"]


def test_a_link_keeps_the_language_of_its_email(db: Database):
    with db.atomic():
        link_id = consent.create(
            db, token_hash="h9", purpose="delegation", subject="g1", summary="s", expires_at=NOW, now=NOW, lang="fr"
        )
    made = consent.get(db, link_id)
    assert made is not None and made.lang == "fr"
    assert (consent.get(db, make(db, "h10", "delegation", "g2")) or made).lang == ""  # not said: none
