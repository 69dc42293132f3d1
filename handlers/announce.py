"""公告: bureaus compose and broadcast announcements; users read them, unsubscribe in one tap, choose what they get."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from datetime import datetime, time as day_time

from telegram import Bot, ChatMember, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (Application, CallbackQueryHandler, ChatMemberHandler, CommandHandler, ConversationHandler,
                          MessageHandler, filters)

from bot.accounts import REGION_NAMES, pick_regions
from bot.announcements import (BLOCKED, DELIVERED, FAILED, RETRY, RETRY_AFTER, ROLE_FILTERS, UNKNOWN,
                               AnnouncementError, Broadcaster, Draft, Media, SendResult, Summary)
from bot.knowledge import render_summary
from bot.render import Button, Keyboard, callback, escape, grid, parse_callback
from bot.screens import region_ticks
from bot.transport import DeliveryUnknown, RetryingRequest
from bot.roles import PROVINCE, PermissionDenied
from handlers.common import markup, send, show, stale
from handlers.context import BotContext

log = logging.getLogger(__name__)
COMPOSE, AUDIENCE, ROLE, PREVIEW, SCHEDULE = range(30, 35)
TIP_TIME = day_time(9, 0)
BAR_WIDTH = 20


def progress_text(summary: Summary, finished: bool) -> str:
    filled = int(BAR_WIDTH * summary.done / summary.total) if summary.total else BAR_WIDTH
    bar = "▓" * filled + "░" * (BAR_WIDTH - filled)
    if not finished:
        return f"📤 正在发送公告\n{bar}\n已发送 {summary.done:,} / {summary.total:,}"
    lines = [f"✅ 公告发送完毕（共 {summary.total:,} 人）", f"送达：{summary.sent:,}", f"已屏蔽机器人：{summary.blocked:,}",
             f"失败：{summary.failed:,}"]
    if summary.ambiguous:
        lines.append(f"不确定（发送时程序中断，未重发）：{summary.ambiguous:,}")
    if summary.cancelled:
        lines.append(f"已取消未发送：{summary.cancelled:,}")
    return "\n".join(lines)


def announcement_body(announcement: dict, bureau_label: str) -> str:
    if announcement["kind"] == "tip":
        return f"💡 <b>每日质量小贴士</b>\n\n{announcement['text']}"
    return f"📢 <b>{escape(bureau_label)}公告</b>\n\n{escape(announcement['text'])}"


def _label(announcement: dict) -> str:
    regions = json.loads(announcement["regions"])
    return "省住建厅" if len(regions) > 1 else f"{regions[0]}住建局"


def unsubscribe_keyboard(announcement: dict) -> Keyboard:
    kind = "tip" if announcement["kind"] == "tip" else "ann"
    return [[Button("退订" + ("小贴士" if kind == "tip" else "公告"), callback("un", kind))]]


async def make_sender(application: Application):
    """A second Bot for broadcasts: its own connections and no shared rate limiter, so that waiting out a RetryAfter
    during a broadcast never holds up the replies to people asking questions."""
    config = application.bot_data["services"].config
    bot = Bot(config.effective_token, base_url=config.base_url or "https://api.telegram.org/bot",
              base_file_url=config.base_file_url or "https://api.telegram.org/file/bot",
              request=RetryingRequest(connection_pool_size=16, read_timeout=config.api_timeout, write_timeout=20))
    await bot.initialize()

    async def send_one(user_id: int, announcement: dict) -> SendResult:
        text = announcement_body(announcement, _label(announcement))
        keyboard = markup(unsubscribe_keyboard(announcement))
        try:
            if announcement["media_kind"] == "photo":
                await bot.send_photo(user_id, announcement["media_file_id"], caption=text, parse_mode=ParseMode.HTML,
                                     reply_markup=keyboard)
            elif announcement["media_kind"] == "document":
                await bot.send_document(user_id, announcement["media_file_id"], caption=text,
                                        parse_mode=ParseMode.HTML, reply_markup=keyboard)
            else:
                await bot.send_message(user_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
        except RetryAfter as exc:
            retry = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after
            return SendResult(RETRY_AFTER, retry_after=float(retry), error="retry_after")
        except Forbidden as exc:
            return SendResult(BLOCKED, error=str(exc)[:200])
        except BadRequest as exc:
            return SendResult(FAILED, error=str(exc)[:200])
        except DeliveryUnknown as exc:  # it may have arrived: never sent again
            return SendResult(UNKNOWN, error=str(exc)[:200])
        except (TimedOut, NetworkError) as exc:  # it did not arrive
            return SendResult(RETRY, error=f"{type(exc).__name__}: {str(exc)[:180]}")
        return SendResult(DELIVERED)

    return bot, send_one


def start_broadcast(application: Application, announcement_id: int) -> None:
    """Deliver in the background; the bot keeps answering meanwhile."""
    services = application.bot_data["services"]
    running: dict = application.bot_data.setdefault("broadcasts", {})
    if announcement_id in running:
        return

    async def report(announcement_id: int, summary: Summary) -> None:
        announcement = services.storage.announcement(announcement_id)
        if not announcement["progress_chat_id"]:
            return
        finished = summary.pending == 0
        keyboard = None if finished else markup([[Button("取消发送", callback("nx", announcement_id))]])
        with contextlib.suppress(BadRequest, Forbidden, NetworkError):
            await application.bot.edit_message_text(progress_text(summary, finished), announcement["progress_chat_id"],
                                                    announcement["progress_message_id"], reply_markup=keyboard)

    broadcaster = Broadcaster(services.announcements, application.bot_data["broadcast_send"],
                              services.config.broadcast_rate, progress=report)

    async def run() -> None:
        try:
            summary = await broadcaster.run(announcement_id)
            log.info("Announcement %s: %s", announcement_id, summary)
        except Exception:
            log.exception("Announcement %s: broadcast stopped by an error; it resumes at the next start", announcement_id)
        finally:
            running.pop(announcement_id, None)

    running[announcement_id] = (broadcaster, asyncio.create_task(run()))


# --- reading, unsubscribing, settings -------------------------------------------------------------------

async def notices(update: Update, context: BotContext) -> None:
    """公告 in the main menu: recent announcements of my 市县, settings, and publishing for bureaus."""
    services = context.services
    user = services.accounts.touch(update.effective_user.id, update.effective_user.first_name,
                                   update.effective_user.username)
    items = services.announcements.for_user(user)
    tz = services.config.tz
    lines = [f"<b>{escape(user.get('region') or '')}公告</b>"]
    keyboard: Keyboard = []
    for item in items:
        created = datetime.fromisoformat(item["created_at"]).astimezone(tz)
        preview = (item["text"] or ("[图片]" if item["media_kind"] == "photo" else "[文件]"))[:18]
        keyboard.append([Button(f"{created:%m-%d} {preview}", callback("nv", item["id"]))])
    if not items:
        lines.append("最近没有公告。" if user.get("region") else "请先在“我的”里选择市县。")
    keyboard.append([Button("订阅设置", callback("ns"))])
    if services.roles.is_bureau(user["id"]):
        keyboard.append([Button("发布公告", callback("nn")), Button("信息报送", callback("rq"))])
    await show(update, "\n".join(lines), keyboard)
    if update.callback_query is not None:
        await update.callback_query.answer()


async def view(update: Update, context: BotContext) -> None:
    """nv:<id>: one announcement (only those addressed to the reader's 市县)."""
    parts = parse_callback(update.callback_query.data)
    services = context.services
    user = services.accounts.get(update.effective_user.id) or {}
    announcement = services.storage.announcement(int(parts[1])) if len(parts) == 2 and parts[1].isdigit() else None
    if announcement is None or user.get("region") not in json.loads(announcement["regions"]):
        await stale(update)
        return
    body = announcement_body(announcement, _label(announcement))
    if announcement["media_kind"] == "photo":
        await update.effective_chat.send_photo(announcement["media_file_id"], caption=body, parse_mode=ParseMode.HTML)
    elif announcement["media_kind"] == "document":
        await update.effective_chat.send_document(announcement["media_file_id"], caption=body,
                                                  parse_mode=ParseMode.HTML)
    else:
        await send(update, body)
    await update.callback_query.answer()


def _settings_screen(context: BotContext, user_id: int) -> tuple[str, Keyboard]:
    user = context.services.accounts.get(user_id)
    daily = context.services.storage.daily_subscription(user_id)
    on = lambda flag: "✅ 开" if flag else "⬜ 关"  # noqa: E731
    keyboard = [[Button(f"公告 {on(user['notify_announcements'])}", callback("nt", "ann"))],
                [Button(f"质量小贴士 {on(user['notify_tips'])}", callback("nt", "tip"))],
                [Button(f"每日一题 {on(daily and daily['enabled'])}", callback("pd"))]]
    return "<b>订阅设置</b>\n点按钮即可开关。", keyboard


async def settings(update: Update, context: BotContext) -> None:
    """ns: what the user receives."""
    context.services.accounts.touch(update.effective_user.id, update.effective_user.first_name,
                                    update.effective_user.username)
    await show(update, *_settings_screen(context, update.effective_user.id))
    await update.callback_query.answer()


async def toggle(update: Update, context: BotContext) -> None:
    """nt:ann|tip"""
    parts = parse_callback(update.callback_query.data)
    user = context.services.accounts.get(update.effective_user.id)
    if user is None or len(parts) != 2 or parts[1] not in ("ann", "tip"):
        await stale(update)
        return
    if parts[1] == "ann":
        context.services.announcements.set_subscription(user["id"], announcements=not user["notify_announcements"])
    else:
        context.services.announcements.set_subscription(user["id"], tips=not user["notify_tips"])
    await show(update, *_settings_screen(context, user["id"]))
    await update.callback_query.answer("已更新")


async def unsubscribe(update: Update, context: BotContext) -> None:
    """un:ann|tip: one tap under every announcement."""
    parts = parse_callback(update.callback_query.data)
    if len(parts) != 2 or parts[1] not in ("ann", "tip"):
        await stale(update)
        return
    context.services.accounts.touch(update.effective_user.id, update.effective_user.first_name,
                                    update.effective_user.username)
    flag = {"announcements": False} if parts[1] == "ann" else {"tips": False}
    context.services.announcements.set_subscription(update.effective_user.id, **flag)
    await update.callback_query.answer("已退订。可在“公告 → 订阅设置”里重新开启。", show_alert=True)


async def member_changed(update: Update, context: BotContext) -> None:
    """The user blocked (kicked) or unblocked the bot: stop or resume sending to them at once."""
    change = update.my_chat_member
    if change.chat.type != "private":
        return
    status = change.new_chat_member.status
    active = status not in (ChatMember.BANNED, ChatMember.LEFT)
    if context.services.storage.get_user(change.from_user.id) is not None:
        context.services.storage.update_user(change.from_user.id, active=int(active))


# --- composing ---------------------------------------------------------------------------------------

def _draft(context: BotContext) -> dict:
    return context.user_data.setdefault("announcement", {})


async def compose_start(update: Update, context: BotContext) -> int:
    """nn and /announce: bureau users only."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    try:
        scope = context.services.roles.require(update.effective_user.id, "bureau")
    except PermissionDenied as error:
        await send(update, escape(str(error)))
        return ConversationHandler.END
    context.user_data["announcement"] = {"scope": scope}
    await send(update, "发布公告（随时 /cancel 取消）。\n请发送公告内容：文字，或一张图片/一个文件（可以带说明文字）。")
    return COMPOSE


async def got_content(update: Update, context: BotContext) -> int:
    message = update.effective_message
    draft = _draft(context)
    if message.photo:
        photo = message.photo[-1]
        draft["media"] = Media("photo", photo.file_id, None, photo.file_size)
        draft["text"] = message.caption or ""
    elif message.document:
        document = message.document
        draft["media"] = Media("document", document.file_id, document.file_name, document.file_size)
        draft["text"] = message.caption or ""
    else:
        draft["media"] = None
        draft["text"] = message.text or ""
    try:
        context.services.announcements.validate(update.effective_user.id, Draft(draft["text"], draft["media"], []))
    except (AnnouncementError, PermissionDenied) as error:
        await send(update, escape(str(error)) + " 请重新发送，或 /cancel 取消。")
        return COMPOSE
    if draft["scope"] == PROVINCE:
        draft["regions"] = []
        await send(update, *_region_screen(draft))
        return AUDIENCE
    draft["regions"] = [draft["scope"]]
    await send(update, *_role_screen())
    return ROLE


def _region_screen(draft: dict) -> tuple[str, Keyboard]:
    keyboard = region_ticks("na", draft["regions"], len(REGION_NAMES), "全选")
    return f"发给哪些市县？已选 {len(draft['regions'])} 个。", keyboard


def _role_screen() -> tuple[str, Keyboard]:
    buttons = [Button("全部人员", callback("nr", "all"))] + [Button(label, callback("nr", key))
                                                          for key, label in ROLE_FILTERS.items()]
    return "只发给某类人员吗？", grid(buttons, 2)


async def got_region(update: Update, context: BotContext) -> int:
    query = update.callback_query
    parts = parse_callback(query.data)
    draft = _draft(context)
    if parts[1:] == ["done"]:
        if not draft["regions"]:
            await query.answer("请至少选择一个市县。")
            return AUDIENCE
        await send(update, *_role_screen())
        await query.answer()
        return ROLE
    if len(parts) != 2 or not pick_regions(draft["regions"], parts[1], REGION_NAMES):
        await stale(update)
        return AUDIENCE
    await show(update, *_region_screen(draft))
    await query.answer()
    return AUDIENCE


def _as_draft(draft: dict) -> Draft:
    return Draft(draft["text"], draft.get("media"), draft["regions"], draft.get("role"))


async def got_role(update: Update, context: BotContext) -> int:
    query = update.callback_query
    parts = parse_callback(query.data)
    draft = _draft(context)
    if len(parts) != 2 or not (parts[1] == "all" or parts[1] in ROLE_FILTERS):
        await stale(update)
        return ROLE
    draft["role"] = None if parts[1] == "all" else parts[1]
    await query.answer()
    try:
        count = len(context.services.announcements.recipients(update.effective_user.id, _as_draft(draft)))
    except (AnnouncementError, PermissionDenied) as error:
        await send(update, escape(str(error)))
        return ConversationHandler.END
    regions = "、".join(draft["regions"]) if len(draft["regions"]) < 21 else "全省"
    audience = f"{regions}{'（' + ROLE_FILTERS[draft['role']] + '）' if draft.get('role') else ''}"
    media = {"photo": "（附图片）", "document": "（附文件）"}.get(draft["media"].kind) if draft.get("media") else ""
    preview = (f"<b>公告预览</b>{media}\n\n{escape(draft['text']) or '（无文字）'}\n\n"
               f"发送范围：{escape(audience)}\n接收人数：<b>{count:,}</b> 人")
    if count == 0:
        await send(update, preview + "\n\n所选范围内没有可以接收公告的用户，没有发送。")
        context.user_data.pop("announcement", None)
        return ConversationHandler.END
    await send(update, preview, [[Button("立即发送", callback("np", "now")), Button("定时发送", callback("np", "later"))],
                                 [Button("取消", callback("np", "no"))]])
    return PREVIEW


async def _create(update: Update, context: BotContext, scheduled_at: datetime | None) -> int:
    draft = context.user_data.pop("announcement", None)
    if not draft:
        return ConversationHandler.END
    progress = None if scheduled_at else await update.effective_chat.send_message("📤 准备发送……")
    try:
        announcement = context.services.announcements.create(
            update.effective_user.id, _as_draft(draft), scheduled_at,
            progress_chat_id=update.effective_chat.id if progress else None)
    except (AnnouncementError, PermissionDenied) as error:
        await send(update, f"没有发送：{escape(str(error))}")
        return ConversationHandler.END
    if progress is not None:
        context.services.storage.update_announcement(announcement["id"], {"progress_message_id": progress.message_id})
        start_broadcast(context.application, announcement["id"])
    else:
        tz = context.services.config.tz
        await send(update, f"已安排在 {scheduled_at.astimezone(tz):%Y-%m-%d %H:%M} 发送。")
    return ConversationHandler.END


async def got_decision(update: Update, context: BotContext) -> int:
    query = update.callback_query
    choice = parse_callback(query.data)[1:]
    await query.answer()
    if choice == ["now"]:
        return await _create(update, context, None)
    if choice == ["later"]:
        await send(update, "请发送发送时间，格式如“2025-09-20 09:00”（北京时间）。")
        return SCHEDULE
    context.user_data.pop("announcement", None)
    await send(update, "已取消，公告没有发送。")
    return ConversationHandler.END


async def got_schedule(update: Update, context: BotContext) -> int:
    try:
        moment = datetime.fromisoformat((update.effective_message.text or "").strip().replace("/", "-"))
    except ValueError:
        await send(update, "时间格式不对，请按“2025-09-20 09:00”发送。")
        return SCHEDULE
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=context.services.config.tz)
    if moment <= context.services.announcements.clock():
        await send(update, "这个时间已经过去了，请发送以后的时间。")
        return SCHEDULE
    return await _create(update, context, moment)


async def cancel_compose(update: Update, context: BotContext) -> int:
    context.user_data.pop("announcement", None)
    await send(update, "已取消，公告没有发送。")
    return ConversationHandler.END


async def cancel_broadcast(update: Update, context: BotContext) -> None:
    """nx:<id>: stop a running broadcast (the author or an administrator)."""
    query = update.callback_query
    parts = parse_callback(query.data)
    if len(parts) != 2 or not parts[1].isdigit():
        await stale(update)
        return
    try:
        summary = context.services.announcements.cancel(int(parts[1]), update.effective_user.id)
    except (AnnouncementError, PermissionDenied) as error:
        await query.answer(str(error), show_alert=True)
        return
    await show(update, progress_text(summary, finished=True))
    await query.answer("已取消")


# --- background work -----------------------------------------------------------------------------------

async def start_due(context: BotContext) -> None:
    """Every 30 s: scheduled announcements whose time has come."""
    services = context.application.bot_data["services"]
    now = services.announcements.clock().isoformat(timespec="milliseconds")
    for announcement in services.storage.due_announcements(now):
        if services.announcements.start_scheduled(announcement["id"]):
            start_broadcast(context.application, announcement["id"])


async def daily_tip(context: BotContext) -> None:
    """Once a day: a knowledge card to everyone who keeps 小贴士 on."""
    services = context.application.bot_data["services"]
    tz = services.config.tz
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    if services.storage.tip_created_since(today.astimezone().isoformat()):
        return
    topic = random.choice(list(services.knowledge.kb.topics.values()))
    text = render_summary(topic) + "\n\n想了解更多，直接问我：“" + escape(topic.questions[0]) + "”"
    tip = services.announcements.create_tip(text, list(REGION_NAMES))
    if tip is not None:
        start_broadcast(context.application, tip["id"])


async def on_startup(application: Application) -> None:
    bot, send_one = await make_sender(application)
    application.bot_data["broadcast_bot"] = bot
    application.bot_data["broadcast_send"] = send_one
    services = application.bot_data["services"]
    for announcement_id in services.announcements.recover_after_crash():
        start_broadcast(application, announcement_id)
    application.job_queue.run_repeating(start_due, interval=30, first=3, name="scheduled-announcements")
    application.job_queue.run_daily(daily_tip, TIP_TIME.replace(tzinfo=services.config.tz), name="daily-tip")


async def on_shutdown(application: Application) -> None:
    """Let in-flight messages finish; what is left stays pending for the next start."""
    running = application.bot_data.get("broadcasts", {})
    for broadcaster, _ in running.values():
        broadcaster.stop()
    tasks = [task for _, task in running.values()]
    if tasks:
        await asyncio.wait(tasks, timeout=15)
    bot = application.bot_data.get("broadcast_bot")
    if bot is not None:
        await bot.shutdown()


def register(application) -> None:
    content = (filters.TEXT & ~filters.COMMAND) | filters.PHOTO | filters.Document.ALL
    application.add_handler(ConversationHandler(
        entry_points=[CallbackQueryHandler(compose_start, pattern=r"^nn$"), CommandHandler("announce", compose_start)],
        states={
            COMPOSE: [MessageHandler(content, got_content)],
            AUDIENCE: [CallbackQueryHandler(got_region, r"^na:")],
            ROLE: [CallbackQueryHandler(got_role, r"^nr:")],
            PREVIEW: [CallbackQueryHandler(got_decision, r"^np:")],
            SCHEDULE: [MessageHandler(filters.TEXT & ~filters.COMMAND, got_schedule)],
        },
        fallbacks=[CommandHandler("cancel", cancel_compose)],
        conversation_timeout=1800,
        name="announce",
    ))
    application.add_handler(CallbackQueryHandler(notices, pattern=r"^menu:notice$"))
    application.add_handler(CommandHandler("notices", notices))
    for pattern, handler in [(r"^nv:", view), (r"^ns$", settings), (r"^nt:", toggle), (r"^un:", unsubscribe),
                             (r"^nx:", cancel_broadcast)]:
        application.add_handler(CallbackQueryHandler(handler, pattern=pattern))
    application.add_handler(ChatMemberHandler(member_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    application.bot_data.setdefault("startup", []).append(on_startup)
    application.bot_data.setdefault("shutdown", []).append(on_shutdown)
