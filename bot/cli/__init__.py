"""The `qualitybot` command: run the bot, and the curators', organisers' and administrators' tools.

Everything a person reads is Chinese; tab-separated listings keep English column names for scripts.
"""

from __future__ import annotations

import argparse

from bot.cli.common import fail
from bot.cli.data import (cmd_backup, cmd_contest_create, cmd_contest_export, cmd_contest_list, cmd_reports_export,
                          cmd_reports_list, cmd_restore, cmd_roles_audit, cmd_roles_invite, cmd_roles_list,
                          cmd_roles_revoke, cmd_teams_import, cmd_teams_list)
from bot.cli.knowledge import (cmd_kb_calibrate, cmd_kb_check, cmd_kb_eval, cmd_kb_export, cmd_kb_gaps,
                               cmd_kb_search, cmd_kb_show, cmd_quiz_check, cmd_quiz_export)
from bot.cli.serve import cmd_run, cmd_sandbox
from bot.config import ConfigError, load_config
from bot.storage import StorageError


def roster_help() -> str:
    """The roster's columns, from the names read_roster accepts."""
    from bot.accounts import COMPANY_LIMIT, ROSTER_COLUMNS, TEAM_NAME_LIMIT

    def names(key: str) -> str:
        return " / ".join(sorted(ROSTER_COLUMNS[key], key=lambda name: name.isascii()))

    return ("名册：CSV（UTF-8 或 GBK）或 XLSX，第一行是表头，每行一个项目部团队。\n"
            "列（表头写其中任一名称即可，顺序不限）：\n"
            f"  {names('name')}：必填，不超过 {TEAM_NAME_LIMIT} 字\n"
            f"  {names('region')}：必填，如 三亚 或 三亚市\n"
            f"  {names('company')}：可选，不超过 {COMPANY_LIMIT} 字\n"
            f"  {names('headcount')}：可选，正整数，用于计算参与率\n"
            "同一市县里同名的团队会更新而不是重复创建；任一行有错时整份名册都不导入，并指出第几行。")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qualitybot", description="质量通：海南住宅工程质量问答、练习与竞赛机器人")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="运行机器人（没有设置 TELEGRAM_BOT_TOKEN 时连同本机沙箱一起运行）")
    run.set_defaults(func=cmd_run)
    sandbox = commands.add_parser("sandbox", help="只运行 Bot API 沙箱（QB_HOST:QB_PORT），任何 Bot API 客户端都可以连上来")
    sandbox.add_argument("--token", help="客户端使用的令牌（默认 TELEGRAM_BOT_TOKEN，否则用沙箱自带的）")
    sandbox.add_argument("--journal", metavar="PATH", help="把沙箱状态保存在这个文件里，重启后还在")
    sandbox.set_defaults(func=cmd_sandbox)

    backup = commands.add_parser("backup", help="在线备份数据库（机器人运行时也可以）")
    backup.add_argument("path")
    backup.set_defaults(func=cmd_backup)
    restore = commands.add_parser("restore", help="用备份替换数据库（先停止机器人）")
    restore.add_argument("path")
    restore.add_argument("--yes", action="store_true", help="不再询问确认")
    restore.set_defaults(func=cmd_restore)

    teams = commands.add_parser("teams", help="项目部团队").add_subparsers(dest="teams_command", required=True)
    team_import = teams.add_parser(
        "import", help="从 CSV 或 XLSX 名册创建或更新团队",
        formatter_class=argparse.RawDescriptionHelpFormatter, description=roster_help())
    team_import.add_argument("file")
    team_import.add_argument("--bot-username", default="qualitybot_sandbox_bot",
                             help="输出加入链接时用的机器人用户名")
    team_import.set_defaults(func=cmd_teams_import)
    team_list = teams.add_parser("list", help="列出团队、团队码和加入链接")
    team_list.add_argument("--region")
    team_list.add_argument("--bot-username", default="qualitybot_sandbox_bot")
    team_list.set_defaults(func=cmd_teams_list)
    kb = commands.add_parser("kb", help="知识库工具").add_subparsers(dest="kb_command", required=True)
    for name, func, text in [("check", cmd_kb_check, "校验全部知识库文件"),
                             ("export", cmd_kb_export, "以 JSON 数组输出全部主题"),
                             ("show", cmd_kb_show, "按机器人的样式显示一个主题"),
                             ("search", cmd_kb_search, "检索知识库"),
                             ("eval", cmd_kb_eval, "在 JSONL 评测集上计算准确率"),
                             ("calibrate", cmd_kb_calibrate, "拟合回答判定，改写 dict/verdict.yaml"),
                             ("gaps", cmd_kb_gaps, "没答上或被点 👎 的问题（含 👎 原因），按相似度归并")]:
        sub = kb.add_parser(name, help=text)
        sub.set_defaults(func=func)
        sub.add_argument("--knowledge", help="知识库目录（默认为内置的或 QB_KNOWLEDGE_DIR）")
        if name == "export":
            sub.add_argument("--json", action="store_true", help="JSON 输出（唯一格式）")
        if name == "show":
            sub.add_argument("id")
        if name == "search":
            sub.add_argument("question", nargs="?")
            sub.add_argument("--json", action="store_true")
            sub.add_argument("--top", type=int, default=3)
            sub.add_argument("--batch", metavar="FILE", help="每行一个问题（- 表示标准输入）")
        if name == "eval":
            sub.add_argument("file")
            sub.add_argument("--json", action="store_true")
            sub.add_argument("--misses", action="store_true", help="同时列出每个答错或误拒的问题")
        if name == "calibrate":
            sub.add_argument("file", help="带正确主题编号的问题，如 tests/data/qa_calibration.jsonl")
            sub.add_argument("--output", metavar="PATH", help="默认：知识库目录/dict/verdict.yaml")
        if name == "gaps":
            sub.add_argument("--since", metavar="DATE", help="只看这一天（YYYY-MM-DD）及以后的问题")
    contest = commands.add_parser("contest", help="竞赛").add_subparsers(dest="contest_command", required=True)
    create = contest.add_parser("create", help="从 YAML 文件创建竞赛，最后一行输出竞赛编号")
    create.add_argument("file")
    create.add_argument("--organiser", type=int, help="组织者的 Telegram 用户 ID（可在聊天中管理这个竞赛）")
    create.set_defaults(func=cmd_contest_create)
    contest.add_parser("list", help="列出竞赛").set_defaults(func=cmd_contest_list)
    export = contest.add_parser("export", help="把成绩导出为 Excel 或 CSV")
    export.add_argument("id", type=int)
    export.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    export.add_argument("--output", help="输出文件（默认 contest-编号.xlsx 或 .csv）")
    export.set_defaults(func=cmd_contest_export)

    reports = commands.add_parser("reports", help="信息报送").add_subparsers(dest="reports_command", required=True)
    reports.add_parser("list", help="报送要求及已报送的市县数").set_defaults(func=cmd_reports_list)
    report_export = reports.add_parser("export", help="全部报送材料，ZIP，每个市县一个文件夹")
    report_export.add_argument("id", type=int)
    report_export.add_argument("--output", help="输出文件（默认 report-编号.zip）")
    report_export.set_defaults(func=cmd_reports_export)

    roles = commands.add_parser("roles", help="角色、邀请和审计日志").add_subparsers(
        dest="roles_command", required=True)
    invite = roles.add_parser("invite", help="输出授予角色的一次性邀请链接")
    invite.add_argument("--role", choices=["bureau", "organiser"], required=True)
    invite.add_argument("--scope", required=True, help="市县（如 三亚）或 全省")
    invite.add_argument("--days", type=int, default=7)
    invite.add_argument("--bot-username", default="qualitybot_sandbox_bot")
    invite.set_defaults(func=cmd_roles_invite)
    roles.add_parser("list", help="谁持有哪个角色").set_defaults(func=cmd_roles_list)
    revoke = roles.add_parser("revoke", help="撤销角色")
    revoke.add_argument("user_id", type=int)
    revoke.add_argument("role", choices=["bureau", "organiser"])
    revoke.set_defaults(func=cmd_roles_revoke)
    audit = roles.add_parser("audit", help="最近的特权操作")
    audit.add_argument("--limit", type=int, default=50)
    audit.set_defaults(func=cmd_roles_audit)

    quiz = commands.add_parser("quiz", help="题库工具").add_subparsers(dest="quiz_command", required=True)
    for name, func, text in [("check", cmd_quiz_check, "校验全部题库文件"),
                             ("export", cmd_quiz_export, "以 JSON 数组输出全部题目")]:
        sub = quiz.add_parser(name, help=text)
        sub.set_defaults(func=func)
        sub.add_argument("--knowledge", help="知识库目录（默认为内置的或 QB_KNOWLEDGE_DIR）")
        if name == "export":
            sub.add_argument("--json", action="store_true", help="JSON 输出（唯一格式）")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config()
    except ConfigError as exc:
        return fail(f"配置有误：{exc}")
    from bot.logs import setup_logging

    setup_logging(config.log_level, [config.token or ""])
    try:
        return args.func(args, config)
    except (ConfigError, StorageError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
