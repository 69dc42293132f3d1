"""Live contest load benchmark (a script, not a test): N participants in one host-paced contest, through the sandbox.

The host moves the contest from the board's host view (POST /board/<token>/host, as the big screen does); every
participant waits for each question on their phone, then for the shared clock to start (the big screen's countdown),
takes 0.5-8 s as a person would, and presses an option (60 % right, seeded); the last answer reveals the question. The script counts, against the database, the answers
recorded (every participant × question exactly once), and, at the sandbox, the messages the bot sent per second
(sampled every 0.1 s: the peak of any one-second window, and the mean while a question was being sent), how long a
question took to reach everyone (from the host's press to the start of the shared clock), and the latency of each
answer press. As a baseline from the same run it times a bare sandbox round trip (/help and its reply) first.

    .venv/bin/python benchmarks/live_load.py [--participants 500] [--questions 5] [--seconds 60]
                                             [--timeout 900] [--markdown PATH] [--json PATH]

Joining (the contest's 加入现场竞赛) is set-up through the core and not measured. The bot keeps its send budget
(python-telegram-bot's AIORateLimiter at 30 messages a second, Telegram's broadcast limit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contest_load import (ADMIN_ID, BASELINE_USERS, FIRST_USER, InProcessBot, Load, Tally, baseline,  # noqa: E402
                          cpu_name, make_teams, option_label, peak_rss_mb, percentile, users_in_process)

from bot.clock import parse_iso  # noqa: E402
from bot.config import KNOWLEDGE_DIR  # noqa: E402
from bot.contests import ContestSpec  # noqa: E402
from bot.qa import KnowledgeService  # noqa: E402
from bot.sandbox.control import public_message  # noqa: E402

TITLE = "现场压测竞赛"
SAMPLE_SECONDS = 0.1
SENDS = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup")


class Sampler:
    """The sandbox's count of sending calls, every 0.1 s: messages per second as Telegram would see them."""

    def __init__(self, bot: InProcessBot):
        self.bot = bot
        self.samples: list[tuple[float, int]] = []

    def count(self) -> int:
        calls = self.bot.api_calls()
        return sum(calls.get(method, 0) for method in SENDS)

    async def run(self) -> None:
        while True:
            self.samples.append((time.monotonic(), self.count()))
            await asyncio.sleep(SAMPLE_SECONDS)

    def peak_per_second(self) -> int:
        """The most sends in any one-second window."""
        best, start = 0, 0
        for end in range(len(self.samples)):
            while self.samples[end][0] - self.samples[start][0] > 1.0:
                start += 1
            best = max(best, self.samples[end][1] - self.samples[start][1])
        return best


class Phones:
    """Each participant's new messages, handed over as the sandbox stores them: one queue per chat, instead of
    500 long polls that every stored message would wake (that cost is the harness's, not the bot's)."""

    def __init__(self, sandbox, user_ids: list[int]):
        self.queues = {user_id: asyncio.Queue() for user_id in user_ids}
        store = sandbox.store_message

        def store_and_hand_over(chat, message):
            stored = store(chat, message)
            queue = self.queues.get(chat.id)
            if queue is not None:
                queue.put_nowait(public_message(stored))
            return stored

        sandbox.store_message = store_and_hand_over

    async def next_question(self, user_id: int, header: str) -> dict:
        while True:
            message = await self.queues[user_id].get()
            if header in (message.get("text") or "") and message.get("buttons"):
                return message


async def participant(load: Load, phones: Phones, user_id: int, questions: int, clock_started: list[asyncio.Event],
                      rng: random.Random, latencies: list[float], toasts: dict[str, int]) -> None:
    for position in range(questions):
        message = await phones.next_question(user_id, f"第 {position + 1}/{questions} 题")
        after = message["message_id"]
        await clock_started[position].wait()  # the big screen's countdown
        await asyncio.sleep(rng.uniform(0.5, 8.0))  # reading and thinking, as people do
        shown = load.contests.shown(load.storage.attempt_of(load.contest_id, user_id))
        right = rng.random() < 0.6
        chosen = list(shown.right_display)
        if not right:
            wrong = [i for i in range(len(shown.options)) if i not in shown.right_display]
            chosen = wrong[:1] or chosen
        if shown.question.type == "multiple":
            for index in chosen:
                await load.press(user_id, option_label(message, index), after)
            label = "提交"
        else:
            label = option_label(message, chosen[0])
        began = time.perf_counter()
        reply = await load.press(user_id, label, after)
        latencies.append((time.perf_counter() - began) * 1000)
        text = ((reply or {}).get("answer") or {}).get("text") or "(none)"
        toasts[text] = toasts.get(text, 0) + 1


async def host(http: httpx.AsyncClient, contest: dict, action: str, position: int) -> str:
    response = await http.post(f"/board/{contest['board_token']}/host",
                               json={"token": contest["host_token"], "action": action, "position": position})
    response.raise_for_status()
    return response.json()["message"]


async def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def run(args) -> dict[str, Any]:
    report: dict[str, Any] = {"participants": args.participants, "questions": args.questions,
                              "seconds": args.seconds, "cpu": cpu_name()}
    knowledge = KnowledgeService(KNOWLEDGE_DIR)
    with tempfile.TemporaryDirectory(prefix="live-load-") as tmp:
        bot = InProcessBot(Path(tmp), knowledge, rate_limit=True)
        await bot.start()
        limits = httpx.Limits(max_connections=args.participants + 64, max_keepalive_connections=args.participants + 64)
        http = httpx.AsyncClient(base_url=bot.url, limits=limits, timeout=120)
        deadline = time.monotonic() + args.timeout
        try:
            services = bot.services
            user_ids = [FIRST_USER + i for i in range(args.participants)]
            users_in_process(bot, [*BASELINE_USERS, *user_ids], make_teams(services))
            for user_id in user_ids:  # they opened the chat with the bot earlier (scanning the QR code, say)
                bot.runtime.sandbox.add_user(user_id, f"选手{user_id}", started=True)
            now = services.contests.clock()
            contest = services.contests.create(ContestSpec(
                title=TITLE, starts_at=now, ends_at=now + timedelta(hours=3), questions=args.questions,
                seconds_per_question=args.seconds, min_team_size=3, mode="live"), None, organiser_id=ADMIN_ID)
            cid = contest["id"]
            for user_id in user_ids:
                services.contests.start(cid, services.accounts.get(user_id))
            bank = services.knowledge.bank.questions
            report["question_types"] = [bank[question_id].type for question_id, _ in
                                        services.contests.live_plan(services.contests.contest(cid))]
            load = Load(http, services.contests, cid, args.participants, Tally(), args.seed, deadline)
            trips = await baseline(load)
            report["baseline_p50_ms"] = round(percentile(trips, 0.5), 2)
            report["baseline_p99_ms"] = round(percentile(trips, 0.99), 2)

            sampler = Sampler(bot)
            sampling = asyncio.create_task(sampler.run())
            calls_before = bot.api_calls()
            latencies: list[float] = []
            toasts: dict[str, int] = {}
            phones = Phones(bot.runtime.sandbox, user_ids)
            clock_started = [asyncio.Event() for _ in range(args.questions)]
            tasks = [asyncio.create_task(participant(load, phones, uid, args.questions, clock_started,
                                                     random.Random(f"{args.seed}:{uid}"), latencies, toasts))
                     for uid in user_ids]
            spreads, rounds, send_rates = [], [], []
            began = time.monotonic()
            for position in range(args.questions):
                before_sends, pressed = sampler.count(), time.monotonic()
                said = await host(http, contest, "start" if position == 0 else "next", position - 1)
                row = lambda: services.storage.contest(cid)  # noqa: E731
                await wait_for(lambda: row()["live_deadline"] is not None, args.timeout)
                clock_started[position].set()
                current = row()
                spread = (parse_iso(current["live_deadline"]) - parse_iso(current["live_opened_at"])).total_seconds() \
                    - args.seconds
                spreads.append(spread)
                send_rates.append((sampler.count() - before_sends) / max(spread, 1e-3))
                revealed = await wait_for(lambda: row()["live_state"] == "reveal", args.seconds + 30)
                rounds.append(time.monotonic() - pressed)
                print(f"question {position + 1}: {said} sent to all in {spread:.1f} s, "
                      f"{'revealed' if revealed else 'NOT revealed'} after {rounds[-1]:.1f} s", file=sys.stderr,
                      flush=True)
            await asyncio.wait(tasks, timeout=30)
            await host(http, contest, "end", args.questions - 1)
            await asyncio.sleep(2)
            report["measured_s"] = round(time.monotonic() - began, 1)
            sampling.cancel()
            calls = {k: v - calls_before.get(k, 0) for k, v in bot.api_calls().items()}
            db = services.storage.db
            recorded = db.execute("SELECT COUNT(*) FROM answers WHERE contest_id = ?", [cid]).fetchone()[0]
            duplicates = db.execute("SELECT COUNT(*) FROM (SELECT attempt_id, position FROM answers WHERE contest_id"
                                    " = ? GROUP BY attempt_id, position HAVING COUNT(*) > 1)", [cid]).fetchone()[0]
            timed_out = db.execute("SELECT COUNT(*) FROM answers WHERE contest_id = ? AND timed_out = 1",
                                   [cid]).fetchone()[0]
            report.update({
                "answers_expected": args.participants * args.questions, "answers_recorded": recorded,
                "duplicates": duplicates, "timed_out": timed_out,
                "peak_sends_per_s": sampler.peak_per_second(),
                "mean_sends_per_s_while_sending": round(sum(send_rates) / len(send_rates), 1),
                "spread_s": [round(s, 1) for s in spreads], "round_s": [round(r, 1) for r in rounds],
                "press_p50_ms": round(percentile(latencies, 0.5), 1),
                "press_p99_ms": round(percentile(latencies, 0.99), 1), "presses": len(latencies),
                "toasts": toasts, "api_calls": {k: v for k, v in calls.items() if v},
                "unfinished_participants": sum(not t.done() for t in tasks), "peak_rss_mb": round(peak_rss_mb(), 1)})
            for task in tasks:
                task.cancel()
        finally:
            await http.aclose()
            await bot.stop()
    return report


def table(r: dict[str, Any]) -> str:
    check = lambda ok: "✅" if ok else "❌"  # noqa: E731
    rows = [
        ("participants × questions", f"{r['participants']} × {r['questions']} ({r['seconds']} s a question; "
                                     f"{', '.join(r['question_types'])})"),
        ("answers expected / recorded", f"{r['answers_expected']} / {r['answers_recorded']} "
                                        f"{check(r['answers_expected'] == r['answers_recorded'])}"),
        ("duplicate (attempt, position) rows", f"{r['duplicates']} {check(r['duplicates'] == 0)}"),
        ("answers recorded as not answered", str(r["timed_out"])),
        ("peak sends in any 1 s window at the sandbox (Telegram: 30)",
         f"{r['peak_sends_per_s']} {check(r['peak_sends_per_s'] <= 30)}"),
        ("mean sends per second while a question goes out", str(r["mean_sends_per_s_while_sending"])),
        ("question reaches everyone (host press → shared clock), per question", " / ".join(f"{s} s" for s in
                                                                                          r["spread_s"])),
        ("host press → reveal (last answer), per question", " / ".join(f"{s} s" for s in r["round_s"])),
        ("answer press → toast p50 / p99", f"{r['press_p50_ms']} / {r['press_p99_ms']} ms ({r['presses']} presses)"),
        ("baseline: bare sandbox round trip (/help) p50 / p99, same run",
         f"{r['baseline_p50_ms']} / {r['baseline_p99_ms']} ms"),
        ("participants who did not finish", str(r["unfinished_participants"])),
        ("peak RSS (bot, sandbox and load generator)", f"{r['peak_rss_mb']} MB"),
    ]
    lines = ["| metric | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    lines.append("")
    lines.append("Bot API calls: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r["api_calls"].items(),
                                                                              key=lambda kv: -kv[1])))
    lines.append("Toasts: " + ", ".join(f"{k} {v}" for k, v in sorted(r["toasts"].items(), key=lambda kv: -kv[1])))
    lines.append(f"Machine: {r['cpu']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=60, help="seconds per question (10-300)")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = asyncio.run(run(args))
    text = table(report)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    ok = (report["answers_recorded"] == report["answers_expected"] and report["duplicates"] == 0
          and report["peak_sends_per_s"] <= 30)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
