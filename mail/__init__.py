"""Mail (issue 21): who an outbox recipient is (addresses), what they read (render, templates/), how it
travels (transport: SMTP with XOAUTH2, or Microsoft Graph), the survey link (survey_link), the operational
messages' Atom feed (feed) and the development mail server (devserver). No Temporal, no routes: activities
and the API both use it. docs/mail.md."""
