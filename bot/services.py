"""The services a running bot needs, built once and handed to the handlers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.accounts import Accounts
from bot.config import Config
from bot.qa import KnowledgeService, QuestionAnswering
from bot.storage import Storage


@dataclass
class Services:
    config: Config
    storage: Storage
    accounts: Accounts
    knowledge: KnowledgeService
    qa: QuestionAnswering

    @classmethod
    def create(cls, config: Config, storage: Storage, knowledge: KnowledgeService | None = None) -> "Services":
        knowledge = knowledge or KnowledgeService(config.knowledge_dir)
        return cls(config=config, storage=storage, accounts=Accounts(storage), knowledge=knowledge,
                   qa=QuestionAnswering(storage, knowledge))

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.config.admin_ids
