"""Live contests in chat: the host's panel and moves, and carrying each move out on Telegram.

The core (bot/live.py) decides every move and tells its listeners; this module's listener sends the opened question
to every participant (one message each; the verdict of an answer travels as the press's toast), starts the shared
clock once they are sent, reveals at the deadline, keeps the host's panels current and sends each participant their
result at the end. Moves made on the board's host view arrive the same way.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import Application

from bot.contest_setup import ContestError
from bot.contests import GRACE_SECONDS
from bot.live import ENDED, QUESTION, LiveStep
from bot.policy import PermissionDenied
from bot.ui import contest as contest_screens
from bot.ui import live as screens
from handlers.common import deliver_question, markup, on_button, refuse, show, tick
from handlers.context import BotContext

log = logging.getLogger(__name__)
SEND_CONCURRENCY = 64  # sends in flight at once; the rate limiter paces them inside Telegram's limits


def _panels(application: Application) -> dict[int, set[tuple[int, int]]]:
    return application.bot_data.live_panels


async def _hosted(update: Update, context: BotContext, contest_id: int) -> dict | None:
    """The live contest if the presser may host it; else they are told why and None."""
    services = context.services
    try:
        return services.contests.hosted(contest_id, services.roles.actor(update.effective_user.id))
    except (ContestError, PermissionDenied) as error:
        await refuse(update, error)
        return None


async def open_panel(update: Update, context: BotContext, pressed: screens.LivePanel) -> None:
    """The host's panel: state, counts and the moves that make sense now (刷新 shows it again)."""
    contest = await _hosted(update, context, pressed.contest)
    if contest is not None:
        await _show_panel(update, context, contest)
        await update.callback_query.answer()


async def _show_panel(update: Update, context: BotContext, contest: dict) -> None:
    view = context.services.contests.live_view(contest["id"])
    await show(update, *screens.host_panel(view, contest["title"], contest["id"], context.services.config.tz))
    message = update.effective_message
    _panels(context.application).setdefault(contest["id"], set()).add((message.chat_id, message.message_id))


async def ask_end(update: Update, context: BotContext, pressed: screens.LiveEndAsk) -> None:
    contest = await _hosted(update, context, pressed.contest)
    if contest is None:
        return
    await show(update, *screens.end_question(contest["title"], contest["id"], contest["live_position"] + 1))
    await update.callback_query.answer()


async def control(update: Update, context: BotContext, pressed: screens.LiveControl) -> None:
    """开始 / 下一题 / 暂停 / 继续 / 结束."""
    services = context.services
    actor = services.roles.actor(update.effective_user.id)
    try:
        said = services.contests.host(pressed.contest, pressed.action, pressed.step, actor=actor)
        contest = services.contests.hosted(pressed.contest, actor)
    except (ContestError, PermissionDenied) as error:
        await refuse(update, error)
        return
    await update.callback_query.answer(said)
    await _show_panel(update, context, contest)


# --- carrying the core's moves out on Telegram ------------------------------------------------------------

def listen(application: Application):
    def on_step(step: LiveStep) -> None:
        application.create_task(carry_out(application, step), name=f"live:{step.contest_id}:{step.state}")
    return on_step


async def carry_out(application: Application, step: LiveStep) -> None:
    services = application.bot_data.services
    try:
        if step.state == QUESTION and step.opened:
            await _send_question(application, step)
            services.contests.live_delivered(step.contest_id, step.position)  # tells again: the clock runs
        elif step.state == QUESTION:
            _schedule_reveal(application, step)
        elif step.state == ENDED:
            await _send_results(application, step)
    except Exception:  # a failed step must not stop the contest: the host can press again, the board shows the state
        log.exception("Live contest %s: carrying out %s at question %s failed", step.contest_id, step.state,
                      step.position + 1)
    await _refresh_panels(application, step.contest_id)


async def _send_question(application: Application, step: LiveStep) -> None:
    """The same question to everyone at once, paced by the rate limiter; a blocked participant is skipped."""
    services = application.bot_data.services
    gate = asyncio.Semaphore(SEND_CONCURRENCY)
    notice = "⚡ 系统刚刚重启，重新发送本题：\n\n" if step.resend else ""

    async def send_one(attempt_id: int, user_id: int) -> None:
        shown = services.contests.current_question(attempt_id, user_id)
        if shown is None or shown.position != step.position:
            return  # answered already (a resend), or moved on
        text, keyboard = screens.question_screen(shown)
        async with gate:
            try:
                await deliver_question(application.bot, user_id, notice + text, markup(keyboard))
            except (Forbidden, BadRequest) as exc:
                log.info("Live question %s not sent to user %s: %s", step.position + 1, user_id, exc)

    await asyncio.gather(*(send_one(attempt_id, user_id) for attempt_id, user_id in step.recipients))
    log.info("Live contest %s: question %d sent to %d participants", step.contest_id, step.position + 1,
             len(step.recipients))


def _schedule_reveal(application: Application, step: LiveStep) -> None:
    contest = application.bot_data.services.contests.contest(step.contest_id)
    if contest["live_state"] != QUESTION or contest["live_position"] != step.position or not contest["live_deadline"]:
        return
    left = application.bot_data.services.contests.seconds_until(contest["live_deadline"])
    application.job_queue.run_once(reveal_due, max(0.0, left) + GRACE_SECONDS,
                                   data=(step.contest_id, step.position),
                                   name=f"live:{step.contest_id}:{step.position}")


async def reveal_due(context: BotContext) -> None:
    contest_id, position = context.job.data
    context.application.bot_data.services.contests.live_reveal(contest_id, position)


async def _send_results(application: Application, step: LiveStep) -> None:
    services = application.bot_data.services
    board = services.contests.leaderboard(step.contest_id, with_questions=False)
    gate = asyncio.Semaphore(SEND_CONCURRENCY)

    async def send_one(attempt_id: int, user_id: int) -> None:
        attempt = services.contests.attempt_of(attempt_id, user_id)
        if attempt is None or attempt["position"] == 0:
            return  # joined but never answered: nothing to report
        async with gate:
            try:
                await application.bot.send_message(
                    user_id, contest_screens.result_text(attempt, board), parse_mode=ParseMode.HTML,
                    reply_markup=markup(contest_screens.result_keyboard(step.contest_id, attempt_id)))
            except (Forbidden, BadRequest, NetworkError) as exc:
                log.info("Live result not sent to user %s: %s", user_id, exc)

    await asyncio.gather(*(send_one(attempt_id, user_id) for attempt_id, user_id in step.recipients))


async def _refresh_panels(application: Application, contest_id: int) -> None:
    """Every host panel of the contest shows the new state (a panel that cannot be edited any more is forgotten)."""
    services = application.bot_data.services
    panels = _panels(application).get(contest_id, set())
    if not panels:
        return
    contest = services.contests.contest(contest_id)
    text, keyboard = screens.host_panel(services.contests.live_view(contest_id), contest["title"], contest_id,
                                        services.config.tz)
    for chat_id, message_id in list(panels):
        try:
            await application.bot.edit_message_text(text, chat_id, message_id, parse_mode=ParseMode.HTML,
                                                    reply_markup=markup(keyboard))
        except BadRequest as exc:
            if "not modified" not in str(exc):
                panels.discard((chat_id, message_id))
        except TelegramError as exc:
            log.info("Host panel %s/%s not refreshed: %s", chat_id, message_id, exc)


async def on_tick(update: Update, context: BotContext, pressed: screens.LiveTick) -> None:
    """Tick or untick an option of a live 多选 question; the toast says what is ticked."""
    result = await tick(update, context, pressed.attempt, pressed.position, pressed.option)
    if result is not None:
        await update.callback_query.answer(screens.ticked_text(result[1]))


async def join(update: Update, context: BotContext, attempt: dict) -> None:
    """A participant joins (or comes back to) a live contest: the open question at once, else the wait."""
    services = context.services
    shown = services.contests.live_entry(attempt)
    if shown is not None:
        text, keyboard = screens.question_screen(shown)
        await deliver_question(context.bot, update.effective_chat.id, text, markup(keyboard))
        return
    contest = services.contests.contest(attempt["contest_id"])
    await update.effective_chat.send_message(screens.waiting_text(contest["title"], contest["live_state"]),
                                             parse_mode=ParseMode.HTML)


async def resume(application: Application) -> None:
    """After a restart: a question whose sending was cut off is sent again, a running clock gets its reveal."""
    application.bot_data.services.contests.live_resume()


def register(application) -> None:
    application.bot_data.services.contests.live_listeners.append(listen(application))
    for kind, callback in [(screens.LivePanel, open_panel), (screens.LiveControl, control),
                           (screens.LiveEndAsk, ask_end), (screens.LiveTick, on_tick)]:
        application.add_handler(on_button(kind, callback))
    application.bot_data.on_start.append(resume)
