"""Questions in chat: free text, /ask, section buttons, follow-ups, suggestions, feedback, the topic browser."""

from __future__ import annotations

from telegram import MessageEntity, Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.ui import ask as screens
from handlers.common import on_button, send, show, stale
from handlers.context import BotContext


async def answer_question(update: Update, context: BotContext, text: str) -> None:
    """Ask the core, remember what was shown for follow-ups, send the reply it calls for."""
    answer = context.services.qa.ask(update.effective_user.id, update.effective_chat.id, text,
                                     context.user_data.get("last_answer"))
    if answer.remembered is not None:
        context.user_data["last_answer"] = answer.remembered
    await send(update, *screens.reply(context.services.knowledge.kb, answer))


async def on_private_text(update: Update, context: BotContext) -> None:
    """Any free text in a private chat outside another flow is a question."""
    await answer_question(update, context, update.effective_message.text or "")


async def on_group_text(update: Update, context: BotContext) -> None:
    """In a group the bot answers only when mentioned or replied to, never every message."""
    message = update.effective_message
    bot = context.bot
    mention = f"@{bot.username}"
    mentioned = any(text == mention for text in message.parse_entities([MessageEntity.MENTION]).values())
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
    await show(update, *screens.categories(context.services.knowledge.kb))
    if update.callback_query is not None:
        await update.callback_query.answer()


async def on_categories(update: Update, context: BotContext, pressed: screens.Categories) -> None:
    await topics_command(update, context)


async def on_category(update: Update, context: BotContext, pressed: screens.Category) -> None:
    screen = screens.category_topics(context.services.knowledge.kb, pressed.index, pressed.page)
    if screen is None:
        await stale(update)
        return
    await show(update, *screen)
    await update.callback_query.answer()


def _remember(context: BotContext, topic_id: str, question_id: int) -> None:
    context.user_data["last_answer"] = context.services.qa.remember(topic_id, question_id or None)


async def on_topic(update: Update, context: BotContext, pressed: screens.OpenTopic) -> None:
    """A suggestion, a related topic or a browsed topic was chosen."""
    topic = context.services.knowledge.kb.get(pressed.topic)
    if topic is None:
        await stale(update)
        return
    _remember(context, topic.id, pressed.question)
    await send(update, *screens.answer_card(topic, pressed.question or None))
    await update.callback_query.answer()


async def on_section(update: Update, context: BotContext, pressed: screens.OpenSection) -> None:
    """Show that section in the same card."""
    kb = context.services.knowledge.kb
    topic = kb.get(pressed.topic)
    if topic is None:
        await stale(update)
        return
    _remember(context, topic.id, pressed.question)
    await show(update, *screens.section_card(kb, topic, screens.SECTION_CODES[pressed.section],
                                             pressed.question or None))
    await update.callback_query.answer()


async def on_feedback(update: Update, context: BotContext, pressed: screens.Feedback) -> None:
    """👍 or 👎, once, by the person who asked; a 👎 is followed by one question: why."""
    outcome = context.services.qa.feedback(pressed.question, update.effective_user.id, pressed.helpful)
    if outcome == "saved" and pressed.helpful:
        await update.callback_query.answer(screens.FEEDBACK_THANKS)
    elif outcome == "saved":
        await send(update, *screens.feedback_reasons(pressed.question, pressed.topic))
        await update.callback_query.answer()
    elif outcome == "already":
        await update.callback_query.answer(screens.FEEDBACK_ALREADY)
    else:
        await stale(update)


async def on_feedback_reason(update: Update, context: BotContext, pressed: screens.FeedbackReason) -> None:
    """答非所问 / 内容有误 / 看不懂, recorded once; then the other topics the matcher found."""
    qa, user_id = context.services.qa, update.effective_user.id
    outcome = qa.feedback_reason(pressed.question, user_id, pressed.reason, pressed.topic)
    if outcome == "invalid":
        await stale(update)
        return
    if outcome == "already":
        await update.callback_query.answer(screens.FEEDBACK_ALREADY)
        return
    hits = qa.alternatives(pressed.question, user_id, pressed.topic)
    await show(update, *screens.feedback_alternatives(pressed.reason, hits, pressed.question))
    await update.callback_query.answer(screens.FEEDBACK_THANKS)


async def on_none_of_these(update: Update, context: BotContext, pressed: screens.NoneOfThese) -> None:
    """None of the suggestions fit; counts as 👎 for the gaps report."""
    if pressed.question:
        context.services.qa.feedback(pressed.question, update.effective_user.id, False)
    await show(update, screens.NONE_OF_THESE, screens.not_found_keyboard())
    await update.callback_query.answer()


def register(application) -> None:
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    application.add_handler(CommandHandler("ask", ask_command))
    application.add_handler(CommandHandler("topics", topics_command))
    for kind, callback in [(screens.Categories, on_categories), (screens.Category, on_category),
                           (screens.OpenTopic, on_topic), (screens.OpenSection, on_section),
                           (screens.Feedback, on_feedback), (screens.FeedbackReason, on_feedback_reason),
                           (screens.NoneOfThese, on_none_of_these)]:
        application.add_handler(on_button(kind, callback))
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_private_text))
    application.add_handler(MessageHandler(groups & filters.TEXT & ~filters.COMMAND, on_group_text))
