"""每日练习: ten untimed questions, the 错题本, statistics, and 每日一题 at the time the user chose."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import quiz_screens as screens
from bot.practice import DAILY_TIMES, PracticeError, PracticeQuestion
from bot.render import Button, Keyboard, callback, escape, grid, parse_callback
from handlers.common import markup, send, show, show_buttons, stale
from handlers.context import BotContext

log = logging.getLogger(__name__)
DAILY_CHECK_SECONDS = 60


def _header(item: PracticeQuestion) -> str:
    if item.kind == "daily":
        return "每日一题"
    label = "错题重练" if item.kind == "wrongbook" else "练习"
    return f"{label} {item.position + 1}/{item.total}"


def _question(item: PracticeQuestion, toggled: set[int] | None = None) -> tuple[str, Keyboard]:
    text = screens.question_text(_header(item), item.question, item.options, None, None, None)
    return text, screens.answer_keyboard("p", item.session_id, item.position, item.question, item.options, toggled)


def practice_menu(context: BotContext, user_id: int) -> tuple[str, Keyboard]:
    waiting = len(context.services.storage.wrongbook(user_id))
    daily = context.services.storage.daily_subscription(user_id)
    daily_text = f"每天 {daily['at_time']}，已连续 {daily['streak']} 天" if daily and daily["enabled"] else "未开启"
    text = (f"<b>每日练习</b>\n不限时，答完马上看解析。答错的题进入错题本，连续答对两次才移出。\n"
            f"错题本：{waiting} 题 · 每日一题：{daily_text}")
    keyboard = [[Button("随机 10 题", callback("pp", "all")), Button("按分类练习", callback("pc"))],
                [Button(f"错题本（{waiting}）", callback("pw")), Button("我的统计", callback("ps"))],
                [Button("每日一题设置", callback("pd"))]]
    return text, keyboard


async def menu(update: Update, context: BotContext) -> None:
    """每日练习 in the main menu and /practice."""
    context.services.accounts.touch(update.effective_user.id, update.effective_user.first_name,
                                    update.effective_user.username)
    await show(update, *practice_menu(context, update.effective_user.id))
    if update.callback_query is not None:
        await update.callback_query.answer()


async def categories(update: Update, context: BotContext) -> None:
    """pc: choose a category."""
    names = context.services.knowledge.kb.categories
    await show(update, "请选择要练习的分类：", grid([Button(n, callback("pp", i)) for i, n in enumerate(names)], 2))
    await update.callback_query.answer()


async def start(update: Update, context: BotContext) -> None:
    """pp:all / pp:<category index> / pw: a new session."""
    query = update.callback_query
    parts = parse_callback(query.data)
    practice = context.services.practice
    names = context.services.knowledge.kb.categories
    try:
        if parts[0] == "pw":
            item = practice.start_wrongbook(update.effective_user.id)
        elif parts[1:] == ["all"]:
            item = practice.start(update.effective_user.id)
        elif len(parts) == 2 and parts[1].isdigit() and int(parts[1]) < len(names):
            item = practice.start(update.effective_user.id, names[int(parts[1])])
        else:
            await stale(update)
            return
    except PracticeError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    await send(update, *_question(item))
    await query.answer()


async def _settle(update: Update, context: BotContext, session_id: int, position: int, chosen: list[int]) -> None:
    query = update.callback_query
    outcome = context.services.practice.answer(session_id, update.effective_user.id, position, chosen)
    if outcome.status == "not_yours":
        await stale(update)
        return
    if outcome.status == "already":
        await query.answer("这道题已经作答了。")
        return
    item = outcome.item
    context.user_data.get("toggles", {}).pop(("p", session_id, position), None)
    text = screens.feedback_text(_header(item), item.question, item.options, item.right_display,
                                 "right" if outcome.correct else "wrong", None)
    if outcome.streak is not None:
        text += f"\n\n🔥 每日一题已连续 {outcome.streak} 天"
    await show(update, text, screens.feedback_keyboard(context.services.knowledge.kb, item.question))
    session = context.services.storage.practice(session_id)
    following = context.services.practice.current(session)
    if following is not None:
        await send(update, *_question(following))
    elif item.kind != "daily":
        right = context.services.practice.session_score(session_id)
        await send(update, f"练习完成：答对 {right}/{item.total} 题。",
                   [[Button("再来 10 题", callback("pp", "all")), Button("错题本", callback("pw"))],
                    [Button("我的统计", callback("ps"))]])
    await query.answer("回答正确" if outcome.correct else "回答错误")


def _numbers(data: str, count: int) -> list[int] | None:
    parts = parse_callback(data)[1:]
    return [int(p) for p in parts] if len(parts) == count and all(p.isdigit() for p in parts) else None


async def on_answer(update: Update, context: BotContext) -> None:
    """pa:<session>:<position>:<option>"""
    numbers = _numbers(update.callback_query.data, 3)
    if numbers is None:
        await stale(update)
        return
    await _settle(update, context, numbers[0], numbers[1], [numbers[2]])


async def on_toggle(update: Update, context: BotContext) -> None:
    """pt:<session>:<position>:<option>"""
    query = update.callback_query
    numbers = _numbers(query.data, 3)
    session = context.services.storage.practice(numbers[0]) if numbers else None
    if session is None or session["user_id"] != update.effective_user.id:
        await stale(update)
        return
    item = context.services.practice.current(session)
    if item is None or item.position != numbers[1] or not 0 <= numbers[2] < len(item.options):
        await query.answer("这道题已经作答了。")
        return
    toggled = context.user_data.setdefault("toggles", {}).setdefault(("p", numbers[0], numbers[1]), set())
    toggled.symmetric_difference_update({numbers[2]})
    await show_buttons(query, _question(item, toggled)[1])
    await query.answer()


async def on_submit(update: Update, context: BotContext) -> None:
    """px:<session>:<position>"""
    numbers = _numbers(update.callback_query.data, 2)
    if numbers is None:
        await stale(update)
        return
    toggled = context.user_data.get("toggles", {}).get(("p", numbers[0], numbers[1]))
    if not toggled:
        await update.callback_query.answer("请至少选择一个选项再提交。")
        return
    await _settle(update, context, numbers[0], numbers[1], sorted(toggled))


async def statistics(update: Update, context: BotContext) -> None:
    """ps: answered, accuracy by category, 错题本 size."""
    answered, correct, per_category, waiting = context.services.practice.statistics(update.effective_user.id)
    lines = ["<b>我的练习统计</b>"]
    if answered == 0:
        lines.append("还没有练习记录。")
    else:
        lines.append(f"共答 {answered} 题，正确率 {correct / answered:.0%}，错题本 {waiting} 题")
        lines += [f"• {escape(s.category)}：{s.answered} 题，正确率 {s.accuracy:.0%}" for s in per_category]
    await show(update, "\n".join(lines), [[Button("返回每日练习", callback("menu", "practice"))]])
    await update.callback_query.answer()


async def daily_settings(update: Update, context: BotContext) -> None:
    """pd: choose the time of 每日一题, or switch it off."""
    buttons = [Button(t, callback("pD", t.replace(":", ""))) for t in DAILY_TIMES] + [Button("关闭", callback("pD", "off"))]
    await show(update, "每日一题：每天在你选的时间推送一道题（优先从错题本里出），连续答题计入打卡天数。请选择时间：",
               grid(buttons, 5))
    await update.callback_query.answer()


async def daily_choose(update: Update, context: BotContext) -> None:
    """pD:<HHMM>|off"""
    parts = parse_callback(update.callback_query.data)
    value = parts[1] if len(parts) == 2 else ""
    at_time = None if value == "off" else f"{value[:2]}:{value[2:]}" if len(value) == 4 else "invalid"
    try:
        context.services.practice.subscribe(update.effective_user.id, at_time)
    except PracticeError:
        await stale(update)
        return
    await show(update, *practice_menu(context, update.effective_user.id))
    await update.callback_query.answer("已关闭每日一题" if at_time is None else f"每天 {at_time} 推送")


async def send_daily_questions(context: BotContext) -> None:
    """Every minute: today's question to each subscriber whose time has come (at most once a day)."""
    practice = context.application.bot_data["services"].practice
    for user_id in practice.due_daily():
        item = practice.daily_question(user_id)
        if item is None:
            continue
        text, keyboard = _question(item)
        try:
            await context.bot.send_message(user_id, text, parse_mode=ParseMode.HTML, reply_markup=markup(keyboard))
        except Forbidden:
            log.info("User %s blocked the bot; no daily question", user_id)


async def _schedule_daily(application: Application) -> None:
    application.job_queue.run_repeating(send_daily_questions, interval=DAILY_CHECK_SECONDS, first=5,
                                        name="daily-questions")


def register(application) -> None:
    application.add_handler(CallbackQueryHandler(menu, pattern=r"^menu:practice$"))
    application.add_handler(CommandHandler("practice", menu))
    for pattern, handler in [(r"^pc$", categories), (r"^pp:", start), (r"^pw$", start), (r"^pa:", on_answer),
                             (r"^pt:", on_toggle), (r"^px:", on_submit), (r"^ps$", statistics),
                             (r"^pd$", daily_settings), (r"^pD:", daily_choose)]:
        application.add_handler(CallbackQueryHandler(handler, pattern=pattern))
    application.bot_data.setdefault("startup", []).append(_schedule_daily)
