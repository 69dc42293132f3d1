"""User load benchmark (a script, not a test): N registered users ask questions, tap menus and answer a contest.

For each N (default 100, 1,000 and 10,000) a fresh child process starts the real bot in-process with its sandbox,
registers N users directly in the sandbox and the database (set-up, not measured), and starts a contest for up to
200 of them. Then, for --seconds, actions arrive at random (Poisson, seeded) at --rate a second, each from a user
picked at random among the N who is not already waiting for a reply:

  question (50 %)   a worker's question from tests/data/qa_dev.jsonl; the reply is the answer card
  menu (30 %)       /start (the main menu arrives), then a tap on 答题竞赛 (the menu is edited)
  contest (20 %)    a press on an option of the user's current contest question (the press is answered)

Measured: updates sent and replies seen, updates handled per second, the time from each update to its first reply
(p50 / p99 / max), and the process's memory (bot, sandbox and load generator share it; peak RSS, and its growth
from the end of set-up). A baseline from the same run: 100 /help round trips on the idle bot.

Two configurations per N:
  paced     the shipped bot (python-telegram-bot's AIORateLimiter, 30 messages a second) at --rate actions a
            second, inside Telegram's limits; the bot must not be the bottleneck here: latency stays near baseline
  capacity  limiter removed (diagnostic; not reachable on Telegram) and actions as fast as 100 users in a
            closed loop can make them: what the bot itself can handle on this machine

    .venv/bin/python benchmarks/user_load.py [--users 100,1000,10000] [--rate 15] [--seconds 60]
                                             [--markdown PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "1")

from benchmarks.contest_load import InProcessBot, cpu_name, percentile  # noqa: E402
from benchmarks.qa_benchmark import rss_mb  # noqa: E402
from bot.config import KNOWLEDGE_DIR  # noqa: E402
from bot.contests import ContestSpec  # noqa: E402
from bot.qa import KnowledgeService  # noqa: E402
from bot.quiz import BUTTON_OPTION_LIMIT, LETTERS  # noqa: E402

SEED = 20261125
FIRST_USER = 200_000
BASELINE_USER = 199_999
CONTEST_USERS = 200
CONTEST_TITLE = "压测竞赛"
# Longer than a run: questions asked together at set-up must not all time out at once and flood the limiter.
CONTEST_SECONDS = 300  # the longest a contest allows
REPLY_WAIT = 30.0
CAPACITY_WORKERS = 100
MIX = [("question", 0.5), ("menu", 0.3), ("contest", 0.2)]
QUESTIONS = [json.loads(line)["q"] for line in (ROOT / "tests" / "data" / "qa_dev.jsonl").read_text(
    encoding="utf-8").splitlines() if line.strip()]


class Users:
    """Drives the sandbox's control API and times each update until the bot's first reply to it."""

    def __init__(self, http: httpx.AsyncClient, bot: InProcessBot, contest_id: int):
        self.http, self.bot, self.contest_id = http, bot, contest_id
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.unanswered: Counter = Counter()
        self.gone: Counter = Counter()  # presses on a button no longer there (no update reaches the bot)
        self.updates = 0

    async def last_id(self, chat_id: int) -> int:
        messages = (await self.http.get("/sandbox/messages", params={"chat_id": chat_id})).json()["messages"]
        return max((m["message_id"] for m in messages), default=0)

    async def send_and_wait(self, kind: str, user_id: int, text: str) -> dict | None:
        after = await self.last_id(user_id)
        began = time.perf_counter()
        await self.http.post("/sandbox/send", json={"user_id": user_id, "text": text})
        self.updates += 1
        response = await self.http.get("/sandbox/messages", params={"chat_id": user_id, "after": after,
                                                                   "wait": REPLY_WAIT}, timeout=REPLY_WAIT + 10)
        messages = response.json()["messages"]
        if not messages:
            self.unanswered[kind] += 1
            return None
        self.latencies[kind].append((time.perf_counter() - began) * 1000)
        return messages[0]

    async def press_and_wait(self, kind: str, user_id: int, label: str, message_id: int) -> bool:
        began = time.perf_counter()
        response = await self.http.post("/sandbox/press", json={"user_id": user_id, "text": label,
                                                                "message_id": message_id, "wait": REPLY_WAIT},
                                        timeout=REPLY_WAIT + 10)
        if response.status_code == 404:  # the button was gone: another step of this user replaced the question
            self.gone[kind] += 1
            return False
        self.updates += 1
        if response.status_code != 200 or not response.json().get("answer"):
            self.unanswered[kind] += 1
            return False
        self.latencies[kind].append((time.perf_counter() - began) * 1000)
        return True

    async def question(self, user_id: int, rng: random.Random) -> None:
        await self.send_and_wait("question", user_id, rng.choice(QUESTIONS))

    async def menu(self, user_id: int, rng: random.Random) -> None:
        menu = await self.send_and_wait("menu /start", user_id, "/start")
        if menu and any("答题竞赛" in label for row in menu["buttons"] for label in row):
            await self.press_and_wait("menu tap", user_id, "答题竞赛", menu["message_id"])

    async def contest(self, user_id: int, rng: random.Random) -> None:
        storage, contests = self.bot.services.storage, self.bot.services.contests
        attempt = storage.attempt_of(self.contest_id, user_id)
        shown = contests.shown(attempt) if attempt else None
        if shown is None or not attempt["message_id"]:
            return await self.question(user_id, rng)  # finished, or its question not delivered yet
        index = rng.randrange(len(shown.options))
        short = all(len(option) <= BUTTON_OPTION_LIMIT for option in shown.options)
        label = f"{LETTERS[index]}. {shown.options[index]}" if short else LETTERS[index]
        await self.press_and_wait("contest answer" if shown.question.type != "multiple" else "contest toggle",
                                  user_id, label, attempt["message_id"])


async def act(users: Users, user_id: int, rng: random.Random, contest_ids: set[int]) -> None:
    roll, kind = rng.random(), "question"
    for name, share in MIX:
        if roll < share:
            kind = name
            break
        roll -= share
    if kind == "contest" and user_id not in contest_ids:
        kind = "question"
    await getattr(users, kind)(user_id, rng)


async def set_up(bot: InProcessBot, n: int) -> tuple[list[int], int]:
    from handlers.contest import ask_next

    services = bot.services
    user_ids = [FIRST_USER + i for i in range(n)]
    sandbox = bot.runtime.sandbox
    with services.storage.db.atomic():
        for user_id in [BASELINE_USER, *user_ids]:
            sandbox.add_user(user_id, f"工人{user_id}")
            services.storage.db.execute(
                "INSERT INTO users (id, first_name, region, role, active, created_at, updated_at) "
                "VALUES (?, ?, '三亚市', 'worker', 1, 't', 't')", [user_id, f"工人{user_id}"])
    now = services.contests.clock()
    contest = services.contests.create(ContestSpec(
        title=CONTEST_TITLE, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=2), questions=20,
        seconds_per_question=CONTEST_SECONDS, min_team_size=1), None)
    for user_id in user_ids[:CONTEST_USERS]:
        attempt = services.contests.start(contest["id"], services.storage.get_user(user_id))
        await ask_next(bot.runtime.application, user_id, attempt["id"], user_id)
    return user_ids, contest["id"]


async def baseline(users: Users) -> list[float]:
    trips = []
    for _ in range(100):
        began = time.perf_counter()
        if await users.send_and_wait("baseline", BASELINE_USER, "/help"):
            trips.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(0.05)
    users.latencies.pop("baseline", None)
    return trips


async def paced(users: Users, user_ids: list[int], contest_ids: set[int], rate: float, seconds: float) -> float:
    """Open loop: Poisson arrivals at `rate`, each from an idle user."""
    rng = random.Random(SEED)
    busy: set[int] = set()
    tasks = []
    began = time.monotonic()
    next_at = began
    while next_at - began < seconds:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        user_id = rng.choice(user_ids)
        if user_id not in busy:
            busy.add(user_id)

            async def one(uid: int, seed: int) -> None:
                try:
                    await act(users, uid, random.Random(seed), contest_ids)
                finally:
                    busy.discard(uid)

            tasks.append(asyncio.create_task(one(user_id, rng.randrange(1 << 30))))
        next_at += rng.expovariate(rate)
    await asyncio.gather(*tasks)
    return time.monotonic() - began


async def capacity(users: Users, user_ids: list[int], contest_ids: set[int], seconds: float) -> float:
    """Closed loop: CAPACITY_WORKERS users act again as soon as their reply arrives."""
    began = time.monotonic()

    async def worker(index: int) -> None:
        rng = random.Random(SEED + index)
        while time.monotonic() - began < seconds:
            await act(users, user_ids[(index + rng.randrange(len(user_ids))) % len(user_ids)], rng, contest_ids)

    await asyncio.gather(*(worker(i) for i in range(CAPACITY_WORKERS)))
    return time.monotonic() - began


async def run_child(n: int, mode: str, rate: float, seconds: float) -> dict[str, Any]:
    knowledge = KnowledgeService(KNOWLEDGE_DIR)
    with tempfile.TemporaryDirectory() as workdir:
        bot = InProcessBot(Path(workdir), knowledge, rate_limit=mode == "paced")
        await bot.start()
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
        async with httpx.AsyncClient(base_url=bot.url, limits=limits, timeout=60) as http:
            setup_began = time.monotonic()
            user_ids, contest_id = await set_up(bot, n)
            users = Users(http, bot, contest_id)
            setup_s = time.monotonic() - setup_began
            trips = await baseline(users)
            rss_start = rss_mb()
            contest_ids = set(user_ids[:CONTEST_USERS])
            calls_before = bot.api_calls()
            if mode == "paced":
                wall = await paced(users, user_ids, contest_ids, rate, seconds)
            else:
                wall = await capacity(users, user_ids, contest_ids, seconds)
            rss_end = rss_mb()
            calls = Counter(bot.api_calls()) - Counter(calls_before)
            answers = bot.services.storage.db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT attempt_id || ':' || position) FROM answers").fetchone()
        await bot.stop_taking_updates()
        await bot.stop()
    everything = [v for values in users.latencies.values() for v in values]
    return {
        "users": n, "mode": mode, "rate": rate, "wall_s": round(wall, 1), "setup_s": round(setup_s, 1),
        "updates": users.updates, "replied": len(everything), "unanswered": dict(users.unanswered), "gone": dict(users.gone),
        "per_s": round(len(everything) / wall, 1),
        "limited_per_s": round(sum(n for method, n in calls.items() if method.startswith(("send", "edit"))) / wall, 1),
        "p50": round(percentile(everything, 0.5), 1), "p99": round(percentile(everything, 0.99), 1),
        "max": round(max(everything, default=float("nan")), 1),
        "by_kind": {kind: [len(v), round(percentile(v, 0.5), 1), round(percentile(v, 0.99), 1)]
                    for kind, v in sorted(users.latencies.items())},
        "baseline_p50": round(percentile(trips, 0.5), 1), "baseline_p99": round(percentile(trips, 0.99), 1),
        "rss_start_mb": round(rss_start), "rss_end_mb": round(rss_end),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "contest_answers": answers[0], "contest_answer_duplicates": answers[0] - answers[1],
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| users | configuration | updates handled / s | messages sent or edited / s (Telegram: ~30) | "
             "updates (unanswered) | update → reply p50 / p99 / max ms | baseline p50 / p99 ms | "
             "RSS after set-up → end MB (peak) | contest answers (duplicates) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['users']:,} | {r['mode']} | – | – | – | – | – | – | not measured: {r['error']} |")
            continue
        mode = (f"paced {r['rate']:g} actions/s, limiter on (30 msg/s)" if r["mode"] == "paced"
                else f"capacity, {CAPACITY_WORKERS} users in a closed loop, limiter off")
        lost = sum(r["unanswered"].values())
        lines.append(f"| {r['users']:,} | {mode} | {r['per_s']} | {r['limited_per_s']} | {r['updates']:,} ({lost}) | "
                     f"{r['p50']} / {r['p99']} / {r['max']} | {r['baseline_p50']} / {r['baseline_p99']} | "
                     f"{r['rss_start_mb']} → {r['rss_end_mb']} ({r['peak_rss_mb']}) | "
                     f"{r['contest_answers']:,} ({r['contest_answer_duplicates']}) |")
    lines.append("")
    for r in results:
        if "error" not in r:
            kinds = "; ".join(f"{k} {v[0]:,} × p50 {v[1]} / p99 {v[2]} ms" for k, v in r["by_kind"].items())
            lost = ", ".join(f"{k} {v}" for k, v in r["unanswered"].items()) or "none"
            gone = ", ".join(f"{k} {v}" for k, v in r["gone"].items()) or "none"
            lines.append(f"- {r['users']:,} users, {r['mode']}: {kinds}; unanswered within {REPLY_WAIT:.0f} s: "
                         f"{lost}; presses on a button already replaced (not sent): {gone}; "
                         f"set-up {r['setup_s']} s; measured {r['wall_s']} s")
    lines.append(f"- machine: `nproc` = {os.cpu_count()}, CPU \"{cpu_name()}\", CPython {platform.python_version()}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="100,1000,10000")
    parser.add_argument("--modes", default="paced,capacity")
    parser.add_argument("--rate", type=float, default=15.0, help="actions a second in the paced run (default 15)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        logging.basicConfig(level=logging.ERROR)
        n, mode, out = args.child.split(":", 2)
        result = asyncio.run(run_child(int(n), mode, args.rate, args.seconds))
        Path(out).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return 0
    results = []
    for n in [int(x) for x in args.users.split(",")]:
        for mode in args.modes.split(","):
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
                out_path = Path(out.name)
            print(f"{n:,} users, {mode} ...", file=sys.stderr, flush=True)
            command = [sys.executable, __file__, "--child", f"{n}:{mode}:{out_path}", "--rate", str(args.rate),
                       "--seconds", str(args.seconds)]
            try:
                completed = subprocess.run(command, timeout=args.seconds * 4 + 600)
                results.append(json.loads(out_path.read_text(encoding="utf-8")) if completed.returncode == 0
                               else {"users": n, "mode": mode, "error": f"exit code {completed.returncode}"})
            except subprocess.TimeoutExpired:
                results.append({"users": n, "mode": mode, "error": "timed out"})
            finally:
                out_path.unlink(missing_ok=True)
    text = table(results)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
