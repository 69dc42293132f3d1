"""After a contest: certificates (sent once when it ends, and on request), a participant's review of their answers,
and per-question statistics for organisers."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.announcements import BLOCKED, DELIVERED, RETRY, RETRY_AFTER, UNKNOWN, SendResult
from bot.certificate import render_certificate
from bot.contest_results import Certificate
from bot.policy import PermissionDenied
from bot.transport import DeliveryUnknown
from bot.ui import contest as contest_screens
from bot.ui import organiser as organiser_screens
from bot.ui import results as screens
from handlers.common import markup, on_button, refuse, send, show
from handlers.context import BotContext

log = logging.getLogger(__name__)
CERTIFICATE_SWEEP_SECONDS = 15
CERTIFICATES_PER_SWEEP = 200


async def _send_certificate(bot, chat_id: int, certificate: Certificate, at_the_end: bool) -> None:
    picture = await asyncio.to_thread(render_certificate, certificate)
    keyboard = markup(screens.certificate_keyboard(certificate.facts.contest_id))
    if picture is None:
        await bot.send_message(chat_id, screens.certificate_text(certificate), parse_mode=ParseMode.HTML,
                               reply_markup=keyboard)
        return
    await bot.send_photo(chat_id, picture, caption=screens.certificate_caption(certificate, at_the_end),
                         parse_mode=ParseMode.HTML, reply_markup=keyboard)


async def on_certificate(update: Update, context: BotContext, pressed: contest_screens.ContestCertificate) -> None:
    """🏅 我的证书 under a result or on the contest's card."""
    query = update.callback_query
    results = context.services.results
    certificate = results.certificate(pressed.contest, update.effective_user.id)
    if certificate is None:
        ended = results.ended(pressed.contest)
        await query.answer("您没有在这场竞赛中答题，没有证书。" if ended else contest_screens.CERTIFICATE_LATER,
                           show_alert=True)
        return
    await query.answer("正在生成证书……")  # before the slow work: Telegram refuses answers to old presses
    await _send_certificate(context.bot, update.effective_chat.id, certificate, at_the_end=False)


async def on_review(update: Update, context: BotContext, pressed: contest_screens.ContestReview) -> None:
    """📝 答题回顾 under a result and on the contest's card, and its pages: the participant's own, once it has ended."""
    query = update.callback_query
    services = context.services
    access, review = services.results.review(pressed.attempt, update.effective_user.id)
    if review is None:
        await query.answer(screens.REVIEW_REFUSED[access], show_alert=True)
        return
    text, keyboard = screens.review_screen(review, pressed.page, services.knowledge.kb)
    await query.answer()
    await (send if pressed.new else show)(update, text, keyboard)


async def send_certificates(context: BotContext) -> None:
    """Every few seconds: the certificates of contests that have ended, each claimed in the database before it is
    sent, so that it goes out once even if the bot restarts (a send lost to the network is tried again)."""
    await deliver_certificates(context.application)


async def deliver_certificates(application: Application) -> int:
    async def send(user_id: int, certificate: Certificate) -> SendResult:
        try:
            await _send_certificate(application.bot, user_id, certificate, at_the_end=True)
        except RetryAfter as exc:  # still over the flood limit after the rate limiter's own waits
            return SendResult(RETRY_AFTER, error=str(exc)[:200])
        except (Forbidden, BadRequest) as exc:  # blocked the bot, or never opened the chat
            return SendResult(BLOCKED, error=str(exc)[:200])
        except DeliveryUnknown as exc:  # it reached Telegram, its answer did not come back
            return SendResult(UNKNOWN, error=str(exc)[:200])
        except (NetworkError, TimedOut) as exc:  # it did not arrive
            return SendResult(RETRY, error=f"{type(exc).__name__}: {str(exc)[:180]}")
        return SendResult(DELIVERED)

    return await application.bot_data.services.results.deliver_certificates(send, CERTIFICATES_PER_SWEEP)


async def on_question_stats(update: Update, context: BotContext, pressed: screens.QuestionStats) -> None:
    """题目统计 from the organiser's contest screen: correct rate and choices per question, weakest first."""
    services = context.services
    try:
        contest, stats = services.results.question_breakdown(pressed.contest,
                                                             services.roles.actor(update.effective_user.id))
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await show(update, *screens.stats_screen(contest, stats, pressed.page, services.knowledge.kb,
                                             organiser_screens.back_to(contest["id"])))
    await update.callback_query.answer()


async def _schedule(application: Application) -> None:
    application.job_queue.run_repeating(send_certificates, interval=CERTIFICATE_SWEEP_SECONDS, first=3,
                                        name="contest-certificates")


def register(application) -> None:
    for kind, callback in [(contest_screens.ContestCertificate, on_certificate),
                           (contest_screens.ContestReview, on_review),
                           (screens.QuestionStats, on_question_stats)]:
        application.add_handler(on_button(kind, callback))
    application.bot_data.on_start.append(_schedule)
