"""Administrators' team management in chat: list teams with their codes and links, create a team step by step."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot import screens
from bot.accounts import REGIONS, AccountError, TeamSpec
from bot.knowledge import KnowledgeError
from bot.render import Button, as_int, callback, escape, parse_callback
from handlers.common import send, show, stale
from handlers.context import BotContext

NAME, REGION, COMPANY, HEADCOUNT, CONFIRM = range(5)
SKIP = [[Button("跳过", callback("admin", "skip"))]]
NOT_ALLOWED = "只有管理员可以管理团队。"


def _is_admin(update: Update, context: BotContext) -> bool:
    return context.services.is_admin(update.effective_user.id)


async def list_teams(update: Update, context: BotContext) -> None:
    """admin:teams and /teams: every team with its code and deep link."""
    if not _is_admin(update, context):
        await send(update, NOT_ALLOWED)
    else:
        teams = context.services.accounts.list_teams()
        await send(update, screens.team_list(teams, context.bot.username),
                   [[Button("新建团队", callback("admin", "newteam"))]])
    if update.callback_query is not None:
        await update.callback_query.answer()


async def new_team(update: Update, context: BotContext) -> int:
    allowed = _is_admin(update, context)
    if allowed:
        context.user_data["new_team"] = {}
        await send(update, "新建团队。请发送<b>团队（项目部）名称</b>，不超过 40 个字。发送 /cancel 取消。")
    else:
        await send(update, NOT_ALLOWED)
    if update.callback_query is not None:
        await update.callback_query.answer()
    return NAME if allowed else ConversationHandler.END


async def got_name(update: Update, context: BotContext) -> int:
    name = (update.effective_message.text or "").strip()
    if not name or len(name) > 40:
        await send(update, "名称不能为空，且不超过 40 个字，请重新发送。")
        return NAME
    context.user_data["new_team"]["name"] = name
    await send(update, "请选择团队所属<b>市县</b>：", screens.region_picker_for("admin"))
    return REGION


async def got_region(update: Update, context: BotContext) -> int:
    query = update.callback_query
    parts = parse_callback(query.data)
    if len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) >= len(REGIONS):
        await stale(update)
        return REGION
    context.user_data["new_team"]["region"] = REGIONS[int(parts[2])][0]
    await show(update, "请发送<b>施工单位</b>名称，或点“跳过”。", SKIP)
    await query.answer()
    return COMPANY


async def got_company(update: Update, context: BotContext) -> int:
    if update.callback_query is None:
        company = (update.effective_message.text or "").strip()
        if len(company) > 60:
            await send(update, "施工单位名称不超过 60 个字，请重新发送。")
            return COMPANY
        context.user_data["new_team"]["company"] = company or None
    await send(update, "请发送团队<b>申报人数</b>（用于计算参与率），或点“跳过”。", SKIP)
    if update.callback_query is not None:
        await update.callback_query.answer()
    return HEADCOUNT


async def got_headcount(update: Update, context: BotContext) -> int:
    draft = context.user_data["new_team"]
    if update.callback_query is None:
        text = (update.effective_message.text or "").strip()
        if as_int(text) is None or not 0 < as_int(text) <= 100000:
            await send(update, "人数请发送正整数，例如 45，或点“跳过”。", SKIP)
            return HEADCOUNT
        draft["headcount"] = int(text)
    preview = (f"<b>请确认新建团队</b>\n名称：{escape(draft['name'])}\n市县：{escape(draft['region'])}\n"
               f"施工单位：{escape(draft.get('company') or '未填')}\n人数：{draft.get('headcount') or '未填'}")
    await send(update, preview, [[Button("确认创建", callback("admin", "confirm")),
                                  Button("取消", callback("admin", "cancel"))]])
    if update.callback_query is not None:
        await update.callback_query.answer()
    return CONFIRM


async def confirm(update: Update, context: BotContext) -> int:
    query = update.callback_query
    draft = context.user_data.pop("new_team", None)
    if parse_callback(query.data)[1:] != ["confirm"] or not draft or not _is_admin(update, context):
        await show(update, "已取消，没有创建团队。")
        await query.answer("已取消")
        return ConversationHandler.END
    try:
        team = context.services.accounts.create_team(TeamSpec(**draft), created_by=update.effective_user.id)
    except AccountError as exc:
        await show(update, escape(str(exc)))
        await query.answer()
        return ConversationHandler.END
    await show(update, "团队已创建，把团队码或加入链接发给项目部成员：\n\n"
               + screens.team_line(team, context.bot.username))
    await query.answer("已创建")
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    context.user_data.pop("new_team", None)
    await send(update, "已取消，没有创建团队。")
    return ConversationHandler.END


async def reload_knowledge(update: Update, context: BotContext) -> None:
    """/reload: rebuild the index from knowledge/; a knowledge base that fails the check is refused."""
    if not _is_admin(update, context):
        await send(update, "只有管理员可以重新加载知识库。")
        return
    await send(update, "正在重新加载知识库……")
    try:
        kb = await asyncio.to_thread(context.services.knowledge.reload)
    except KnowledgeError as exc:
        lines = "\n".join(escape(str(p)) for p in exc.problems[:10])
        more = f"\n……共 {len(exc.problems)} 个问题" if len(exc.problems) > 10 else ""
        await send(update, f"知识库检查未通过，继续使用原来的版本：\n<pre>{lines}</pre>{more}")
        return
    await send(update, f"知识库已重新加载：{len(kb.topics)} 个主题。")


def register(application) -> None:
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(ConversationHandler(
        entry_points=[CallbackQueryHandler(new_team, pattern=r"^admin:newteam$"),
                      CommandHandler("newteam", new_team)],
        states={
            NAME: [MessageHandler(text, got_name)],
            REGION: [CallbackQueryHandler(got_region, pattern=r"^admin:region:")],
            COMPANY: [MessageHandler(text, got_company), CallbackQueryHandler(got_company, pattern=r"^admin:skip$")],
            HEADCOUNT: [MessageHandler(text, got_headcount),
                        CallbackQueryHandler(got_headcount, pattern=r"^admin:skip$")],
            CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^admin:(confirm|cancel)$")],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        conversation_timeout=900,
        name="new_team",
    ))
    application.add_handler(CallbackQueryHandler(list_teams, pattern=r"^admin:teams$"))
    application.add_handler(CommandHandler("teams", list_teams))
    application.add_handler(CommandHandler("reload", reload_knowledge))
