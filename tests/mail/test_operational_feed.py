"""Rule AV-4 (issue 21): operational messages as a public Atom feed per municipality, parsed with feedparser;
no personal data in it. They are mailed to the intranets' editors too."""
from __future__ import annotations

import feedparser
import httpx


async def test_av4_operational_messages_are_an_atom_feed_per_municipality(api):
    assert (await api.post("/operational-messages", json={"subject": "Driftinformation: e-post",
                                                          "body": "E-posten är långsam i Tranemo.",
                                                          "municipality": "tranemo"})).status_code == 201
    assert (await api.post("/operational-messages", json={"subject": "Driftinformation: servicefönster",
                                                          "body": "Planerat arbete tisdag 18-22."})).status_code == 201
    async with httpx.AsyncClient(transport=api._transport, base_url="http://ramflow.test/api/v1") as anonymous:
        answer = await anonymous.get("/feeds/tranemo/driftinformation.atom")  # public: the intranet reads it
        other = await anonymous.get("/feeds/ulricehamn/driftinformation.atom")
        unknown = await anonymous.get("/feeds/boras/driftinformation.atom")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title.startswith("Driftinformation från IT-enheten")
    assert [e.title for e in feed.entries] == ["Driftinformation: servicefönster", "Driftinformation: e-post"]
    assert feed.entries[1].summary == "E-posten är långsam i Tranemo."
    assert all(e.id.startswith("tag:ramflow,2026:operational_message:") for e in feed.entries)
    assert "intranet:" not in answer.text and "employee" not in answer.text  # no recipients, no people
    assert [e.title for e in feedparser.parse(other.content).entries] == ["Driftinformation: servicefönster"]
    assert unknown.status_code == 404


async def test_av4_operational_message_is_mailed_to_the_intranet_editors(api, smtp, sessions, settings):
    from activities.mail import MailActivities

    await api.post("/operational-messages", json={"subject": "Driftinformation: skrivare", "body": "Åtgärdat.",
                                                  "municipality": "ulricehamn"})
    [row] = (await api.get("/outbox?topic=operational_message&state=pending")).json()
    assert await MailActivities(None, sessions, settings).deliver(row["id"]) == "sent"
    assert smtp.recorder.envelopes == [["intranat@ulricehamn.example"]]
    text = smtp.recorder.accepted[0].get_body(("plain",)).get_content()
    assert "Åtgärdat." in text and "/api/v1/feeds/ulricehamn/driftinformation.atom" in text
