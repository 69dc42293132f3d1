"""信息报送 in chat: the province asks, 市县 bureaus submit text, photos and files, the province collects a ZIP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.accounts import REGION_NAMES, pick_regions
from bot.contests import parse_iso
from bot.render import Button, Keyboard, callback, escape, parse_callback
from bot.screens import region_ticks
from bot.reports import MAX_FILE_BYTES, ReportError, pack_archive
from bot.roles import PROVINCE, PermissionDenied
from handlers.common import markup, send, show, stale
from handlers.context import BotContext

# 省直属 units do not report; every 市县 and 洋浦 does.
REPORTING_REGIONS = REGION_NAMES[:-1]
log = logging.getLogger(__name__)
TITLE, INSTRUCTIONS, DEADLINE, SCOPE, CONFIRM = range(40, 45)
COLLECT = 50
TIME_HINT = "格式如“2025-09-30 18:00”（北京时间）"


def _local(text: str, context: BotContext) -> str:
    return f"{parse_iso(text).astimezone(context.services.config.tz):%Y-%m-%d %H:%M}"


async def _refuse(update: Update, error: Exception) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(str(error), show_alert=True)
    else:
        await send(update, escape(str(error)))


async def reports_menu(update: Update, context: BotContext) -> None:
    """rq and /reports: what this bureau must submit, or (province) what it asked for."""
    services = context.services
    user_id = update.effective_user.id
    scope = services.roles.scope(user_id, "bureau")
    if update.callback_query is not None:
        await update.callback_query.answer()
    if scope is None:
        await send(update, "只有住建局用户可以使用信息报送。")
        return
    requests = services.reports.open_for(user_id)
    keyboard: Keyboard = []
    if scope == PROVINCE:
        keyboard += [[Button(f"{r['title']}（截止 {_local(r['deadline'], context)[5:]}）", callback("rs", r["id"]))]
                     for r in requests[:15]]
        keyboard.append([Button("➕ 新建报送要求", callback("rn"))])
        text = "<b>信息报送</b>（省级）：点击查看各市县报送情况"
    else:
        submitted = {r["id"]: services.storage.report_submissions(r["id"]).get(scope) for r in requests}
        keyboard += [[Button(("✅ " if submitted[r["id"]] else "📝 ") + r["title"], callback("rb", r["id"]))]
                     for r in requests[:15]]
        text = f"<b>信息报送</b>（{escape(scope)}）" + ("" if requests else "\n暂无需要报送的事项。")
    await send(update, text, keyboard)


# --- the province ------------------------------------------------------------------------------------

async def status(update: Update, context: BotContext) -> None:
    """rs:<id>: 已报送 / 未报送 per 市县."""
    parts = parse_callback(update.callback_query.data)
    if len(parts) != 2 or not parts[1].isdigit():
        await stale(update)
        return
    try:
        request, rows = context.services.reports.status(update.effective_user.id, int(parts[1]))
    except (ReportError, PermissionDenied) as error:
        await _refuse(update, error)
        return
    done = sum(1 for r in rows if r.submitted_at)
    lines = [f"<b>{escape(request['title'])}</b>", f"截止：{_local(request['deadline'], context)}，已报送 {done}/{len(rows)}"]
    for row in rows:
        if row.submitted_at:
            lines.append(f"✅ {row.region} {_local(row.submitted_at, context)[5:]} "
                         f"{escape(row.submitted_by or '')}（{row.items} 项）")
        else:
            lines.append(f"❌ {row.region} 未报送")
    await send(update, "\n".join(lines), [[Button("下载全部材料（ZIP）", callback("rz", request["id"]))]])
    await update.callback_query.answer()


async def download(update: Update, context: BotContext) -> None:
    """rz:<id>: everything as a ZIP, one folder per 市县."""
    query = update.callback_query
    parts = parse_callback(query.data)
    if len(parts) != 2 or not parts[1].isdigit():
        await stale(update)
        return
    try:
        contents = context.services.reports.gather(update.effective_user.id, int(parts[1]))
    except (ReportError, PermissionDenied) as error:
        await _refuse(update, error)
        return
    data = await asyncio.to_thread(pack_archive, *contents, context.services.config.tz)
    await query.answer("正在打包……")
    await update.effective_chat.send_document(data, filename=f"report-{parts[1]}.zip", caption="各市县报送材料")


def _draft(context: BotContext) -> dict:
    return context.user_data.setdefault("report_request", {})


async def new_request(update: Update, context: BotContext) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    if context.services.roles.scope(update.effective_user.id, "bureau") != PROVINCE:
        await send(update, "只有省住建厅（全省范围的住建局用户）或管理员可以发起报送。")
        return ConversationHandler.END
    context.user_data["report_request"] = {}
    await send(update, "新建报送要求（/cancel 取消）。\n第 1 步：请发送<b>标题</b>，如“2025年质量月活动总结报送”。")
    return TITLE


async def got_title(update: Update, context: BotContext) -> int:
    _draft(context)["title"] = (update.effective_message.text or "").strip()[:60]
    await send(update, "第 2 步：请说明<b>需要报送什么</b>（如：活动总结、图片、宣传资料）。")
    return INSTRUCTIONS


async def got_instructions(update: Update, context: BotContext) -> int:
    _draft(context)["instructions"] = (update.effective_message.text or "").strip()[:1000]
    await send(update, f"第 3 步：请发送<b>截止时间</b>，{TIME_HINT}。")
    return DEADLINE


async def got_deadline(update: Update, context: BotContext) -> int:
    try:
        moment = datetime.fromisoformat((update.effective_message.text or "").strip().replace("/", "-"))
    except ValueError:
        await send(update, f"时间格式不对，{TIME_HINT}。")
        return DEADLINE
    _draft(context)["deadline"] = moment.replace(tzinfo=context.services.config.tz) if moment.tzinfo is None else moment
    _draft(context)["regions"] = []
    await send(update, *_scope_screen(_draft(context)))
    return SCOPE


def _scope_screen(draft: dict) -> tuple[str, Keyboard]:
    keyboard = region_ticks("rg", draft["regions"], len(REPORTING_REGIONS), "全部市县")
    return f"第 4 步：哪些市县需要报送？已选 {len(draft['regions'])} 个（不选即全部）。", keyboard


async def got_scope(update: Update, context: BotContext) -> int:
    query = update.callback_query
    parts = parse_callback(query.data)
    draft = _draft(context)
    if parts[1:] == ["done"]:
        await query.answer()
        regions = draft["regions"] or list(REPORTING_REGIONS)
        tz = context.services.config.tz
        await send(update, f"<b>请确认</b>\n标题：{escape(draft['title'])}\n要求：{escape(draft['instructions'])}\n"
                           f"截止：{draft['deadline'].astimezone(tz):%Y-%m-%d %H:%M}\n报送单位：{len(regions)} 个市县",
                   [[Button("确认发起", callback("ry", "ok")), Button("取消", callback("ry", "no"))]])
        return CONFIRM
    if len(parts) != 2 or not pick_regions(draft["regions"], parts[1], REPORTING_REGIONS):
        await stale(update)
        return SCOPE
    await show(update, *_scope_screen(draft))
    await query.answer()
    return SCOPE


async def confirm_request(update: Update, context: BotContext) -> int:
    query = update.callback_query
    draft = context.user_data.pop("report_request", None)
    await query.answer()
    if parse_callback(query.data)[1:] != ["ok"] or not draft:
        await show(update, "已取消。")
        return ConversationHandler.END
    services = context.services
    try:
        request = services.reports.create(update.effective_user.id, draft["title"], draft["instructions"],
                                          draft["deadline"], draft["regions"] or None)
    except (ReportError, PermissionDenied) as error:
        await show(update, f"没有发起：{escape(str(error))}")
        return ConversationHandler.END
    notified = await notify(context, request, "📋 <b>省住建厅信息报送要求</b>")
    await show(update, f"已发起“{escape(request['title'])}”，已通知 {notified} 位市县住建局用户。",
               [[Button("查看报送情况", callback("rs", request["id"]))]])
    return ConversationHandler.END


async def notify(context: BotContext, request: dict, heading: str, regions: list[str] | None = None) -> int:
    services = context.application.bot_data["services"]
    text = (f"{heading}\n{escape(request['title'])}\n要求：{escape(request['instructions'])}\n"
            f"截止：{_local(request['deadline'], context)}")
    sent = 0
    for region in regions or services.reports.regions_of(request):
        for user_id in services.storage.bureau_users(region):
            with contextlib.suppress(Forbidden):
                await context.bot.send_message(user_id, text, parse_mode=ParseMode.HTML,
                                               reply_markup=markup([[Button("开始报送", callback("rb", request["id"]))]]))
                sent += 1
    return sent


# --- a 市县 bureau submits ------------------------------------------------------------------------------

async def begin(update: Update, context: BotContext) -> int:
    """rb:<id>: collect several messages, then 提交."""
    query = update.callback_query
    parts = parse_callback(query.data)
    if len(parts) != 2 or not parts[1].isdigit():
        await stale(update)
        return ConversationHandler.END
    request_id = int(parts[1])
    services = context.services
    try:
        request, region = services.reports.submitter(update.effective_user.id, request_id)
    except (ReportError, PermissionDenied) as error:
        await _refuse(update, error)
        return ConversationHandler.END
    context.user_data["report"] = request_id
    earlier = services.storage.report_submissions(request_id).get(region)
    note = f"\n已于 {_local(earlier['submitted_at'], context)} 报送过；重新提交会替换之前的材料。" if earlier else ""
    await send(update, f"<b>{escape(request['title'])}</b>（{escape(region)}）\n要求：{escape(request['instructions'])}\n"
                       f"截止：{_local(request['deadline'], context)}{note}\n\n"
                       "请发送文字、图片或文件，可以发多条；全部发完后点“提交”。", _collect_keyboard(request_id))
    await query.answer()
    return COLLECT


def _collect_keyboard(request_id: int) -> Keyboard:
    return [[Button("提交", callback("rx", request_id)), Button("清空重来", callback("rd", request_id))]]


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
    await send(update, f"已收到，共 {count} 项。继续发送，或点“提交”。", _collect_keyboard(request_id))
    return COLLECT


async def submit_ask(update: Update, context: BotContext) -> int:
    """rx:<id>: confirm before replacing an earlier submission."""
    parts = parse_callback(update.callback_query.data)
    request_id = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None
    if request_id is None:
        await stale(update)
        return COLLECT
    await send(update, "确认提交吗？提交后省住建厅即可查看；截止前可以重新提交（会替换本次材料）。",
               [[Button("确认提交", callback("rX", request_id)), Button("再改改", callback("rk", request_id))]])
    await update.callback_query.answer()
    return COLLECT


async def submit(update: Update, context: BotContext) -> int:
    query = update.callback_query
    parts = parse_callback(query.data)
    if len(parts) != 2 or not parts[1].isdigit():
        await stale(update)
        return COLLECT
    try:
        count = context.services.reports.submit(update.effective_user.id, int(parts[1]))
    except (ReportError, PermissionDenied) as error:
        await _refuse(update, error)
        return COLLECT
    context.user_data.pop("report", None)
    await show(update, f"✅ 已报送，共 {count} 项材料。")
    await query.answer("已报送")
    return ConversationHandler.END


async def keep_editing(update: Update, context: BotContext) -> int:
    await update.callback_query.answer("请继续发送材料，完成后点“提交”。")
    return COLLECT


async def discard(update: Update, context: BotContext) -> int:
    parts = parse_callback(update.callback_query.data)
    try:
        context.services.reports.discard(update.effective_user.id, int(parts[1]))
    except (ReportError, PermissionDenied, ValueError, IndexError) as error:
        await _refuse(update, error)
        return COLLECT
    await update.callback_query.answer("已清空未提交的材料")
    return COLLECT


async def cancel(update: Update, context: BotContext) -> int:
    context.user_data.pop("report", None)
    context.user_data.pop("report_request", None)
    await send(update, "已退出。未提交的材料会保留，下次点“开始报送”可以继续添加。")
    return ConversationHandler.END


async def remind(context: BotContext) -> None:
    """Hourly: remind the bureaus that have not submitted, three days and one day before the deadline."""
    services = context.application.bot_data["services"]
    for request, region, kind in services.reports.reminders_due():
        heading = "⏰ <b>报送提醒</b>（距截止还有" + ("3 天" if kind == "3d" else "1 天") + "）"
        await notify(context, request, heading, [region])


async def _schedule(application) -> None:
    application.job_queue.run_repeating(remind, interval=3600, first=10, name="report-reminders")


def register(application) -> None:
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[CallbackQueryHandler(new_request, pattern=r"^rn$")],
        states={TITLE: [MessageHandler(text, got_title)], INSTRUCTIONS: [MessageHandler(text, got_instructions)],
                DEADLINE: [MessageHandler(text, got_deadline)], SCOPE: [CallbackQueryHandler(got_scope, r"^rg:")],
                CONFIRM: [CallbackQueryHandler(confirm_request, r"^ry:")]},
        fallbacks=[CommandHandler("cancel", cancel)], conversation_timeout=1800, name="report_request"))
    application.add_handler(ConversationHandler(
        entry_points=[CallbackQueryHandler(begin, pattern=r"^rb:")],
        states={COLLECT: [MessageHandler(text | filters.PHOTO | filters.Document.ALL, collect),
                          CallbackQueryHandler(submit_ask, r"^rx:"), CallbackQueryHandler(submit, r"^rX:"),
                          CallbackQueryHandler(keep_editing, r"^rk:"), CallbackQueryHandler(discard, r"^rd:")]},
        fallbacks=[CommandHandler("cancel", cancel)], conversation_timeout=3600, name="report_submit"))
    application.add_handler(CommandHandler("reports", reports_menu))
    for pattern, handler in [(r"^rq$", reports_menu), (r"^rs:", status), (r"^rz:", download)]:
        application.add_handler(CallbackQueryHandler(handler, pattern=pattern))
    application.bot_data.setdefault("startup", []).append(_schedule)
