"""Contest rankings: individuals, teams and per-question statistics, as plain data for chat, pictures and exports.

Individuals rank by score, then total time (less is better), then finishing time (earlier is better). A team's
score is the mean of its participants' scores, so teams of different sizes compare fairly; teams with fewer
participants than the contest's minimum are listed but not ranked (未达最少人数).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class ParticipantResult:
    user_id: int
    name: str
    team_id: int | None
    team: str | None
    region: str | None
    score: float
    correct: int
    answered: int
    time_ms: int
    finished_at: str | None  # ISO time; None while still answering


@dataclass(frozen=True)
class IndividualRow:
    rank: int
    user_id: int
    name: str
    team: str | None
    region: str | None
    score: float
    correct: int
    answered: int
    time_ms: int
    finished: bool


@dataclass(frozen=True)
class TeamInfo:
    id: int
    name: str
    region: str
    company: str | None
    headcount: int | None


@dataclass(frozen=True)
class TeamRow:
    rank: int | None  # None: below the minimum number of participants, listed as 未达最少人数
    team_id: int
    name: str
    region: str
    company: str | None
    mean_score: float
    participants: int
    headcount: int | None
    participation_rate: float | None  # participants / declared headcount

    @property
    def ranked(self) -> bool:
        return self.rank is not None


@dataclass(frozen=True)
class QuestionStat:
    question_id: str
    stem: str
    topic: str
    answered: int
    correct_rate: float
    average_time_ms: int


@dataclass(frozen=True)
class Leaderboard:
    contest_id: int
    title: str
    individuals: list[IndividualRow]
    teams: list[TeamRow]
    questions: list[QuestionStat]
    generated_at: str
    ends_at: str
    min_team_size: int = 1  # teams with fewer participants are listed as unranked

    @property
    def participants(self) -> int:
        return len(self.individuals)

    def place_of(self, user_id: int) -> IndividualRow | None:
        return next((row for row in self.individuals if row.user_id == user_id), None)

    def team_place(self, team_id: int | None) -> TeamRow | None:
        return next((row for row in self.teams if row.team_id == team_id), None)


def rank_individuals(results: Iterable[ParticipantResult]) -> list[IndividualRow]:
    """Score first; ties by total time, then by who finished first (unfinished attempts after finished ones)."""
    ordered = sorted(results, key=lambda r: (-r.score, r.time_ms, r.finished_at is None, r.finished_at or "",
                                             r.user_id))
    rows: list[IndividualRow] = []
    for position, result in enumerate(ordered, start=1):
        previous = ordered[position - 2] if position > 1 else None
        tied = previous is not None and (previous.score, previous.time_ms, previous.finished_at) == \
            (result.score, result.time_ms, result.finished_at)
        rank = rows[-1].rank if tied else position
        rows.append(IndividualRow(rank=rank, user_id=result.user_id, name=result.name, team=result.team,
                                  region=result.region, score=result.score, correct=result.correct,
                                  answered=result.answered, time_ms=result.time_ms,
                                  finished=result.finished_at is not None))
    return rows


def rank_teams(results: Iterable[ParticipantResult], teams: dict[int, TeamInfo], min_team_size: int) -> list[TeamRow]:
    members: dict[int, list[ParticipantResult]] = {}
    for result in results:
        if result.team_id is not None and result.team_id in teams:
            members.setdefault(result.team_id, []).append(result)
    rows = []
    for team_id, people in members.items():
        team = teams[team_id]
        mean = round(sum(p.score for p in people) / len(people), 2)
        rate = round(len(people) / team.headcount, 4) if team.headcount else None
        rows.append((team, mean, len(people), rate))
    ranked = sorted((r for r in rows if r[2] >= min_team_size), key=lambda r: (-r[1], -r[2], r[0].name))
    unranked = sorted((r for r in rows if r[2] < min_team_size), key=lambda r: (-r[1], r[0].name))
    result: list[TeamRow] = []
    for position, (team, mean, count, rate) in enumerate(ranked, start=1):
        previous = result[-1] if result else None
        rank = previous.rank if previous and previous.mean_score == mean else position
        result.append(TeamRow(rank, team.id, team.name, team.region, team.company, mean, count, team.headcount, rate))
    for team, mean, count, rate in unranked:
        result.append(TeamRow(None, team.id, team.name, team.region, team.company, mean, count, team.headcount, rate))
    return result


def question_stats(answers: Iterable[dict[str, Any]], stems: dict[str, tuple[str, str]]) -> list[QuestionStat]:
    """Per question: how many answered, the share right and the mean time; weakest first (what to teach next)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for answer in answers:
        grouped.setdefault(answer["question_id"], []).append(answer)
    stats = []
    for question_id, rows in grouped.items():
        stem, topic = stems.get(question_id, ("（题目已删除）", ""))
        correct = sum(1 for r in rows if r["correct"])
        stats.append(QuestionStat(question_id, stem, topic, len(rows), round(correct / len(rows), 4),
                                  int(sum(r["time_ms"] for r in rows) / len(rows))))
    stats.sort(key=lambda s: (s.correct_rate, -s.answered, s.question_id))
    return stats


def format_points(value: float) -> str:
    """A score as people read it: whole points, or one decimal (85, 85.5; never 85.27)."""
    tenths = round(value * 10)
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths / 10:.1f}"


def countdown_text(seconds: float) -> str:
    """Time left as the board shows it: 02:55:28, with days past 24 hours (1天 02:55:28); 00:00:00 once over."""
    left = max(0, int(seconds))
    days, rest = divmod(left, 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}天 {clock}" if days else clock


def unranked_note(row: TeamRow, min_team_size: int) -> str:
    """Why a team is listed but not ranked: 人数不足 2/3."""
    return f"人数不足 {row.participants}/{min_team_size}"
