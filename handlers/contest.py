"""Taking contests: the list, questions with server-enforced timers, answers, results, /rank and the picture."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import Application, CommandHandler

from bot.charts import render_leaderboard
from bot.contests import GRACE_SECONDS, AnswerOutcome, ContestError, ShownQuestion
from bot.render import as_int, escape
from bot.ui import contest as screens
from bot.ui import menu as menu_screens
from handlers import live
from handlers.common import (deliver_question, markup, on_button, send, show, show_buttons, stale, tick, ticked,
                             toast)
from handlers.context import BotContext

log = logging.getLogger(__name__)
ALREADY = "这道题已经作答或已过期，以第一次作答为准。"
NOT_YET = "题目还在发给其他参赛者，大屏幕开始倒计时后再作答（这次没有记录）。"
RESTARTED = "⚡ 系统刚刚重启，接着答题（本题重新计时）：\n\n"
RESTARTED_AGAIN = "⚡ 系统刚刚重启，接着答题（本题已重新计时过一次，截止时间不变）：\n\n"


def _jobs_name(attempt_id: int, position: int) -> str:
    return f"contest:{attempt_id}:{position}"


async def ask_next(application: Application, chat_id: int, attempt_id: int, user_id: int, notice: str = "",
                   previous: AnswerOutcome | None = None) -> None:
    """Send the attempt's current question, or the result when it is over.

    A question asked for the first time starts its clock when it is delivered; one shown again (开始答题 pressed
    again, a lost message) keeps its deadline and its timers. After an answer, the core has already asked the next
    question, so the press costs no further reads. The feedback on the previous answer travels in the same message:
    inside Telegram's 30 messages a second, one message per answer serves twice as many participants as an edit
    plus a new message."""
    services = application.bot_data.services
    if previous is not None and previous.attempt is not None:
        if previous.following is not None:
            await _send_question(application, chat_id, user_id, previous.following, True, notice, previous)
        elif previous.attempt["finished_at"]:
            await _send_result(application, chat_id, previous.attempt, previous)
        return
    shown = services.contests.current_question(attempt_id, user_id)
    if shown is None:
        attempt = services.contests.attempt_of(attempt_id, user_id)
        if attempt is not None:
            await _send_result(application, chat_id, attempt, previous)
        return
    asked = services.contests.ask(attempt_id, shown.position)
    if asked is None:
        return  # answered meanwhile
    shown, fresh = asked
    await _send_question(application, chat_id, user_id, shown, fresh, notice, previous)


async def _send_result(application: Application, chat_id: int, attempt: dict, previous: AnswerOutcome | None) -> None:
    services = application.bot_data.services
    board = services.contests.leaderboard(attempt["contest_id"], with_questions=False)
    preface, extra = _previous(services, previous)
    keyboard = screens.result_keyboard(attempt["contest_id"], attempt["id"]) + extra
    await application.bot.send_message(chat_id, preface + screens.result_text(attempt, board), parse_mode=ParseMode.HTML,
                                       reply_markup=markup(keyboard))


def _previous(services, previous: AnswerOutcome | None) -> tuple[str, list]:
    if previous is None:
        return "", []
    status = "timeout" if previous.status == "timed_out" else "right" if previous.correct else "wrong"
    return screens.previous_screen(services.knowledge.kb, previous.shown, status, previous.points, previous.chosen)


async def _send_question(application: Application, chat_id: int, user_id: int, shown: ShownQuestion, fresh: bool,
                         notice: str, previous: AnswerOutcome | None) -> None:
    services = application.bot_data.services
    preface, extra = _previous(services, previous)
    text, keyboard = screens.question_screen(shown, services.config.tz)
    message_id = await deliver_question(application.bot, chat_id, notice + preface + text, markup(keyboard + extra))
    if fresh and message_id is not None:
        shown = services.contests.delivered(shown, message_id)
        if shown is None:
            return  # answered in the same instant
    if fresh or notice:  # a question shown again still has its timers, unless a restart lost them
        _start_timers(application, chat_id, user_id, shown, message_id)


def _start_timers(application: Application, chat_id: int, user_id: int, shown: ShownQuestion,
                  message_id: int | None) -> None:
    """The ten-second warning and the deadline, counted from the question's own deadline. They run even when the
    question could not be sent, so that the attempt moves on at the deadline."""
    services = application.bot_data.services
    left = (shown.deadline - services.contests.clock()).total_seconds()
    data = {"attempt": shown.attempt_id, "position": shown.position, "message": message_id}
    name = _jobs_name(shown.attempt_id, shown.position)
    if left >= 2 * screens.WARNING_SECONDS:
        application.job_queue.run_once(on_warning, left - screens.WARNING_SECONDS, data=data, chat_id=chat_id,
                                       user_id=user_id, name=name)
    application.job_queue.run_once(on_timeout, max(0.0, left) + GRACE_SECONDS, data=data, chat_id=chat_id,
                                   user_id=user_id, name=name)


def _cancel_timers(context, attempt_id: int, position: int) -> None:
    for job in context.job_queue.get_jobs_by_name(_jobs_name(attempt_id, position)):
        job.schedule_removal()


async def on_warning(context: BotContext) -> None:
    """Ten seconds left: say so on the question itself."""
    job = context.job
    services = context.application.bot_data.services
    shown = services.contests.current_question(job.data["attempt"], job.user_id)
    if shown is None or shown.position != job.data["position"] or job.data["message"] is None:
        return
    toggled = context.user_data.get("toggles", {}).get((shown.attempt_id, shown.position)) if context.user_data else None
    text, keyboard = screens.question_screen(shown, services.config.tz, toggled, warning=True)
    try:
        await context.bot.edit_message_text(text, job.chat_id, job.data["message"], parse_mode=ParseMode.HTML,
                                            reply_markup=markup(keyboard))
    except (BadRequest, NetworkError) as exc:  # answered in the same instant, or lost: the warning is a courtesy
        log.info("No ten-second warning for attempt %s: %s", job.data["attempt"], exc)


async def on_timeout(context: BotContext) -> None:
    """Time is up: zero for this question, show the right answer, go on."""
    job = context.job
    services = context.application.bot_data.services
    outcome = services.contests.expire(job.data["attempt"], job.data["position"])
    if outcome.status != "timed_out":
        return
    await ask_next(context.application, job.chat_id, job.data["attempt"], job.user_id, previous=outcome)


async def _settle(update: Update, context: BotContext, attempt_id: int, position: int, chosen: list[int]) -> None:
    query = update.callback_query
    outcome = context.services.contests.answer(attempt_id, update.effective_user.id, position, chosen)
    if outcome.status == "not_yours":
        await stale(update)
        return
    if outcome.status == "already":
        await query.answer(ALREADY)
        return
    if outcome.status == "not_yet":
        await query.answer(NOT_YET, show_alert=True)
        return
    if outcome.status == "closed":
        await query.answer("竞赛已经结束。")
        await ask_next(context.application, update.effective_chat.id, attempt_id, update.effective_user.id)
        return
    _cancel_timers(context, attempt_id, position)
    context.user_data.get("toggles", {}).pop((attempt_id, position), None)
    verdict = "已超时，本题 0 分" if outcome.status == "timed_out" else "回答正确" if outcome.correct else "回答错误"
    await toast(query, verdict)  # at once: answerCallbackQuery is outside the 30/s limit the next message waits for
    await ask_next(context.application, update.effective_chat.id, attempt_id, update.effective_user.id,
                   previous=outcome)


async def on_answer(update: Update, context: BotContext, pressed: screens.AnswerOption) -> None:
    await _settle(update, context, pressed.attempt, pressed.position, [pressed.option])


async def on_toggle(update: Update, context: BotContext, pressed: screens.ToggleOption) -> None:
    """Tick or untick an option of a 多选 question."""
    result = await tick(update, context, pressed.attempt, pressed.position, pressed.option)
    if result is not None:
        shown, toggled = result
        await update.callback_query.answer()
        await show_buttons(update.callback_query, screens.question_screen(shown, context.services.config.tz,
                                                                          toggled)[1])


async def on_submit(update: Update, context: BotContext, pressed: screens.SubmitOptions) -> None:
    """Submit the ticked options."""
    toggled = ticked(context, pressed.attempt, pressed.position)
    if not toggled:
        shown = context.services.contests.current_question(pressed.attempt, update.effective_user.id)
        answered = shown is None or shown.position != pressed.position  # 提交 pressed again after the answer
        await update.callback_query.answer(ALREADY if answered else "请至少选择一个选项再提交。")
        return
    await _settle(update, context, pressed.attempt, pressed.position, sorted(toggled))


async def on_flag(update: Update, context: BotContext, pressed: screens.FlagQuestion) -> None:
    """答题纠错."""
    if context.services.contests.flag(pressed.attempt, update.effective_user.id, pressed.position):
        await update.callback_query.answer("已提交纠错，组织者会核实这道题。谢谢！", show_alert=True)
    else:
        await update.callback_query.answer("已经提交过纠错了。")


async def list_contests(update: Update, context: BotContext) -> None:
    """答题竞赛 in the main menu, and /contest; someone not registered is asked to register first."""
    services = context.services
    user = services.accounts.touch(update.effective_user.id, update.effective_user.first_name,
                                   update.effective_user.username)
    if not services.accounts.is_registered(user):
        await show(update, *menu_screens.register_first("参加竞赛"))
    else:
        await show(update, *screens.contest_list(services.contests.open_for(services.roles.actor(user["id"]))))
    if update.callback_query is not None:
        await update.callback_query.answer()


async def on_contest(update: Update, context: BotContext, pressed: screens.ContestCard) -> None:
    """The contest's card."""
    card = context.services.contests.card(pressed.contest, update.effective_user.id)
    if card is None:
        await stale(update)
        return
    await show(update, *screens.contest_card(*card, context.services.config.tz))
    await update.callback_query.answer()


async def on_start(update: Update, context: BotContext, pressed: screens.StartContest) -> None:
    """Start, or continue where the participant left off (the question shown keeps its deadline)."""
    query = update.callback_query
    services = context.services
    user = services.accounts.touch(update.effective_user.id, update.effective_user.first_name,
                                   update.effective_user.username)
    if not services.accounts.is_registered(user):
        await query.answer("请先完成登记（发送 /start）。", show_alert=True)
        return
    try:
        attempt = services.contests.start(pressed.contest, user)
    except ContestError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    await query.answer()
    if services.contests.is_live(pressed.contest):
        await live.join(update, context, attempt)
        return
    await ask_next(context.application, update.effective_chat.id, attempt["id"], user["id"])


async def _send_ranking(update: Update, context: BotContext, contest_id: int) -> None:
    try:
        board = context.services.contests.leaderboard(contest_id, with_questions=False)
    except ContestError:
        await send(update, "没有这个竞赛。", screens.ranking_keyboard(None))
        return
    await send(update, screens.ranking_text(board, update.effective_user.id), screens.ranking_keyboard(contest_id))


async def rank_command(update: Update, context: BotContext) -> None:
    """/rank [contest id]: the top ten and your own place, in your latest contest by default."""
    services = context.services
    if context.args and as_int(context.args[0]) is not None:
        await _send_ranking(update, context, as_int(context.args[0]))
        return
    contest_id = services.contests.latest_for(services.roles.actor(update.effective_user.id))
    if contest_id is None:
        await send(update, "您还没有参加过竞赛，现在也没有进行中的竞赛。", screens.ranking_keyboard(None))
        return
    await _send_ranking(update, context, contest_id)


async def on_ranking(update: Update, context: BotContext, pressed: screens.Ranking) -> None:
    await update.callback_query.answer()
    await _send_ranking(update, context, pressed.contest)


async def on_picture(update: Update, context: BotContext, pressed: screens.RankingPicture) -> None:
    """The leaderboard as a picture to share, or text where no Chinese font is available or nobody answered."""
    query = update.callback_query
    try:
        board, facts = context.services.results.standings(pressed.contest)
    except ContestError:
        await stale(update)
        return
    await query.answer("正在生成图片……")  # before the slow work: Telegram refuses answers to old presses
    picture = await asyncio.to_thread(render_leaderboard, board, facts)
    if picture is None:
        note = "（这台服务器没有可用的中文字体，改用文字显示）\n\n" if board.individuals else ""
        await send(update, note + screens.ranking_text(board, None))
        return
    await update.effective_chat.send_photo(picture, caption=f"{escape(board.title)} · {board.participants} 人参与",
                                           parse_mode=ParseMode.HTML)


async def resume_attempts(application: Application) -> None:
    """After a restart: ask each interrupted question again, with a new clock once per question; report attempts
    whose time ran out meanwhile."""
    services = application.bot_data.services
    resume, closed = services.contests.resumable()
    for attempt in resume:
        retimed = services.contests.retime(attempt)
        if retimed is None:
            continue
        shown, fresh = retimed
        try:
            if not fresh and shown.deadline <= services.contests.clock():
                outcome = services.contests.expire(attempt["id"], shown.position)  # its one new clock ran out
                await ask_next(application, attempt["user_id"], attempt["id"], attempt["user_id"],
                               previous=outcome if outcome.status == "timed_out" else None)
                continue
            await _send_question(application, attempt["user_id"], attempt["user_id"], shown, fresh,
                                 RESTARTED if fresh else RESTARTED_AGAIN, None)
        except Forbidden:
            log.info("User %s blocked the bot; attempt %s stays where it is", attempt["user_id"], attempt["id"])
    for attempt in closed:
        board = services.contests.leaderboard(attempt["contest_id"], with_questions=False)
        keyboard = screens.result_keyboard(attempt["contest_id"], attempt["id"])
        try:
            await application.bot.send_message(attempt["user_id"], screens.result_text(attempt, board),
                                               parse_mode=ParseMode.HTML, reply_markup=markup(keyboard))
        except Forbidden:
            pass
    if resume or closed:
        log.info("Resumed %d contest attempts, closed %d after a restart", len(resume), len(closed))


def register(application) -> None:
    application.add_handler(CommandHandler("contest", list_contests))
    application.add_handler(CommandHandler("rank", rank_command))
    for kind, callback in [(screens.ContestCard, on_contest), (screens.StartContest, on_start),
                           (screens.AnswerOption, on_answer), (screens.ToggleOption, on_toggle),
                           (screens.SubmitOptions, on_submit), (screens.FlagQuestion, on_flag),
                           (screens.Ranking, on_ranking), (screens.RankingPicture, on_picture)]:
        application.add_handler(on_button(kind, callback))
    application.bot_data.on_start.append(resume_attempts)
