"""信息报送 in chat: the province asks, 市县 bureaus submit text, photos and files, the province collects a ZIP."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.accounts import pick_regions
from bot.policy import PermissionDenied
from bot.reports import MAX_FILE_BYTES, ReportError, pack_archive
from bot.render import Button, escape
from bot.ui import reports as screens
from bot.ui.menu import main_menu_keyboard
from bot.when import example_moment, parse_moment
from handlers.common import markup, on_button, refuse, send, show, stale
from handlers.context import BotContext

log = logging.getLogger(__name__)
TITLE, INSTRUCTIONS, DEADLINE, SCOPE, CONFIRM = range(40, 45)
COLLECT = 50


async def reports_menu(update: Update, context: BotContext, pressed: screens.ReportsMenu | None = None) -> None:
    """信息报送 and /reports: what this bureau must submit, or (province) what it asked for."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    try:
        overview = context.services.reports.overview(update.effective_user.id)
    except PermissionDenied as error:
        await send(update, escape(str(error)), main_menu_keyboard())
        return
    await show(update, *screens.menu(*overview, context.services.config.tz))


# --- the province ------------------------------------------------------------------------------------

async def status(update: Update, context: BotContext, pressed: screens.RequestStatus) -> None:
    """已报送 / 未报送 per 市县."""
    reports = context.services.reports
    try:
        request, rows = reports.status(update.effective_user.id, pressed.request)
    except (ReportError, PermissionDenied) as error:
        await refuse(update, error)
        return
    await update.callback_query.answer()
    unreachable = set(reports.unreachable([row.region for row in rows if not row.submitted_at]))
    await send(update, *screens.status_table(request, rows, unreachable, context.services.config.tz))


async def download(update: Update, context: BotContext, pressed: screens.DownloadReports) -> None:
    """Everything as a ZIP, one folder per 市县."""
    try:
        contents = context.services.reports.gather(update.effective_user.id, pressed.request)
    except (ReportError, PermissionDenied) as error:
        await refuse(update, error)
        return
    await update.callback_query.answer("正在打包……")  # before the slow work: old presses cannot be answered
    data = await asyncio.to_thread(pack_archive, *contents, context.services.config.tz)
    await update.effective_chat.send_document(data, filename=f"report-{pressed.request}.zip",
                                              caption="各市县报送材料")


async def chase(update: Update, context: BotContext, pressed: screens.ChaseReports) -> None:
    """催报: remind every 市县 that has not submitted."""
    try:
        request, missing = context.services.reports.chase(update.effective_user.id, pressed.request)
    except (ReportError, PermissionDenied) as error:
        await refuse(update, error)
        return
    await update.callback_query.answer("正在发送催报……")
    sent = await notify(context.application, request, "⏰ <b>省住建厅催报</b>", missing)
    await send(update, f"已向 {len(missing)} 个未报送市县的 {sent} 位住建局用户发送催报。",
               [[Button("« 报送情况", screens.RequestStatus(request["id"]))]])


def _draft(context: BotContext) -> dict:
    return context.user_data.setdefault("report_request", {})


async def new_request(update: Update, context: BotContext, pressed: screens.NewRequest) -> int:
    await update.callback_query.answer()
    if not context.services.reports.may_ask(update.effective_user.id):
        await send(update, "只有省住建厅（全省范围的住建局用户）或管理员可以发起报送。", main_menu_keyboard())
        return ConversationHandler.END
    context.user_data["report_request"] = {}
    await send(update, "新建报送要求（/cancel 取消）。\n第 1 步：请发送<b>标题</b>，如“质量月活动总结报送”。")
    return TITLE


async def got_title(update: Update, context: BotContext) -> int:
    _draft(context)["title"] = (update.effective_message.text or "").strip()[:60]
    await send(update, "第 2 步：请说明<b>需要报送什么</b>（如：活动总结、图片、宣传资料）。")
    return INSTRUCTIONS


def _deadline_hint(context: BotContext) -> str:
    example = example_moment(context.services.reports.clock(), context.services.config.tz)
    return f"如“明天下午6点”或“{example}”（北京时间）"


async def got_instructions(update: Update, context: BotContext) -> int:
    _draft(context)["instructions"] = (update.effective_message.text or "").strip()[:1000]
    await send(update, f"第 3 步：请发送<b>截止时间</b>，{_deadline_hint(context)}。")
    return DEADLINE


async def got_deadline(update: Update, context: BotContext) -> int:
    moment = parse_moment(update.effective_message.text or "", context.services.reports.clock(),
                          context.services.config.tz)
    if moment is None:
        await send(update, f"时间格式不对，{_deadline_hint(context)}。")
        return DEADLINE
    _draft(context)["deadline"] = moment
    _draft(context)["regions"] = []
    await send(update, *screens.region_step([]))
    return SCOPE


async def got_scope(update: Update, context: BotContext, pressed: screens.RequestRegion) -> int:
    query = update.callback_query
    draft = _draft(context)
    if pressed.pick == "done":
        await query.answer()
        regions = draft["regions"] or list(screens.REPORTING_REGIONS)
        unreachable = context.services.reports.unreachable(regions)
        await send(update, *screens.request_preview(draft, regions, unreachable, context.services.config.tz))
        return CONFIRM
    if not pick_regions(draft["regions"], pressed.pick, screens.REPORTING_REGIONS):
        await stale(update)
        return SCOPE
    await show(update, *screens.region_step(draft["regions"]))
    await query.answer()
    return SCOPE


async def confirm_request(update: Update, context: BotContext, pressed: screens.RequestConfirm) -> int:
    draft = context.user_data.pop("report_request", None)
    await update.callback_query.answer()
    if not pressed.create or not draft:
        await show(update, "已取消。", main_menu_keyboard())
        return ConversationHandler.END
    reports = context.services.reports
    try:
        request = reports.create(update.effective_user.id, draft["title"], draft["instructions"],
                                 draft["deadline"], draft["regions"] or None)
    except (ReportError, PermissionDenied) as error:
        await show(update, f"没有发起：{escape(str(error))}", main_menu_keyboard())
        return ConversationHandler.END
    notified = await notify(context.application, request, "📋 <b>省住建厅信息报送要求</b>",
                           reports.regions_of(request))
    await show(update, *screens.created(request, notified))
    return ConversationHandler.END


async def notify(application: Application, request: dict, heading: str, regions: list[str]) -> int:
    """Tell the bureau users of these 市县; returns how many were told."""
    services = application.bot_data.services
    text, keyboard = screens.notice(request, heading, services.config.tz)
    sent = 0
    for user_id in services.reports.recipients(regions):
        with contextlib.suppress(Forbidden):
            await application.bot.send_message(user_id, text, parse_mode=ParseMode.HTML, reply_markup=markup(keyboard))
            sent += 1
    return sent


# --- a 市县 bureau submits ------------------------------------------------------------------------------

async def begin(update: Update, context: BotContext, pressed: screens.BeginSubmission) -> int:
    """Collect several messages, then 提交."""
    reports = context.services.reports
    try:
        request, region = reports.submitter(update.effective_user.id, pressed.request)
    except (ReportError, PermissionDenied) as error:
        await refuse(update, error)
        return ConversationHandler.END
    context.user_data["report"] = pressed.request
    await send(update, *screens.submission_start(request, region, reports.earlier_submission(request["id"], region),
                                                 context.services.config.tz))
    await update.callback_query.answer()
    return COLLECT


async def collect(update: Update, context: BotContext) -> int:
    request_id = context.user_data.get("report")
    if request_id is None:
        return ConversationHandler.END
    message = update.effective_message
    reports = context.services.reports
    try:
        if message.photo or message.document:
            media = message.photo[-1] if message.photo else message.document
            if media.file_size and media.file_size > MAX_FILE_BYTES:
                raise ReportError("文件超过 20 MB，机器人无法接收。请压缩后再发。")
            content = bytes(await (await context.bot.get_file(media.file_id)).download_as_bytearray())
            name = message.document.file_name if message.document else f"photo-{message.message_id}.jpg"
            count = reports.add(update.effective_user.id, request_id, "document" if message.document else "photo",
                                text=message.caption, file_name=name, content=content)
        else:
            count = reports.add(update.effective_user.id, request_id, "text", text=message.text)
    except (ReportError, PermissionDenied) as error:
        await send(update, escape(str(error)))
        return COLLECT
    except TelegramError as error:
        log.warning("Could not download a report file: %s", error)
        await send(update, "文件下载失败，请重新发送。")
        return COLLECT
    await send(update, f"已收到，共 {count} 项。继续发送，或点“提交”。", screens.collect_keyboard(request_id))
    return COLLECT


async def submit_ask(update: Update, context: BotContext, pressed: screens.SubmitAsk) -> int:
    """Confirm before replacing an earlier submission."""
    await send(update, *screens.submit_question(pressed.request))
    await update.callback_query.answer()
    return COLLECT


async def submit(update: Update, context: BotContext, pressed: screens.SubmitConfirmed) -> int:
    try:
        count = context.services.reports.submit(update.effective_user.id, pressed.request)
    except (ReportError, PermissionDenied) as error:
        await refuse(update, error)
        return COLLECT
    context.user_data.pop("report", None)
    await show(update, *screens.submitted(count))
    await update.callback_query.answer("已报送")
    return ConversationHandler.END


async def keep_editing(update: Update, context: BotContext, pressed: screens.KeepEditing) -> int:
    await update.callback_query.answer("请继续发送材料，完成后点“提交”。")
    return COLLECT


async def discard(update: Update, context: BotContext, pressed: screens.DiscardDrafts) -> int:
    try:
        context.services.reports.discard(update.effective_user.id, pressed.request)
    except (ReportError, PermissionDenied) as error:
        await refuse(update, error)
        return COLLECT
    await update.callback_query.answer("已清空未提交的材料")
    return COLLECT


async def cancel(update: Update, context: BotContext) -> int:
    context.user_data.pop("report", None)
    context.user_data.pop("report_request", None)
    await send(update, "已退出。未提交的材料会保留，下次点“开始报送”可以继续添加。", main_menu_keyboard())
    return ConversationHandler.END


async def remind(context: BotContext) -> None:
    """Hourly: remind the bureaus that have not submitted, three days and one day before the deadline."""
    services = context.application.bot_data.services
    for request, region, kind in services.reports.reminders_due():
        heading = "⏰ <b>报送提醒</b>（距截止还有" + ("3 天" if kind == "3d" else "1 天") + "）"
        await notify(context.application, request, heading, [region])


async def _schedule(application) -> None:
    application.job_queue.run_repeating(remind, interval=3600, first=10, name="report-reminders")


def register(application) -> None:
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[on_button(screens.NewRequest, new_request)],
        states={TITLE: [MessageHandler(text, got_title)], INSTRUCTIONS: [MessageHandler(text, got_instructions)],
                DEADLINE: [MessageHandler(text, got_deadline)], SCOPE: [on_button(screens.RequestRegion, got_scope)],
                CONFIRM: [on_button(screens.RequestConfirm, confirm_request)]},
        fallbacks=[CommandHandler("cancel", cancel)], conversation_timeout=1800, allow_reentry=True, name="report_request"))
    application.add_handler(ConversationHandler(
        entry_points=[on_button(screens.BeginSubmission, begin)],
        states={COLLECT: [MessageHandler(text | filters.PHOTO | filters.Document.ALL, collect),
                          on_button(screens.SubmitAsk, submit_ask), on_button(screens.SubmitConfirmed, submit),
                          on_button(screens.KeepEditing, keep_editing), on_button(screens.DiscardDrafts, discard)]},
        fallbacks=[CommandHandler("cancel", cancel)], conversation_timeout=3600, allow_reentry=True, name="report_submit"))
    application.add_handler(CommandHandler("reports", reports_menu))
    for kind, callback in [(screens.ReportsMenu, reports_menu), (screens.RequestStatus, status),
                           (screens.DownloadReports, download), (screens.ChaseReports, chase)]:
        application.add_handler(on_button(kind, callback))
    application.bot_data.on_start.append(_schedule)
