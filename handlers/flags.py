"""答题纠错 for organisers: the questions participants flagged in a contest, one with its answer, marking it resolved."""

from __future__ import annotations

from telegram import Update

from bot import contest_flags
from bot.policy import PermissionDenied
from bot.ui import organiser as screens
from handlers.common import on_button, refuse, show
from handlers.context import BotContext


def _actor(update: Update, context: BotContext):
    return context.services.roles.actor(update.effective_user.id)


async def flags(update: Update, context: BotContext, pressed: screens.ContestFlags) -> None:
    """Questions participants marked as wrong and not yet resolved."""
    try:
        contest, rows = context.services.contests.flagged(pressed.contest, _actor(update, context))
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await show(update, *screens.flags_screen(contest, rows))
    await update.callback_query.answer()


async def flag_detail(update: Update, context: BotContext, pressed: screens.FlagDetail) -> None:
    """The question with its options, the right answer and 标记已处理."""
    contests = context.services.contests
    try:
        contest, flagged = contest_flags.flagged_question(contests, pressed.contest, pressed.question,
                                                          _actor(update, context))
    except PermissionDenied as error:
        await refuse(update, error)
        return
    if flagged is None:  # resolved meanwhile (by another press, or another administrator)
        await update.callback_query.answer("这道题的纠错反馈已处理")
        await flags(update, context, screens.ContestFlags(pressed.contest))
        return
    await show(update, *screens.flag_screen(contest, flagged))
    await update.callback_query.answer()


async def resolve(update: Update, context: BotContext, pressed: screens.ResolveFlag) -> None:
    """Mark resolved, then back to the list, where the question no longer appears."""
    contests = context.services.contests
    actor = _actor(update, context)
    try:
        resolved = contest_flags.resolve(contests, pressed.contest, pressed.question, actor)
        contest, rows = contests.flagged(pressed.contest, actor)
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await show(update, *screens.flags_screen(contest, rows))
    await update.callback_query.answer("已标记为已处理" if resolved else "这道题的纠错反馈已处理")


def register(application) -> None:
    for kind, callback in [(screens.ContestFlags, flags), (screens.FlagDetail, flag_detail),
                           (screens.ResolveFlag, resolve)]:
        application.add_handler(on_button(kind, callback))
