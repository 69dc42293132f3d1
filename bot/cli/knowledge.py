"""Curators' tools: `qualitybot kb ...` and `qualitybot quiz ...`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.cli.common import knowledge_dir, fail, local, open_storage, report_problems
from bot.config import Config


def cmd_kb_check(args, config: Config) -> int:
    from bot.knowledge import load_knowledge

    kb, problems = load_knowledge(knowledge_dir(args, config))
    phrasings = sum(len(t.questions) for t in kb.topics.values())
    return report_problems(problems, f"{len(kb.topics)} 个主题，{phrasings} 种问法", kb.warnings)


def _load_kb(args, config: Config):
    from bot.knowledge import KnowledgeError, require_knowledge

    try:
        return require_knowledge(knowledge_dir(args, config))
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise SystemExit(fail("知识库有问题，请运行 qualitybot kb check 查看", 1))


def cmd_kb_export(args, config: Config) -> int:
    from bot.knowledge import export_records

    print(json.dumps(export_records(_load_kb(args, config)), ensure_ascii=False, indent=1))
    return 0


def cmd_kb_show(args, config: Config) -> int:
    from bot.knowledge import render_topic

    kb = _load_kb(args, config)
    topic = kb.get(args.id)
    if topic is None:
        return fail(f"没有主题“{args.id}”；全部主题编号见 qualitybot kb export --json")
    print(render_topic(topic))
    return 0


def _engine(args, config: Config):
    from bot.knowledge import KnowledgeError
    from bot.search.engine import SearchEngine

    try:
        return SearchEngine.load(knowledge_dir(args, config))
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise SystemExit(fail("知识库有问题，请运行 qualitybot kb check 查看", 1))


def cmd_kb_search(args, config: Config) -> int:
    if args.top < 1:
        return fail("--top 至少为 1")
    if args.batch is None and args.question is None:
        return fail("请给出一个问题，或用 --batch 文件")
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

    directory = knowledge_dir(args, config)
    kb = _load_kb(args, config)
    try:
        text, figures = calibrate_file(kb, directory, Path(args.file))
    except (OSError, ValueError) as exc:
        return fail(str(exc))
    output = Path(args.output) if args.output else directory / "dict" / "verdict.yaml"
    output.write_text(text, encoding="utf-8")
    print(figures)
    print(f"已写入 {output}", file=sys.stderr)
    return 0


def cmd_kb_gaps(args, config: Config) -> int:
    from bot.qa import find_gaps

    storage = open_storage(config)
    try:
        groups = find_gaps(storage, args.since)
    finally:
        storage.close()
    if not groups:
        print(("自 " + args.since + " 以来" if args.since else "") + "没有未答上或被点 👎 的问题。")
        return 0
    print("count\t👎\t👎 reasons\tlast asked\texample\tother phrasings")
    for group in groups:
        others = " | ".join(dict.fromkeys(q for q in group.questions[1:] if q != group.example))
        print(f"{group.count}\t{group.downvoted}\t{group.reasons_text() or '-'}\t{local(group.last_asked, config)}\t"
              f"{group.example}\t{others}")
    return 0


def cmd_quiz_check(args, config: Config) -> int:
    from bot.quiz import load_bank

    bank, problems = load_bank(knowledge_dir(args, config))
    return report_problems(problems, f"{len(bank.questions)} 道题", bank.warnings)


def cmd_quiz_export(args, config: Config) -> int:
    from bot.quiz import load_bank

    bank, problems = load_bank(knowledge_dir(args, config))
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return fail("题库有问题，请运行 qualitybot quiz check 查看", 1)
    print(json.dumps([q.as_json() for q in bank.questions.values()], ensure_ascii=False, indent=1))
    return 0
