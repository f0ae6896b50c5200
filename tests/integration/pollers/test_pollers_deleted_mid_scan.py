"""Comments deleted on the platform while a scan is unfinished (its page budget used up, the rest left to
the next poll) move the older comments up a list paged by position: the first of them slipped between the
two pages and was never read. A Bilibili scan resumed in a later poll whose list holds fewer comments than
at the pause (`all_count`) reads the page before its cursor again (known comments are skipped by id), so
nothing is lost and nothing is stored twice; without deletions it goes on at its cursor as before."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.pollers.helpers import comments

OID = "170001"


def test_a_comment_deleted_between_two_polls_of_one_scan_costs_no_other_comment(make_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    now = clock.now()
    for i in range(25):  # ten minutes apart, newest last: more than the overlap window between neighbours
        bili.add_reply(OID, 1000 + i, mid=7000 + i, uname=f"u{i}", message=f"评论{i}",
                       ctime=int((now - timedelta(seconds=30000 - 600 * i)).timestamp()))

    def one_page_a_poll(sources):
        sources[0]["settings"]["max_pages"] = 1
        sources[0]["backfill"] = "24h"

    service = make_bot(one_page_a_poll).services.sources
    assert service.poll("bili").accepted == 10  # page 1 of 3; the scan goes on in the next poll
    # a moderator deletes the newest comment before the next poll reads page 2
    bili.replies[OID] = [r for r in bili.replies[OID] if r["rpid"] != 1024]
    accepted = 0
    for _ in range(4):
        clock.advance(300)
        outcome = service.poll("bili")
        assert outcome.status == "ok", outcome
        accepted += outcome.accepted
        if service.store.load("bili").targets[OID].pending is None:
            break
    assert service.store.load("bili").targets[OID].pending is None  # the scan still ends
    assert accepted == 15
    assert {c.comment_id for c in comments(db, "bilibili")} == {str(1000 + i) for i in range(25)}
