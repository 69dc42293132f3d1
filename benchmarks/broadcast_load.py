"""Broadcast load benchmark (a script, not a test): one announcement to N sandbox users at the configured rate.

For each configured rate (`--rates`, default 30 and 100 messages per second) a fresh child process of this script
starts the real bot in-process with the sandbox, as the tests do (tests.helpers.RunningBot with
make_config(tmp, broadcast_rate=RATE)), so that every rate gets its own memory figures. The child

1. populates N users of 三亚市 directly into the sandbox state and the database (set-up, not measured), makes an
   officer (not a 三亚市 user, so the audience is exactly the N users) and grants the officer the bureau role;
2. measures the baseline reply latency of a user asking "卫生间漏水怎么办" through the control API, one question
   every 0.5 s, with no broadcast running;
3. creates an announcement for 三亚市 with `Announcements.create` (the officer's chat gets the progress message,
   as `handlers.announce._create` does) and starts it with `handlers.announce.start_broadcast`, which sends through
   the real path (a separate telegram Bot, `make_sender`);
4. while it runs, asks the same question every 0.5 s and times the replies, samples RSS, and records the arrival
   time of every sendMessage to a recipient at the sandbox (`SandboxServer.api_sendmessage` is wrapped in the
   benchmark process only) and, to tell the limiter from the jitter after it, the moment the broadcaster's rate
   limiter releases each message (its limiter is swapped for an identical one that records releases);
5. stops the clock when the officer's progress message turns into the final summary (公告发送完毕), then counts
   the messages containing the announcement text in each of the N chats and reads the summary's `sent` count.

Figures: achieved rate = delivered / wall time (start_broadcast to the final summary); the target is at least
90% of the configured rate. The maximum number of sendMessage arrivals in any one-second sliding window must not
exceed the rate. Peak RSS is the child's ru_maxrss (set-up included); Δ RSS is the highest sampled VmRSS during
the broadcast minus VmRSS at its start (it includes the sandbox keeping every message in memory).

    .venv/bin/python benchmarks/broadcast_load.py [--users 10000] [--rates 30,100] [--timeout 1200]
                                                  [--baseline-probes 100] [--markdown PATH]

The run is bounded: after --timeout seconds (default 20 minutes) a running broadcast is stopped, the script
reports what it has (marked incomplete) and skips the rates it did not reach.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("PTB_TIMEDELTA", "1")

REGION = "三亚市"
OFFICER = 700
ASKER = 99
ADMIN_ID = 9000
FIRST_USER = 100_000
QUESTION = "卫生间漏水怎么办"
ANSWER_FRAGMENT = "卫生间"
PROBE_INTERVAL = 0.5
ANNOUNCEMENT_TEXT = "【压测公告】台风“摩羯”将于明天登陆，各工地今晚 18:00 前完成塔吊、脚手架加固。"
MARKER = "压测公告"
FINAL = "公告发送完毕"
STOP_RESERVE = 45.0  # seconds of a child's deadline kept for stopping the bot and counting


# --- small helpers -----------------------------------------------------------------------------------------

def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(len(ordered) * fraction))) - 1]


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The largest number of timestamps in any half-open interval [t, t + window)."""
    ordered = sorted(times)
    best = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def windows_over(times: list[float], limit: float, window: float = 1.0) -> int:
    """How many of the windows [t, t + window) starting at a timestamp t hold more than `limit` timestamps."""
    ordered = sorted(times)
    over = end = 0
    for start, moment in enumerate(ordered):
        while end < len(ordered) and ordered[end] - moment < window:
            end += 1
        over += end - start > limit
    return over


def min_gap_ms(times: list[float]) -> float:
    ordered = sorted(times)
    return min((b - a for a, b in zip(ordered, ordered[1:])), default=float("nan")) * 1000


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# --- the child: one rate, one bot ----------------------------------------------------------------------------

class Prober:
    """One user asks the question every PROBE_INTERVAL seconds through the control API and times each reply.

    A question is sent on the next 0.5 s tick after the previous reply arrived, so questions never overlap (a
    reply slower than 0.5 s delays the next question instead of being confused with it)."""

    def __init__(self, http, deadline: float):
        self.http = http
        self.deadline = deadline
        self.latencies_ms: list[float] = []
        self.unanswered = 0

    async def ask_once(self) -> None:
        began = time.perf_counter()
        response = await self.http.post("/sandbox/send", json={"user_id": ASKER, "text": QUESTION})
        response.raise_for_status()
        after = response.json()["message_id"]
        while True:
            remaining = min(30.0, self.deadline - time.monotonic())
            if remaining <= 0:
                self.unanswered += 1
                return
            reply = await self.http.get("/sandbox/messages", params={"chat_id": ASKER, "after": after,
                                                                     "wait": remaining}, timeout=remaining + 30)
            reply.raise_for_status()
            messages = reply.json()["messages"]
            if any(ANSWER_FRAGMENT in (m.get("text") or "") for m in messages):
                self.latencies_ms.append((time.perf_counter() - began) * 1000)
                return
            if messages:
                after = max(m["message_id"] for m in messages)
            elif remaining < 30.0:
                self.unanswered += 1
                return

    async def run(self, stop: asyncio.Event | None = None, count: int | None = None) -> None:
        tick = time.monotonic()
        asked = 0
        while (stop is None or not stop.is_set()) and (count is None or asked < count) \
                and time.monotonic() < self.deadline:
            await self.ask_once()
            asked += 1
            tick += PROBE_INTERVAL
            while tick < time.monotonic():  # a slow reply: skip the ticks it covered
                tick += PROBE_INTERVAL
            delay = tick - time.monotonic()
            if stop is not None:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except asyncio.TimeoutError:
                    pass
            else:
                await asyncio.sleep(delay)


def recording_limiter(limiter, releases: list[float]):
    """An AsyncLimiter with the same parameters that also appends the time of every release to `releases`."""
    from aiolimiter import AsyncLimiter

    class RecordingLimiter(AsyncLimiter):
        async def __aenter__(self) -> None:
            await self.acquire()
            releases.append(time.monotonic())

    return RecordingLimiter(limiter.max_rate, limiter.time_period)


def populate(running, user_ids: range) -> None:
    """As tests/test_e2e_announce.populate: straight into the sandbox state and the database, one transaction."""
    sandbox = running.runtime.sandbox
    storage = running.storage
    with storage.db.atomic():
        for user_id in user_ids:
            sandbox.add_user(user_id, f"工人{user_id}")
            storage.db.execute("INSERT INTO users (id, first_name, region, role, active, created_at, updated_at) "
                               "VALUES (?, ?, ?, 'worker', 1, 't', 't')", [user_id, f"工人{user_id}", REGION])


async def run_child(users: int, rate: float, baseline_probes: int, deadline_epoch: float) -> dict[str, Any]:
    from bot.announcements import Draft
    from bot.config import KNOWLEDGE_DIR
    from bot.qa import KnowledgeService
    from bot.sandbox.server import SandboxServer
    from handlers.announce import start_broadcast
    from tests.helpers import RunningBot, make_config

    deadline = time.monotonic() + (deadline_epoch - time.time()) - STOP_RESERVE
    recipients = range(FIRST_USER, FIRST_USER + users)
    recipient_set = set(recipients)
    arrivals: list[float] = []
    original = SandboxServer.api_sendmessage

    async def timed_sendmessage(self, params):
        # benchmark-only instrumentation: when each broadcast message reaches the sandbox
        try:
            if int(params.get("chat_id")) in recipient_set:
                arrivals.append(time.monotonic())
        except (TypeError, ValueError):
            pass
        return await original(self, params)

    SandboxServer.api_sendmessage = timed_sendmessage
    result: dict[str, Any] = {"users": users, "rate": rate, "complete": False, "notes": []}
    knowledge = KnowledgeService(KNOWLEDGE_DIR)
    with tempfile.TemporaryDirectory(prefix="qb-broadcast-") as tmp:
        running = await RunningBot(make_config(Path(tmp), broadcast_rate=rate), knowledge).start()
        try:
            await measure(running, result, recipients, arrivals, baseline_probes, deadline, Draft, start_broadcast)
        finally:
            stop_began = time.monotonic()
            await running.stop()
            result["stop_s"] = round(time.monotonic() - stop_began, 2)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


async def measure(running, result: dict[str, Any], recipients: range, arrivals: list[float], baseline_probes: int,
                  deadline: float, Draft, start_broadcast) -> None:
    runtime = running.runtime
    sandbox = runtime.sandbox
    storage = running.storage
    client = running.client
    services = runtime.services

    began = time.monotonic()
    populate(running, recipients)
    await client.user(OFFICER, "三亚住建局")
    storage.upsert_user(OFFICER, "三亚住建局", None)
    storage.grant_role(OFFICER, "bureau", REGION, ADMIN_ID)
    await client.user(ASKER, "提问者")
    result["setup_s"] = round(time.monotonic() - began, 2)

    # baseline: the same question with nothing else going on
    baseline = Prober(client.http, deadline)
    await baseline.ask_once()  # warm-up (first use of the search engine, the asker's first contact), not counted
    baseline.latencies_ms.clear()
    baseline.unanswered = 0
    await baseline.run(count=baseline_probes)
    result["baseline_ms"] = baseline.latencies_ms
    result["baseline_unanswered"] = baseline.unanswered

    # the announcement, with its progress message in the officer's chat as the handler makes it
    progress = await runtime.application.bot.send_message(OFFICER, "📤 准备发送……")
    announcement = services.announcements.create(OFFICER, Draft(ANNOUNCEMENT_TEXT, None, [REGION]),
                                                 progress_chat_id=OFFICER)
    announcement_id = announcement["id"]
    storage.update_announcement(announcement_id, {"progress_message_id": progress.message_id})
    result["audience"] = services.announcements.summary(announcement_id).total

    def final_text() -> str | None:
        message = sandbox.chats[OFFICER].messages.get(progress.message_id) or {}
        text = message.get("text") or ""
        return text if FINAL in text else None

    rss_start = rss_mb()
    rss_samples = [rss_start]
    stop = asyncio.Event()

    async def sample_rss() -> None:
        while not stop.is_set():
            rss_samples.append(rss_mb())
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except asyncio.TimeoutError:
                pass

    during = Prober(client.http, deadline)
    arrivals.clear()
    started = time.monotonic()
    start_broadcast(runtime.application, announcement_id)
    # benchmark-only instrumentation, for reading the arrival figures: the moments the broadcaster's own rate
    # limiter lets a message through. The broadcast task has been created but has not run yet, so swapping in an
    # identical limiter that also records its releases catches every message.
    releases: list[float] = []
    broadcaster = runtime.application.bot_data["broadcasts"][announcement_id][0]
    broadcaster.limiter = recording_limiter(broadcaster.limiter, releases)
    tasks = [asyncio.create_task(during.run(stop=stop)), asyncio.create_task(sample_rss())]
    summary_text = None
    try:
        async with sandbox.changed:
            summary_text = await asyncio.wait_for(sandbox.changed.wait_for(final_text),
                                                  max(0.0, deadline - time.monotonic()))
    except asyncio.TimeoutError:
        result["notes"].append("global timeout: broadcast stopped before the final summary")
    finished = time.monotonic()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    rss_samples.append(rss_mb())

    counts = [sum(1 for m in sandbox.chats[user_id].messages.values() if MARKER in (m.get("text") or ""))
              for user_id in recipients]
    summary = services.announcements.summary(announcement_id)
    result.update({
        "complete": summary_text is not None,
        "wall_s": finished - started,
        "delivered": sum(1 for n in counts if n > 0),
        "duplicates": sum(n - 1 for n in counts if n > 1),
        "missing": sum(1 for n in counts if n == 0),
        "summary_text": summary_text,
        "summary_sent": summary.sent,
        "summary": vars(summary),
        "arrivals": len(arrivals),
        "max_window": max_in_window(arrivals),
        "first_to_last_s": (max(arrivals) - min(arrivals)) if arrivals else float("nan"),
        "min_gap_ms": min_gap_ms(arrivals),
        "windows_over": windows_over(arrivals, result["rate"]),
        "releases_max_window": max_in_window(releases),
        "releases_min_gap_ms": min_gap_ms(releases),
        "during_ms": during.latencies_ms,
        "during_unanswered": during.unanswered,
        "rss_start_mb": rss_start,
        "rss_growth_mb": max(rss_samples) - rss_start,
    })
    if summary_text is not None:
        sent_line = next((line for line in summary_text.splitlines() if line.startswith("送达：")), "")
        result["summary_text_sent"] = int(sent_line.removeprefix("送达：").replace(",", "") or -1)


def child_main(args) -> int:
    import logging
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = asyncio.run(run_child(args.users, args.child_rate, args.baseline_probes, args.deadline))
    Path(args.child_out).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


# --- the parent: one child per rate, then the table ------------------------------------------------------------

def fmt_ms(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{percentile(values, 0.5):.0f} / {percentile(values, 0.99):.0f}"


def row(result: dict[str, Any]) -> str:
    rate = result["rate"]
    if "wall_s" not in result:
        return (f"| {result['users']:,} | {rate:g} | – | – | – | – | – | – | – | – | – | "
                f"not measured: {result.get('error', 'no result')} |")
    achieved = result["delivered"] / result["wall_s"] if result["wall_s"] else float("nan")
    within = result["complete"] and 0.9 * rate <= achieved <= rate
    window_ok = result["max_window"] <= rate
    status = "complete" if result["complete"] else "**incomplete** (timeout)"
    sent = result.get("summary_text_sent", result["summary_sent"])
    return (f"| {result['users']:,} | {rate:g} | {achieved:.2f} | {'yes' if within else 'no'} | "
            f"{result['max_window']} {'✅' if window_ok else '❌'} | {result['wall_s']:.1f} | "
            f"{result['delivered']:,} / sent {sent:,} | {result['duplicates']} | {result['peak_rss_mb']:.0f} | "
            f"{result['rss_growth_mb']:.1f} | {fmt_ms(result['during_ms'])} vs {fmt_ms(result['baseline_ms'])} | "
            f"{status} |")


def table(results: list[dict[str, Any]], elapsed: float) -> str:
    lines = ["| users | configured rate msg/s | achieved msg/s | within 10% | max in any 1 s window (≤ rate) | "
             "wall s | delivered / summary sent | duplicates | peak RSS MB | Δ RSS MB | "
             "reply p50 / p99 ms during vs baseline | run |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [row(result) for result in results]
    notes = []
    for result in results:
        if "wall_s" not in result:
            continue
        notes.append(f"- rate {result['rate']:g}: audience {result['audience']:,}; "
                     f"{result['arrivals']:,} sendMessage arrivals at the sandbox, first to last "
                     f"{result['first_to_last_s']:.1f} s, smallest gap {result['min_gap_ms']:.1f} ms, "
                     f"{result['windows_over']} of the 1 s windows starting at an arrival hold more than the rate; "
                     f"at the broadcaster's limiter (before the database write and the HTTP request) max in "
                     f"any 1 s {result['releases_max_window']}, smallest gap {result['releases_min_gap_ms']:.1f} ms; "
                     f"{result['missing']} recipients without the message; "
                     f"reply probes {len(result['during_ms'])} during (unanswered {result['during_unanswered']}), "
                     f"{len(result['baseline_ms'])} baseline (unanswered {result['baseline_unanswered']}); "
                     f"summary {result['summary']}; set-up {result['setup_s']} s, bot stop {result.get('stop_s')} s"
                     + (f"; {'; '.join(result['notes'])}" if result["notes"] else ""))
    notes.append(f"- machine: `nproc` = {os.cpu_count()}, CPU \"{cpu_name()}\", CPython {platform.python_version()}; "
                 f"total run {elapsed / 60:.1f} min")
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rates", default="30,100", help="configured broadcast rates, comma-separated")
    parser.add_argument("--timeout", type=float, default=1200.0, help="global timeout in seconds (default 20 min)")
    parser.add_argument("--baseline-probes", type=int, default=100,
                        help="questions asked for the baseline latency, one every 0.5 s (default 100)")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--child-rate", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_rate is not None:
        return child_main(args)
    began = time.time()
    deadline = began + args.timeout
    rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    results: list[dict[str, Any]] = []
    for rate in rates:
        if deadline - time.time() < STOP_RESERVE + 30:
            results.append({"users": args.users, "rate": rate, "error": "global timeout reached before this rate"})
            continue
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
            out_path = Path(out.name)
        command = [sys.executable, str(Path(__file__).resolve()), "--users", str(args.users), "--child-rate",
                   str(rate), "--child-out", str(out_path), "--deadline", str(deadline),
                   "--baseline-probes", str(args.baseline_probes)]
        print(f"rate {rate:g}/s, {args.users:,} users ...", file=sys.stderr, flush=True)
        try:
            # the child stops itself STOP_RESERVE seconds before the deadline; this is the last resort
            completed = subprocess.run(command, timeout=max(1.0, deadline - time.time()) + 60)
            if completed.returncode != 0:
                results.append({"users": args.users, "rate": rate, "error": f"exit code {completed.returncode}"})
            else:
                results.append(json.loads(out_path.read_text(encoding="utf-8")))
        except subprocess.TimeoutExpired:
            results.append({"users": args.users, "rate": rate, "error": "killed after the global timeout"})
        finally:
            out_path.unlink(missing_ok=True)
    text = table(results, time.time() - began)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    ok = all(result.get("complete") and result["delivered"] == result["users"] == result["summary_sent"]
             and result["duplicates"] == 0 and result["max_window"] <= result["rate"] for result in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
