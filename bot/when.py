"""Times as people write them: 2026-12-10 18:00, 12月10日 18:00, 明天上午九点, 后天晚上8点半, now, now+2h.

Plain functions of the text, the present moment and the time zone, so a unit test can check any phrase on any day.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_WORDS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
# The part of the day shifts the hour: 下午3点 is 15:00, 中午1点 is 13:00.
AFTERNOON = {"下午", "晚上", "傍晚", "夜里", "晚"}
MORNING = {"上午", "早上", "早晨", "凌晨", "清晨", "早", "中午"}
CHINESE_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
                  "九": 9, "十": 10}
UNIT_SECONDS = {"m": 60, "min": 60, "分钟": 60, "h": 3600, "小时": 3600, "个小时": 3600, "d": 86400, "天": 86400}

_NUMBER = r"(\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
_CLOCK = re.compile(rf"^{_NUMBER}(?:[:：](\d{{2}})|点(?:(半)|(\d{{1,2}})分?|([零〇一二两三四五六七八九十]{{1,3}})分?)?|时)?$")
_RELATIVE = re.compile(r"^now\s*(?:\+\s*(\d{1,4})\s*(m|min|h|d))?$")
_DURATION = re.compile(r"^\+?\s*(\d{1,4})\s*(min|m|h|d|分钟|个小时|小时|天)$")
_MONTH_DAY = re.compile(r"^(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]")


def chinese_number(text: str) -> int | None:
    """'9' -> 9, '九' -> 9, '十二' -> 12, '二十' -> 20; None for anything else."""
    if text.isascii() and text.isdigit():
        return int(text)
    if not text or any(ch not in CHINESE_DIGITS for ch in text):
        return None
    if "十" not in text:
        return CHINESE_DIGITS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (CHINESE_DIGITS[tens] if tens else 1) * 10 + (CHINESE_DIGITS[ones] if ones else 0)


def parse_clock(text: str, part_of_day: str = "") -> time | None:
    """'9:00', '9点', '九点半', '8点30分', '18:00' -> a time; the part of the day turns 3点 into 15:00."""
    match = _CLOCK.match(text)
    if match is None:
        return None
    hour = chinese_number(match.group(1))
    minute_text = match.group(2) or match.group(4)
    if match.group(3):
        minute = 30
    elif match.group(5):
        minute = chinese_number(match.group(5))
    else:
        minute = int(minute_text) if minute_text else 0
    if hour is None or minute is None:
        return None
    if part_of_day in AFTERNOON and hour == 12:
        return None  # 晚上12点 is midnight: which day's? Ask rather than guess.
    if part_of_day in AFTERNOON and hour < 12:
        hour += 12
    elif part_of_day == "中午" and hour < 6:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def parse_duration(text: str) -> timedelta | None:
    """'2h', '90m', '3d', '2小时', '3天', '+2h' -> the length of time."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        return None
    return timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)])


def parse_moment(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """An absolute moment (aware, in `tz` unless the text names an offset), or None when the text is not one."""
    raw = " ".join(str(text).split())
    if not raw:
        return None
    lowered = raw.lower()
    relative = _RELATIVE.match(lowered)
    if relative:
        amount = int(relative.group(1) or 0)
        return now + timedelta(seconds=amount * UNIT_SECONDS[relative.group(2) or "m"])
    if lowered in ("现在", "立即", "马上"):
        return now
    iso = _iso(raw, tz)
    if iso is not None:
        return iso
    return _spoken(raw.replace(" ", ""), now.astimezone(tz), tz)


def _iso(raw: str, tz: ZoneInfo) -> datetime | None:
    text = raw.replace("/", "-")
    text = re.sub(r"^(\d{4})-(\d{1,2})-(\d{1,2})", lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", text)
    text = re.sub(r"[ T](\d):", r" 0\1:", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) <= 10:  # a date alone is not a moment: at what hour?
        return None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _spoken(text: str, local_now: datetime, tz: ZoneInfo) -> datetime | None:
    """明天上午九点 / 后天晚上8点半 / 12月10日18:00 / 今天 15:30."""
    day: date | None = None
    for word in sorted(DAY_WORDS, key=len, reverse=True):
        if text.startswith(word):
            day = local_now.date() + timedelta(days=DAY_WORDS[word])
            text = text[len(word):]
            break
    else:
        match = _MONTH_DAY.match(text)
        if match:
            year = int(match.group(1)) if match.group(1) else local_now.year
            try:
                day = date(year, int(match.group(2)), int(match.group(3)))
            except ValueError:
                return None
            if not match.group(1) and day < local_now.date() - timedelta(days=1):
                day = day.replace(year=year + 1)  # "3月1日" said in December means next March
            text = text[match.end():]
    if day is None:
        return None
    part = ""
    for word in sorted(AFTERNOON | MORNING, key=len, reverse=True):
        if text.startswith(word):
            part, text = word, text[len(word):]
            break
    clock = parse_clock(text, part)
    if clock is None:
        return None
    return datetime.combine(day, clock, tzinfo=tz)


def local_text(moment: datetime | str | None, tz: ZoneInfo, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored moment as a person in `tz` reads it: 2026-12-10 18:00 (北京时间 by default configuration)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(tz).strftime(pattern)


def example_moment(now: datetime, tz: ZoneInfo) -> str:
    """A hint built from today's date, so that it never shows a year that has passed."""
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    return f"{tomorrow:%Y-%m-%d} 09:00"
