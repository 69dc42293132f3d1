"""`qualitybot run` (the bot, with the built-in sandbox when there is no token) and `qualitybot sandbox`."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from bot.cli.common import fail
from bot.config import Config, check_can_serve

log = logging.getLogger("qualitybot")


async def _serve(config: Config) -> None:
    from bot.runtime import Runtime

    runtime = Runtime(config)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runtime.start()
    except BaseException:
        await runtime.stop()  # close what did start (web server, database lock) before the error is reported
        raise
    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(runtime.reload_knowledge()))
    if runtime.mode == "sandbox":
        print(f"质量通正在本机 Bot API 沙箱上运行（没有设置 TELEGRAM_BOT_TOKEN）。\n"
              f"  聊天页面：{runtime.url}/sandbox\n"
              f"  Bot API：  {runtime.url}/bot<token>/<method>\n"
              f"  控制 API： {runtime.url}/sandbox/...（见 docs/sandbox.md）\n"
              f"  数据库：   {config.db_path}\n"
              f"按 Ctrl+C 停止。", flush=True)
    try:
        await stop.wait()
    finally:
        log.info("Stopping")
        await runtime.stop()


def cmd_run(args, config: Config) -> int:
    from telegram.error import InvalidToken, NetworkError

    check_can_serve(config)
    try:
        asyncio.run(_serve(config))
    except InvalidToken:
        # python-telegram-bot's message (and traceback) would print the whole token: say what is wrong instead
        return fail("Telegram 拒绝了 TELEGRAM_BOT_TOKEN（token rejected: 401 Unauthorized）。"
                    "请核对令牌，或在 @BotFather 重新生成后更新配置。", 1)
    except NetworkError as exc:
        detail = str(exc).replace(config.effective_token, "<redacted>")
        return fail(f"连接不上 Telegram Bot API（{type(exc).__name__}: {detail}），请检查网络或 QB_BOT_API_URL。", 1)
    return 0


def cmd_sandbox(args, config: Config) -> int:
    from bot.config import SANDBOX_TOKEN, sandbox_exposed
    from bot.sandbox.standalone import run

    if sandbox_exposed(config):
        return fail(f"沙箱的控制 API 能冒充任何用户，只在本机地址上运行；QB_HOST={config.host} 不是本机地址。"
                    "仅在演示时设置 QB_SANDBOX_PUBLIC=1。")
    return run(config.host, config.port, args.token or config.token or SANDBOX_TOKEN,
               Path(args.journal) if args.journal else None)
