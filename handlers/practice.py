"""每日练习: ten untimed questions (结束 at any one), the summary, the 错题本, statistics, and 每日一题 at the time
the user chose."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden
from telegram.ext import Application, CommandHandler

from bot.practice import PracticeError
from bot.ui import practice as screens
from handlers.common import markup, on_button, send, show, show_buttons, stale
from handlers.context import BotContext

log = logging.getLogger(__name__)
DAILY_CHECK_SECONDS = 60


async def menu(update: Update, context: BotContext) -> None:
    """每日练习 in the main menu and /practice."""
    user_id = update.effective_user.id
    context.services.accounts.touch(user_id, update.effective_user.first_name, update.effective_user.username)
    await show(update, *screens.menu(*context.services.practice.overview(user_id)))
    if update.callback_query is not None:
        await update.callback_query.answer()


async def categories(update: Update, context: BotContext, pressed: screens.PracticeCategories) -> None:
    await show(update, *screens.categories(context.services.knowledge.kb.categories))
    await update.callback_query.answer()


async def _begin(update: Update, context: BotContext, start) -> None:
    try:
        item = start(update.effective_user.id)
    except PracticeError as exc:
        await update.callback_query.answer(str(exc), show_alert=True)
        return
    await send(update, *screens.question_screen(item))
    await update.callback_query.answer()


async def start_random(update: Update, context: BotContext, pressed: screens.PracticeRandom) -> None:
    await _begin(update, context, context.services.practice.start)


async def start_category(update: Update, context: BotContext, pressed: screens.PracticeCategory) -> None:
    practice = context.services.practice
    await _begin(update, context, lambda user_id: practice.start_category(user_id, pressed.index))


async def wrongbook(update: Update, context: BotContext, pressed: screens.WrongBook | screens.WrongBookPage) -> None:
    """The 错题本's questions, paged, with 开始练习."""
    questions = context.services.practice.wrongbook(update.effective_user.id)
    await show(update, *screens.wrongbook(questions, getattr(pressed, "page", 0)))
    await update.callback_query.answer()


async def start_wrongbook(update: Update, context: BotContext, pressed: screens.WrongBookDrill) -> None:
    practice = context.services.practice
    await _begin(update, context, lambda user_id: practice.start_wrongbook(user_id, pressed.page))


async def end(update: Update, context: BotContext, pressed: screens.PracticeEnd) -> None:
    """结束: the question gives way to the round's summary."""
    done = context.services.practice.end(pressed.session, update.effective_user.id)
    if done is None:
        await stale(update)
        return
    toggles = context.user_data.get("toggles", {})
    for key in [key for key in toggles if key[:2] == ("p", pressed.session)]:
        toggles.pop(key)
    await show(update, *screens.summary(context.services.knowledge.kb, done))
    await update.callback_query.answer()


async def _settle(update: Update, context: BotContext, session_id: int, position: int, chosen: list[int]) -> None:
    query = update.callback_query
    practice = context.services.practice
    outcome = practice.answer(session_id, update.effective_user.id, position, chosen)
    if outcome.status == "not_yours":
        await stale(update)
        return
    if outcome.status in ("already", "ended"):
        await query.answer("这道题已经作答了。" if outcome.status == "already" else "本组练习已结束。")
        return
    context.user_data.get("toggles", {}).pop(("p", session_id, position), None)
    kb = context.services.knowledge.kb
    await show(update, *screens.feedback(kb, outcome.item, outcome.correct, outcome.chosen, outcome.streak))
    await query.answer("回答正确" if outcome.correct else "回答错误")
    if outcome.following is not None:
        await send(update, *screens.question_screen(outcome.following))
    elif outcome.item.kind != "daily":
        await send(update, *screens.summary(kb, practice.summary(session_id, update.effective_user.id)))


async def on_answer(update: Update, context: BotContext, pressed: screens.PracticeAnswer) -> None:
    await _settle(update, context, pressed.session, pressed.position, [pressed.option])


async def on_toggle(update: Update, context: BotContext, pressed: screens.PracticeToggle) -> None:
    """Tick or untick an option of a 多选 question."""
    item = context.services.practice.open_question(pressed.session, update.effective_user.id)
    if item is None:
        await stale(update)
        return
    if item.position != pressed.position or not 0 <= pressed.option < len(item.options):
        await update.callback_query.answer("这道题已经作答了。")
        return
    toggled = context.user_data.setdefault("toggles", {}).setdefault(("p", pressed.session, pressed.position), set())
    toggled.symmetric_difference_update({pressed.option})
    await update.callback_query.answer()
    await show_buttons(update.callback_query, screens.question_screen(item, toggled)[1])


async def on_submit(update: Update, context: BotContext, pressed: screens.PracticeSubmit) -> None:
    toggled = context.user_data.get("toggles", {}).get(("p", pressed.session, pressed.position))
    if not toggled:
        await update.callback_query.answer("请至少选择一个选项再提交。")
        return
    await _settle(update, context, pressed.session, pressed.position, sorted(toggled))


async def statistics(update: Update, context: BotContext, pressed: screens.PracticeStats) -> None:
    """Answered, accuracy by category."""
    answered, correct, per_category, _ = context.services.practice.statistics(update.effective_user.id)
    await show(update, *screens.statistics(answered, correct, per_category))
    await update.callback_query.answer()


async def daily_settings(update: Update, context: BotContext, pressed: screens.DailySettings) -> None:
    """Choose the time of 每日一题, or switch it off."""
    status = context.services.practice.daily_status(update.effective_user.id)
    await show(update, *screens.daily_settings(status, pressed.origin))
    await update.callback_query.answer()


async def daily_choose(update: Update, context: BotContext, pressed: screens.DailyChoose) -> None:
    at_time = None if pressed.time == "off" else f"{pressed.time[:2]}:{pressed.time[2:]}"
    user_id = update.effective_user.id
    try:
        status = context.services.practice.subscribe(user_id, at_time)
    except PracticeError:
        await stale(update)
        return
    await show(update, *screens.daily_settings(status, pressed.origin))  # back where the choice was made
    await update.callback_query.answer(
        "已关闭每日一题" if at_time is None else
        f"已开启：每天 {at_time} 推送，下一次在{screens.day_word(status)} {at_time}")


async def send_daily_questions(context: BotContext) -> None:
    """Every minute: today's question to each subscriber whose time has come (at most once a day)."""
    practice = context.application.bot_data.services.practice
    for user_id in practice.due_daily():
        item = practice.daily_question(user_id)
        if item is None:
            continue
        text, keyboard = screens.question_screen(item)
        try:
            await context.bot.send_message(user_id, text, parse_mode=ParseMode.HTML, reply_markup=markup(keyboard))
        except Forbidden:
            log.info("User %s blocked the bot; no daily question", user_id)


async def _schedule_daily(application: Application) -> None:
    application.job_queue.run_repeating(send_daily_questions, interval=DAILY_CHECK_SECONDS, first=5,
                                        name="daily-questions")


def register(application) -> None:
    application.add_handler(CommandHandler("practice", menu))
    for kind, callback in [(screens.PracticeCategories, categories), (screens.PracticeRandom, start_random),
                           (screens.PracticeCategory, start_category), (screens.WrongBook, wrongbook),
                           (screens.WrongBookPage, wrongbook), (screens.WrongBookDrill, start_wrongbook),
                           (screens.PracticeEnd, end),
                           (screens.PracticeAnswer, on_answer), (screens.PracticeToggle, on_toggle),
                           (screens.PracticeSubmit, on_submit), (screens.PracticeStats, statistics),
                           (screens.DailySettings, daily_settings), (screens.DailyChoose, daily_choose)]:
        application.add_handler(on_button(kind, callback))
    application.bot_data.on_start.append(_schedule_daily)
