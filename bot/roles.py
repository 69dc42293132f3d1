"""Roles: administrators (from QB_ADMIN_IDS), bureaus (住建局) and contest organisers, scoped to a 市县 or the whole
province; one-time invites that grant them; the audit log of privileged actions.

`actor` gathers what bot.policy needs to decide; the rules themselves are in bot.policy."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from bot.accounts import REGION_NAMES
from bot.policy import PROVINCE, Actor, PermissionDenied, may_administer
from bot.storage import Storage

ROLE_NAMES = {"bureau": "住建局", "organiser": "组织者"}
INVITE_PREFIX = "inv_"


class InviteError(ValueError):
    """Shown to the user (Chinese)."""


@dataclass
class Roles:
    storage: Storage
    admin_ids: frozenset[int]
    clock: Callable[[], datetime]
    # told the user id whenever someone gains or loses a role here, so that their "/" menu follows
    on_change: list[Callable[[int], None]] = field(default_factory=list)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids

    def actor(self, user_id: int) -> Actor:
        """Who is asking: their roles and registration, as bot.policy weighs them."""
        user = self.storage.get_user(user_id) or {}
        return Actor(user_id, self.is_admin(user_id), self.storage.roles_of(user_id), user.get("region"),
                     user.get("role"), user.get("team_id"))

    def scope(self, user_id: int, role: str) -> str | None:
        """The 市县 (or 全省) this user holds the role for; administrators hold every role for the province."""
        return self.actor(user_id).scope(role)

    def is_organiser(self, user_id: int) -> bool:
        return self.scope(user_id, "organiser") is not None

    def is_bureau(self, user_id: int) -> bool:
        return self.scope(user_id, "bureau") is not None

    def require_admin(self, user_id: int) -> None:
        if not may_administer(self.actor(user_id)):
            raise PermissionDenied("只有管理员可以进行这个操作。")

    def holders(self, actor_id: int) -> list[dict[str, Any]]:
        """Everyone holding a role (administrators only)."""
        self.require_admin(actor_id)
        return self.storage.role_holders()

    def audit_entries(self, actor_id: int, limit: int) -> list[dict[str, Any]]:
        """The latest privileged actions (administrators only)."""
        self.require_admin(actor_id)
        return self.storage.audit_entries(limit)

    def audit(self, actor_id: int | None, action: str, **detail: Any) -> None:
        self.storage.log_audit(actor_id, action, json.dumps(detail, ensure_ascii=False, default=str))

    # --- invites -------------------------------------------------------------------------------------

    def create_invite(self, actor_id: int | None, role: str, scope: str, days: int) -> str:
        """A one-time deep-link code granting `role` for `scope`; only administrators (or the command line)."""
        if actor_id is not None:
            self.require_admin(actor_id)
        if role not in ROLE_NAMES:
            raise InviteError("角色只能是住建局或组织者。")
        if scope != PROVINCE and scope not in REGION_NAMES:
            raise InviteError(f"“{scope}”不是海南的市县。")
        if not 1 <= days <= 90:
            raise InviteError("有效期为 1 到 90 天。")
        code = secrets.token_urlsafe(12)
        expires = self.clock() + timedelta(days=days)
        self.storage.insert_invite({"code": code, "role": role, "scope": scope, "created_by": actor_id,
                                    "expires_at": expires.isoformat(timespec="seconds")})
        self.audit(actor_id, "invite.create", role=role, scope=scope, days=days)
        return code

    def redeem(self, user: dict[str, Any], code: str) -> tuple[str, str]:
        invite = self.storage.invite(code)
        now = self.clock().isoformat(timespec="seconds")
        if invite is None or invite["revoked_at"]:
            raise InviteError("邀请链接无效。")
        if invite["used_by"] is not None:
            raise InviteError("这个邀请链接已经被使用过了，每个链接只能用一次。")
        if invite["expires_at"] <= now:
            raise InviteError("邀请链接已过期，请联系管理员重新生成。")
        # the invite binds the scope: the role holds for the invite's 市县, whatever 市县 the person registered with
        if not self.storage.use_invite(code, user["id"], now):
            raise InviteError("这个邀请链接已经被使用过了，每个链接只能用一次。")
        self.storage.grant_role(user["id"], invite["role"], invite["scope"], invite["created_by"])
        if invite["scope"] != PROVINCE and not user.get("region"):
            self.storage.update_user(user["id"], region=invite["scope"])
        self.audit(user["id"], "role.grant", role=invite["role"], scope=invite["scope"], invite_by=invite["created_by"])
        self._changed(user["id"])
        return invite["role"], invite["scope"]

    def revoke(self, actor_id: int | None, user_id: int, role: str) -> bool:
        if actor_id is not None:
            self.require_admin(actor_id)
        revoked = self.storage.revoke_role(user_id, role)
        if revoked:
            self.audit(actor_id, "role.revoke", user_id=user_id, role=role)
            self._changed(user_id)
        return revoked

    def _changed(self, user_id: int) -> None:
        for listener in self.on_change:
            listener(user_id)

    def menu_chats(self, revocations: int = 500) -> set[int]:
        """Everyone whose "/" menu depends on a role: administrators, role holders, and those whose role was revoked
        lately (the command line may have revoked it while the bot was stopped, and their menu must shrink back)."""
        chats = set(self.admin_ids) | {holder["user_id"] for holder in self.storage.role_holders()}
        for entry in self.storage.audit_entries(revocations):
            if entry["action"] == "role.revoke":
                user_id = json.loads(entry["detail"]).get("user_id")
                if isinstance(user_id, int):
                    chats.add(user_id)
        return chats
