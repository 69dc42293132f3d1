"""The `qualitybot` command: run the bot, and the curators' and organisers' tools."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from bot.config import Config, ConfigError, check_can_serve, load_config
from bot.files import write_private
from bot.storage import StorageError

log = logging.getLogger("qualitybot")


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
    from bot.config import SANDBOX_TOKEN
    from bot.sandbox.standalone import run

    return run(config.host, config.port, args.token or config.token or SANDBOX_TOKEN,
               Path(args.journal) if args.journal else None)


def cmd_teams_import(args, config: Config) -> int:
    from bot.accounts import AccountError, Accounts, RosterError, read_roster
    from bot.ui.teams import deep_link

    path = Path(args.file)
    if not path.is_file():
        return fail(f"{path}: no such file")
    try:
        specs = read_roster(path)
    except RosterError as exc:
        return fail(str(exc))
    storage = open_storage(config)
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
    from bot.ui.teams import deep_link

    storage = open_storage(config)
    try:
        for team in storage.list_teams(args.region):
            print("\t".join([team["code"], team["region"], team["name"], team["company"] or "",
                             str(team["headcount"] or ""), deep_link(args.bot_username, team["code"])]))
    finally:
        storage.close()
    return 0


def _knowledge_dir(args, config: Config) -> Path:
    return Path(args.knowledge) if getattr(args, "knowledge", None) else config.knowledge_dir


def report_problems(problems: list, summary: str, warnings: list | tuple = ()) -> int:
    """One line per problem and per warning (`file:line: warning: …`) on standard output, in file order;
    exit 1 when there are problems, else the summary and exit 0 (warnings never change the exit code)."""
    for finding in sorted([*problems, *warnings]):
        print(finding)
    counted = f", {len(warnings)} warning(s)" if warnings else ""
    if problems:
        print(f"{len(problems)} problem(s){counted}", file=sys.stderr)
        return 1
    print(f"ok: {summary}{counted}", file=sys.stderr)
    return 0


def cmd_kb_check(args, config: Config) -> int:
    from bot.knowledge import load_knowledge

    kb, problems = load_knowledge(_knowledge_dir(args, config))
    phrasings = sum(len(t.questions) for t in kb.topics.values())
    return report_problems(problems, f"{len(kb.topics)} topics, {phrasings} question phrasings", kb.warnings)


def _load_kb(args, config: Config):
    from bot.knowledge import KnowledgeError, require_knowledge

    try:
        return require_knowledge(_knowledge_dir(args, config))
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise SystemExit(fail("the knowledge base has problems; run `qualitybot kb check`", 1))


def cmd_kb_export(args, config: Config) -> int:
    from bot.knowledge import export_records

    print(json.dumps(export_records(_load_kb(args, config)), ensure_ascii=False, indent=1))
    return 0


def cmd_kb_show(args, config: Config) -> int:
    from bot.knowledge import render_topic

    kb = _load_kb(args, config)
    topic = kb.get(args.id)
    if topic is None:
        return fail(f"no topic {args.id!r}; ids are listed by `qualitybot kb export --json`")
    print(render_topic(topic))
    return 0


def _engine(args, config: Config):
    from bot.knowledge import KnowledgeError
    from bot.search.engine import SearchEngine

    try:
        return SearchEngine.load(_knowledge_dir(args, config))
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise SystemExit(fail("the knowledge base has problems; run `qualitybot kb check`", 1))


def cmd_kb_search(args, config: Config) -> int:
    if args.top < 1:
        return fail("--top must be at least 1")
    if args.batch is None and args.question is None:
        return fail("give a QUESTION or --batch FILE")
    engine = _engine(args, config)

    def emit(question: str) -> None:
        result = engine.search(question, top=args.top)
        if args.json:
            print(json.dumps(result.as_json(args.top), ensure_ascii=False), flush=False)
        else:
            print(f"[{result.verdict}] {question}")
            for hit in result.hits:
                print(f"  {hit.score:.3f}  {hit.id}  {hit.title}")

    if args.batch is not None:
        source = sys.stdin if args.batch == "-" else open(args.batch, encoding="utf-8")
        with source:
            for line in source:
                emit(line.rstrip("\r\n"))
    else:
        emit(args.question)
    sys.stdout.flush()
    return 0


def cmd_kb_eval(args, config: Config) -> int:
    from bot.search.evaluate import evaluate, read_eval_set

    try:
        items = read_eval_set(Path(args.file))
    except (OSError, ValueError) as exc:
        return fail(str(exc))
    report = evaluate(_engine(args, config), items)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=1))
    else:
        print(report.as_text())
        if args.misses:
            for miss in report.misses:
                print(miss)
    return 0


def cmd_kb_calibrate(args, config: Config) -> int:
    from bot.search.calibrate import calibrate_file

    directory = _knowledge_dir(args, config)
    kb = _load_kb(args, config)
    try:
        text, figures = calibrate_file(kb, directory, Path(args.file))
    except (OSError, ValueError) as exc:
        return fail(str(exc))
    output = Path(args.output) if args.output else directory / "dict" / "verdict.yaml"
    output.write_text(text, encoding="utf-8")
    print(figures)
    print(f"wrote {output}", file=sys.stderr)
    return 0


def cmd_kb_gaps(args, config: Config) -> int:
    from bot.qa import find_gaps

    storage = open_storage(config)
    try:
        groups = find_gaps(storage, args.since)
    finally:
        storage.close()
    if not groups:
        print("no unanswered or 👎 questions" + (f" since {args.since}" if args.since else ""))
        return 0
    print("count\t👎\tlast asked\texample\tother phrasings")
    for group in groups:
        others = " | ".join(dict.fromkeys(q for q in group.questions[1:] if q != group.example))
        print(f"{group.count}\t{group.downvoted}\t{local(group.last_asked, config)}\t{group.example}\t{others}")
    return 0


def cmd_quiz_check(args, config: Config) -> int:
    from bot.quiz import load_bank

    bank, problems = load_bank(_knowledge_dir(args, config))
    return report_problems(problems, f"{len(bank.questions)} questions", bank.warnings)


def cmd_quiz_export(args, config: Config) -> int:
    from bot.quiz import load_bank

    bank, problems = load_bank(_knowledge_dir(args, config))
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return fail("the question bank has problems; run `qualitybot quiz check`", 1)
    print(json.dumps([q.as_json() for q in bank.questions.values()], ensure_ascii=False, indent=1))
    return 0


def _contests(config: Config, storage):
    from bot.contests import Contests
    from bot.knowledge import KnowledgeError
    from bot.qa import KnowledgeService

    try:
        knowledge = KnowledgeService(config.knowledge_dir)
    except KnowledgeError as exc:
        raise SystemExit(fail(f"the knowledge base has problems ({exc.problems[0]}); run `qualitybot kb check`", 1))
    return Contests(storage, lambda: knowledge.bank, lambda: knowledge.kb, config.tz)


def cmd_contest_create(args, config: Config) -> int:
    from bot.contest_files import ContestFileError, read_contest_file
    from bot.contests import ContestError
    from bot.yamlfile import LineDict, load_yaml

    path = Path(args.file)
    if not path.is_file():
        return fail(f"{path}: no such file")
    try:
        spec = read_contest_file(path, config.tz)
    except ContestFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    storage = open_storage(config)
    try:
        contest = _contests(config, storage).create(spec, None, organiser_id=args.organiser)
    except ContestError as exc:
        data, _ = load_yaml(path, str(path))
        line = data.line_of(exc.setting) if isinstance(data, LineDict) and exc.setting else 1
        print(f"{path}:{line}: {exc.setting or 'contest'}: {exc}", file=sys.stderr)
        return 1
    finally:
        storage.close()
    print(f"已创建竞赛 {contest['id']}：{contest['title']}（{local(contest['starts_at'], config)} 至 "
          f"{local(contest['ends_at'], config)}）", file=sys.stderr)
    print(contest["id"])
    return 0


def cmd_contest_list(args, config: Config) -> int:

    storage = open_storage(config)
    try:
        contests = _contests(config, storage)
        print("id\tstatus\tstarts_at\tends_at\tparticipants\ttitle")
        for contest in storage.contests():
            count = len(storage.contest_attempts(contest["id"]))
            print(f"{contest['id']}\t{contests.status(contest)}\t{local(contest['starts_at'], config)}\t"
                  f"{local(contest['ends_at'], config)}\t{count}\t{contest['title']}")
    finally:
        storage.close()
    return 0


def cmd_contest_export(args, config: Config) -> int:
    from bot.contests import ContestError
    from bot.exports import csv_bytes, workbook_bytes

    storage = open_storage(config)
    try:
        board = _contests(config, storage).leaderboard(args.id)
    except ContestError as exc:
        return fail(f"contest {args.id}: {exc}")
    finally:
        storage.close()
    data = workbook_bytes(board) if args.format == "xlsx" else csv_bytes(board)
    output = Path(args.output or f"contest-{args.id}.{args.format}")
    write_private(output, data)
    print(output)
    return 0


def _services(config: Config, storage):
    from bot.clock import utc_now
    from bot.reports import Reports
    from bot.roles import Roles

    roles = Roles(storage, config.admin_ids, utc_now)
    return roles, Reports(storage, roles, utc_now)


def cmd_reports_list(args, config: Config) -> int:

    storage = open_storage(config)
    try:
        _, reports = _services(config, storage)
        print("id\tdeadline\tsubmitted\ttitle")
        for request in storage.report_requests():
            _, rows = reports.status(None, request["id"])
            print(f"{request['id']}\t{local(request['deadline'], config)}\t{sum(1 for r in rows if r.submitted_at)}/{len(rows)}\t"
                  f"{request['title']}")
    finally:
        storage.close()
    return 0


def cmd_reports_export(args, config: Config) -> int:
    from bot.reports import ReportError

    storage = open_storage(config)
    try:
        _, reports = _services(config, storage)
        data = reports.archive(None, args.id, config.tz)
    except ReportError as exc:
        return fail(f"report request {args.id}: {exc}")
    finally:
        storage.close()
    output = Path(args.output or f"report-{args.id}.zip")
    write_private(output, data)
    print(output)
    return 0


def cmd_roles_invite(args, config: Config) -> int:
    from bot.accounts import resolve_region
    from bot.roles import PROVINCE, InviteError

    scope = PROVINCE if args.scope in (PROVINCE, "province") else resolve_region(args.scope)
    if scope is None:
        return fail(f"--scope: {args.scope!r} is not a Hainan 市县 (or 全省)")
    storage = open_storage(config)
    try:
        roles, _ = _services(config, storage)
        code = roles.create_invite(None, args.role, scope, args.days)
    except InviteError as exc:
        return fail(str(exc))
    finally:
        storage.close()
    print(f"https://t.me/{args.bot_username}?start=inv_{code}")
    return 0


def cmd_roles_list(args, config: Config) -> int:

    storage = open_storage(config)
    try:
        print("user_id\tname\trole\tscope\tgranted_at")
        for holder in storage.role_holders():
            print(f"{holder['user_id']}\t{holder['first_name'] or ''}\t{holder['role']}\t{holder['scope']}\t"
                  f"{local(holder['granted_at'], config)}")
        for admin in sorted(config.admin_ids):
            print(f"{admin}\t\tadmin\t全省\tQB_ADMIN_IDS")
    finally:
        storage.close()
    return 0


def cmd_roles_revoke(args, config: Config) -> int:

    storage = open_storage(config)
    try:
        roles, _ = _services(config, storage)
        revoked = roles.revoke(None, args.user_id, args.role)
    finally:
        storage.close()
    print("revoked" if revoked else "the user did not hold that role")
    return 0 if revoked else 1


def cmd_roles_audit(args, config: Config) -> int:

    storage = open_storage(config)
    try:
        for entry in reversed(storage.audit_entries(args.limit)):
            print(f"{local(entry['at'], config)}\t{entry['actor_id'] or 'cli'}\t{entry['action']}\t{entry['detail']}")
    finally:
        storage.close()
    return 0


def cmd_backup(args, config: Config) -> int:
    from bot.storage import backup_database

    if not config.db_path.is_file():
        return fail(f"没有可备份的数据库：{config.db_path.resolve()}（database not found）")
    pages = backup_database(config.db_path, Path(args.path))
    print(f"已备份 {config.db_path} 到 {args.path}（{pages} 页，完整性检查通过）")
    return 0


def cmd_restore(args, config: Config) -> int:
    from bot.storage import DatabaseBusy, restore_database

    backup = Path(args.path)
    if not backup.is_file():
        return fail(f"备份文件不存在：{backup}")
    refused = (f"恢复被拒绝：机器人正在运行并使用 {config.db_path}，请先停止机器人，所有文件均未改动。"
               "(restore refused: a running bot holds the database)")
    if not args.yes:
        if not sys.stdin.isatty():
            return fail("恢复会替换整个数据库：请先停止机器人，再加 --yes 确认。")
        answer = input(f"用 {backup} 替换 {config.db_path} 吗？当前文件会保留为 {config.db_path.name}.before-restore。"
                       "请先停止机器人。确认请输入 yes：")
        if answer.strip().lower() != "yes":
            print("没有恢复。")
            return 1
    try:
        restore_database(backup, config.db_path)
    except DatabaseBusy:
        return fail(refused, 1)
    print(f"已从 {backup} 恢复 {config.db_path}。")
    return 0


ROSTER_HELP = """名册：CSV（UTF-8 或 GBK）或 XLSX，第一行是表头，每行一个项目部团队。
列（表头写其中任一名称即可，顺序不限）：
  团队名称 / 项目部名称 / 团队 / 项目部 / name    必填，不超过 40 字
  市县 / 所属市县 / region                       必填，如 三亚 或 三亚市
  施工单位 / 单位 / 公司 / company               可选，不超过 60 字
  人数 / 团队人数 / 申报人数 / headcount          可选，正整数，用于计算参与率
同一市县里同名的团队会更新而不是重复创建；任一行有错时整份名册都不导入，并指出第几行。"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qualitybot", description="质量通: construction-quality bot for Hainan")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the bot (against the local sandbox when no token is set)")
    run.set_defaults(func=cmd_run)
    sandbox = commands.add_parser("sandbox", help="only the Bot API sandbox on QB_HOST:QB_PORT, for any Bot API client")
    sandbox.add_argument("--token", help="the token clients use (default: TELEGRAM_BOT_TOKEN, else the sandbox's own)")
    sandbox.add_argument("--journal", metavar="PATH", help="keep the sandbox's state in this file across restarts")
    sandbox.set_defaults(func=cmd_sandbox)

    backup = commands.add_parser("backup", help="consistent online backup of the database (safe while the bot runs)")
    backup.add_argument("path")
    backup.set_defaults(func=cmd_backup)
    restore = commands.add_parser("restore", help="replace the database with a backup (stop the bot first)")
    restore.add_argument("path")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.set_defaults(func=cmd_restore)

    teams = commands.add_parser("teams", help="project teams").add_subparsers(dest="teams_command", required=True)
    team_import = teams.add_parser(
        "import", help="create or update teams from a CSV or XLSX roster",
        formatter_class=argparse.RawDescriptionHelpFormatter, description=ROSTER_HELP)
    team_import.add_argument("file")
    team_import.add_argument("--bot-username", default="qualitybot_sandbox_bot",
                             help="bot username for the printed deep links")
    team_import.set_defaults(func=cmd_teams_import)
    team_list = teams.add_parser("list", help="list teams with codes and deep links")
    team_list.add_argument("--region")
    team_list.add_argument("--bot-username", default="qualitybot_sandbox_bot")
    team_list.set_defaults(func=cmd_teams_list)
    kb = commands.add_parser("kb", help="knowledge base tools").add_subparsers(dest="kb_command", required=True)
    for name, func, text in [("check", cmd_kb_check, "validate every knowledge file"),
                             ("export", cmd_kb_export, "print all topics as a JSON array"),
                             ("show", cmd_kb_show, "print a topic as the bot renders it"),
                             ("search", cmd_kb_search, "search the knowledge base"),
                             ("eval", cmd_kb_eval, "accuracy on a JSONL evaluation set"),
                             ("calibrate", cmd_kb_calibrate, "fit the answer verdict, rewrite dict/verdict.yaml"),
                             ("gaps", cmd_kb_gaps, "questions the bot could not answer, grouped")]:
        sub = kb.add_parser(name, help=text)
        sub.set_defaults(func=func)
        sub.add_argument("--knowledge", help="knowledge directory (default: the embedded one or QB_KNOWLEDGE_DIR)")
        if name == "export":
            sub.add_argument("--json", action="store_true", help="JSON output (the only format)")
        if name == "show":
            sub.add_argument("id")
        if name == "search":
            sub.add_argument("question", nargs="?")
            sub.add_argument("--json", action="store_true")
            sub.add_argument("--top", type=int, default=3)
            sub.add_argument("--batch", metavar="FILE", help="one question per line ('-' for standard input)")
        if name == "eval":
            sub.add_argument("file")
            sub.add_argument("--json", action="store_true")
            sub.add_argument("--misses", action="store_true", help="also list every wrong or wrongly rejected question")
        if name == "calibrate":
            sub.add_argument("file", help="questions with their right topic ids, e.g. tests/data/qa_calibration.jsonl")
            sub.add_argument("--output", metavar="PATH", help="default: KNOWLEDGE/dict/verdict.yaml")
        if name == "gaps":
            sub.add_argument("--since", metavar="DATE", help="only questions asked on or after this date (YYYY-MM-DD)")
    contest = commands.add_parser("contest", help="contests").add_subparsers(dest="contest_command", required=True)
    create = contest.add_parser("create", help="create a contest from a YAML file; prints its id on the last line")
    create.add_argument("file")
    create.add_argument("--organiser", type=int, help="Telegram user id of the organiser (who may manage it in chat)")
    create.set_defaults(func=cmd_contest_create)
    contest.add_parser("list", help="list contests").set_defaults(func=cmd_contest_list)
    export = contest.add_parser("export", help="export results as an Excel workbook or CSV")
    export.add_argument("id", type=int)
    export.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    export.add_argument("--output", help="file to write (default contest-ID.xlsx or .csv)")
    export.set_defaults(func=cmd_contest_export)

    reports = commands.add_parser("reports", help="信息报送").add_subparsers(dest="reports_command", required=True)
    reports.add_parser("list", help="report requests and how many 市县 submitted").set_defaults(func=cmd_reports_list)
    report_export = reports.add_parser("export", help="everything submitted, as a ZIP with one folder per 市县")
    report_export.add_argument("id", type=int)
    report_export.add_argument("--output", help="file to write (default report-ID.zip)")
    report_export.set_defaults(func=cmd_reports_export)

    roles = commands.add_parser("roles", help="roles, invites and the audit log").add_subparsers(
        dest="roles_command", required=True)
    invite = roles.add_parser("invite", help="print a one-time invite link granting a role")
    invite.add_argument("--role", choices=["bureau", "organiser"], required=True)
    invite.add_argument("--scope", required=True, help="a 市县 (e.g. 三亚) or 全省")
    invite.add_argument("--days", type=int, default=7)
    invite.add_argument("--bot-username", default="qualitybot_sandbox_bot")
    invite.set_defaults(func=cmd_roles_invite)
    roles.add_parser("list", help="who holds which role").set_defaults(func=cmd_roles_list)
    revoke = roles.add_parser("revoke", help="take a role away")
    revoke.add_argument("user_id", type=int)
    revoke.add_argument("role", choices=["bureau", "organiser"])
    revoke.set_defaults(func=cmd_roles_revoke)
    audit = roles.add_parser("audit", help="the latest privileged actions")
    audit.add_argument("--limit", type=int, default=50)
    audit.set_defaults(func=cmd_roles_audit)

    quiz = commands.add_parser("quiz", help="question bank tools").add_subparsers(dest="quiz_command", required=True)
    for name, func, text in [("check", cmd_quiz_check, "validate every question file"),
                             ("export", cmd_quiz_export, "print all questions as a JSON array")]:
        sub = quiz.add_parser(name, help=text)
        sub.set_defaults(func=func)
        sub.add_argument("--knowledge", help="knowledge directory (default: the embedded one or QB_KNOWLEDGE_DIR)")
        if name == "export":
            sub.add_argument("--json", action="store_true", help="JSON output (the only format)")
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
