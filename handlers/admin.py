"""Administrators' team management in chat: list teams with their codes and links, create a team step by step;
/reload of the knowledge base."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.accounts import REGIONS, AccountError, TeamSpec, check_company, check_headcount, check_team_name
from bot.knowledge import KnowledgeError
from bot.policy import PermissionDenied
from bot.render import as_int, escape
from bot.ui import teams as screens
from bot.ui.menu import main_menu_keyboard
from handlers.common import on_button, send, show, stale
from handlers.context import BotContext

NAME, REGION, COMPANY, HEADCOUNT, CONFIRM = range(5)


async def list_teams(update: Update, context: BotContext, pressed: screens.TeamList | None = None) -> None:
    """团队管理 and /teams: every team with its code and deep link."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    try:
        teams = context.services.accounts.teams_for(context.services.roles.actor(update.effective_user.id))
    except PermissionDenied as error:
        await send(update, escape(str(error)), main_menu_keyboard())
        return
    await send(update, *screens.team_list(teams, context.bot.username))


async def new_team(update: Update, context: BotContext, pressed: screens.NewTeam | None = None) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    if not context.services.roles.is_admin(update.effective_user.id):
        await send(update, "只有管理员可以管理团队。", main_menu_keyboard())
        return ConversationHandler.END
    context.user_data["new_team"] = {}
    await send(update, "新建团队。请发送<b>团队（项目部）名称</b>，不超过 40 个字。发送 /cancel 取消。")
    return NAME


async def got_name(update: Update, context: BotContext) -> int:
    name = (update.effective_message.text or "").strip()
    try:
        check_team_name(name)
    except AccountError as error:
        await send(update, escape(str(error)) + " 请重新发送。")
        return NAME
    context.user_data["new_team"]["name"] = name
    await send(update, *screens.region_step())
    return REGION


async def got_region(update: Update, context: BotContext, pressed: screens.TeamRegion) -> int:
    if pressed.index >= len(REGIONS):
        await stale(update)
        return REGION
    context.user_data["new_team"]["region"] = REGIONS[pressed.index][0]
    await show(update, "请发送<b>施工单位</b>名称，或点“跳过”。", screens.SKIP)
    await update.callback_query.answer()
    return COMPANY


async def got_company(update: Update, context: BotContext, pressed: screens.TeamSkip | None = None) -> int:
    if update.callback_query is None:
        company = (update.effective_message.text or "").strip()
        try:
            check_company(company)
        except AccountError as error:
            await send(update, escape(str(error)) + " 请重新发送。")
            return COMPANY
        context.user_data["new_team"]["company"] = company or None
    await send(update, "请发送团队<b>申报人数</b>（用于计算参与率），或点“跳过”。", screens.SKIP)
    if update.callback_query is not None:
        await update.callback_query.answer()
    return HEADCOUNT


async def got_headcount(update: Update, context: BotContext, pressed: screens.TeamSkip | None = None) -> int:
    draft = context.user_data["new_team"]
    if update.callback_query is None:
        headcount = as_int((update.effective_message.text or "").strip())
        try:
            check_headcount(headcount)
        except AccountError as error:
            await send(update, escape(str(error)) + "例如 45，或点“跳过”。", screens.SKIP)
            return HEADCOUNT
        draft["headcount"] = headcount
    await send(update, *screens.preview(draft))
    if update.callback_query is not None:
        await update.callback_query.answer()
    return CONFIRM


async def confirm(update: Update, context: BotContext, pressed: screens.TeamConfirm) -> int:
    draft = context.user_data.pop("new_team", None)
    if not pressed.create or not draft:
        await show(update, "已取消，没有创建团队。", main_menu_keyboard())
        await update.callback_query.answer("已取消")
        return ConversationHandler.END
    try:
        team = context.services.accounts.create_team(TeamSpec(**draft),
                                                     context.services.roles.actor(update.effective_user.id))
    except (AccountError, PermissionDenied) as error:
        await show(update, escape(str(error)), main_menu_keyboard())
        await update.callback_query.answer()
        return ConversationHandler.END
    await show(update, *screens.created(team, context.bot.username))
    await update.callback_query.answer("已创建")
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    context.user_data.pop("new_team", None)
    await send(update, "已取消，没有创建团队。", main_menu_keyboard())
    return ConversationHandler.END


async def reload_knowledge(update: Update, context: BotContext) -> None:
    """/reload: rebuild the index from knowledge/; a knowledge base that fails the check is refused."""
    if not context.services.roles.is_admin(update.effective_user.id):
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
        entry_points=[on_button(screens.NewTeam, new_team), CommandHandler("newteam", new_team)],
        states={
            NAME: [MessageHandler(text, got_name)],
            REGION: [on_button(screens.TeamRegion, got_region)],
            COMPANY: [MessageHandler(text, got_company), on_button(screens.TeamSkip, got_company)],
            HEADCOUNT: [MessageHandler(text, got_headcount), on_button(screens.TeamSkip, got_headcount)],
            CONFIRM: [on_button(screens.TeamConfirm, confirm)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        conversation_timeout=900, allow_reentry=True,
        name="new_team",
    ))
    application.add_handler(on_button(screens.TeamList, list_teams))
    application.add_handler(CommandHandler("teams", list_teams))
    application.add_handler(CommandHandler("reload", reload_knowledge))
