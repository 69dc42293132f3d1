"""Times as people write them, read on a fixed day."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.when import example_moment, local_text, parse_clock, parse_duration, parse_moment

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 14, 58, tzinfo=TZ)


@pytest.mark.parametrize("text, expected", [
    ("2026-12-10 18:00", datetime(2026, 12, 10, 18, 0)),
    ("2026/12/10 9:00", datetime(2026, 12, 10, 9, 0)),
    ("2026-12-10T18:00", datetime(2026, 12, 10, 18, 0)),
    ("明天上午九点", datetime(2026, 12, 3, 9, 0)),
    ("明天 9:00", datetime(2026, 12, 3, 9, 0)),
    ("后天晚上8点半", datetime(2026, 12, 4, 20, 30)),
    ("今天下午3点", datetime(2026, 12, 2, 15, 0)),
    ("明天下午两点十分", datetime(2026, 12, 3, 14, 10)),
    ("大后天中午12点", datetime(2026, 12, 5, 12, 0)),
    ("12月10日 18:00", datetime(2026, 12, 10, 18, 0)),
    ("9月20日 9:00", datetime(2027, 9, 20, 9, 0)),  # said in December: next September
    ("3月1日上午9点", datetime(2027, 3, 1, 9, 0)),
])
def test_moments_people_write(text, expected):
    assert parse_moment(text, NOW, TZ) == expected.replace(tzinfo=TZ)


@pytest.mark.parametrize("text", ["明天", "晚上", "2026-12-10", "下周", "25点", "明天上午25点", "", "2月30日 9:00"])
def test_not_a_moment(text):
    assert parse_moment(text, NOW, TZ) is None


def test_relative_and_explicit_offsets():
    assert parse_moment("now", NOW, TZ) == NOW
    assert parse_moment("now+2h", NOW, TZ) == NOW + timedelta(hours=2)
    assert parse_moment("now + 7d", NOW, TZ) == NOW + timedelta(days=7)
    assert parse_moment("2026-12-10 18:00+00:00", NOW, TZ).utcoffset() == timedelta(0)
    assert parse_duration("2h") == timedelta(hours=2) and parse_duration("3天") == timedelta(days=3)
    assert parse_duration("90m") == timedelta(minutes=90) and parse_duration("2 weeks") is None
    assert parse_clock("8点30分", "晚上").hour == 20 and parse_clock("12点", "晚上") is None


def test_people_read_local_time():
    assert local_text("2026-12-10T10:00:00.000+00:00", TZ) == "2026-12-10 18:00"
    assert local_text(None, TZ) == ""
    assert example_moment(NOW, TZ) == "2026-12-03 09:00"
