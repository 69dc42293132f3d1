"""Organisers' and administrators' tools: teams, contests, 信息报送, roles, backup and restore."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.cli.common import fail, local, open_storage
from bot.config import Config
from bot.files import write_private


def cmd_teams_import(args, config: Config) -> int:
    from bot.accounts import AccountError, Accounts, RosterError, read_roster
    from bot.ui.teams import deep_link

    path = Path(args.file)
    if not path.is_file():
        return fail(f"文件不存在：{path}")
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
    print(f"已导入 {len(teams)} 个团队", file=sys.stderr)
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


def _contests(config: Config, storage):
    from bot.contests import Contests
    from bot.knowledge import KnowledgeError
    from bot.qa import KnowledgeService

    try:
        knowledge = KnowledgeService(config.knowledge_dir)
    except KnowledgeError as exc:
        raise SystemExit(fail(f"知识库有问题（{exc.problems[0]}），请运行 qualitybot kb check 查看", 1))
    return Contests(storage, lambda: knowledge.bank, lambda: knowledge.kb, config.tz)


def cmd_contest_create(args, config: Config) -> int:
    from bot.contest_files import ContestFileError, read_contest_file
    from bot.contests import ContestError
    from bot.yamlfile import LineDict, load_yaml

    path = Path(args.file)
    if not path.is_file():
        return fail(f"文件不存在：{path}")
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
    if contest["mode"] == "live":
        print(f"现场模式：主持人在大屏打开 {config.web_url}/board/{contest['board_token']}?host={contest['host_token']}"
              "（只给主持人），或在机器人里“竞赛管理”→“现场主持”", file=sys.stderr)
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
        return fail(f"竞赛 {args.id}：{exc}")
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
        return fail(f"报送要求 {args.id}：{exc}")
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
        return fail(f"--scope：“{args.scope}”不是海南的市县（或 全省）")
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
    print("已撤销。" if revoked else "该用户没有这个角色。")
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
