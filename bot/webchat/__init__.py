"""The web channel: 质量通 in any phone browser (WeChat's included) for people who cannot reach Telegram.

A web person chats with the same bot: what they type and press becomes an update in the bot's own queue, and what
the bot sends them is kept here instead of going to Telegram (ChannelRequest diverts every call for a web chat). So
the knowledge answers, practice, contests (live ones too), announcements and 我的 are the same code with the same
rules as in Telegram, rendered by the page at /m/ (plain HTML and JavaScript shipped in the package).

- channel.py: the web chats (kept like the sandbox's, in a journal beside the database) and the updates they make.
- request.py: the transport wrapper that sends a web chat's calls here and everything else to Telegram.
- routes.py: the pages and their JSON API, with a signed cookie for identity, CSRF checks and flood limits.
"""
