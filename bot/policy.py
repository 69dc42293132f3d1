"""Who may do what, on which 市县, contest, announcement or report request: every rule in one place.

Each rule is a plain function of an `Actor` (who is asking, with their roles and registration) and the thing asked
about, so a table-driven test can try every privileged action for every role on their own and another scope. The
services ask these functions and raise `PermissionDenied` with a Chinese message; handlers never decide.

Roles: administrators (QB_ADMIN_IDS) hold every role for the whole province; bureaus (住建局) and contest organisers
hold theirs for one 市县 or for 全省, granted by a one-time invite that names the scope. A role's scope is what counts,
never the 市县 a person registered with, which anyone can change in 我的.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

PROVINCE = "全省"
BUREAU, ORGANISER = "bureau", "organiser"


class PermissionDenied(PermissionError):
    """Shown to the user (Chinese)."""


@dataclass(frozen=True)
class Actor:
    user_id: int
    is_admin: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)  # role -> 市县 or 全省
    region: str | None = None       # the 市县 the person registered with (what they read and take part in)
    identity: str | None = None     # worker | manager | other, as registered (身份)
    team_id: int | None = None

    def scope(self, role: str) -> str | None:
        """The 市县 (or 全省) this actor holds `role` for; administrators hold every role for the province."""
        return PROVINCE if self.is_admin else self.roles.get(role)

    def holds(self, role: str) -> bool:
        return self.scope(role) is not None


def _covers(scope: str | None, regions: list[str] | None) -> bool:
    """A scope covers a list of 市县 (None: the whole province) when it is the province or the only 市县 listed."""
    if scope is None:
        return False
    if scope == PROVINCE:
        return True
    return regions is not None and len(regions) > 0 and all(region == scope for region in regions)


# --- administration ------------------------------------------------------------------------------------------

def may_administer(actor: Actor) -> bool:
    """Invites, revoking roles, the audit log, teams and their codes, reloading the knowledge base."""
    return actor.is_admin


# --- contests ------------------------------------------------------------------------------------------------

def may_create_contest(actor: Actor, regions: list[str] | None) -> bool:
    """An organiser addresses their own 市县; only the province (or an administrator) may address all of Hainan."""
    return _covers(actor.scope(ORGANISER), regions)


def may_manage_contest(actor: Actor, contest: Mapping[str, Any]) -> bool:
    """Its organiser while still an organiser, or an administrator."""
    if actor.is_admin:
        return True
    return contest.get("organiser_id") == actor.user_id and actor.holds(ORGANISER)


def may_take_contest(actor: Actor, contest: Mapping[str, Any]) -> bool:
    regions = json.loads(contest["regions"]) if contest.get("regions") else None
    return regions is None or actor.region in regions


# --- announcements -------------------------------------------------------------------------------------------

def announcement_regions(actor: Actor, wanted: list[str] | None, every_region: list[str]) -> list[str] | None:
    """The 市县 a bureau may address with this choice (None: refused): its own, or any for the province."""
    scope = actor.scope(BUREAU)
    if scope is None:
        return None
    if scope == PROVINCE:
        return list(wanted) if wanted else list(every_region)
    if wanted and any(region != scope for region in wanted):
        return None
    return [scope]


def may_read_announcement(actor: Actor, announcement: Mapping[str, Any]) -> bool:
    """Its author, or someone in its audience: the 市县, and the 身份 or team it was narrowed to."""
    if announcement.get("author_id") == actor.user_id:
        return True
    if actor.region not in json.loads(announcement["regions"]):
        return False
    if announcement.get("role_filter") and announcement["role_filter"] != actor.identity:
        return False
    if announcement.get("team_id") and announcement["team_id"] != actor.team_id:
        return False
    return True


def may_cancel_announcement(actor: Actor, announcement: Mapping[str, Any]) -> bool:
    """Its author while still a bureau, or an administrator."""
    return actor.is_admin or (announcement.get("author_id") == actor.user_id and actor.holds(BUREAU))


# --- 信息报送 ------------------------------------------------------------------------------------------------

def may_run_reports(actor: Actor) -> bool:
    """Asking 市县 for reports, seeing who submitted, downloading everything: the province."""
    return actor.scope(BUREAU) == PROVINCE


def report_region(actor: Actor, request_regions: list[str]) -> str | None:
    """The 市县 this actor submits for under a request (None: they do not submit to it)."""
    scope = actor.scope(BUREAU)
    if scope is None or scope == PROVINCE or scope not in request_regions:
        return None
    return scope
