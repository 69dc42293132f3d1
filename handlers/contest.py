"""Taking contests: the list, questions with server-enforced timers, answers, results, /rank and the picture."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import quiz_screens as screens
from bot.charts import render_team_chart
from bot.contests import GRACE_SECONDS, AnswerOutcome, ContestError, ShownQuestion
from bot.render import Button, as_int, callback, escape, parse_callback
from bot.transport import DeliveryUnknown
from handlers.common import markup, send, show, show_buttons, stale, toast
from handlers.context import BotContext

log = logging.getLogger(__name__)
WARNING_SECONDS = 10
QUESTION_SEND_TRIES = 3


def _header(shown: ShownQuestion) -> str:
    return f"第 {shown.position + 1}/{shown.total} 题"


def _jobs_name(attempt_id: int, position: int) -> str:
    return f"contest:{attempt_id}:{position}"


def _toggled(context: BotContext, attempt_id: int, position: int) -> set[int]:
    return context.user_data.setdefault("toggles", {}).setdefault((attempt_id, position), set())


def _question_screen(context: BotContext, shown: ShownQuestion, toggled: set[int] | None = None,
                     warning: bool = False):
    tz = context.services.config.tz
    text = screens.question_text(_header(shown), shown.question, shown.options, shown.deadline, shown.seconds, tz)
    if warning:
        text += f"\n⏳ <b>还剩 {WARNING_SECONDS} 秒！</b>"
    keyboard = screens.answer_keyboard("c", shown.attempt_id, shown.position, shown.question, shown.options, toggled)
    return text, keyboard


def _previous(services, outcome: AnswerOutcome) -> tuple[str, list]:
    """How the last answer went, shown above the next question so that each answer costs one message."""
    shown = outcome.shown
    status = "timeout" if outcome.status == "timed_out" else "right" if outcome.correct else "wrong"
    text = screens.feedback_text(screens.PREVIOUS_HEADER, shown.question, shown.options, shown.right_display,
                                 status, outcome.points)
    keyboard = screens.previous_keyboard(services.knowledge.kb, shown.question,
                                         callback("cf", shown.attempt_id, shown.position))
    return text + screens.DIVIDER, keyboard


async def ask_next(application: Application, chat_id: int, attempt_id: int, user_id: int, notice: str = "",
                   previous: AnswerOutcome | None = None) -> None:
    """Send the attempt's current question and start its clock and timers, or the result when it is over.

    The feedback on the previous answer travels in the same message: inside Telegram's 30 messages a second,
    one message per answer serves twice as many participants as an edit plus a new message."""
    services = application.bot_data["services"]
    bot = application.bot
    attempt = services.storage.attempt(attempt_id)
    shown = services.contests.shown(attempt)
    preface, extra = _previous(services, previous) if previous is not None else ("", [])
    if shown is None:
        board = services.contests.leaderboard(attempt["contest_id"], with_questions=False)
        keyboard = [[Button("排行榜", callback("cr", attempt["contest_id"]))], *extra]
        await bot.send_message(chat_id, preface + screens.result_text(attempt, board), parse_mode=ParseMode.HTML,
                               reply_markup=markup(keyboard))
        return
    shown = services.contests.ask(attempt_id, shown.position, None)
    if shown is None:
        return  # answered meanwhile
    tz = services.config.tz
    text = screens.question_text(_header(shown), shown.question, shown.options, shown.deadline, shown.seconds, tz)
    keyboard = screens.answer_keyboard("c", attempt_id, shown.position, shown.question, shown.options)
    message_id = await _send_question(bot, chat_id, notice + preface + text, markup(keyboard + extra))
    if message_id is not None:
        shown = services.contests.delivered(shown, message_id)
        if shown is None:
            return  # answered in the same instant
    # The timers run even when the question could not be sent, so that the attempt moves on at the deadline.
    data = {"attempt": attempt_id, "position": shown.position, "message": message_id}
    name = _jobs_name(attempt_id, shown.position)
    if shown.seconds >= 2 * WARNING_SECONDS:
        application.job_queue.run_once(on_warning, shown.seconds - WARNING_SECONDS, data=data, chat_id=chat_id,
                                       user_id=user_id, name=name)
    application.job_queue.run_once(on_timeout, shown.seconds + GRACE_SECONDS, data=data, chat_id=chat_id,
                                   user_id=user_id, name=name)


async def _send_question(bot, chat_id: int, text: str, reply_markup) -> int | None:
    """The question's message id, or None when the network lost it; a Telegram refusal (blocked, bad request)
    is raised. A send whose answer was lost is sent again: two copies of a question do no harm, since only
    the first press counts, whereas a lost question would cost the participant its points."""
    for attempt in range(1, QUESTION_SEND_TRIES + 1):
        try:
            message = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=reply_markup)
            return message.message_id
        except DeliveryUnknown as exc:
            log.warning("Question to chat %s may not have arrived (try %d): %s", chat_id, attempt, exc)
        except (NetworkError, TimedOut) as exc:
            log.warning("Question to chat %s was not delivered (try %d): %s", chat_id, attempt, exc)
    return None


def _cancel_timers(context, attempt_id: int, position: int) -> None:
    for job in context.job_queue.get_jobs_by_name(_jobs_name(attempt_id, position)):
        job.schedule_removal()


async def on_warning(context: BotContext) -> None:
    """Ten seconds left: say so on the question itself."""
    job = context.job
    services = context.application.bot_data["services"]
    attempt = services.storage.attempt(job.data["attempt"])
    if (attempt is None or attempt["position"] != job.data["position"] or attempt["finished_at"]
            or job.data["message"] is None):
        return
    shown = services.contests.shown(attempt)
    toggled = context.user_data.get("toggles", {}).get((shown.attempt_id, shown.position)) if context.user_data else None
    text, keyboard = _question_screen(context, shown, toggled, warning=True)
    try:
        await context.bot.edit_message_text(text, job.chat_id, job.data["message"], parse_mode=ParseMode.HTML,
                                            reply_markup=markup(keyboard))
    except (BadRequest, NetworkError) as exc:  # answered in the same instant, or lost: the warning is a courtesy
        log.info("No ten-second warning for attempt %s: %s", job.data["attempt"], exc)


async def on_timeout(context: BotContext) -> None:
    """Time is up: zero for this question, show the right answer, go on."""
    job = context.job
    services = context.application.bot_data["services"]
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
        await query.answer("这道题已经作答或已过期，以第一次作答为准。")
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


def _numbers(data: str, count: int) -> list[int] | None:
    parts = parse_callback(data)[1:]
    if len(parts) != count or not all(p.isdigit() for p in parts):
        return None
    return [int(p) for p in parts]


async def on_answer(update: Update, context: BotContext) -> None:
    """ca:<attempt>:<position>:<option>"""
    numbers = _numbers(update.callback_query.data, 3)
    if numbers is None:
        await stale(update)
        return
    attempt_id, position, option = numbers
    await _settle(update, context, attempt_id, position, [option])


async def on_toggle(update: Update, context: BotContext) -> None:
    """ct:<attempt>:<position>:<option>: tick or untick an option of a 多选 question."""
    query = update.callback_query
    numbers = _numbers(query.data, 3)
    attempt = context.services.storage.attempt(numbers[0]) if numbers else None
    if attempt is None or attempt["user_id"] != update.effective_user.id:
        await stale(update)
        return
    attempt_id, position, option = numbers
    shown = context.services.contests.shown(attempt)
    if shown is None or shown.position != position or not 0 <= option < len(shown.options):
        await query.answer("这道题已经作答或已过期。")
        return
    toggled = _toggled(context, attempt_id, position)
    toggled.symmetric_difference_update({option})
    keyboard = screens.answer_keyboard("c", attempt_id, position, shown.question, shown.options, toggled)
    await show_buttons(query, keyboard)
    await query.answer()


async def on_submit(update: Update, context: BotContext) -> None:
    """cx:<attempt>:<position>: submit the ticked options."""
    numbers = _numbers(update.callback_query.data, 2)
    if numbers is None:
        await stale(update)
        return
    toggled = _toggled(context, *numbers)
    if not toggled:
        await update.callback_query.answer("请至少选择一个选项再提交。")
        return
    await _settle(update, context, numbers[0], numbers[1], sorted(toggled))


async def on_flag(update: Update, context: BotContext) -> None:
    """cf:<attempt>:<position>: 答题纠错."""
    numbers = _numbers(update.callback_query.data, 2)
    if numbers is None:
        await stale(update)
        return
    if context.services.contests.flag(numbers[0], update.effective_user.id, numbers[1]):
        await update.callback_query.answer("已提交纠错，组织者会核实这道题。谢谢！", show_alert=True)
    else:
        await update.callback_query.answer("已经提交过纠错了。")


async def list_contests(update: Update, context: BotContext) -> None:
    """答题竞赛 in the main menu."""
    user = context.services.accounts.touch(update.effective_user.id, update.effective_user.first_name,
                                           update.effective_user.username)
    await show(update, *screens.contest_list(context.services.contests.open_for(user)))
    if update.callback_query is not None:
        await update.callback_query.answer()


async def on_contest(update: Update, context: BotContext) -> None:
    """co:<contest>: the contest's card."""
    numbers = _numbers(update.callback_query.data, 1)
    contest = context.services.storage.contest(numbers[0]) if numbers else None
    if contest is None:
        await stale(update)
        return
    contests = context.services.contests
    attempt = context.services.storage.attempt_of(contest["id"], update.effective_user.id)
    await show(update, *screens.contest_card(contest, contests.status(contest), attempt, context.services.config.tz))
    await update.callback_query.answer()


async def on_start(update: Update, context: BotContext) -> None:
    """cs:<contest>: start, or continue where the participant left off."""
    query = update.callback_query
    numbers = _numbers(query.data, 1)
    if numbers is None:
        await stale(update)
        return
    services = context.services
    user = services.accounts.touch(update.effective_user.id, update.effective_user.first_name,
                                   update.effective_user.username)
    if not services.accounts.is_registered(user):
        await query.answer("请先完成登记（发送 /start）。", show_alert=True)
        return
    try:
        attempt = services.contests.start(numbers[0], user)
    except ContestError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    shown = services.contests.shown(attempt)
    if shown is not None and shown.asked_at is not None:
        _cancel_timers(context, attempt["id"], shown.position)  # the question is asked again with a fresh timer
    await ask_next(context.application, update.effective_chat.id, attempt["id"], user["id"])
    await query.answer()


async def _send_ranking(update: Update, context: BotContext, contest_id: int) -> None:
    try:
        board = context.services.contests.leaderboard(contest_id, with_questions=False)
    except ContestError:
        await send(update, "没有这个竞赛。")
        return
    keyboard = [[screens.Button("📊 排行榜图片", callback("cp", contest_id))]]
    await send(update, screens.ranking_text(board, update.effective_user.id), keyboard)


async def rank_command(update: Update, context: BotContext) -> None:
    """/rank [contest id]: the top ten and your own place, in your latest contest by default."""
    services = context.services
    if context.args and as_int(context.args[0]) is not None:
        await _send_ranking(update, context, as_int(context.args[0]))
        return
    attempts = services.storage.attempts_of_user(update.effective_user.id)
    user = services.accounts.get(update.effective_user.id) or {}
    open_now = services.contests.open_for(user) if user else []
    contest_id = attempts[0]["contest_id"] if attempts else open_now[0]["id"] if open_now else None
    if contest_id is None:
        await send(update, "你还没有参加过竞赛，现在也没有进行中的竞赛。")
        return
    await _send_ranking(update, context, contest_id)


async def on_ranking(update: Update, context: BotContext) -> None:
    """cr:<contest>."""
    numbers = _numbers(update.callback_query.data, 1)
    if numbers is None:
        await stale(update)
        return
    await _send_ranking(update, context, numbers[0])
    await update.callback_query.answer()


async def on_picture(update: Update, context: BotContext) -> None:
    """cp:<contest>: the leaderboard as a bar chart, or text where no Chinese font is available."""
    query = update.callback_query
    numbers = _numbers(query.data, 1)
    if numbers is None or context.services.storage.contest(numbers[0]) is None:
        await stale(update)
        return
    await query.answer("正在生成图片……")
    board = context.services.contests.leaderboard(numbers[0], with_questions=False)
    picture = await asyncio.to_thread(render_team_chart, board)
    if picture is None:
        await send(update, "（这台服务器没有可用的中文字体，改用文字显示）\n\n" + screens.ranking_text(board, None))
        return
    await update.effective_chat.send_photo(picture, caption=f"{escape(board.title)} · {board.participants} 人参与",
                                           parse_mode=ParseMode.HTML)


async def resume_attempts(application: Application) -> None:
    """After a restart: ask each interrupted question again with a fresh timer; report attempts whose time ran out."""
    services = application.bot_data["services"]
    resume, closed = services.contests.resumable()

    for attempt in resume:
        try:
            await ask_next(application, attempt["user_id"], attempt["id"], attempt["user_id"],
                           notice="⚡ 系统刚刚重启，接着答题（本题重新计时）：\n\n")
        except Forbidden:
            log.info("User %s blocked the bot; attempt %s stays where it is", attempt["user_id"], attempt["id"])
    for attempt in closed:
        board = services.contests.leaderboard(attempt["contest_id"], with_questions=False)
        try:
            await application.bot.send_message(attempt["user_id"], screens.result_text(attempt, board),
                                               parse_mode=ParseMode.HTML)
        except Forbidden:
            pass
    if resume or closed:
        log.info("Resumed %d contest attempts, closed %d after a restart", len(resume), len(closed))


def register(application) -> None:
    application.add_handler(CallbackQueryHandler(list_contests, pattern=r"^menu:contest$"))
    application.add_handler(CommandHandler("contest", list_contests))
    application.add_handler(CommandHandler("rank", rank_command))
    for pattern, handler in [(r"^co:", on_contest), (r"^cs:", on_start), (r"^ca:", on_answer), (r"^ct:", on_toggle),
                             (r"^cx:", on_submit), (r"^cf:", on_flag), (r"^cr:", on_ranking), (r"^cp:", on_picture)]:
        application.add_handler(CallbackQueryHandler(handler, pattern=pattern))
    application.bot_data.setdefault("startup", []).append(resume_attempts)
