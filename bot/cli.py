"""The `qualitybot` command: run the bot, and the curators' and organisers' tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.storage import StorageError

log = logging.getLogger("qualitybot")


def fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


async def _serve(config: Config) -> None:
    from bot.runtime import Runtime

    runtime = Runtime(config)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    if runtime.mode == "sandbox":
        print(f"qualitybot is running against the local Bot API sandbox (no TELEGRAM_BOT_TOKEN set).\n"
              f"  Bot API:     {runtime.url}/bot<token>/<method>\n"
              f"  Control API: {runtime.url}/sandbox/...  (see docs/sandbox.md)\n"
              f"  Database:    {config.db_path}\n"
              f"Press Ctrl+C to stop.", flush=True)
    try:
        await stop.wait()
    finally:
        log.info("Stopping")
        await runtime.stop()


def cmd_run(args, config: Config) -> int:
    asyncio.run(_serve(config))
    return 0


def cmd_teams_import(args, config: Config) -> int:
    from bot.accounts import AccountError, Accounts, RosterError, read_roster
    from bot.screens import deep_link
    from bot.storage import Storage

    path = Path(args.file)
    if not path.is_file():
        return fail(f"{path}: no such file")
    try:
        specs = read_roster(path)
    except RosterError as exc:
        return fail(str(exc))
    storage = Storage.open(config.db_path)
    try:
        teams = Accounts(storage).import_teams(specs)
    except AccountError as exc:
        return fail(f"{path}: {exc}")
    finally:
        storage.close()
    username = args.bot_username
    print("code\tregion\tname\tcompany\theadcount\tlink")
    for team in teams:
        print("\t".join([team["code"], team["region"], team["name"], team["company"] or "",
                         str(team["headcount"] or ""), deep_link(username, team["code"])]))
    print(f"imported {len(teams)} teams", file=sys.stderr)
    return 0


def cmd_teams_list(args, config: Config) -> int:
    from bot.screens import deep_link
    from bot.storage import Storage

    storage = Storage.open(config.db_path)
    try:
        for team in storage.list_teams(args.region):
            print("\t".join([team["code"], team["region"], team["name"], team["company"] or "",
                             str(team["headcount"] or ""), deep_link(args.bot_username, team["code"])]))
    finally:
        storage.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qualitybot", description="质量通: construction-quality bot for Hainan")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the bot (against the local sandbox when no token is set)")
    run.set_defaults(func=cmd_run)

    teams = commands.add_parser("teams", help="project teams").add_subparsers(dest="teams_command", required=True)
    team_import = teams.add_parser("import", help="create or update teams from a CSV or XLSX roster")
    team_import.add_argument("file")
    team_import.add_argument("--bot-username", default="qualitybot_sandbox_bot",
                             help="bot username for the printed deep links")
    team_import.set_defaults(func=cmd_teams_import)
    team_list = teams.add_parser("list", help="list teams with codes and deep links")
    team_list.add_argument("--region")
    team_list.add_argument("--bot-username", default="qualitybot_sandbox_bot")
    team_list.set_defaults(func=cmd_teams_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config()
    except ConfigError as exc:
        return fail(f"configuration: {exc}")
    from bot.logs import setup_logging

    setup_logging(config.log_level, [config.token or ""])
    try:
        return args.func(args, config)
    except (ConfigError, StorageError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
