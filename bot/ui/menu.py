"""The main menu, registration, 我的 and help: the screens every person starts from and returns to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from bot.accounts import REGIONS, ROLES
from bot.callbacks import Callback
from bot.profile import ProfileStats
from bot.render import Button, Keyboard, escape, grid

MenuItem = Literal["ask", "contest", "practice", "notice", "me", "home"]
MENU_ITEMS: list[tuple[str, MenuItem]] = [("问答", "ask"), ("答题竞赛", "contest"), ("每日练习", "practice"),
                                          ("公告", "notice"), ("我的", "me")]


@dataclass(frozen=True)
class Menu(Callback, prefix="menu", feature="menu"):
    item: MenuItem


@dataclass(frozen=True)
class PickRegion(Callback, prefix="reg", feature="menu"):
    """A 市县 at registration or in 我的."""
    index: int


@dataclass(frozen=True)
class PickRole(Callback, prefix="role", feature="menu"):
    role: Literal["worker", "manager", "other"]


@dataclass(frozen=True)
class AskTeamCode(Callback, prefix="jt", feature="menu"):
    """Join or change team: the next message is the team code; `registering` at the last step of registration."""
    registering: bool = False


@dataclass(frozen=True)
class StartRegistration(Callback, prefix="signup", feature="menu"):
    """开始登记, offered where registration is needed first (竞赛)."""


@dataclass(frozen=True)
class SkipTeam(Callback, prefix="skip", feature="menu"):
    pass


@dataclass(frozen=True)
class ProfileAction(Callback, prefix="me", feature="menu"):
    action: Literal["region", "role", "leave", "web"]


HOME = Button("« 主菜单", Menu("home"))


def home_row() -> list[Button]:
    """The way back that every screen offers."""
    return [HOME]

GENERIC_ERROR = "抱歉，处理您的请求时出了点问题，请稍后再试。如果一直出现，请联系管理员。"
STALE_BUTTON = "该按钮已失效"
NON_TEXT_HINT = ("我现在只能看懂文字消息。请直接打字描述您遇到的质量问题，"
                 "例如“卫生间漏水漏到楼下咋办”，或者点下面的菜单按钮。")


def region_ticks(pressed: Callable[[str], Callback], chosen: list[str], count: int, all_label: str) -> Keyboard:
    """Tick boxes for the first `count` 市县, then 全选 and 下一步; `pressed(pick)` makes the feature's own button,
    with pick an index, "all" or "done"."""
    buttons = [Button(("☑" if full in chosen else "☐") + short, pressed(str(index)))
               for index, (full, short) in enumerate(REGIONS[:count])]
    return grid(buttons, 4) + [[Button(all_label, pressed("all")), Button("下一步", pressed("done"))]]


def main_menu_keyboard() -> Keyboard:
    buttons = [Button(label, Menu(key)) for label, key in MENU_ITEMS]
    return [buttons[:2], buttons[2:4], buttons[4:]]


def main_menu(user: dict[str, Any] | None) -> tuple[str, Keyboard]:
    name = escape(user.get("first_name") or "") if user else ""
    text = (f"您好{('，' + name) if name else ''}！我是<b>质量通</b>，住宅工程质量常见问题的随身助手。\n\n"
            "• 直接打字提问，如“墙面砖一敲咚咚响怎么办”\n"
            "• 答题竞赛、每日练习，以赛促学\n"
            "• 查看住建部门发布的公告\n\n"
            "请选择：")
    return text, main_menu_keyboard()


REGISTRATION_STEPS = 3  # 市县, 身份, 团队 (optional)


def step(number: int) -> str:
    return f"第 {number} 步/共 {REGISTRATION_STEPS} 步"


def welcome_new_user(first_name: str) -> str:
    return (f"欢迎使用<b>质量通</b>，{escape(first_name)}！\n"
            "先花十秒完成登记，方便为您推送本市县的公告和竞赛。\n\n"
            f"{step(1)}：请选择您所在的<b>市县</b>：")


def register_first(purpose: str) -> tuple[str, Keyboard]:
    """Someone not yet registered asked for something that needs it (`purpose`, e.g. 参加竞赛)."""
    return (f"{purpose}前请先完成登记（选择市县和身份，约十秒），竞赛按市县和团队排名。",
            [[Button("开始登记", StartRegistration())], home_row()])


def region_picker(pressed: Callable[[int], Callback] = PickRegion) -> Keyboard:
    buttons = [Button(short, pressed(index)) for index, (_, short) in enumerate(REGIONS)]
    return grid(buttons, 4)


def role_prompt(registering: bool = True) -> str:
    """At registration (step 2), or when changing it in 我的."""
    return (f"{step(2)}：" if registering else "") + "请选择您的<b>身份</b>："


def role_picker() -> Keyboard:
    return [[Button(label, PickRole(key))] for key, label in ROLES.items()]


def team_prompt() -> tuple[str, Keyboard]:
    text = (f"{step(3)}（可选）：如果您的项目部已在质量通登记，请输入项目部的<b>团队码</b>（6 位字母数字），"
            "竞赛时会按团队排名。以后也可以在“我的”里加入。")
    return text, [[Button("输入团队码", AskTeamCode(registering=True)), Button("暂不加入", SkipTeam())]]


def team_code_request() -> str:
    return "请发送团队码（6 位字母数字，由组织者或项目部提供）。发送 /cancel 取消。"


def registration_done(user: dict[str, Any]) -> tuple[str, Keyboard]:
    """The end of registration, said once: what was registered, and the main menu."""
    return ("✅ 登记完成！\n\n" + profile_text(user) + "\n\n以后可以在“我的”里修改。直接打字即可提问，或选择：",
            main_menu_keyboard())


def joined_team(team: dict[str, Any]) -> str:
    company = f"（{escape(team['company'])}）" if team.get("company") else ""
    return f"已加入团队：<b>{escape(team['name'])}</b>{company}，{escape(team['region'])}。"


def profile_text(user: dict[str, Any]) -> str:
    team = escape(user["team_name"]) if user.get("team_name") else "未加入"
    if user.get("team_company"):
        team += f"（{escape(user['team_company'])}）"
    return ("<b>我的信息</b>\n"
            f"姓名：{escape(user.get('first_name') or '')}\n"
            f"市县：{escape(user.get('region') or '未选择')}\n"
            f"身份：{escape(ROLES.get(user.get('role') or '', '未选择'))}\n"
            f"团队：{team}")


def percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "—"


def stats_text(stats: ProfileStats) -> str:
    """练习 and 竞赛 on 我的: accuracy, the streak of days with practice, the latest contests with place and score."""
    if stats.answered:
        lines = [f"<b>练习</b>：已答 {stats.answered} 题，答对 {stats.correct} 题，正确率 "
                 f"{percent(stats.correct, stats.answered)}"]
    else:
        lines = ["<b>练习</b>：还没有做过练习，可以从“每日练习”开始。"]
    if stats.streak:
        today = "今天已练习" if stats.practised_today else "今天练一题就能续上"
        lines.append(f"连续练习：{stats.streak} 天（{today}）")
    if stats.wrongbook:
        lines.append(f"错题本：{stats.wrongbook} 题待复习")
    if stats.contests:
        lines.append("<b>最近参加的竞赛</b>：")
        for result in stats.contests:
            place = (f"第 {result.place} 名/共 {result.participants} 人" if result.place is not None
                     else "尚未作答")
            unfinished = "" if result.finished else "（未答完）"
            lines.append(f"• {escape(result.title)}：{place}，得分 {result.score:g}{unfinished}")
    else:
        lines.append("<b>竞赛</b>：还没有参加过竞赛。")
    return "\n".join(lines)


def profile(user: dict[str, Any], is_admin: bool, is_organiser: bool = False,
            stats: ProfileStats | None = None, web: bool = False) -> tuple[str, Keyboard]:
    """我的: the registration with buttons to change it, then practice and contest figures with their ways on."""
    from bot.ui.contest import ContestCard, Ranking
    from bot.ui.organiser import MyContests
    from bot.ui.practice import WrongBook
    from bot.ui.roles import RolesMenu
    from bot.ui.teams import TeamList

    keyboard: Keyboard = [
        [Button("修改市县", ProfileAction("region")), Button("修改身份", ProfileAction("role"))],
        [Button("加入/更换团队", AskTeamCode())],
    ]
    if user.get("team_id"):
        keyboard[1].append(Button("退出团队", ProfileAction("leave")))
    text = profile_text(user)
    if stats is not None:
        text += "\n\n" + stats_text(stats)
        # the card leads on to 我的证书 and 答题回顾 once the contest has ended
        keyboard += [[Button(f"📋 {short(result.title, CARD_TITLE_LIMIT)}", ContestCard(result.contest_id)),
                      Button("🏆 排行榜", Ranking(result.contest_id))] for result in stats.contests]
        keyboard.append(([Button("错题本", WrongBook())] if stats.wrongbook else [])
                        + [Button("答题竞赛", Menu("contest")), Button("每日练习", Menu("practice"))])
    if is_admin:
        keyboard.append([Button("团队管理", TeamList()), Button("角色管理", RolesMenu())])
    if is_organiser:
        keyboard.append([Button("竞赛管理", MyContests())])
    if web:
        keyboard.append([Button("🌐 在手机浏览器里也用这个账号", ProfileAction("web"))])
    keyboard.append([Button("返回主菜单", Menu("home"))])
    return text, keyboard


CARD_TITLE_LIMIT = 10  # the contest's button shares its row with 排行榜


def short(title: str, limit: int = 16) -> str:
    return title if len(title) <= limit else title[:limit - 1] + "…"


def web_link(url: str, minutes: int) -> tuple[str, Keyboard]:
    return (f"在手机浏览器（包括微信）里打开下面的链接，就能用这个账号使用质量通：练习、错题本、竞赛成绩都是同一份。\n\n"
            f"{escape(url)}\n\n链接 {minutes} 分钟内有效，只能用一次。请勿转发给别人：拿到链接的人就能以您的身份使用。",
            [[Button("« 我的", Menu("me")), HOME]])
