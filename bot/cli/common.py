"""What every command shares: one-line errors, the database the bot uses, times as people read them."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.config import Config
from bot.storage import StorageError


def fail(message: str, code: int = 2) -> int:
    print(f"错误：{message}", file=sys.stderr)
    return code


def open_storage(config: Config):
    """The bot's database, which must exist: run from another folder, a command would otherwise create an empty
    database there and report that nothing is in it. Only `qualitybot run` creates the database."""
    from bot.storage import Storage

    path = config.db_path
    if not path.is_file():
        raise StorageError(f"数据库文件不存在：{path.resolve()}（database not found）。请在机器人运行的目录中执行，"
                           "或用 QB_DB 指定数据库文件；全新安装请先运行一次 qualitybot run。")
    return Storage.open(path)


def local(moment: str | None, config: Config) -> str:
    """A stored UTC time as people read it: 2026-12-10 18:00 in the configured time zone (北京时间)."""
    from bot.when import local_text

    return local_text(moment, config.tz)


def knowledge_dir(args, config: Config) -> Path:
    return Path(args.knowledge) if getattr(args, "knowledge", None) else config.knowledge_dir


def report_problems(problems: list, summary: str, warnings: list | tuple = ()) -> int:
    """One line per problem and per warning (`file:line: warning: …`) on standard output, in file order;
    exit 1 when there are problems, else the summary and exit 0 (warnings never change the exit code)."""
    for finding in sorted([*problems, *warnings]):
        print(finding)
    counted = f"，另有 {len(warnings)} 条提醒（引用了已被替代的标准）" if warnings else ""
    if problems:
        print(f"发现 {len(problems)} 个问题{counted}", file=sys.stderr)
        return 1
    print(f"检查通过：{summary}{counted}", file=sys.stderr)
    return 0
