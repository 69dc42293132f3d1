"""A participant's certificate as a PNG for the chat: name, team, score, rank among all, contest, date, organiser.

Portrait 1080×1440, so that it fills a phone screen when opened; the first three get 荣誉证书, everyone else
参赛证书. Drawn with bot.charts' Canvas; None when no Chinese font is installed.
"""

from __future__ import annotations

from bot.charts import MUTED, Canvas, find_cjk_font
from bot.contest_results import Certificate
from bot.leaderboard import format_points

WIDTH, HEIGHT = 1080, 1440
PAPER, RED, GOLD, INK = "#fdf8ee", "#a11d1d", "#b8862b", "#1f2937"
HONOURS = 3  # places that get 荣誉证书


def certificate_heading(certificate: Certificate) -> str:
    return "荣誉证书" if certificate.rank <= HONOURS else "参赛证书"


def certificate_sentence(certificate: Certificate) -> str:
    """The body of the certificate, in one sentence (also the caption of the picture)."""
    sentence = (f"参加“{certificate.facts.title}”，答对 {certificate.correct}/{certificate.questions} 题，"
                f"得 {format_points(certificate.score)} 分，在 {certificate.participants} 名参赛者中排名第 "
                f"{certificate.rank} 名")
    if certificate.team and certificate.team_rank is not None:
        sentence += f"；所在团队“{certificate.team}”获团队第 {certificate.team_rank} 名"
    return sentence + "。特发此证，以资鼓励。"


def render_certificate(certificate: Certificate) -> bytes | None:
    font = find_cjk_font()
    if font is None:
        return None
    canvas = Canvas(font, WIDTH, HEIGHT, PAPER)
    draw = canvas.draw
    draw.rectangle((28, 28, WIDTH - 28, HEIGHT - 28), outline=GOLD, width=14)
    draw.rectangle((56, 56, WIDTH - 56, HEIGHT - 56), outline=GOLD, width=3)
    centre = WIDTH // 2

    heading = certificate_heading(certificate)
    canvas.text((centre, 230), "\u2009".join(heading), 104, RED, anchor="ms", bold=True)
    draw.line((centre - 200, 280, centre + 200, 280), fill=GOLD, width=4)

    name = canvas.fit(certificate.name, 92, WIDTH - 260)
    canvas.text((centre, 430), name, 92, INK, anchor="ms", bold=True)
    draw.line((centre - 260, 458, centre + 260, 458), fill=INK, width=2)
    if certificate.team:
        canvas.text((centre, 518), canvas.fit(certificate.team, 38, WIDTH - 260), 38, MUTED, anchor="ms")

    _figures(canvas, certificate, top=580)

    y = 900
    for line in canvas.wrap(certificate_sentence(certificate), 38, WIDTH - 240, 5):
        canvas.text((120, y), line, 38, INK)
        y += 60

    canvas.text((WIDTH - 120, HEIGHT - 220), canvas.fit(f"组织者：{certificate.facts.organiser}", 38, WIDTH - 300),
                38, INK, anchor="rs")
    canvas.text((WIDTH - 120, HEIGHT - 150), certificate.facts.dates, 38, INK, anchor="rs")
    canvas.text((120, HEIGHT - 100), "质量通 · 以赛促学", 28, GOLD)
    return canvas.png()


def _figures(canvas: Canvas, certificate: Certificate, top: int) -> None:
    """Two boxes side by side: 得分 and 名次 among all participants."""
    boxes = [("得分", format_points(certificate.score), "分"),
             ("个人名次", str(certificate.rank), f"/ {certificate.participants}")]
    width, gap = 380, 40
    left = (WIDTH - 2 * width - gap) // 2
    for index, (label, value, unit) in enumerate(boxes):
        x = left + index * (width + gap)
        canvas.draw.rounded_rectangle((x, top, x + width, top + 240), radius=24, fill="#ffffff", outline=GOLD, width=3)
        canvas.text((x + width // 2, top + 64), label, 34, MUTED, anchor="ms")
        value_width = canvas.width_of(value, 110) + 12 + canvas.width_of(unit, 40)
        start = x + (width - value_width) / 2
        canvas.text((start, top + 190), value, 110, RED, bold=True)
        canvas.text((start + canvas.width_of(value, 110) + 12, top + 190), unit, 40, INK)
