"""What people see: the text and buttons of every screen, in Simplified Chinese (Telegram HTML).

One module per feature. Each declares the kinds of button it draws (bot.callbacks) at its top, and offers pure
functions from core data to (text, keyboard); handlers send what these return and decide nothing.
"""
