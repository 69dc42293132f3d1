"""The services a running bot needs, built once and handed to the handlers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.accounts import Accounts
from bot.announcements import Announcements
from bot.config import Config
from bot.contest_results import ContestResults
from bot.contests import Contests
from bot.practice import Practice
from bot.profile import Profiles
from bot.qa import KnowledgeService, QuestionAnswering
from bot.reports import Reports
from bot.roles import Roles
from bot.storage import Storage


@dataclass
class Services:
    config: Config
    storage: Storage
    accounts: Accounts
    knowledge: KnowledgeService
    qa: QuestionAnswering
    contests: Contests
    practice: Practice
    roles: Roles
    announcements: Announcements
    reports: Reports
    profiles: Profiles
    results: ContestResults
    bot_username: str = "qualitybot_sandbox_bot"  # replaced by the real one once the bot knows itself (getMe)

    def contest_links(self, contest_id: int) -> tuple[str, str | None]:
        """How to join a contest: the Telegram deep link, and the web page's (None when the web channel is off).
        The QR codes carry the web one when there is one: that page offers Telegram as well."""
        telegram = f"https://t.me/{self.bot_username}?start=c_{contest_id}"
        return telegram, f"{self.config.web_url}/m/join/c_{contest_id}" if self.config.web_channel else None

    @classmethod
    def create(cls, config: Config, storage: Storage, knowledge: KnowledgeService | None = None) -> "Services":
        knowledge = knowledge or KnowledgeService(config.knowledge_dir)
        contests = Contests(storage, lambda: knowledge.bank, lambda: knowledge.kb, config.tz)
        practice = Practice(storage, lambda: knowledge.bank, lambda: knowledge.kb, config.tz)
        roles = Roles(storage, config.admin_ids, contests.clock)
        return cls(config=config, storage=storage, accounts=Accounts(storage, contests.clock), knowledge=knowledge,
                   qa=QuestionAnswering(storage, knowledge), contests=contests, practice=practice, roles=roles,
                   announcements=Announcements(storage, roles, contests.clock, config.tz, lambda: knowledge.kb),
                   reports=Reports(storage, roles, contests.clock),
                   profiles=Profiles(storage, config.tz, contests.clock),
                   results=ContestResults(storage, contests, config.tz, lambda: contests.clock()))

