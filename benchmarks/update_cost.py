"""Cost per update (issue 16): the bot's CPU, Bot API calls and SQL statements per update, beside an echo bot.

Processes, each on its own:

  sandbox   `qualitybot sandbox` on a free loopback port, with Telegram's limits switched off through
            POST /sandbox/limits {"enabled": false, "callback_timeout": 0, "require_start": false}
  bot       benchmarks/_bot_process.py: `qualitybot run` against the sandbox (QB_BOT_API_URL), a fresh database in
            a temporary folder, its own rate limiter off, every SQL statement counted
  floor     benchmarks/_echo_bot.py, against a second sandbox like the first: a python-telegram-bot bot that
            answers a message with one sendMessage and a press with answerCallbackQuery and one sendMessage
  driver    this script: plays the users of both through the sandboxes' control API

The bot and the floor run at the same time, each with its own sandbox (one token cannot have two pollers), and the
driver gives them updates in turn: this machine's speed drifts by tens of percent within a minute, so two runs one
after the other would compare two machines. Set-up, not measured: the bot's users register through the bot
(/start, 三亚, 一线工人/班组长, 暂不加入) and `qualitybot contest create` starts a contest of 20 questions of 300 s.

Four journeys, one at a time, each with its own kind of update:

  question         a worker's question as free text (卫生间漏水怎么办 and 19 others, in turn)
  menu tap         我的 and 返回主菜单 pressed in turn on the main menu (/start first)
  contest answer   an option of the newest contest question pressed (/contest, the contest, 开始答题 first); a 多选
                   question gets a tick (contest tick) and 提交; the 20th answer, contest answer (last), brings the
                   result
  practice answer  likewise in 每日练习 (/practice, 随机 10 题); the 10th answer brings the summary, then 再练一组

The floor plays the same journeys with its own buttons: a message, or a press on its newest message.

Each journey is measured twice:

  paced  one update at a time, the bot's and the floor's in turn, --updates of the journey's own kind each after a
         warm-up; an update starts once the process has used no CPU for 12 ms and ends once it is idle again. Per
         update: its CPU time (the sum of its threads' run time in /proc/PID/task/*/schedstat, in nanoseconds), its
         SQL statements (the launcher's counter), its Bot API calls (the sandbox's /sandbox/state, getUpdates
         apart) and the time from the send or press to the reply
  burst  --concurrency users at once, each acting again as soon as its reply is there, in BURST_ROUNDS chunks, the
         bot's and the floor's in turn, --burst updates each: updates handled per second, and p50 / p99 from the
         send or press to the reply

A reply is the bot's next new message, or, for a press the bot answers with an edit (menu taps, ticks), the
answer to the press (the bot answers a press after its edit). Figures are printed beside the issue's targets; they
are never asserted (benchmarks print, tests assert).

    .venv/bin/python benchmarks/update_cost.py [--quick] [--updates 100] [--burst 400] [--concurrency 4]
                                               [--journeys question,menu,contest,practice]
                                               [--markdown PATH] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import mmap
import os
import platform
import re
import resource
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable

# The launcher's shared counters (benchmarks/_bot_process.py): statements, the label to keep, the update's serial.
WORD = struct.Struct("<Q")
STATEMENTS, LABEL, SERIAL = 0, 8, 16
COUNTERS_SIZE = 4096
RATE_LIMIT_OFF = "benchmark: the bot's rate limiter is off"  # the launcher's line when it configured the bot

CONTEST_TITLE = "成本测试竞赛"
CONTEST_FILE = f"""title: {CONTEST_TITLE}
starts_at: now
ends_at: 2h
questions: 20
seconds_per_question: 300
min_team_size: 1
"""
QUESTIONS = ["卫生间漏水怎么办", "墙面砖一敲咚咚响怎么办", "外墙渗水怎么处理", "楼板裂缝是什么原因", "地漏返臭怎么办",
             "窗户边上渗水", "墙面空鼓怎么修", "屋面防水怎么做", "混凝土蜂窝麻面怎么处理", "地面起砂怎么办",
             "阳台积水排不出去", "吊顶开裂了", "水管接头漏水", "插座没电怎么回事", "门窗关不严",
             "台风天窗户漏水", "楼梯栏杆要多高", "卫生间防水要做多高", "墙面发霉怎么处理", "房子保修期是多久"]
JOURNEYS = ["question", "menu", "contest", "practice"]
MAIN_KIND = {"question": "question", "menu": "menu tap", "contest": "contest answer", "practice": "practice answer"}
POSITION = {"contest": re.compile(r"第 (\d+)/(\d+) 题"), "practice": re.compile(r"练习 (\d+)/(\d+)")}
TICK_MARKS = ("☐", "☑")
WARM_UP = 5           # updates of each journey before measuring
KEPT_UPDATES = 3      # updates of each kind whose SQL statements are kept and listed
REPLY_WAIT = 15.0
QUIET_SECONDS = 0.012  # the bot counts as idle when its CPU time has not moved for this long
IDLE_SECONDS = 3.0
FIRST_USER = 500_000
BURST_ROUNDS = 8      # each burst in chunks, the bot's and the floor's in turn

TARGET_CPU = 1.5          # CPU per update ≤ 1.5 × the floor × (Bot API calls ÷ the floor's calls)
TARGET_CONTEST_SQL = 10   # SQL statements per contest press
TARGET_THROUGHPUT = 0.65  # updates handled per second, against the echo bot's
TARGET_P99_MS = 100.0


# --- small helpers -------------------------------------------------------------------------------------------------

def quantile(values: list[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else float("nan")


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_ticks_s(pid: int) -> float:
    """The process's CPU time (user + system, every thread it ever had) from /proc/PID/stat, in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_ns(pid: int) -> int:
    """The run time of the process's live threads, in nanoseconds (precise, unlike /proc/PID/stat's 10 ms ticks)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as schedstat:
                total += int(schedstat.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread ended meanwhile
    return total


def reference_loop_ms() -> float:
    """How fast this machine runs Python just now: the best of three runs of a fixed loop (the host's speed varies)."""
    best = float("inf")
    for _ in range(3):
        began = time.process_time()
        total = 0
        for number in range(200_000):
            total += number
        best = min(best, time.process_time() - began)
    return best * 1000


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip() or "(not a git checkout)"
    changed = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "bot", "handlers"],
                             capture_output=True, text=True, check=False).stdout.splitlines()
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "commit": commit,
            "uncommitted_bot_files": len(changed), "date": date.today().isoformat()}


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: no token and no QB_ settings of ours, the checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QB_") and k != "TELEGRAM_BOT_TOKEN"}
    env.update(PYTHONPATH=str(ROOT), PTB_TIMEDELTA="1", **extra)
    return env


# --- processes -----------------------------------------------------------------------------------------------------

class Process:
    """A child process whose output goes to files in the work folder."""

    def __init__(self, name: str, args: list[str], workdir: Path, env: dict[str, str]):
        self.name = name
        self.out, self.err = workdir / f"{name}.out", workdir / f"{name}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.popen = subprocess.Popen(args, cwd=workdir, env=env, stdout=out, stderr=err,
                                          stdin=subprocess.DEVNULL)
        self.pid = self.popen.pid

    def check(self) -> None:
        if self.popen.poll() is not None:
            tail = self.err.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{tail}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start_sandbox(workdir: Path) -> tuple[Process, str, str]:
    """`qualitybot sandbox`; returns it, the Bot API base URL (…/bot) and the token, from its first line."""
    port = free_port()
    sandbox = Process("sandbox", [PYTHON, "-m", "bot", "sandbox"], workdir, child_env(QB_HOST="127.0.0.1",
                                                                                        QB_PORT=str(port)))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = sandbox.out.read_text(encoding="utf-8").split("\n", 1)[0]
        match = re.fullmatch(r"Bot API: (http://[^/]+)/bot(.+)/", line.strip())
        if match:
            return sandbox, match.group(1), match.group(2)
        sandbox.check()
        time.sleep(0.05)
    raise RuntimeError("the sandbox did not print its Bot API line within 30 s")


# --- the driver's view of the sandbox ------------------------------------------------------------------------------

class Unanswered(RuntimeError):
    pass


@dataclass
class User:
    id: int
    last: int = 0                       # newest message id seen in the chat
    message: dict[str, Any] | None = None  # the message the journey acts on next
    prepared: bool = False
    done: bool = False


class Users:
    """Hands out fresh users."""

    def __init__(self, first: int):
        self.next_id = first

    def take(self, count: int) -> list[User]:
        users = [User(self.next_id + i) for i in range(count)]
        self.next_id += count
        return users


class Sandbox:
    def __init__(self, http: httpx.AsyncClient):
        self.http = http

    async def json(self, method: str, path: str, **kwargs) -> Any:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code != 200:
            raise Unanswered(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response.json()

    async def calls(self) -> Counter:
        return Counter((await self.json("GET", "/sandbox/state"))["api_calls"])

    async def add_user(self, user_id: int) -> None:
        await self.json("POST", "/sandbox/users", json={"id": user_id, "first_name": f"工人{user_id % 1000}",
                                                         "started": True})

    async def new_messages(self, user: User, wait: float = REPLY_WAIT) -> list[dict[str, Any]]:
        """The bot's messages after the newest one seen, waiting for at least one."""
        found = (await self.json("GET", "/sandbox/messages", params={"chat_id": user.id, "after": user.last,
                                                                     "wait": wait}, timeout=wait + 10))["messages"]
        if not found:
            raise Unanswered(f"user {user.id}: no reply within {wait:.0f} s")
        user.last = max(user.last, *(m["message_id"] for m in found))
        return found

    async def say(self, user: User, text: str) -> dict[str, Any]:
        """Send a message; the reply is the bot's first new message."""
        sent = await self.json("POST", "/sandbox/send", json={"user_id": user.id, "text": text})
        user.last = max(user.last, sent["message_id"])
        return (await self.new_messages(user))[0]

    async def press(self, user: User, message: dict[str, Any], label: str | None = None,
                    new_message: bool = False) -> dict[str, Any]:
        """Press a button of `message` (by label, else the first); the reply is the press's answer, or with
        `new_message` the bot's next new message."""
        where = {"text": label} if label is not None else {"row": 0, "column": 0}
        pressed = await self.json("POST", "/sandbox/press", json={"user_id": user.id, "message_id": message["message_id"],
                                                                  "wait": REPLY_WAIT, **where}, timeout=REPLY_WAIT + 10)
        if pressed.get("answer") is None:
            raise Unanswered(f"user {user.id}: press on {pressed.get('button')!r} not answered")
        return (await self.new_messages(user))[-1] if new_message else message


# --- what runs: the bot or the floor, with its counters ------------------------------------------------------------

@dataclass
class Sample:
    kind: str
    cpu_ms: float
    sql: int
    calls: Counter
    latency_ms: float


@dataclass
class Burst:
    updates: int = 0
    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    bot_cpu_s: float = 0.0
    sandbox_cpu_s: float = 0.0
    driver_cpu_s: float = 0.0
    failures: int = 0


class Target:
    """The process under test, as the driver sees it: its CPU time, its SQL counter, the updates it gets."""

    def __init__(self, name: str, process: Process, sandbox: Sandbox, sandbox_process: Process,
                 counters: Path | None):
        self.name, self.process, self.sandbox, self.sandbox_process = name, process, sandbox, sandbox_process
        self.counters = counters
        self.shared = None
        if counters is not None:
            handle = counters.open("r+b")
            self.shared = mmap.mmap(handle.fileno(), COUNTERS_SIZE)
        self.samples: list[Sample] = []
        self.bursts: dict[str, Burst] = {}
        self.kept_serials: dict[str, list[int]] = defaultdict(list)
        self.serial = 0
        self.mode = "setup"  # setup | warm-up | paced | burst
        self.burst: Burst | None = None
        self.idle: dict[str, float] = {}
        self.cpu_check: dict[str, tuple[float, float]] = {}
        self.users = Users(FIRST_USER)

    @property
    def is_bot(self) -> bool:
        return self.shared is not None

    def statements(self) -> int:
        return WORD.unpack_from(self.shared, STATEMENTS)[0] if self.shared is not None else 0

    def cpu_ns(self) -> int:
        return cpu_ns(self.process.pid)

    async def quiet(self) -> None:
        """Until the process has used no CPU for QUIET_SECONDS (at most 0.5 s)."""
        previous, since = self.cpu_ns(), time.perf_counter()
        deadline = since + 0.5
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.003)
            now_ns, now = self.cpu_ns(), time.perf_counter()
            if now_ns != previous:
                previous, since = now_ns, now
            elif now - since >= QUIET_SECONDS:
                return

    async def update(self, kind: str, action: Callable[[], Awaitable[Any]]) -> Any:
        """One update: measured as the mode says."""
        if self.mode == "burst":
            began = time.perf_counter()
            reply = await action()
            self.burst.latencies.append((time.perf_counter() - began) * 1000)
            self.burst.updates += 1
            return reply
        if self.mode != "paced":
            return await action()
        await self.quiet()
        self.serial += 1
        keep = self.is_bot and len(self.kept_serials[kind]) < KEPT_UPDATES and \
            sum(1 for s in self.samples if s.kind == kind) >= 2  # not the very first ones
        if keep:
            self.kept_serials[kind].append(self.serial)
            WORD.pack_into(self.shared, SERIAL, self.serial)
            WORD.pack_into(self.shared, LABEL, 1)
        calls_before = await self.sandbox.calls()
        sql_before, cpu_before = self.statements(), self.cpu_ns()
        began = time.perf_counter()
        reply = await action()
        latency = (time.perf_counter() - began) * 1000
        await self.quiet()
        cpu_after, sql_after = self.cpu_ns(), self.statements()
        if keep:
            WORD.pack_into(self.shared, LABEL, 0)
        calls = await self.sandbox.calls() - calls_before
        self.samples.append(Sample(kind, (cpu_after - cpu_before) / 1e6, sql_after - sql_before, calls, latency))
        return reply

    async def measure_idle(self) -> None:
        """The process's own background work (timers, long polls) while nobody writes: CPU ms and SQL per second."""
        await self.quiet()
        cpu, sql, began = self.cpu_ns(), self.statements(), time.perf_counter()
        await asyncio.sleep(IDLE_SECONDS)
        seconds = time.perf_counter() - began
        self.idle = {"cpu_ms_per_s": (self.cpu_ns() - cpu) / 1e6 / seconds,
                     "sql_per_s": (self.statements() - sql) / seconds}

    def kept_statements(self) -> dict[str, list[list[str]]]:
        """SQL of the kept updates, per kind: one list of statements per update."""
        path = Path(f"{self.counters}.json")
        if not self.is_bot or not path.is_file():
            return {}
        by_serial: dict[int, list[str]] = defaultdict(list)
        for _, serial, sql in json.loads(path.read_text(encoding="utf-8")):
            by_serial[serial].append(sql)
        return {kind: [by_serial.get(serial, []) for serial in serials] for kind, serials in self.kept_serials.items()}


# --- journeys: what a user does, update by update ------------------------------------------------------------------

class Journey:
    """One user's way through a feature; `step` makes at least one update of the journey's own kind."""

    def __init__(self, name: str, target: Target):
        self.name, self.target, self.sandbox = name, target, target.sandbox
        self.kind = MAIN_KIND[name]
        self.turn = 0

    async def prepare(self, user: User) -> None:
        pass

    async def step(self, user: User) -> None:
        raise NotImplementedError


class EchoJourney(Journey):
    """The floor: questions are messages, everything else a press on the newest message."""

    async def prepare(self, user: User) -> None:
        if self.name != "question":
            user.message = await self.target.update("start", lambda: self.sandbox.say(user, "/start"))

    async def step(self, user: User) -> None:
        if self.name == "question":
            self.turn += 1
            text = QUESTIONS[self.turn % len(QUESTIONS)]
            await self.target.update(self.kind, lambda: self.sandbox.say(user, text))
        else:
            user.message = await self.target.update(
                self.kind, lambda: self.sandbox.press(user, user.message, new_message=True))


class QuestionJourney(Journey):
    async def step(self, user: User) -> None:
        self.turn += 1
        text = QUESTIONS[self.turn % len(QUESTIONS)]
        await self.target.update("question", lambda: self.sandbox.say(user, text))


class MenuJourney(Journey):
    """我的, then 返回主菜单, on the same message (the bot edits it each time)."""

    async def prepare(self, user: User) -> None:
        user.message = await self.target.update("menu /start", lambda: self.sandbox.say(user, "/start"))

    async def step(self, user: User) -> None:
        for label in ("我的", "返回主菜单"):
            await self.target.update("menu tap", lambda label=label: self.sandbox.press(user, user.message, label))


class QuizJourney(Journey):
    """Contest and practice: press the first option of the newest question (tick it and 提交 for 多选)."""

    async def prepare(self, user: User) -> None:
        say, press = self.sandbox.say, self.sandbox.press
        update = self.target.update
        if self.name == "contest":
            listing = await update("contest open", lambda: say(user, "/contest"))
            await update("contest open", lambda: press(user, listing, CONTEST_TITLE))
            user.message = await update("contest start", lambda: press(user, listing, "开始答题", new_message=True))
        else:
            menu = await update("practice open", lambda: say(user, "/practice"))
            user.message = await update("practice start", lambda: press(user, menu, "随机 10 题", new_message=True))

    async def step(self, user: User) -> None:
        question = user.message
        match = POSITION[self.name].search(question.get("text", ""))
        if match is None:
            raise Unanswered(f"user {user.id}: not a {self.name} question: {question.get('text', '')[:80]!r}")
        last = match.group(1) == match.group(2)
        kind = self.kind + (" (last)" if last else "")
        if question["buttons"][0][0].startswith(TICK_MARKS):
            await self.target.update(self.name + " tick", lambda: self.sandbox.press(user, question))
            reply = await self.target.update(kind, lambda: self.sandbox.press(user, question, "提交", new_message=True))
        else:
            reply = await self.target.update(kind, lambda: self.sandbox.press(user, question, new_message=True))
        text = reply.get("text", "")
        if self.name == "contest" and "答题结束" in text:
            user.done = True
        elif self.name == "practice" and "练习完成" in text:
            reply = await self.target.update("practice start",
                                             lambda: self.sandbox.press(user, reply, "再练一组", new_message=True))
        user.message = reply


def journey(name: str, target: Target) -> Journey:
    if not target.is_bot:
        return EchoJourney(name, target)
    return {"question": QuestionJourney, "menu": MenuJourney, "contest": QuizJourney,
            "practice": QuizJourney}[name](name, target)


# --- running both, interleaved --------------------------------------------------------------------------------------

class Lane:
    """One target's users and journey for one kind of update."""

    def __init__(self, name: str, target: Target, args):
        self.name, self.target = name, target
        self.flow = journey(name, target)
        self.uses_up = name == "contest" and target.is_bot  # a contest is taken once: 19 answers, then the last
        self.updates = args.updates
        if self.uses_up:
            self.paced_users = target.users.take(math.ceil((args.updates + WARM_UP) / 19) + 1)
            self.burst_users = target.users.take(math.ceil(args.burst / 19) + 2 * args.concurrency)
        else:
            self.paced_users = target.users.take(2)
            self.burst_users = target.users.take(2 * args.concurrency)
        self.groups = [self.burst_users[i::args.concurrency] for i in range(args.concurrency)]
        self.steps = 0
        self.first_sample = 0
        self.ticks_before = 0.0
        self.burst = target.bursts.setdefault(name, Burst())

    def own_samples(self) -> int:
        return sum(1 for s in self.target.samples[self.first_sample:] if s.kind == self.flow.kind)

    def needs(self) -> bool:
        return self.target.mode != "paced" or self.own_samples() < self.updates

    async def prepare(self, user: User) -> None:
        if not user.prepared:
            user.prepared = True
            await self.flow.prepare(user)

    async def paced_step(self) -> None:
        """One step of one user: after WARM_UP steps, measured update by update."""
        target = self.target
        if target.mode == "setup":
            target.mode = "warm-up"
        elif target.mode == "warm-up" and self.steps >= WARM_UP:
            await target.quiet()
            target.mode = "paced"
            self.first_sample, self.ticks_before = len(target.samples), cpu_ticks_s(target.process.pid)
        user = next(u for u in self.paced_users if not u.done) if self.uses_up else \
            self.paced_users[self.steps % len(self.paced_users)]
        await self.prepare(user)
        await self.flow.step(user)
        self.steps += 1

    async def end_paced(self) -> None:
        target = self.target
        await target.quiet()
        # the samples' sum against /proc/PID/stat over the same stretch (the waits between updates included)
        target.cpu_check[self.name] = (sum(s.cpu_ms for s in target.samples[self.first_sample:]) / 1000,
                                       cpu_ticks_s(target.process.pid) - self.ticks_before)
        target.mode = "setup"
        for user in self.burst_users:
            await self.prepare(user)
        await target.quiet()

    async def burst_chunk(self, updates: int) -> None:
        """`updates` more updates, from --concurrency users at once, each acting again as soon as it has its reply."""
        target, burst = self.target, self.burst
        target.mode, target.burst = "burst", burst
        until = burst.updates + updates

        async def worker(users: list[User]) -> None:
            while burst.updates < until:
                active = [u for u in users if not u.done]
                if not active:
                    return
                user = active[0] if self.uses_up else active[burst.updates % len(active)]
                try:
                    await self.flow.step(user)
                except Unanswered:
                    user.done = True  # where it stands is unknown now
                    burst.failures += 1
                    if burst.failures > 10:
                        raise

        bot_cpu, sandbox_cpu = cpu_ticks_s(target.process.pid), cpu_ticks_s(target.sandbox_process.pid)
        driver_before = resource.getrusage(resource.RUSAGE_SELF)
        began = time.perf_counter()
        await asyncio.gather(*(worker(users) for users in self.groups))
        burst.wall_s += time.perf_counter() - began
        driver = resource.getrusage(resource.RUSAGE_SELF)
        burst.bot_cpu_s += cpu_ticks_s(target.process.pid) - bot_cpu
        burst.sandbox_cpu_s += cpu_ticks_s(target.sandbox_process.pid) - sandbox_cpu
        burst.driver_cpu_s += (driver.ru_utime + driver.ru_stime) - (driver_before.ru_utime + driver_before.ru_stime)
        target.mode = "setup"
        await target.quiet()


async def register(target: Target, users: list[User], concurrency: int) -> None:
    """Through the bot, as a person does: /start, 三亚, 一线工人/班组长, 暂不加入."""
    sandbox = target.sandbox
    queue = list(users)

    async def worker() -> None:
        while queue:
            user = queue.pop()
            await sandbox.add_user(user.id)
            if not target.is_bot:
                continue
            picker = await sandbox.say(user, "/start")
            await sandbox.press(user, picker, "三亚")
            await sandbox.press(user, picker, "一线工人")  # the same message turns into step 3
            await sandbox.press(user, picker, "暂不加入")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def run_journey(name: str, targets: list[Target], args) -> None:
    """Paced updates of the bot and the floor in turn, then bursts of each in turn (BURST_ROUNDS chunks each)."""
    lanes = [Lane(name, target, args) for target in targets]
    for lane in lanes:
        await register(lane.target, lane.paced_users + lane.burst_users, args.concurrency)
    while any(lane.needs() for lane in lanes):
        for lane in lanes:
            if lane.needs():
                await lane.paced_step()
    for lane in lanes:
        await lane.end_paced()
    chunk = math.ceil(args.burst / BURST_ROUNDS)
    for round_number in range(BURST_ROUNDS):
        for lane in lanes if round_number % 2 == 0 else lanes[::-1]:
            await lane.burst_chunk(chunk)


async def start_target(name: str, workdir: Path, stack: contextlib.AsyncExitStack, args) -> Target:
    """Its own sandbox (limits off), then the process, polling; for the bot, a running contest."""
    folder = workdir / name
    folder.mkdir()
    sandbox_process, api_url, token = start_sandbox(folder)
    stack.callback(sandbox_process.stop)
    limits = httpx.Limits(max_connections=4 * args.concurrency + 16, max_keepalive_connections=4 * args.concurrency + 16)
    http = await stack.enter_async_context(httpx.AsyncClient(base_url=api_url, limits=limits, timeout=30))
    sandbox = Sandbox(http)
    await sandbox.json("POST", "/sandbox/limits", json={"enabled": False, "callback_timeout": 0,
                                                        "require_start": False})
    if name == "echo":
        process = Process(name, [PYTHON, str(HERE / "_echo_bot.py"), f"{api_url}/bot", token], folder, child_env())
        counters = None
    else:
        counters = folder / "counters"
        counters.write_bytes(bytes(COUNTERS_SIZE))
        process = Process(name, [PYTHON, str(HERE / "_bot_process.py"), str(counters)], folder,
                          child_env(QB_BOT_API_URL=api_url, QB_DB=str(folder / "qualitybot.db"), QB_HOST="127.0.0.1",
                                    QB_PORT=str(free_port())))
    stack.callback(process.stop)  # before its sandbox: callbacks run last in, first out
    target = Target(name, process, sandbox, sandbox_process, counters)
    deadline = time.monotonic() + 90
    while not (await sandbox.calls())["getUpdates"]:
        process.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start polling within 90 s")
        await asyncio.sleep(0.1)
    if target.is_bot:
        if RATE_LIMIT_OFF not in process.err.read_text(encoding="utf-8", errors="replace"):
            raise RuntimeError("the bot did not take its configuration from bot.cli.load_config, which the launcher "
                               "replaces: its rate limiter may be on")
        contest_file = folder / "contest.yaml"
        contest_file.write_text(CONTEST_FILE, encoding="utf-8")
        created = await asyncio.to_thread(
            subprocess.run, [PYTHON, "-m", "bot", "contest", "create", str(contest_file)], cwd=folder,
            env=child_env(QB_DB=str(folder / "qualitybot.db")), capture_output=True, text=True, check=False)
        if created.returncode != 0:
            raise RuntimeError(f"qualitybot contest create failed: {created.stderr[-1000:]}")
    return target


# --- figures -------------------------------------------------------------------------------------------------------

def per_kind(target: Target) -> dict[str, dict[str, Any]]:
    kinds: dict[str, list[Sample]] = defaultdict(list)
    for sample in target.samples:
        kinds[sample.kind].append(sample)
    figures = {}
    for kind, samples in kinds.items():
        calls = Counter()
        for s in samples:
            calls.update(s.calls)
        n = len(samples)
        polls = calls.pop("getUpdates", 0)
        figures[kind] = {
            "updates": n, "cpu_ms": mean([s.cpu_ms for s in samples]),
            "cpu_ms_median": statistics.median(s.cpu_ms for s in samples),
            "sql": mean([s.sql for s in samples]) if target.is_bot else None,
            "sql_median": statistics.median(s.sql for s in samples) if target.is_bot else None,
            "calls": sum(calls.values()) / n, "calls_by_method": {m: c / n for m, c in sorted(calls.items())},
            "get_updates": polls / n,
            "latency_p50_ms": quantile([s.latency_ms for s in samples], 0.5),
        }
    return figures


def burst_figures(target: Target) -> dict[str, dict[str, Any]]:
    return {name: {"updates": b.updates, "per_s": b.updates / b.wall_s, "p50_ms": quantile(b.latencies, 0.5),
                   "p99_ms": quantile(b.latencies, 0.99), "wall_s": b.wall_s, "failures": b.failures,
                   "bot_cpu_ms": b.bot_cpu_s * 1000 / b.updates, "sandbox_cpu_ms": b.sandbox_cpu_s * 1000 / b.updates,
                   "driver_cpu_ms": b.driver_cpu_s * 1000 / b.updates}
            for name, b in target.bursts.items()}


def shape(sql: str) -> str:
    """A statement without its values, on one line."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(?:\.\d+)?\b", "?", sql)
    sql = " ".join(sql.split())
    return sql if len(sql) <= 110 else sql[:107] + "..."


def report(results: dict[str, Any]) -> str:
    def check(ok: bool) -> str:
        return "✅" if ok else "❌"

    bot, echo = results["targets"]["bot"], results["targets"]["echo"]
    m, a = results["machine"], results["args"]
    lines = [f"Run of {m['date']}: `nproc` = {m['nproc']}, {m['cpu']}, CPython {m['python']}, commit {m['commit']}"
             + (f" with {m['uncommitted_bot_files']} uncommitted files in bot/ and handlers/"
                if m["uncommitted_bot_files"] else "")
             + f"; {a['updates']} paced updates of each kind, bursts of {a['burst']} updates with {a['concurrency']} "
             "users at once; the bot's and the echo bot's updates in turn. A fixed Python loop took "
             f"{min(results['reference_loop_ms']):.1f} to {max(results['reference_loop_ms']):.1f} ms before the "
             "journeys (the machine's speed varies: compare ratios, not milliseconds, between runs).", "",
             ("| kind | bot CPU ms/update | echo CPU ms/update | ratio | Bot API calls/update bot (echo) | "
              f"ratio ÷ calls ratio (≤ {TARGET_CPU}) | SQL statements/update | updates/s bot / echo | "
              f"ratio (≥ {TARGET_THROUGHPUT}) | burst p50 / p99 ms bot (p99 < {TARGET_P99_MS:.0f}) | "
              "burst p50 / p99 ms echo |"),
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in a["journeys"]:
        kind = MAIN_KIND[name]
        mine, floor = bot["kinds"].get(kind), echo["kinds"].get(kind)
        if mine is None or floor is None:
            continue
        ratio = mine["cpu_ms"] / floor["cpu_ms"]
        normalised = ratio / (mine["calls"] / floor["calls"])
        burst, floor_burst = bot["bursts"][name], echo["bursts"][name]
        rate_ratio = burst["per_s"] / floor_burst["per_s"]
        sql_text = f"{mine['sql']:.1f}" + (f" (≤ {TARGET_CONTEST_SQL} {check(mine['sql'] <= TARGET_CONTEST_SQL)})"
                                           if name == "contest" else "")
        lines.append(
            f"| {kind} | {mine['cpu_ms']:.2f} | {floor['cpu_ms']:.2f} | {ratio:.2f} | {mine['calls']:.2f} "
            f"({floor['calls']:.2f}) | {normalised:.2f} {check(normalised <= TARGET_CPU)} | {sql_text} | "
            f"{burst['per_s']:.1f} / {floor_burst['per_s']:.1f} | {rate_ratio:.2f} "
            f"{check(rate_ratio >= TARGET_THROUGHPUT)} | {burst['p50_ms']:.1f} / {burst['p99_ms']:.1f} "
            f"{check(burst['p99_ms'] < TARGET_P99_MS)} | {floor_burst['p50_ms']:.1f} / {floor_burst['p99_ms']:.1f} |")
    lines += ["", "Every kind of update in the paced runs (the bot's set-up steps included):", "",
              ("| bot | kind | updates | CPU ms mean (median) | SQL statements mean (median) | Bot API calls | "
               "getUpdates | reply p50 ms |"), "|---|---|---|---|---|---|---|---|"]
    for name, target in (("bot", bot), ("echo", echo)):
        for kind, f in sorted(target["kinds"].items()):
            methods = ", ".join(f"{method} {count:.2f}" for method, count in f["calls_by_method"].items())
            sql = f"{f['sql']:.1f} ({f['sql_median']:g})" if f["sql"] is not None else "–"
            lines.append(f"| {name} | {kind} | {f['updates']} | {f['cpu_ms']:.2f} ({f['cpu_ms_median']:.2f}) | {sql} | "
                         f"{methods} | {f['get_updates']:.2f} | {f['latency_p50_ms']:.1f} |")
    lines.append("")
    for name, target in (("bot", bot), ("echo", echo)):
        idle = target["idle"]
        sql = f", {idle['sql_per_s']:.2f} SQL statements/s" if name == "bot" else ""
        bursts = "; ".join(f"{j} {b['bot_cpu_ms']:.2f} / {b['sandbox_cpu_ms']:.2f} / {b['driver_cpu_ms']:.2f}"
                           + (f" ({b['failures']} unanswered)" if b["failures"] else "")
                           for j, b in target["bursts"].items())
        lines.append(f"- {name}: idle {idle['cpu_ms_per_s']:.2f} CPU ms/s{sql}; in the bursts, CPU ms per update of "
                     f"{name} / its sandbox / the driver (from /proc/PID/stat and getrusage): {bursts}")
    kept = bot.get("statements", {})
    if kept:
        lines += ["", "SQL statements of one update, per kind (the bot's, as SQLite ran them; values as ?):", ""]
        for kind in sorted(kept):
            updates = [u for u in kept[kind] if u]
            if not updates:
                continue
            lines.append(f"- {kind} ({len(updates[-1])} statements in the last of {len(updates)} kept updates):")
            for text, count in Counter(shape(sql) for sql in updates[-1]).most_common():
                lines.append(f"  - {count} × `{text}`")
    return "\n".join(lines) + "\n"


async def run(args) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "args": {k: v for k, v in vars(args).items()
                                                              if k not in ("markdown", "json")},
                               "targets": {}, "reference_loop_ms": []}
    with tempfile.TemporaryDirectory(prefix="update-cost-") as tmp:
        async with contextlib.AsyncExitStack() as stack:
            targets = [await start_target(name, Path(tmp), stack, args) for name in ("bot", "echo")]
            for name in args.journeys:
                began = time.monotonic()
                results["reference_loop_ms"].append(reference_loop_ms())
                await run_journey(name, targets, args)
                print(f"{name}: {time.monotonic() - began:.1f} s", file=sys.stderr, flush=True)
            bot = targets[0]
            if not bot.statements():
                raise RuntimeError("no SQL statement was counted: the bot no longer opens its database through "
                                   "sqlite_utils.Database, which the launcher instruments")
            for target in targets:
                await target.measure_idle()  # at the end: timers that run once shortly after the start are over
        for target in targets:  # stopped now: the bot has written the statements it kept
            results["targets"][target.name] = {
                "kinds": per_kind(target), "bursts": burst_figures(target), "idle": target.idle,
                "statements": target.kept_statements(), "paced_cpu_s_samples_vs_stat": target.cpu_check}
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer updates (about 40 s instead of 100)")
    parser.add_argument("--updates", type=int, help="paced updates of each journey's own kind (default 100, quick 40)")
    parser.add_argument("--burst", type=int, help="updates in each burst (default 400, quick 150)")
    parser.add_argument("--concurrency", type=int, default=4, help="users acting at once in a burst (default 4)")
    parser.add_argument("--journeys", default=",".join(JOURNEYS), help="comma-separated, of " + ", ".join(JOURNEYS))
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON")
    args = parser.parse_args(argv)
    args.updates = args.updates or (40 if args.quick else 100)
    args.burst = args.burst or (150 if args.quick else 400)
    args.journeys = [j.strip() for j in args.journeys.split(",") if j.strip()]
    unknown = set(args.journeys) - set(JOURNEYS)
    if unknown:
        parser.error(f"unknown journeys: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    results = asyncio.run(run(args))
    results["total_s"] = round(time.monotonic() - began, 1)
    text = report(results)
    print(text)
    print(f"total {results['total_s']} s", file=sys.stderr)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
