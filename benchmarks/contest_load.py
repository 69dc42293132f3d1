"""Contest load benchmark (a script, not a test): N participants take a contest at the same time through the sandbox.

Every participant starts the contest the way a person does (/contest, the contest's button, 开始答题) and answers
each question by pressing its button through the sandbox control API (docs/sandbox.md); half of the answers are
right and half wrong, at random (seeded). The script then checks the `answers` table (every answer recorded exactly
once), reports the sustained answer rate and the latency of each press, and times the leaderboard and the Excel
export at that size. As a baseline from the same run it times a bare sandbox round trip (/help and its reply).

Modes
  in-process (default)  bot, sandbox and load generator share this process and its event loop, as in the tests;
                        users are created directly in the sandbox state and the database (set-up, not measured).
  --separate            the bot runs as a subprocess (`python -m bot run`, no token, QB_DB / QB_PORT set); users
                        are created through the control API and register with the bot (/start, 三亚, 一线工人).

    .venv/bin/python benchmarks/contest_load.py [--participants 1000] [--questions 20] [--concurrency 200]
                                                [--timeout 900] [--markdown PATH] [--json PATH] [--separate]
                                                [--no-rate-limit]

The bot keeps python-telegram-bot's AIORateLimiter (30 messages per second overall, Telegram's own broadcast
limit), so the figures show what the bot can do inside Telegram's limits. The diagnostic `--no-rate-limit`
(in-process only) removes the limiter to show the cost of the bot's own work; its figures are not reachable on the
real Telegram.

The run is bounded: after --timeout seconds (default 15 minutes) the participants still running are stopped and
the script reports what it has; a watchdog thread ends the process if even that does not finish in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot.accounts import TeamSpec  # noqa: E402
from bot.config import KNOWLEDGE_DIR, Config  # noqa: E402
from bot.contests import ContestSpec, Contests  # noqa: E402
from bot.exports import workbook_bytes  # noqa: E402
from bot.qa import KnowledgeService  # noqa: E402
from bot.quiz import LETTERS  # noqa: E402

ADMIN_ID = 9000
BASELINE_USER = 8999
# The baseline's /help goes round these chats: the bot keeps to Telegram's ~1 message a second per chat (bursts of 4),
# so 200 trips from one chat would measure that limit, not the round trip.
BASELINE_USERS = list(range(BASELINE_USER - 39, BASELINE_USER + 1))
FIRST_USER = 100_000
TEAMS = 50
CONTEST_TITLE = "千人压测竞赛"
SECONDS_PER_QUESTION = 60
BASELINE_TRIPS = 200
BASELINE_INTERVAL = 0.04  # 25 round trips a second at most: below the 30/s limiter, so it never throttles them
LEADERBOARD_RUNS = 20
EXPORT_RUNS = 3
REPORT_RESERVE = 60.0     # seconds of the global timeout kept for the leaderboard timing and the report
HEADER = re.compile(r"第 (\d+)/(\d+) 题")
ALREADY = "已经作答"


# --- small helpers -----------------------------------------------------------------------------------------

def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(len(ordered) * fraction))) - 1]


def peak_rss_mb(pid: int | None = None) -> float:
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def buttons_of(message: dict) -> list[str]:
    return [label for row in message.get("buttons") or [] for label in row]


def has_button(message: dict, fragment: str) -> bool:
    return any(fragment in label for label in buttons_of(message))


def is_question(message: dict) -> bool:
    text = message.get("text") or ""
    return "限时" in text and HEADER.search(text) is not None and bool(message.get("buttons"))


def is_result(message: dict) -> bool:
    return "答题结束" in (message.get("text") or "")


def option_label(message: dict, index: int) -> str:
    """The label (without the ☐/☑ mark of 多选) of the button for displayed option `index`."""
    for label in buttons_of(message):
        bare = label.lstrip("☐☑ ")
        if bare.startswith(LETTERS[index]) and not label.startswith("提交"):
            return bare
    raise LookupError(f"no button for option {LETTERS[index]} in {buttons_of(message)}")


# --- what was measured ---------------------------------------------------------------------------------------

@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)   # answer presses (single choice, or 提交 of 多选)
    answer_presses: int = 0
    toggle_presses: int = 0
    already: int = 0              # press answers saying 已经作答 (a press the bot did not count)
    late: int = 0                 # press answers saying 已超时 (counted as a zero)
    unanswered_presses: int = 0   # presses whose answer did not come within the press wait
    gone: int = 0                 # presses that found no such button any more (404 from the control API)
    said_right: int = 0           # press answers saying 回答正确
    meant_right: int = 0
    finished: int = 0             # participants who saw 答题结束
    started: int = 0
    errors: list[str] = field(default_factory=list)


class Load:
    """One participant's life, driven through the control API only (the database is read to know the answer)."""

    def __init__(self, http: httpx.AsyncClient, contests: Contests, contest_id: int, concurrency: int,
                 tally: Tally, seed: int, deadline: float):
        self.http = http
        self.contests = contests
        self.storage = contests.storage
        self.contest_id = contest_id
        self.semaphore = asyncio.Semaphore(concurrency)  # participant steps in flight
        # Starting takes at most a quarter of the step slots: the slots are handed out first come, first served,
        # and without this the start steps of everyone, queued at once, would all go before any answer.
        self.start_gate = asyncio.Semaphore(max(1, concurrency // 4))
        self.tally = tally
        self.seed = seed
        self.deadline = deadline

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    async def messages(self, chat_id: int, after: int, wait: float) -> list[dict]:
        wait = max(0.0, min(wait, 60.0, self.remaining()))
        response = await self.http.get("/sandbox/messages", params={"chat_id": chat_id, "after": after, "wait": wait},
                                       timeout=wait + 30)
        response.raise_for_status()
        return response.json()["messages"]

    async def press(self, user_id: int, label: str, message_id: int, wait: float = 300.0) -> dict | None:
        """The press's answer; None when the button is gone (the question's timer ran out and it was replaced)."""
        wait = max(1.0, min(wait, self.remaining()))
        response = await self.http.post("/sandbox/press", json={"user_id": user_id, "text": label,
                                                                "message_id": message_id, "wait": wait},
                                        timeout=wait + 30)
        if response.status_code == 404:
            self.tally.gone += 1
            return None
        response.raise_for_status()
        return response.json()

    async def send(self, user_id: int, text: str) -> int:
        response = await self.http.post("/sandbox/send", json={"user_id": user_id, "text": text})
        response.raise_for_status()
        return response.json()["message_id"]

    async def wait_message(self, chat_id: int, after: int, predicate) -> dict:
        """The newest bot message after `after` satisfying the predicate, long-polling until the deadline.

        The long poll wakes on messages newer than the newest one seen; edits of messages already seen (a card
        turning into the next screen) are looked at again every second.
        """
        poll_after = after
        while self.remaining() > 0:
            found = [m for m in await self.messages(chat_id, after, 0) if predicate(m)]
            if found:
                return found[-1]
            newest = await self.messages(chat_id, poll_after, 1.0 if poll_after > after else 20.0)
            if newest:
                poll_after = max(poll_after, max(m["message_id"] for m in newest))
        raise TimeoutError(f"user {chat_id}: global timeout while waiting for a message")

    async def start_contest(self, user_id: int) -> int:
        """/contest, the contest's button, 开始答题; returns the id of the card (question 1 comes after it)."""
        after = await self.send(user_id, "/contest")
        listing = await self.wait_message(user_id, after, lambda m: has_button(m, CONTEST_TITLE))
        await self.press(user_id, CONTEST_TITLE, listing["message_id"])
        card = await self.wait_message(user_id, after, lambda m: has_button(m, "开始答题"))
        await self.press(user_id, "开始答题", card["message_id"])
        return card["message_id"]

    async def participant(self, user_id: int) -> None:
        rng = random.Random(f"{self.seed}:{user_id}")
        async with self.start_gate, self.semaphore:
            after = await self.start_contest(user_id)
        self.tally.started += 1
        while self.remaining() > 0:
            async with self.semaphore:
                message = await self.wait_message(user_id, after, lambda m: is_question(m) or is_result(m))
                if is_result(message):
                    self.tally.finished += 1
                    return
                attempt = self.storage.attempt_of(self.contest_id, user_id)
                shown = self.contests.shown(attempt)
                position = int(HEADER.search(message["text"]).group(1)) - 1
                if shown is None or shown.position != position:
                    # this question is over (its timer ran out meanwhile): what follows comes in a newer message
                    after = message["message_id"]
                    continue
                right = rng.random() < 0.5
                self.tally.meant_right += right
                chosen = list(shown.right_display)
                if not right:
                    wrong = [i for i in range(len(shown.options)) if i not in shown.right_display]
                    chosen = wrong[:1] if wrong else chosen[:-1] or chosen
                mid = message["message_id"]
                after = mid
                if shown.question.type == "multiple":
                    toggled = [await self.press(user_id, option_label(message, index), mid) for index in chosen]
                    self.tally.toggle_presses += len(toggled)
                    if None in toggled:
                        continue  # the question was replaced meanwhile
                    label = "提交"
                else:
                    label = option_label(message, chosen[0])
                began = time.perf_counter()
                reply = await self.press(user_id, label, mid)
                elapsed_ms = (time.perf_counter() - began) * 1000
                if reply is None:
                    continue
                self.tally.answer_presses += 1
                answer = (reply.get("answer") or {}).get("text")
                if answer is None:
                    self.tally.unanswered_presses += 1
                else:
                    self.tally.latencies_ms.append(elapsed_ms)
                    self.tally.already += ALREADY in answer
                    self.tally.late += "已超时" in answer
                    self.tally.said_right += answer == "回答正确"


# --- the bot, in this process or as a subprocess --------------------------------------------------------------

class InProcessBot:
    label = "in-process (bot, sandbox and load generator share one process and one event loop)"

    def __init__(self, workdir: Path, knowledge: KnowledgeService, rate_limit: bool):
        from bot.runtime import Runtime

        config = Config(db_path=workdir / "bench.db", port=0, admin_ids=frozenset({ADMIN_ID}))
        self.runtime = Runtime(config, knowledge=knowledge, customise=None if rate_limit else self._no_limiter)
        self.url = ""

    @staticmethod
    def _no_limiter(application) -> None:
        # Diagnostic only: python-telegram-bot offers no public setter once the application is built.
        application.bot._rate_limiter = None

    async def start(self) -> None:
        await self.runtime.start()
        self.url = self.runtime.url

    @property
    def services(self):
        return self.runtime.services

    def api_calls(self) -> dict[str, int]:
        return dict(self.runtime.sandbox.api_calls)

    async def stop_taking_updates(self) -> None:
        """Stop the Telegram application (updates and timers) but keep the database open for the timings.

        Updates still queued are dropped first, as a crash would drop them: Application.stop() would otherwise
        handle every one of them, which after a timed-out run can take minutes.
        """
        app = self.runtime.application
        if app is None:
            return
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        self.dropped_updates = 0
        while not app.update_queue.empty():
            app.update_queue.get_nowait()
            app.update_queue.task_done()
            self.dropped_updates += 1
        if app.running:
            try:
                await asyncio.wait_for(app.stop(), 30)
            except asyncio.TimeoutError:
                print("the application did not stop within 30 s; going on", file=sys.stderr, flush=True)

    async def stop(self) -> None:
        await self.runtime.stop()

    def bot_peak_rss_mb(self) -> float:
        return peak_rss_mb()


class SubprocessBot:
    label = "separate (bot and sandbox in a `python -m bot run` subprocess; load generator in this process)"

    def __init__(self, workdir: Path, knowledge: KnowledgeService):
        from bot.services import Services
        from bot.storage import Storage

        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path = workdir / "bench.db"
        self.storage = Storage.open(self.db_path)  # migrations applied here first; the bot opens the same file
        self._services = Services.create(Config(db_path=self.db_path, port=self.port), self.storage, knowledge)
        self.process: subprocess.Popen | None = None
        self.log = (workdir / "bot.log").open("w", encoding="utf-8")

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "QB_"))}
        env.update({"QB_DB": str(self.db_path), "QB_PORT": str(self.port), "QB_ADMIN_IDS": str(ADMIN_ID),
                    "QB_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)})
        # cwd is the temporary directory, so that no .env file of the checkout is read
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=self.workdir, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            for _ in range(600):
                if self.process.poll() is not None:
                    self.log.flush()
                    tail = Path(self.log.name).read_text(encoding="utf-8")[-2000:]
                    raise RuntimeError(f"the bot exited with {self.process.returncode}:\n{tail}")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the bot did not become healthy within 60 s")

    @property
    def services(self):
        return self._services

    def api_calls(self) -> dict[str, int]:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            return dict(http.get("/sandbox/state").json().get("api_calls", {}))

    async def stop_taking_updates(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.bot_rss = peak_rss_mb(self.process.pid)
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def stop(self) -> None:
        await self.stop_taking_updates()
        self.storage.close()
        self.log.close()

    def bot_peak_rss_mb(self) -> float:
        return getattr(self, "bot_rss", float("nan"))


# --- set-up ------------------------------------------------------------------------------------------------------

def make_teams(services) -> list[dict]:
    return [services.accounts.create_team(TeamSpec(f"压测项目部{i + 1:02d}", "三亚", "压测集团", 30))
            for i in range(TEAMS)]


def users_in_process(bot: InProcessBot, user_ids: list[int], teams: list[dict]) -> None:
    sandbox = bot.runtime.sandbox
    accounts = bot.services.accounts
    for index, user_id in enumerate(user_ids):
        name = f"选手{user_id}"
        sandbox.add_user(user_id, name)
        accounts.touch(user_id, name, None)
        accounts.set_region(user_id, "三亚市")
        accounts.set_role(user_id, "worker")
        if teams and user_id not in BASELINE_USERS:
            bot.services.storage.update_user(user_id, team_id=teams[index % len(teams)]["id"])


async def users_through_bot(load: Load, user_ids: list[int], teams: list[dict], concurrency: int) -> None:
    """--separate: each user is created through the control API and registers with the bot like a person."""
    semaphore = asyncio.Semaphore(concurrency)
    storage = load.storage

    async def one(index: int, user_id: int) -> None:
        async with semaphore:
            response = await load.http.post("/sandbox/users", json={"id": user_id, "first_name": f"选手{user_id}"})
            response.raise_for_status()
            after = await load.send(user_id, "/start")
            message = await load.wait_message(user_id, after, lambda m: has_button(m, "三亚"))
            await load.press(user_id, "三亚", message["message_id"])
            message = await load.wait_message(user_id, after, lambda m: has_button(m, "一线工人"))
            await load.press(user_id, "一线工人", message["message_id"])
            if teams and user_id not in BASELINE_USERS:
                after = await load.send(user_id, f"/join {teams[index % len(teams)]['code']}")
                await load.wait_message(user_id, after, lambda m: True)
            user = storage.get_user(user_id)
            in_team = user_id in BASELINE_USERS or not teams or (user and user.get("team_id"))
            if not (user and user.get("region") == "三亚市" and user.get("role") == "worker" and in_team):
                raise RuntimeError(f"user {user_id} did not register: {user}")

    await asyncio.gather(*(one(i, uid) for i, uid in enumerate(user_ids)))


async def baseline(load: Load) -> list[float]:
    """Bare sandbox round trips: POST /sandbox/send of /help, then the long poll that returns the bot's reply."""
    trips = []
    for trip in range(BASELINE_TRIPS):
        user_id = BASELINE_USERS[trip % len(BASELINE_USERS)]
        began = time.perf_counter()
        sent = await load.send(user_id, "/help")
        while not await load.messages(user_id, sent, 10):
            pass
        elapsed = time.perf_counter() - began
        trips.append(elapsed * 1000)
        await asyncio.sleep(max(0.0, BASELINE_INTERVAL - elapsed))
    return trips


# --- the run -------------------------------------------------------------------------------------------------------

async def run(args) -> dict[str, Any]:
    t0 = time.monotonic()
    deadline = t0 + args.timeout - REPORT_RESERVE
    report: dict[str, Any] = {"mode": "separate" if args.separate else "in-process",
                              "rate_limit": not args.no_rate_limit,
                              "participants": args.participants,
                              "questions": args.questions, "concurrency": args.concurrency,
                              "timeout_s": args.timeout, "nproc": os.cpu_count(), "cpu": cpu_name(),
                              "python": platform.python_version()}
    knowledge = KnowledgeService(KNOWLEDGE_DIR)
    with tempfile.TemporaryDirectory(prefix="contest-load-") as tmp:
        workdir = Path(tmp)
        bot = (SubprocessBot(workdir, knowledge) if args.separate
               else InProcessBot(workdir, knowledge, not args.no_rate_limit))
        report["setup_note"] = bot.label
        await bot.start()
        limits = httpx.Limits(max_connections=args.concurrency + 64, max_keepalive_connections=args.concurrency + 64)
        http = httpx.AsyncClient(base_url=bot.url, limits=limits, timeout=60)
        try:
            services = bot.services
            teams = make_teams(services)
            user_ids = [FIRST_USER + i for i in range(args.participants)]
            tally = Tally()
            now = services.contests.clock()
            contest = services.contests.create(ContestSpec(
                title=CONTEST_TITLE, starts_at=now, ends_at=now + timedelta(hours=3), questions=args.questions,
                seconds_per_question=SECONDS_PER_QUESTION), None, organiser_id=ADMIN_ID)
            contest_id = contest["id"]
            load = Load(http, services.contests, contest_id, args.concurrency, tally, args.seed, deadline)

            began = time.monotonic()
            if args.separate:
                await users_through_bot(load, [*BASELINE_USERS, *user_ids], teams, args.concurrency)
            else:
                users_in_process(bot, [*BASELINE_USERS, *user_ids], teams)
            report["setup_users_s"] = round(time.monotonic() - began, 1)
            print(f"set-up: {args.participants} users in {TEAMS} teams in {report['setup_users_s']} s; "
                  f"contest {contest_id} of {args.questions} questions", file=sys.stderr, flush=True)

            trips = await baseline(load)
            report["baseline_p50_ms"] = round(percentile(trips, 0.5), 2)
            report["baseline_p99_ms"] = round(percentile(trips, 0.99), 2)
            print(f"baseline /help round trip: p50 {report['baseline_p50_ms']} ms, p99 {report['baseline_p99_ms']} ms",
                  file=sys.stderr, flush=True)

            calls_before = bot.api_calls()
            measured_start = time.monotonic()
            tasks = [asyncio.create_task(load.participant(uid)) for uid in user_ids]
            progress = asyncio.create_task(show_progress(services.storage, contest_id, args, measured_start))
            done, pending = await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
            measured_s = time.monotonic() - measured_start
            progress.cancel()
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            calls_after = bot.api_calls()
            for task in done:
                if task.exception() is not None:
                    tally.errors.append(repr(task.exception()))
            report["timed_out"] = bool(pending)
            report["participants_unfinished"] = len(pending)
            report["measured_s"] = round(measured_s, 1)

            storage = services.storage  # the counts are taken at the end of the measured part, bot still running
            db = storage.db
            recorded = db.execute("SELECT COUNT(*) FROM answers WHERE contest_id = ?", [contest_id]).fetchone()[0]
            duplicates = db.execute(
                "SELECT COUNT(*) FROM (SELECT attempt_id, position FROM answers WHERE contest_id = ? "
                "GROUP BY attempt_id, position HAVING COUNT(*) > 1)", [contest_id]).fetchone()[0]
            timed_out, correct = db.execute(
                "SELECT COALESCE(SUM(timed_out), 0), COALESCE(SUM(correct), 0) FROM answers WHERE contest_id = ?",
                [contest_id]).fetchone()
            first, last = db.execute("SELECT MIN(answered_at), MAX(answered_at) FROM answers WHERE contest_id = ?",
                                     [contest_id]).fetchone()
            attempts = db.execute("SELECT COUNT(*), COALESCE(SUM(finished_at IS NOT NULL), 0) FROM attempts "
                                  "WHERE contest_id = ?", [contest_id]).fetchone()
            from bot.clock import parse_iso

            window = (parse_iso(last) - parse_iso(first)).total_seconds() if first and last else 0.0
            delta = {k: calls_after.get(k, 0) - calls_before.get(k, 0) for k in calls_after}
            limited = sum(delta.get(k, 0) for k in ("sendMessage", "editMessageText", "editMessageReplyMarkup",
                                                     "sendPhoto", "sendDocument"))
            report.update({
                "attempts": attempts[0], "attempts_finished": attempts[1], "participants_finished": tally.finished,
                "answers_expected": args.participants * args.questions, "answers_recorded": recorded,
                "duplicates_db": duplicates, "already_answered_replies": tally.already,
                "timed_out_answers": timed_out, "late_press_replies": tally.late,
                "correct_db": correct, "said_right_replies": tally.said_right, "meant_right": tally.meant_right,
                "answer_presses": tally.answer_presses, "toggle_presses": tally.toggle_presses,
                "unanswered_presses": tally.unanswered_presses, "buttons_gone": tally.gone,
                "answers_per_s": round(recorded / measured_s, 2) if measured_s else 0.0,
                "answer_window_s": round(window, 1),
                "answers_per_s_window": round(recorded / window, 2) if window else 0.0,
                "press_p50_ms": round(percentile(tally.latencies_ms, 0.5), 1),
                "press_p99_ms": round(percentile(tally.latencies_ms, 0.99), 1),
                "press_max_ms": round(max(tally.latencies_ms), 1) if tally.latencies_ms else float("nan"),
                "bot_api_calls": delta, "limited_messages_per_s": round(limited / measured_s, 1) if measured_s else 0,
                "errors": tally.errors[:5], "error_count": len(tally.errors),
            })

            if pending:
                # a run stopped mid-way cancels timers and sends in flight; their tracebacks say nothing new
                for name in ("telegram", "apscheduler"):
                    logging.getLogger(name).setLevel(logging.CRITICAL)
            await bot.stop_taking_updates()   # the bot is stopped before the timings below
            report["dropped_updates"] = getattr(bot, "dropped_updates", 0)
            timings = []
            board = None
            for _ in range(LEADERBOARD_RUNS):
                began = time.perf_counter()
                board = services.contests.leaderboard(contest_id)
                timings.append((time.perf_counter() - began) * 1000)
            report["leaderboard_median_ms"] = round(statistics.median(timings), 1)
            report["leaderboard_max_ms"] = round(max(timings), 1)
            report["leaderboard_rows"] = len(board.individuals)
            exports = []
            for _ in range(EXPORT_RUNS):
                began = time.perf_counter()
                content = workbook_bytes(board)
                exports.append((time.perf_counter() - began) * 1000)
            report["export_median_ms"] = round(statistics.median(exports), 1)
            report["export_kb"] = round(len(content) / 1024)
            report["peak_rss_mb"] = round(peak_rss_mb())
            report["bot_peak_rss_mb"] = round(bot.bot_peak_rss_mb())
        finally:
            await http.aclose()
            await bot.stop()
    report["total_s"] = round(time.monotonic() - t0, 1)
    return report


async def show_progress(storage, contest_id: int, args, since: float) -> None:
    expected = args.participants * args.questions
    while True:
        await asyncio.sleep(15)
        count = storage.db.execute("SELECT COUNT(*) FROM answers WHERE contest_id = ?", [contest_id]).fetchone()[0]
        elapsed = time.monotonic() - since
        print(f"  {elapsed:6.0f} s: {count}/{expected} answers recorded ({count / elapsed:.1f}/s)",
              file=sys.stderr, flush=True)


# --- output --------------------------------------------------------------------------------------------------------

def table(report: dict[str, Any]) -> str:
    r = report
    check = lambda ok: "✅" if ok else "❌"  # noqa: E731
    limiter = "on (30 msg/s)" if r["rate_limit"] else "OFF (diagnostic)"
    rows = [
        ("mode", f"{r['mode']}, rate limiter {limiter}"),
        ("machine", f"nproc = {r['nproc']}, {r['cpu']}, CPython {r['python']}"),
        ("participants × questions",
         f"{r['participants']:,} × {r['questions']} (concurrency cap {r['concurrency']})"),
        ("finished (saw 答题结束)", f"{r['participants_finished']:,} of {r['participants']:,}"
                                    + (f" — stopped by the {r['timeout_s']:.0f} s timeout ({r['dropped_updates']}"
                                       " queued updates dropped)" if r["timed_out"] else "")),
        ("answers expected / recorded", f"{r['answers_expected']:,} / {r['answers_recorded']:,} "
                                        f"{check(r['answers_expected'] == r['answers_recorded'])}"),
        ("duplicate (attempt, position) rows", f"{r['duplicates_db']} {check(r['duplicates_db'] == 0)}"),
        ("presses answered 已经作答 / buttons already gone (404)",
         f"{r['already_answered_replies']} / {r['buttons_gone']}"),
        ("answers timed out (server clock, 60 s + 1 s grace)", f"{r['timed_out_answers']:,}"),
        ("correct in DB / presses answered 回答正确", f"{r['correct_db']:,} / {r['said_right_replies']:,}"),
        ("wall time of the measured part", f"{r['measured_s']} s"),
        ("answers per second (recorded / wall time)", f"{r['answers_per_s']}"),
        ("answers per second (first to last answer)", f"{r['answers_per_s_window']} over {r['answer_window_s']} s"),
        ("messages sent or edited per second (what the 30/s limiter counts)", f"{r['limited_messages_per_s']}"),
        ("press → answered latency p50 / p99 / max",
         f"{r['press_p50_ms']} / {r['press_p99_ms']} / {r['press_max_ms']} ms ({r['answer_presses']:,} presses)"),
        ("bare sandbox round trip (/help) p50 / p99",
         f"{r['baseline_p50_ms']} / {r['baseline_p99_ms']} ms ({BASELINE_TRIPS} trips, idle, ≤ 25/s)"),
        (f"leaderboard ({r['leaderboard_rows']:,} participants) median / max of {LEADERBOARD_RUNS}",
         f"{r['leaderboard_median_ms']} / {r['leaderboard_max_ms']} ms"),
        ("Excel export (workbook_bytes) median of 3", f"{r['export_median_ms']} ms ({r['export_kb']} KB)"),
        ("peak RSS", f"{r['peak_rss_mb']} MB" + ("" if r["mode"] == "in-process"
                                                 else f" load generator, {r['bot_peak_rss_mb']} MB bot")),
    ]
    lines = ["| metric | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    calls = r["bot_api_calls"]
    lines.append("")
    lines.append("Bot API calls during the measured part: " + ", ".join(
        f"{k} {v:,}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1]) if v))
    lines.append(f"Set-up: {r['setup_note']}.")
    if r["error_count"]:
        lines.append(f"Participant errors: {r['error_count']} (first: {r['errors'][0]})")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=200, help="participant steps in flight at most")
    parser.add_argument("--timeout", type=float, default=900, help="global time limit in seconds (default 900)")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON")
    parser.add_argument("--separate", action="store_true", help="run the bot as a subprocess")
    parser.add_argument("--no-rate-limit", action="store_true",
                        help="diagnostic: remove the bot's 30 msg/s limiter (in-process only)")
    args = parser.parse_args(argv)
    if args.separate and args.no_rate_limit:
        parser.error("--no-rate-limit works in-process only")
    if args.timeout <= REPORT_RESERVE + 30:
        parser.error(f"--timeout must be more than {REPORT_RESERVE + 30:.0f} seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Last resort: if the orderly stop at the deadline hangs, end the process shortly after the timeout.
    watchdog = threading.Timer(args.timeout + 120, lambda: (print("watchdog: global timeout exceeded, exiting",
                                                                  file=sys.stderr, flush=True), os._exit(3)))
    watchdog.daemon = True
    watchdog.start()
    report = asyncio.run(run(args))
    watchdog.cancel()
    text = table(report)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    ok = (report["answers_recorded"] == report["answers_expected"] and report["duplicates_db"] == 0
          and not report["timed_out"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
