"""Organisers in chat: their contests, exports, closing early, editing before the start, creating one."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.accounts import REGIONS
from bot.contests import ContestError, ContestSpec, check_question_count, check_title
from bot.exports import csv_bytes, workbook_bytes
from bot.policy import ORGANISER, PROVINCE, PermissionDenied
from bot.render import Button, as_int, escape
from bot.ui import organiser as screens
from bot.ui.menu import main_menu_keyboard
from bot.webpages import qr_png
from bot.when import example_moment, parse_moment
from handlers.common import on_button, refuse, send, show, stale
from handlers.context import BotContext

TITLE, DESCRIPTION, REGION, START, DURATION, COUNT, CATEGORIES, SECONDS, TEAM_SIZE, BONUS, MODE, CONFIRM = range(12)
EDIT_VALUE = 20


def _actor(update: Update, context: BotContext):
    return context.services.roles.actor(update.effective_user.id)


def _moment(context: BotContext, text: str):
    return parse_moment(text, context.services.contests.clock(), context.services.config.tz)


def _hint(context: BotContext) -> str:
    return screens.time_hint(example_moment(context.services.contests.clock(), context.services.config.tz))


async def my_contests(update: Update, context: BotContext, pressed: screens.MyContests | None = None) -> None:
    """/contests: the organiser's contests (all of them for administrators)."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    contests = context.services.contests
    try:
        mine = contests.managed_by(_actor(update, context))
    except PermissionDenied as error:
        await send(update, escape(str(error)), main_menu_keyboard())
        return
    await show(update, *screens.contests_screen(mine, contests.status))


async def manage(update: Update, context: BotContext, pressed: screens.ManageContest) -> None:
    """Status, participants, flags and what can be done."""
    try:
        overview = context.services.contests.overview(pressed.contest, _actor(update, context))
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await show(update, *screens.manage_screen(*overview))
    await update.callback_query.answer()


async def export(update: Update, context: BotContext, pressed: screens.ExportResults) -> None:
    """The results as a document."""
    contests = context.services.contests
    try:
        contest = contests.managed(pressed.contest, _actor(update, context))
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await update.callback_query.answer("正在生成文件……")  # before the slow work: old presses cannot be answered
    board = contests.leaderboard(contest["id"])
    writer, suffix = (workbook_bytes, "xlsx") if pressed.format == "x" else (csv_bytes, "csv")
    data = await asyncio.to_thread(writer, board)
    await update.effective_chat.send_document(data, filename=f"contest-{contest['id']}.{suffix}",
                                              caption=f"<b>{escape(contest['title'])}</b>：个人、团队和题目统计",
                                              parse_mode=ParseMode.HTML)


async def board_link(update: Update, context: BotContext, pressed: screens.BoardLink) -> None:
    """The big-screen link (unguessable) and a QR code people in the hall scan to join."""
    services = context.services
    try:
        contest = services.contests.managed(pressed.contest, _actor(update, context))
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await update.callback_query.answer()
    link = f"{services.config.web_url}/board/{contest['board_token']}"
    telegram_join, web_join = services.contest_links(contest["id"])
    join = web_join or telegram_join
    web = f"\n浏览器参赛（没有 Telegram 也能参加）：{escape(web_join)}" if web_join else ""
    host = (f"\n\n现场主持链接（在大屏上也能出题、暂停、结束；只给主持人，勿外传）：\n"
            f"{escape(link)}?host={escape(contest['host_token'])}" if contest["mode"] == "live" else "")
    await send(update, f"大屏排行榜（在活动现场的电脑浏览器打开，全屏显示）：\n{escape(link)}\n\n"
                       f"Telegram 参赛链接：{escape(telegram_join)}{web}\n"
                       f"下面的二维码可以投到大屏上，现场人员扫码即可参赛。{host}",
               screens.back_to(contest["id"]))
    picture = await asyncio.to_thread(qr_png, join)
    await update.effective_chat.send_photo(picture, caption=f"扫码参加：<b>{escape(contest['title'])}</b>",
                                           parse_mode=ParseMode.HTML)


async def close_ask(update: Update, context: BotContext, pressed: screens.CloseContest) -> None:
    """Ask for confirmation; closing cannot be undone."""
    try:
        contest = context.services.contests.managed(pressed.contest, _actor(update, context))
    except PermissionDenied as error:
        await refuse(update, error)
        return
    await show(update, *screens.close_question(contest))
    await update.callback_query.answer()


async def close_confirmed(update: Update, context: BotContext, pressed: screens.CloseConfirmed) -> None:
    try:
        contest = context.services.contests.close(pressed.contest, _actor(update, context))
    except (ContestError, PermissionDenied) as error:
        await refuse(update, error)
        return
    await show(update, f"“{escape(contest['title'])}”已结束。", screens.back_to(contest["id"]))
    await update.callback_query.answer("已结束")


# --- editing before the start --------------------------------------------------------------------------

async def edit_start(update: Update, context: BotContext, pressed: screens.EditContest) -> int:
    """Choose what to change."""
    try:
        contest = context.services.contests.managed(pressed.contest, _actor(update, context))
    except PermissionDenied as error:
        await refuse(update, error)
        return ConversationHandler.END
    await show(update, *screens.edit_menu(contest))
    await update.callback_query.answer()
    return EDIT_VALUE


async def edit_field(update: Update, context: BotContext, pressed: screens.EditField) -> int:
    context.user_data["edit"] = (pressed.contest, pressed.field)
    hint = _hint(context) if pressed.field.endswith("_at") else ""
    await send(update, f"请发送新的{screens.EDITABLE[pressed.field]}。{hint}发送 /cancel 取消。")
    await update.callback_query.answer()
    return EDIT_VALUE


async def edit_value(update: Update, context: BotContext) -> int:
    if "edit" not in context.user_data:
        return ConversationHandler.END
    contest_id, field = context.user_data["edit"]
    text = (update.effective_message.text or "").strip()
    value: object = text
    if field.endswith("_at"):
        value = _moment(context, text)
    elif field in ("questions", "seconds_per_question", "min_team_size"):
        value = as_int(text)
    if value is None:
        await send(update, "格式不对。" + (_hint(context) if field.endswith("_at") else "请发送正整数。"))
        return EDIT_VALUE
    try:
        contest = context.services.contests.update(contest_id, _actor(update, context), **{field: value})
    except (ContestError, PermissionDenied) as error:
        await send(update, escape(str(error)) + " 请重新发送，或 /cancel 取消。")
        return EDIT_VALUE
    context.user_data.pop("edit", None)
    await send(update, f"已修改“{escape(contest['title'])}”的{screens.EDITABLE[field]}。", screens.back_to(contest_id))
    return ConversationHandler.END


# --- creating a contest step by step -------------------------------------------------------------------

def _draft(context: BotContext) -> dict:
    return context.user_data.setdefault("new_contest", {})


async def create_start(update: Update, context: BotContext, pressed: screens.NewContest | None = None) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    scope = _actor(update, context).scope(ORGANISER)
    if scope is None:
        await send(update, screens.NOT_ORGANISER, main_menu_keyboard())
        return ConversationHandler.END
    context.user_data["new_contest"] = {"scope": scope}
    await send(update, "新建竞赛（随时发送 /cancel 取消）。\n第 1 步：请发送<b>竞赛名称</b>，不超过 60 个字。")
    return TITLE


async def got_title(update: Update, context: BotContext) -> int:
    title = (update.effective_message.text or "").strip()
    try:
        check_title(title)
    except ContestError as error:
        await send(update, escape(str(error)) + " 请重新发送。")
        return TITLE
    _draft(context)["title"] = title
    await send(update, "第 2 步：请发送<b>竞赛说明</b>（给参赛者看的一两句话），或点“跳过”。",
               [[Button("跳过", screens.WizardSkip())]])
    return DESCRIPTION


async def got_description(update: Update, context: BotContext, pressed: screens.WizardSkip | None = None) -> int:
    draft = _draft(context)
    if update.callback_query is None:
        draft["description"] = (update.effective_message.text or "").strip()[:300]
    else:
        await update.callback_query.answer()
    if draft["scope"] != PROVINCE:  # an organiser of one 市县 runs contests for it only
        draft["regions"] = [draft["scope"]]
        await send(update, f"第 3 步：竞赛面向{escape(draft['scope'])}的参赛者。")
        return await _ask_start(update, context)
    await send(update, *screens.region_step())
    return REGION


async def _ask_start(update: Update, context: BotContext) -> int:
    await send(update, *screens.start_step(example_moment(context.services.contests.clock(),
                                                          context.services.config.tz)))
    return START


async def got_region(update: Update, context: BotContext, pressed: screens.WizardRegion) -> int:
    if pressed.index >= len(REGIONS):
        await stale(update)
        return REGION
    _draft(context)["regions"] = [REGIONS[pressed.index][0]]
    await update.callback_query.answer()
    return await _ask_start(update, context)


async def got_province(update: Update, context: BotContext, pressed: screens.WizardProvince) -> int:
    _draft(context)["regions"] = None
    await update.callback_query.answer()
    return await _ask_start(update, context)


async def got_start(update: Update, context: BotContext, pressed: screens.WizardNow | None = None) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
        start = context.services.contests.clock()
    else:
        start = _moment(context, update.effective_message.text or "")
        if start is None:
            await send(update, *screens.start_step(example_moment(context.services.contests.clock(),
                                                                  context.services.config.tz)))
            return START
    _draft(context)["starts_at"] = start
    await send(update, *screens.duration_step())
    return DURATION


async def got_duration(update: Update, context: BotContext, pressed: screens.WizardHours | None = None) -> int:
    draft = _draft(context)
    if pressed is not None:
        await update.callback_query.answer()
        draft["ends_at"] = draft["starts_at"] + timedelta(hours=pressed.hours)
    else:
        end = _moment(context, update.effective_message.text or "")
        if end is None:
            await send(update, "时间格式不对。" + _hint(context))
            return DURATION
        draft["ends_at"] = end
    await send(update, *screens.count_step())
    return COUNT


async def got_count(update: Update, context: BotContext, pressed: screens.WizardCount | None = None) -> int:
    if pressed is not None:
        await update.callback_query.answer()
        count = pressed.count
    else:
        count = as_int((update.effective_message.text or "").strip())
    try:
        check_question_count(count)
    except ContestError as error:
        await send(update, escape(str(error)) + " 请发送一个数字。")
        return COUNT
    _draft(context)["questions"] = count
    _draft(context)["categories"] = []
    await send(update, *screens.category_step(context.services.knowledge.kb.categories, []))
    return CATEGORIES


async def got_category(update: Update, context: BotContext, pressed: screens.WizardCategory) -> int:
    categories = context.services.knowledge.kb.categories
    if pressed.index >= len(categories):
        await stale(update)
        return CATEGORIES
    chosen = _draft(context)["categories"]
    name = categories[pressed.index]
    chosen.remove(name) if name in chosen else chosen.append(name)
    await show(update, *screens.category_step(categories, chosen))
    await update.callback_query.answer()
    return CATEGORIES


async def categories_done(update: Update, context: BotContext, pressed: screens.WizardCategoriesDone) -> int:
    await send(update, *screens.seconds_step())
    await update.callback_query.answer()
    return SECONDS


async def got_seconds(update: Update, context: BotContext, pressed: screens.WizardSeconds) -> int:
    _draft(context)["seconds_per_question"] = pressed.seconds
    await send(update, *screens.team_size_step())
    await update.callback_query.answer()
    return TEAM_SIZE


async def got_team_size(update: Update, context: BotContext, pressed: screens.WizardTeamSize) -> int:
    _draft(context)["min_team_size"] = pressed.size
    await send(update, *screens.bonus_step())
    await update.callback_query.answer()
    return BONUS


def _spec(draft: dict) -> ContestSpec:
    return ContestSpec(title=draft["title"], description=draft.get("description", ""), starts_at=draft["starts_at"],
                       ends_at=draft["ends_at"], questions=draft["questions"],
                       seconds_per_question=draft["seconds_per_question"], categories=draft["categories"] or None,
                       regions=draft.get("regions"), min_team_size=draft.get("min_team_size", 3),
                       speed_bonus=draft.get("speed_bonus", False), mode=draft.get("mode", "self"))


async def got_bonus(update: Update, context: BotContext, pressed: screens.WizardBonus) -> int:
    _draft(context)["speed_bonus"] = pressed.on
    await send(update, *screens.mode_step())
    await update.callback_query.answer()
    return MODE


async def got_mode(update: Update, context: BotContext, pressed: screens.WizardMode) -> int:
    draft = _draft(context)
    draft["mode"] = "live" if pressed.live else "self"
    await update.callback_query.answer()
    spec = _spec(draft)
    contests = context.services.contests
    try:
        contests.validate(spec)
    except ContestError as exc:
        await send(update, f"设置有问题：{escape(str(exc))}\n请发送 /newcontest 重新设置。", main_menu_keyboard())
        context.user_data.pop("new_contest", None)
        return ConversationHandler.END
    await send(update, *screens.preview(spec, len(contests.candidates(spec)), context.services.config.tz))
    return CONFIRM


async def confirm(update: Update, context: BotContext, pressed: screens.WizardConfirm) -> int:
    query = update.callback_query
    draft = context.user_data.pop("new_contest", None)
    await query.answer()
    if not pressed.create or not draft:
        await show(update, "已取消，没有创建竞赛。", main_menu_keyboard())
        return ConversationHandler.END
    try:
        contest = context.services.contests.create(_spec(draft), _actor(update, context))
    except (ContestError, PermissionDenied) as exc:
        await show(update, f"没有创建：{escape(str(exc))}", main_menu_keyboard())
        return ConversationHandler.END
    await show(update, *screens.created(contest))
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    context.user_data.pop("new_contest", None)
    context.user_data.pop("edit", None)
    await send(update, "已取消。", main_menu_keyboard())
    return ConversationHandler.END


def register(application) -> None:
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[CommandHandler("newcontest", create_start), on_button(screens.NewContest, create_start)],
        states={
            TITLE: [MessageHandler(text, got_title)],
            DESCRIPTION: [MessageHandler(text, got_description), on_button(screens.WizardSkip, got_description)],
            REGION: [on_button(screens.WizardRegion, got_region), on_button(screens.WizardProvince, got_province)],
            START: [MessageHandler(text, got_start), on_button(screens.WizardNow, got_start)],
            DURATION: [MessageHandler(text, got_duration), on_button(screens.WizardHours, got_duration)],
            COUNT: [MessageHandler(text, got_count), on_button(screens.WizardCount, got_count)],
            CATEGORIES: [on_button(screens.WizardCategory, got_category),
                         on_button(screens.WizardCategoriesDone, categories_done)],
            SECONDS: [on_button(screens.WizardSeconds, got_seconds)],
            TEAM_SIZE: [on_button(screens.WizardTeamSize, got_team_size)],
            BONUS: [on_button(screens.WizardBonus, got_bonus)],
            MODE: [on_button(screens.WizardMode, got_mode)],
            CONFIRM: [on_button(screens.WizardConfirm, confirm)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        conversation_timeout=1800, allow_reentry=True,
        name="new_contest",
    ))
    application.add_handler(ConversationHandler(
        entry_points=[on_button(screens.EditContest, edit_start)],
        states={EDIT_VALUE: [on_button(screens.EditField, edit_field), MessageHandler(text, edit_value)]},
        fallbacks=[CommandHandler("cancel", cancel)],
        conversation_timeout=900, allow_reentry=True,
        name="edit_contest",
    ))
    application.add_handler(CommandHandler("contests", my_contests))
    for kind, callback in [(screens.MyContests, my_contests), (screens.ManageContest, manage),
                           (screens.ExportResults, export), (screens.BoardLink, board_link),
                           (screens.CloseContest, close_ask),
                           (screens.CloseConfirmed, close_confirmed)]:
        application.add_handler(on_button(kind, callback))
