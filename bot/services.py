"""The services a running bot needs, built once and handed to the handlers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.accounts import Accounts
from bot.config import Config
from bot.contests import Contests
from bot.practice import Practice
from bot.qa import KnowledgeService, QuestionAnswering
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

    @classmethod
    def create(cls, config: Config, storage: Storage, knowledge: KnowledgeService | None = None) -> "Services":
        knowledge = knowledge or KnowledgeService(config.knowledge_dir)
        contests = Contests(storage, lambda: knowledge.bank, lambda: knowledge.kb, config.tz)
        practice = Practice(storage, lambda: knowledge.bank, lambda: knowledge.kb, config.tz)
        return cls(config=config, storage=storage, accounts=Accounts(storage), knowledge=knowledge,
                   qa=QuestionAnswering(storage, knowledge), contests=contests, practice=practice)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.config.admin_ids

    def is_organiser(self, user_id: int) -> bool:
        """Contest organisers; until roles can be granted, the administrators organise."""
        return self.is_admin(user_id)
