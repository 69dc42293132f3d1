"""Who the users are: registration (市县, role, project team) and the project teams themselves."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from bot.clock import iso, utc_now
from bot.policy import Actor, PermissionDenied, may_administer
from bot.render import as_int, plain_name
from bot.storage import Storage, utcnow

# Hainan's 19 市县, then 洋浦经济开发区 and 省直属; the short name labels the buttons.
REGIONS: list[tuple[str, str]] = [
    ("海口市", "海口"), ("三亚市", "三亚"), ("三沙市", "三沙"), ("儋州市", "儋州"),
    ("五指山市", "五指山"), ("琼海市", "琼海"), ("文昌市", "文昌"), ("万宁市", "万宁"),
    ("东方市", "东方"), ("定安县", "定安"), ("屯昌县", "屯昌"), ("澄迈县", "澄迈"),
    ("临高县", "临高"), ("白沙黎族自治县", "白沙"), ("昌江黎族自治县", "昌江"), ("乐东黎族自治县", "乐东"),
    ("陵水黎族自治县", "陵水"), ("保亭黎族苗族自治县", "保亭"), ("琼中黎族苗族自治县", "琼中"),
    ("洋浦经济开发区", "洋浦"), ("省直属", "省直属"),
]
REGION_NAMES = [full for full, _ in REGIONS]


def pick_regions(chosen: list[str], pressed: str, choices: list[str]) -> bool:
    """A press on a 市县 picker: "all" selects every choice, an index ticks or unticks one; False when the
    press names nothing on the picker (a forged button)."""
    if pressed == "all":
        chosen[:] = choices
        return True
    index = as_int(pressed)
    if index is None or index >= len(choices):
        return False
    region = choices[index]
    if region in chosen:
        chosen.remove(region)
    else:
        chosen.append(region)
    return True

ROLES: dict[str, str] = {
    "worker": "一线工人/班组长",
    "manager": "施工/监理/建设单位管理人员",
    "other": "其他",
}

# Team codes avoid letters and digits that are easy to confuse when read aloud or typed (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


class AccountError(ValueError):
    """A registration or team request that cannot be done; the message is shown to the user (Chinese)."""


@dataclass(frozen=True)
class TeamSpec:
    name: str
    region: str
    company: str | None = None
    headcount: int | None = None


def resolve_region(text: str) -> str | None:
    """Full region name for a full or short name, e.g. '三亚' -> '三亚市'."""
    text = text.strip()
    for full, short in REGIONS:
        if text in (full, short):
            return full
    return None


def normalise_team_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


WEB_LINK_MINUTES = 10


class Accounts:
    def __init__(self, storage: Storage, clock: Callable[[], datetime] = utc_now):
        self.storage = storage
        self.clock = clock

    def web_link(self, user_id: int) -> str:
        """A one-time token (valid WEB_LINK_MINUTES) with which a phone browser becomes this Telegram account."""
        token = secrets.token_urlsafe(24)
        now = self.clock()
        self.storage.insert_web_link(token, user_id, iso(now), iso(now + timedelta(minutes=WEB_LINK_MINUTES)))
        return token

    def redeem_web_link(self, token: str) -> dict[str, Any] | None:
        """The account behind an unused, unexpired link (which is then used up), else None."""
        user_id = self.storage.redeem_web_link(token, iso(self.clock()))
        return self.storage.get_user(user_id) if user_id is not None else None

    def touch(self, user_id: int, first_name: str, username: str | None) -> dict[str, Any]:
        """Record that the user exists (first contact or a changed name) and return them."""
        name = plain_name(first_name)
        user = self.storage.get_user(user_id)
        if user and user["first_name"] == name and user["username"] == username and user["active"]:
            return user  # the usual case: nothing to write on every tap
        self.storage.upsert_user(user_id, name, username)
        return self.storage.get_user(user_id)

    def get(self, user_id: int) -> dict[str, Any] | None:
        return self.storage.get_user(user_id)

    @staticmethod
    def is_registered(user: dict[str, Any] | None) -> bool:
        return bool(user and user.get("region") and user.get("role"))

    def set_region(self, user_id: int, region: str) -> None:
        if region not in REGION_NAMES:
            raise AccountError("请选择列表中的市县。")
        self.storage.update_user(user_id, region=region)

    def set_role(self, user_id: int, role: str) -> dict[str, Any]:
        if role not in ROLES:
            raise AccountError("请选择列表中的身份。")
        user = self.storage.get_user(user_id)
        fields: dict[str, Any] = {"role": role}
        if user and not user.get("registered_at"):
            fields["registered_at"] = utcnow()
        self.storage.update_user(user_id, **fields)
        return self.storage.get_user(user_id)

    def team_by_code(self, code: str) -> dict[str, Any] | None:
        return self.storage.team_by_code(normalise_team_code(code))

    def join_team(self, user_id: int, code: str) -> dict[str, Any]:
        """Join the team with this code; a user without a region takes the team's region."""
        team = self.storage.team_by_code(normalise_team_code(code))
        if team is None:
            raise AccountError("没有找到这个团队码，请核对后重新输入（团队码为 6 位字母数字）。")
        user = self.storage.get_user(user_id)
        fields: dict[str, Any] = {"team_id": team["id"]}
        if user and not user.get("region"):
            fields["region"] = team["region"]
        self.storage.update_user(user_id, **fields)
        return team

    def set_active(self, user_id: int, active: bool) -> None:
        """The person blocked (False) or unblocked (True) the bot: sending to them stops or resumes at once."""
        if self.storage.get_user(user_id) is not None:
            self.storage.update_user(user_id, active=int(active))

    def leave_team(self, user_id: int) -> None:
        self.storage.update_user(user_id, team_id=None)

    # --- teams -------------------------------------------------------------------------------------

    def new_code(self) -> str:
        taken = self.storage.team_codes()
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if code not in taken:
                return code

    def create_team(self, spec: TeamSpec, actor: Actor | None = None) -> dict[str, Any]:
        """A new team with a fresh code; by an administrator in chat, or from the command line (`actor` None)."""
        if actor is not None and not may_administer(actor):
            raise PermissionDenied("只有管理员可以管理团队。")
        spec = validate_team(spec)
        if self.storage.team_by_name(spec.region, spec.name):
            raise AccountError(f"{spec.region}已有名为“{spec.name}”的团队。")
        team_id = self.storage.insert_team({
            "code": self.new_code(), "name": spec.name, "region": spec.region,
            "company": spec.company, "headcount": spec.headcount, "created_by": actor.user_id if actor else None,
        })
        return self.storage.team_by_id(team_id)

    def teams_for(self, actor: Actor) -> list[dict[str, Any]]:
        """Every team with its code: administrators only, since a code lets anyone join the team."""
        if not may_administer(actor):
            raise PermissionDenied("只有管理员可以管理团队。")
        return self.storage.list_teams()

    def import_teams(self, specs: list[TeamSpec]) -> list[dict[str, Any]]:
        """Create or update all teams of a roster at once (nothing is saved if any row is invalid)."""
        validated = [validate_team(spec) for spec in specs]
        rows = [{"name": s.name, "region": s.region, "company": s.company, "headcount": s.headcount}
                for s in validated]
        return self.storage.upsert_teams(rows, self.new_code)

    def list_teams(self, region: str | None = None) -> list[dict[str, Any]]:
        return self.storage.list_teams(region)


TEAM_NAME_LIMIT, COMPANY_LIMIT, HEADCOUNT_LIMIT = 40, 60, 100_000


def check_team_name(name: str) -> None:
    if not name or len(name) > TEAM_NAME_LIMIT:
        raise AccountError(f"团队名称不能为空，且不超过 {TEAM_NAME_LIMIT} 个字。")


def check_company(company: str | None) -> None:
    if company and len(company) > COMPANY_LIMIT:
        raise AccountError(f"施工单位名称不超过 {COMPANY_LIMIT} 个字。")


def check_headcount(headcount: int | None) -> None:
    if headcount is None or not 0 < headcount <= HEADCOUNT_LIMIT:
        raise AccountError("团队人数应为正整数。")


def validate_team(spec: TeamSpec) -> TeamSpec:
    name = plain_name(spec.name)
    check_team_name(name)
    region = resolve_region(spec.region or "")
    if region is None:
        raise AccountError(f"“{spec.region}”不是海南的市县名称。")
    company = plain_name(spec.company) or None
    check_company(company)
    if spec.headcount is not None:
        check_headcount(spec.headcount)
    return TeamSpec(name=name, region=region, company=company, headcount=spec.headcount)


# --- roster files ------------------------------------------------------------------------------------

ROSTER_COLUMNS = {
    "name": ("name", "团队", "团队名称", "项目部", "项目部名称"),
    "region": ("region", "市县", "所属市县"),
    "company": ("company", "施工单位", "单位", "公司"),
    "headcount": ("headcount", "人数", "团队人数", "申报人数"),
}


class RosterError(ValueError):
    """A roster file problem; the message names the file and row."""


def read_roster(path: Path) -> list[TeamSpec]:
    """Read teams from a CSV (UTF-8, with or without BOM, or GBK) or XLSX file with a header row."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(path, read_only=True, data_only=True).active
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise RosterError(f"{path}: not a readable XLSX workbook ({exc})") from None
        rows = [["" if cell is None else str(cell).strip() for cell in row] for row in sheet.iter_rows(values_only=True)]
    else:
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise RosterError(f"{path}: unknown text encoding (save as UTF-8 CSV)")
        rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    rows = [row for row in rows if any(row)]
    if not rows:
        raise RosterError(f"{path}: the file is empty")
    header = rows[0]
    columns: dict[str, int] = {}
    for key, names in ROSTER_COLUMNS.items():
        for index, title in enumerate(header):
            if title.strip().lower() in names:
                columns[key] = index
    missing = [key for key in ("name", "region") if key not in columns]
    if missing:
        raise RosterError(f"{path}: line 1: header needs columns {', '.join(missing)} (e.g. 团队名称, 市县, 施工单位, 人数)")

    def cell(row: list[str], key: str) -> str:
        index = columns.get(key)
        return row[index] if index is not None and index < len(row) else ""

    specs = []
    for line, row in enumerate(rows[1:], start=2):
        headcount_text = cell(row, "headcount")
        try:
            headcount = int(float(headcount_text)) if headcount_text else None
        except ValueError:
            raise RosterError(f"{path}: line {line}: headcount {headcount_text!r} is not a number") from None
        spec = TeamSpec(cell(row, "name"), cell(row, "region"), cell(row, "company") or None, headcount)
        try:
            specs.append(validate_team(spec))
        except AccountError as exc:
            raise RosterError(f"{path}: line {line}: {exc}") from None
    return specs
