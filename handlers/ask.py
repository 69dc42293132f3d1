"""Questions in chat: free text, /ask, section buttons, follow-ups, suggestions, feedback, the topic browser."""

from __future__ import annotations

import time

from telegram import MessageEntity, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import answers, screens
from bot.qa import followup_section
from bot.render import parse_callback
from handlers.common import send, show, stale
from handlers.context import BotContext

FOLLOWUP_SECONDS = 600  # "原因呢" refers to the last answer for ten minutes


def _remember(context: BotContext, topic_id: str, question_id: int | None) -> None:
    context.user_data["last_topic"] = (topic_id, question_id, time.monotonic())


async def answer_question(update: Update, context: BotContext, text: str) -> None:
    """Search, log, and reply with an answer card, suggestions, or an honest 'not found'."""
    services = context.services
    knowledge = services.knowledge
    last = context.user_data.get("last_topic")
    if last and time.monotonic() - last[2] < FOLLOWUP_SECONDS:
        section = followup_section(knowledge.engine.normaliser.normalise(text))
        topic = knowledge.kb.get(last[0])
        if section and topic:
            await send(update, *answers.section_card(knowledge.kb, topic, section, last[1]))
            return
    answer = services.qa.ask(update.effective_user.id, update.effective_chat.id, text)
    result = answer.result
    if result.verdict == "smalltalk":
        reply = answers.THANKS if result.normalised.thanks and not result.normalised.greeting else answers.GREETING
        await send(update, reply, screens.main_menu_keyboard())
    elif result.verdict == "empty":
        await send(update, answers.EMPTY_HINT, screens.main_menu_keyboard())
    elif result.verdict == "answer":
        topic = knowledge.kb.get(result.hits[0].id)
        _remember(context, topic.id, answer.question_id)
        await send(update, *answers.answer_card(topic, answer.question_id))
    elif result.verdict == "suggest":
        await send(update, *answers.suggestions(result.hits, answer.question_id))
    else:
        await send(update, answers.NOT_FOUND, answers.not_found_keyboard())


async def on_private_text(update: Update, context: BotContext) -> None:
    """Any free text in a private chat outside another flow is a question."""
    await answer_question(update, context, update.effective_message.text or "")


async def on_group_text(update: Update, context: BotContext) -> None:
    """In a group the bot answers only when mentioned or replied to, never every message."""
    message = update.effective_message
    bot = context.bot
    mention = f"@{bot.username}"
    mentioned = any(message.parse_entity(e) == mention for e in message.entities
                    if e.type == MessageEntity.MENTION)
    replied = message.reply_to_message is not None and message.reply_to_message.from_user is not None \
        and message.reply_to_message.from_user.id == bot.id
    if mentioned or replied:
        await answer_question(update, context, (message.text or "").replace(mention, " "))


async def ask_command(update: Update, context: BotContext) -> None:
    """/ask QUESTION, in private or group chats."""
    text = " ".join(context.args or [])
    if not text.strip():
        await send(update, "请在 /ask 后面写上问题，例如：/ask 外墙渗水怎么处理")
        return
    await answer_question(update, context, text)


async def topics_command(update: Update, context: BotContext) -> None:
    """/topics and 问答 in the main menu: browse categories by buttons."""
    await show(update, *answers.categories(context.services.knowledge.kb))
    if update.callback_query is not None:
        await update.callback_query.answer()


async def on_category(update: Update, context: BotContext) -> None:
    """c:<index> / c:all."""
    query = update.callback_query
    kb = context.services.knowledge.kb
    arg = parse_callback(query.data)[1:]
    if arg == ["all"]:
        await topics_command(update, context)
        return
    screen = answers.category_topics(kb, int(arg[0])) if len(arg) == 1 and arg[0].isdigit() else None
    if screen is None:
        await stale(update)
        return
    await show(update, *screen)
    await query.answer()


def _question_id(text: str) -> int | None:
    return int(text) if text.isdigit() and int(text) > 0 else None


async def on_topic(update: Update, context: BotContext) -> None:
    """t:<topic id>:<question id>: a suggestion, a related topic or a browsed topic was chosen."""
    query = update.callback_query
    parts = parse_callback(query.data)
    topic = context.services.knowledge.kb.get(parts[1]) if len(parts) == 3 else None
    if topic is None:
        await stale(update)
        return
    question_id = _question_id(parts[2])
    _remember(context, topic.id, question_id)
    await send(update, *answers.answer_card(topic, question_id))
    await query.answer()


async def on_section(update: Update, context: BotContext) -> None:
    """s:<topic id>:<section code>:<question id>: show that section in the same card."""
    query = update.callback_query
    parts = parse_callback(query.data)
    kb = context.services.knowledge.kb
    topic = kb.get(parts[1]) if len(parts) == 4 else None
    section = answers.SECTION_CODES.get(parts[2]) if len(parts) == 4 else None
    if topic is None or section is None:
        await stale(update)
        return
    question_id = _question_id(parts[3])
    _remember(context, topic.id, question_id)
    await show(update, *answers.section_card(kb, topic, section, question_id))
    await query.answer()


async def on_feedback(update: Update, context: BotContext) -> None:
    """fb:<question id>:<1|0>: 👍 or 👎, once, by the person who asked."""
    query = update.callback_query
    parts = parse_callback(query.data)
    question_id = _question_id(parts[1]) if len(parts) == 3 and parts[2] in ("0", "1") else None
    if question_id is None:
        await stale(update)
        return
    outcome = context.services.qa.feedback(question_id, update.effective_user.id, parts[2] == "1")
    if outcome == "saved":
        await query.answer("感谢反馈！" if parts[2] == "1" else "感谢反馈，我们会改进这条答案。")
    elif outcome == "already":
        await query.answer("已经评价过了")
    else:
        await stale(update)


async def on_none_of_these(update: Update, context: BotContext) -> None:
    """nf:<question id>: none of the suggestions fit; counts as 👎 for the gaps report."""
    query = update.callback_query
    parts = parse_callback(query.data)
    question_id = _question_id(parts[1]) if len(parts) == 2 else None
    if question_id is not None:
        context.services.qa.feedback(question_id, update.effective_user.id, False)
    await show(update, answers.NONE_OF_THESE, answers.not_found_keyboard())
    await query.answer()


def register(application) -> None:
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    application.add_handler(CommandHandler("ask", ask_command))
    application.add_handler(CommandHandler("topics", topics_command))
    application.add_handler(CallbackQueryHandler(topics_command, pattern=r"^menu:ask$"))
    application.add_handler(CallbackQueryHandler(on_category, pattern=r"^c:"))
    application.add_handler(CallbackQueryHandler(on_topic, pattern=r"^t:"))
    application.add_handler(CallbackQueryHandler(on_section, pattern=r"^s:"))
    application.add_handler(CallbackQueryHandler(on_feedback, pattern=r"^fb:"))
    application.add_handler(CallbackQueryHandler(on_none_of_these, pattern=r"^nf:"))
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_private_text))
    application.add_handler(MessageHandler(groups & filters.TEXT & ~filters.COMMAND, on_group_text))
