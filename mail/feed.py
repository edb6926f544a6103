"""Rule AV-4: operational messages as an Atom feed (RFC 4287) per municipality, which SharePoint and Sitevision
intranets read. Only the message's subject and text: no recipient, no person (the messages are about IT's
services, written by IT)."""
from __future__ import annotations

from datetime import datetime

from feedgen.feed import FeedGenerator


def atom(municipality: str, name: str, self_url: str, messages: list[tuple[str, datetime, str, str]],
         updated: datetime) -> bytes:
    """`messages`: (key, published, subject, text), newest first."""
    feed = FeedGenerator()
    feed.id(f"tag:ramflow,2026:driftinformation:{municipality}")
    feed.title(f"Driftinformation från IT-enheten – {name}")
    feed.author({"name": "IT-enheten, Tranemo och Ulricehamns kommuner"})
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    feed.language("sv")
    feed.updated(updated)
    for key, published, subject, text in reversed(messages):  # feedgen prepends: oldest first in, newest on top
        entry = feed.add_entry()
        entry.id(f"tag:ramflow,2026:{key}")
        entry.title(subject)
        entry.content(text, type="text")
        entry.published(published)
        entry.updated(published)
    return feed.atom_str(pretty=True)
