"""Organisers in chat: their contests, exports, flags, closing early, editing before the start, creating one."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.accounts import REGIONS
from bot.contests import ContestError, ContestSpec
from bot.exports import csv_bytes, workbook_bytes
from bot.render import Button, as_int, callback, escape, grid, parse_callback
from bot.webpages import qr_png
from handlers.common import send, show, stale
from handlers.context import BotContext

NOT_ORGANISER = "只有竞赛组织者或管理员可以使用这个功能。"
TITLE, DESCRIPTION, REGION, START, DURATION, COUNT, CATEGORIES, SECONDS, BONUS, CONFIRM = range(10)
EDIT_VALUE = 20
EDITABLE = {"title": "标题", "description": "说明", "starts_at": "开始时间", "ends_at": "结束时间",
            "questions": "题数", "seconds_per_question": "每题限时（秒）"}
TIME_HINT = "请按“2025-09-20 09:00”的格式发送（北京时间）。"


def _allowed(update: Update, context: BotContext) -> bool:
    return context.services.is_organiser(update.effective_user.id)


def _parse_time(text: str, context: BotContext) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        return None
    return moment.replace(tzinfo=context.services.config.tz) if moment.tzinfo is None else moment


def _managed(update: Update, context: BotContext, contest_id: int) -> dict | None:
    contest = context.services.storage.contest(contest_id)
    if contest is None or not context.services.contests.can_manage(
            contest, update.effective_user.id, context.services.is_admin(update.effective_user.id)):
        return None
    return contest


async def _pressed_contest(update: Update, context: BotContext) -> dict | None:
    """The contest a management button refers to, if the presser may manage it; otherwise the button is stale."""
    contest_id = _contest_id(update)
    contest = _managed(update, context, contest_id) if contest_id else None
    if contest is None:
        await stale(update)
    return contest


def _contest_id(update: Update) -> int | None:
    parts = parse_callback(update.callback_query.data)
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


async def my_contests(update: Update, context: BotContext) -> None:
    """/contests: the organiser's contests (all of them for administrators)."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    if not _allowed(update, context):
        await send(update, NOT_ORGANISER)
        return
    services = context.services
    user_id = update.effective_user.id
    contests = services.storage.contests(None if services.is_admin(user_id) else user_id)
    keyboard = [[Button(f"{c['title']}（{services.contests.status(c)}）", callback("om", c["id"]))] for c in contests[:20]]
    keyboard.append([Button("➕ 新建竞赛", callback("on", "new"))])
    await send(update, "<b>竞赛管理</b>" + ("" if contests else "\n还没有竞赛。"), keyboard)


async def manage(update: Update, context: BotContext) -> None:
    """om:<contest>: status, participants, flags and what can be done."""
    contest = await _pressed_contest(update, context)
    if contest is None:
        return
    contest_id = contest["id"]
    services = context.services
    status = services.contests.status(contest)
    participants = len(services.storage.contest_attempts(contest_id))
    flags = sum(f["flags"] for f in services.storage.flags(contest_id))
    text = f"<b>{escape(contest['title'])}</b>（{status}）\n参赛 {participants} 人，纠错反馈 {flags} 条"
    keyboard = [[Button("排行榜", callback("cr", contest_id)), Button("纠错反馈", callback("of", contest_id))],
                [Button("大屏排行榜链接和二维码", callback("ob", contest_id))],
                [Button("导出 Excel", callback("ox", contest_id, "x")), Button("导出 CSV", callback("ox", contest_id, "c"))]]
    if status == "未开始":
        keyboard.append([Button("修改", callback("oe", contest_id))])
    if status != "已结束":
        keyboard.append([Button("提前结束", callback("ok", contest_id))])
    await show(update, text, keyboard)
    await update.callback_query.answer()


async def export(update: Update, context: BotContext) -> None:
    """ox:<contest>:<x|c>: the results as a document."""
    query = update.callback_query
    parts = parse_callback(query.data)
    contest_id = _contest_id(update)
    contest = _managed(update, context, contest_id) if contest_id and len(parts) == 3 and parts[2] in ("x", "c") else None
    if contest is None:
        await stale(update)
        return
    await query.answer("正在生成文件……")
    board = context.services.contests.leaderboard(contest_id)
    if parts[2] == "x":
        data, name = await asyncio.to_thread(workbook_bytes, board), f"contest-{contest_id}.xlsx"
    else:
        data, name = await asyncio.to_thread(csv_bytes, board), f"contest-{contest_id}.csv"
    await update.effective_chat.send_document(data, filename=name,
                                              caption=f"{escape(contest['title'])}：个人、团队和题目统计")


async def board_link(update: Update, context: BotContext) -> None:
    """ob:<contest>: the big-screen link (unguessable) and a QR code people in the hall scan to join."""
    contest = await _pressed_contest(update, context)
    if contest is None:
        return
    contest_id = contest["id"]
    services = context.services
    link = f"{services.config.web_url}/board/{contest['board_token']}"
    join = f"https://t.me/{services.bot_username}?start=c_{contest_id}"
    await send(update, f"大屏排行榜（在活动现场的电脑浏览器打开，全屏显示）：\n{escape(link)}\n\n"
                       f"参赛链接：{escape(join)}\n下面的二维码可以投到大屏上，现场人员扫码即可参赛。")
    picture = await asyncio.to_thread(qr_png, join)
    await update.effective_chat.send_photo(picture, caption="扫码参加：" + escape(contest["title"]))
    await update.callback_query.answer()


async def flags(update: Update, context: BotContext) -> None:
    """of:<contest>: questions participants marked as wrong."""
    contest = await _pressed_contest(update, context)
    if contest is None:
        return
    contest_id = contest["id"]
    bank = context.services.knowledge.bank
    rows = context.services.storage.flags(contest_id)
    lines = [f"<b>{escape(contest['title'])} 纠错反馈</b>"]
    for row in rows[:30]:
        question = bank.questions.get(row["question_id"])
        stem = escape(question.stem) if question else "（题目已删除）"
        lines.append(f"• {row['flags']} 人：[{row['question_id']}] {stem}")
    if not rows:
        lines.append("暂无纠错反馈。")
    await send(update, "\n".join(lines))
    await update.callback_query.answer()


async def close_ask(update: Update, context: BotContext) -> None:
    """ok:<contest>: ask for confirmation; closing cannot be undone."""
    contest = await _pressed_contest(update, context)
    if contest is None:
        return
    contest_id = contest["id"]
    await show(update, f"确定要提前结束“{escape(contest['title'])}”吗？结束后不能再答题，此操作不可撤销。",
               [[Button("确定结束", callback("oK", contest_id)), Button("取消", callback("om", contest_id))]])
    await update.callback_query.answer()


async def close_confirmed(update: Update, context: BotContext) -> None:
    contest_id = _contest_id(update)
    if contest_id is None:
        await stale(update)
        return
    user_id = update.effective_user.id
    try:
        contest = context.services.contests.close(contest_id, user_id, context.services.is_admin(user_id))
    except ContestError as exc:
        await update.callback_query.answer(str(exc), show_alert=True)
        return
    await show(update, f"“{escape(contest['title'])}”已结束。", [[Button("排行榜", callback("cr", contest_id))]])
    await update.callback_query.answer("已结束")


# --- editing before the start --------------------------------------------------------------------------

async def edit_start(update: Update, context: BotContext) -> int:
    """oe:<contest>: choose what to change."""
    contest = await _pressed_contest(update, context)
    if contest is None:
        return ConversationHandler.END
    contest_id = contest["id"]
    keyboard = grid([Button(label, callback("oF", contest_id, key)) for key, label in EDITABLE.items()], 2)
    await show(update, f"修改“{escape(contest['title'])}”：请选择要修改的项目。", keyboard)
    await update.callback_query.answer()
    return EDIT_VALUE


async def edit_field(update: Update, context: BotContext) -> int:
    parts = parse_callback(update.callback_query.data)
    if len(parts) != 3 or parts[2] not in EDITABLE or not parts[1].isdigit():
        await stale(update)
        return ConversationHandler.END
    context.user_data["edit"] = (int(parts[1]), parts[2])
    hint = TIME_HINT if parts[2].endswith("_at") else ""
    await send(update, f"请发送新的{EDITABLE[parts[2]]}。{hint}发送 /cancel 取消。")
    await update.callback_query.answer()
    return EDIT_VALUE


async def edit_value(update: Update, context: BotContext) -> int:
    if "edit" not in context.user_data:
        return ConversationHandler.END
    contest_id, field = context.user_data["edit"]
    text = (update.effective_message.text or "").strip()
    value: object = text
    if field.endswith("_at"):
        value = _parse_time(text, context)
    elif field in ("questions", "seconds_per_question"):
        value = as_int(text)
    if value is None:
        await send(update, "格式不对。" + (TIME_HINT if field.endswith("_at") else "请发送正整数。"))
        return EDIT_VALUE
    user_id = update.effective_user.id
    try:
        contest = context.services.contests.update(contest_id, user_id, context.services.is_admin(user_id),
                                                   **{field: value})
    except ContestError as exc:
        await send(update, escape(str(exc)) + " 请重新发送，或 /cancel 取消。")
        return EDIT_VALUE
    context.user_data.pop("edit", None)
    await send(update, f"已修改“{escape(contest['title'])}”的{EDITABLE[field]}。",
               [[Button("返回竞赛管理", callback("om", contest_id))]])
    return ConversationHandler.END


# --- creating a contest step by step -------------------------------------------------------------------

def _draft(context: BotContext) -> dict:
    return context.user_data.setdefault("new_contest", {})


async def create_start(update: Update, context: BotContext) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    if not _allowed(update, context):
        await send(update, NOT_ORGANISER)
        return ConversationHandler.END
    context.user_data["new_contest"] = {}
    await send(update, "新建竞赛（随时发送 /cancel 取消）。\n第 1 步：请发送<b>竞赛名称</b>，不超过 60 个字。")
    return TITLE


async def got_title(update: Update, context: BotContext) -> int:
    title = (update.effective_message.text or "").strip()
    if not title or len(title) > 60:
        await send(update, "名称不能为空，且不超过 60 个字。")
        return TITLE
    _draft(context)["title"] = title
    await send(update, "第 2 步：请发送<b>竞赛说明</b>（给参赛者看的一两句话），或点“跳过”。",
               [[Button("跳过", callback("nc", "skip"))]])
    return DESCRIPTION


async def got_description(update: Update, context: BotContext) -> int:
    if update.callback_query is None:
        _draft(context)["description"] = (update.effective_message.text or "").strip()[:300]
    else:
        await update.callback_query.answer()
    buttons = [Button("全省", callback("nc", "region", "all"))] + \
        [Button(short, callback("nc", "region", i)) for i, (_, short) in enumerate(REGIONS)]
    await send(update, "第 3 步：竞赛面向哪里的参赛者？", grid(buttons, 4))
    return REGION


async def got_region(update: Update, context: BotContext) -> int:
    parts = parse_callback(update.callback_query.data)
    if len(parts) != 3 or not (parts[2] == "all" or (parts[2].isdigit() and int(parts[2]) < len(REGIONS))):
        await stale(update)
        return REGION
    _draft(context)["regions"] = None if parts[2] == "all" else [REGIONS[int(parts[2])][0]]
    await update.callback_query.answer()
    await send(update, "第 4 步：什么时候开始？点“立即开始”，或发送开始时间。" + TIME_HINT,
               [[Button("立即开始", callback("nc", "now"))]])
    return START


async def got_start(update: Update, context: BotContext) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
        start = context.services.contests.clock()
    else:
        start = _parse_time(update.effective_message.text or "", context)
        if start is None:
            await send(update, "时间格式不对。" + TIME_HINT)
            return START
    _draft(context)["starts_at"] = start
    options = [("1 小时", 1), ("半天", 4), ("1 天", 24), ("3 天", 72), ("7 天", 168)]
    await send(update, "第 5 步：竞赛持续多久？（也可以直接发送结束时间）",
               [[Button(label, callback("nc", "hours", hours)) for label, hours in options]])
    return DURATION


async def got_duration(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    if update.callback_query is not None:
        parts = parse_callback(update.callback_query.data)
        if len(parts) != 3 or not parts[2].isdigit():
            await stale(update)
            return DURATION
        await update.callback_query.answer()
        draft["ends_at"] = draft["starts_at"] + timedelta(hours=int(parts[2]))
    else:
        end = _parse_time(update.effective_message.text or "", context)
        if end is None:
            await send(update, "时间格式不对。" + TIME_HINT)
            return DURATION
        draft["ends_at"] = end
    await send(update, "第 6 步：每人答几道题？（也可以发送 1–100 的数字）",
               [[Button(str(n), callback("nc", "count", n)) for n in (10, 20, 30)]])
    return COUNT


async def got_count(update: Update, context: BotContext) -> int:
    if update.callback_query is not None:
        parts = parse_callback(update.callback_query.data)
        count = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else None
        await update.callback_query.answer()
    else:
        text = (update.effective_message.text or "").strip()
        count = as_int(text)
    if count is None or not 1 <= count <= 100:
        await send(update, "请发送 1–100 之间的数字。")
        return COUNT
    _draft(context)["questions"] = count
    _draft(context)["categories"] = []
    await send(update, *_category_screen(context))
    return CATEGORIES


def _category_screen(context: BotContext):
    chosen = _draft(context)["categories"]
    categories = context.services.knowledge.kb.categories
    buttons = [Button(("☑ " if name in chosen else "☐ ") + name, callback("nc", "cat", i))
               for i, name in enumerate(categories)]
    keyboard = grid(buttons, 2) + [[Button("完成（不选即全部题库）", callback("nc", "catdone"))]]
    return "第 7 步：从哪些分类出题？可多选。", keyboard


async def got_category(update: Update, context: BotContext) -> int:
    query = update.callback_query
    parts = parse_callback(query.data)
    categories = context.services.knowledge.kb.categories
    if parts[1:2] == ["catdone"]:
        await query.answer()
        await send(update, "第 8 步：每题限时多少秒？",
                   [[Button(f"{n} 秒", callback("nc", "sec", n)) for n in (20, 30, 60)]])
        return SECONDS
    if len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) >= len(categories):
        await stale(update)
        return CATEGORIES
    chosen = _draft(context)["categories"]
    name = categories[int(parts[2])]
    chosen.remove(name) if name in chosen else chosen.append(name)
    await show(update, *_category_screen(context))
    await query.answer()
    return CATEGORIES


async def got_seconds(update: Update, context: BotContext) -> int:
    parts = parse_callback(update.callback_query.data)
    if len(parts) != 3 or not parts[2].isdigit():
        await stale(update)
        return SECONDS
    _draft(context)["seconds_per_question"] = int(parts[2])
    await update.callback_query.answer()
    await send(update, "第 9 步：是否开启速度加分（答对且答得快，每题最多再加 5 分）？",
               [[Button("开启", callback("nc", "bonus", 1)), Button("不开启", callback("nc", "bonus", 0))]])
    return BONUS


def _spec(draft: dict) -> ContestSpec:
    return ContestSpec(title=draft["title"], description=draft.get("description", ""), starts_at=draft["starts_at"],
                       ends_at=draft["ends_at"], questions=draft["questions"],
                       seconds_per_question=draft["seconds_per_question"], categories=draft["categories"] or None,
                       regions=draft.get("regions"), speed_bonus=draft.get("speed_bonus", False))


async def got_bonus(update: Update, context: BotContext) -> int:
    query = update.callback_query
    draft = _draft(context)
    draft["speed_bonus"] = parse_callback(query.data)[-1] == "1"
    await query.answer()
    spec = _spec(draft)
    tz = context.services.config.tz
    try:
        context.services.contests.validate(spec)
    except ContestError as exc:
        await send(update, f"设置有问题：{escape(str(exc))}\n请发送 /newcontest 重新设置。")
        context.user_data.pop("new_contest", None)
        return ConversationHandler.END
    available = len(context.services.contests.candidates(spec))
    preview = (f"<b>请确认新建竞赛</b>\n名称：{escape(spec.title)}\n说明：{escape(spec.description or '无')}\n"
               f"范围：{escape('、'.join(spec.regions) if spec.regions else '全省')}\n"
               f"时间：{spec.starts_at.astimezone(tz):%Y-%m-%d %H:%M} 至 {spec.ends_at.astimezone(tz):%Y-%m-%d %H:%M}\n"
               f"题目：每人 {spec.questions} 题，每题 {spec.seconds_per_question} 秒，"
               f"速度加分{'开启' if spec.speed_bonus else '关闭'}\n"
               f"出题分类：{escape('、'.join(spec.categories) if spec.categories else '全部')}（可选题 {available} 道）")
    await send(update, preview, [[Button("确认创建", callback("nc", "ok")), Button("取消", callback("nc", "no"))]])
    return CONFIRM


async def confirm(update: Update, context: BotContext) -> int:
    query = update.callback_query
    draft = context.user_data.pop("new_contest", None)
    if parse_callback(query.data)[1:] != ["ok"] or not draft or not _allowed(update, context):
        await show(update, "已取消，没有创建竞赛。")
        await query.answer()
        return ConversationHandler.END
    try:
        contest = context.services.contests.create(_spec(draft), update.effective_user.id)
    except ContestError as exc:
        await show(update, f"没有创建：{escape(str(exc))}")
        await query.answer()
        return ConversationHandler.END
    await show(update, f"竞赛“{escape(contest['title'])}”已创建。参赛者在主菜单“答题竞赛”里就能看到。",
               [[Button("竞赛管理", callback("om", contest["id"]))]])
    await query.answer("已创建")
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    context.user_data.pop("new_contest", None)
    context.user_data.pop("edit", None)
    await send(update, "已取消。")
    return ConversationHandler.END


def register(application) -> None:
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[CommandHandler("newcontest", create_start),
                      CallbackQueryHandler(create_start, pattern=r"^on:new$")],
        states={
            TITLE: [MessageHandler(text, got_title)],
            DESCRIPTION: [MessageHandler(text, got_description), CallbackQueryHandler(got_description, r"^nc:skip$")],
            REGION: [CallbackQueryHandler(got_region, r"^nc:region:")],
            START: [MessageHandler(text, got_start), CallbackQueryHandler(got_start, r"^nc:now$")],
            DURATION: [MessageHandler(text, got_duration), CallbackQueryHandler(got_duration, r"^nc:hours:")],
            COUNT: [MessageHandler(text, got_count), CallbackQueryHandler(got_count, r"^nc:count:")],
            CATEGORIES: [CallbackQueryHandler(got_category, r"^nc:cat")],
            SECONDS: [CallbackQueryHandler(got_seconds, r"^nc:sec:")],
            BONUS: [CallbackQueryHandler(got_bonus, r"^nc:bonus:")],
            CONFIRM: [CallbackQueryHandler(confirm, r"^nc:(ok|no)$")],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        conversation_timeout=1800,
        name="new_contest",
    ))
    application.add_handler(ConversationHandler(
        entry_points=[CallbackQueryHandler(edit_start, pattern=r"^oe:")],
        states={EDIT_VALUE: [CallbackQueryHandler(edit_field, r"^oF:"), MessageHandler(text, edit_value)]},
        fallbacks=[CommandHandler("cancel", cancel)],
        conversation_timeout=900,
        name="edit_contest",
    ))
    application.add_handler(CommandHandler("contests", my_contests))
    application.add_handler(CallbackQueryHandler(my_contests, pattern=r"^org:list$"))
    for pattern, handler in [(r"^om:", manage), (r"^ox:", export), (r"^ob:", board_link), (r"^of:", flags), (r"^ok:", close_ask),
                             (r"^oK:", close_confirmed)]:
        application.add_handler(CallbackQueryHandler(handler, pattern=pattern))
