"""Thin Telegram handlers, one module per user journey.

`register_all` adds them in one explicit order: python-telegram-bot tries handlers of a group in the order
they were added and stops at the first match, so conversations come before the catch-alls.
"""

from __future__ import annotations

from handlers import (admin, announce, ask, commands, contest, edits, errors, fallback, flags, live, organiser,
                      practice, privacy, reports, results, roles, start)


def register_all(application) -> None:
    edits.register(application)      # group -1: edited messages stop here, whatever flow the person is in
    privacy.register(application)    # group -1: personal and privileged screens only in private chats
    admin.register(application)      # team creation conversation (administrators)
    organiser.register(application)  # contest creation and editing conversations, contest management
    flags.register(application)      # 答题纠错: flagged questions of a contest, resolving them
    announce.register(application)   # announcement conversation (takes text, photos, files), 公告, subscriptions
    reports.register(application)    # 信息报送: request and submission conversations (take text, photos, files)
    commands.register(application)   # /help and the "/" menu of each role (set at start, follows role changes)
    start.register(application)      # /start, registration, /me, main menu, team code conversation
    contest.register(application)    # contests: list, questions with timers, answers, /rank
    live.register(application)       # live contests: the host's panel and moves, sending each question to all
    results.register(application)    # certificates when a contest ends, per-question statistics for organisers
    practice.register(application)   # 每日练习, 错题本, statistics, 每日一题
    roles.register(application)      # administrators: invites, revocation, audit log
    ask.register(application)        # free text is a question: after the conversations that expect text
    fallback.register(application)   # non-text messages, unknown commands, stale or forged buttons: last
    errors.register(application)
