"""信息报送: the province asks 市县 bureaus for summaries, photos and documents by a deadline, and collects them."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from bot.accounts import REGION_NAMES
from bot.clock import iso, parse_iso
from bot.policy import BUREAU, PROVINCE, PermissionDenied, may_run_reports, report_region
from bot.roles import Roles
from bot.storage import Storage
from bot.when import local_text

MAX_FILE_BYTES = 20 * 1024 * 1024  # Telegram lets bots download files up to 20 MB
REMINDERS = [("3d", timedelta(days=3)), ("1d", timedelta(days=1))]


class ReportError(ValueError):
    """Shown to the user (Chinese)."""


@dataclass(frozen=True)
class RegionStatus:
    region: str
    submitted_at: str | None
    submitted_by: str | None
    items: int


@dataclass
class Reports:
    storage: Storage
    roles: Roles
    clock: Callable[[], datetime]

    def _province(self, user_id: int) -> None:
        if not may_run_reports(self.roles.actor(user_id)):
            raise PermissionDenied("只有省住建厅（全省范围的住建局用户）或管理员可以发起和查看报送。")

    def create(self, user_id: int, title: str, instructions: str, deadline: datetime,
               regions: list[str] | None) -> dict[str, Any]:
        self._province(user_id)
        if not title.strip() or len(title) > 60:
            raise ReportError("标题不能为空，且不超过 60 个字。")
        if deadline <= self.clock():
            raise ReportError("截止时间已经过去，请设置以后的时间。")
        regions = regions or list(REGION_NAMES[:-1])  # every 市县 and 洋浦; 省直属 reports to itself
        if any(region not in REGION_NAMES for region in regions):
            raise ReportError("报送范围里有不认识的市县。")
        request_id = self.storage.insert_report_request({
            "title": title.strip(), "instructions": instructions.strip(), "deadline": iso(deadline),
            "regions": json.dumps(regions, ensure_ascii=False), "created_by": user_id})
        self.roles.audit(user_id, "report.create", id=request_id, regions=len(regions), deadline=iso(deadline))
        return self.storage.report_request(request_id)

    def regions_of(self, request: dict[str, Any]) -> list[str]:
        return json.loads(request["regions"])

    def may_ask(self, user_id: int) -> bool:
        """Whether this person may ask the 市县 for reports (the province)."""
        return may_run_reports(self.roles.actor(user_id))

    def overview(self, user_id: int) -> tuple[str, bool, list[dict[str, Any]], set[int]]:
        """For the 信息报送 menu: the bureau's scope, whether it is the province, the requests that concern it and
        those it has submitted for."""
        scope = self.roles.actor(user_id).scope(BUREAU)
        if scope is None:
            raise PermissionDenied("只有住建局用户可以使用信息报送。")
        requests = self.open_for(user_id)
        done = {r["id"] for r in requests if scope in self.storage.report_submissions(r["id"])}
        return scope, scope == PROVINCE, requests, done

    def unreachable(self, regions: list[str]) -> list[str]:
        """The 市县 among these with no bureau user to be told of a request."""
        return [region for region in regions if not self.storage.bureau_users(region)]

    def recipients(self, regions: list[str]) -> list[int]:
        """The bureau users of these 市县, each once."""
        return list(dict.fromkeys(user for region in regions for user in self.storage.bureau_users(region)))

    def chase(self, user_id: int, request_id: int) -> tuple[dict[str, Any], list[str]]:
        """催报: the request and the 市县 that have not submitted yet (the province only)."""
        request, rows = self.status(user_id, request_id)
        missing = [row.region for row in rows if not row.submitted_at]
        self.roles.audit(user_id, "report.chase", id=request_id, regions=len(missing))
        return request, missing

    def earlier_submission(self, request_id: int, region: str) -> str | None:
        submission = self.storage.report_submissions(request_id).get(region)
        return submission["submitted_at"] if submission else None

    def open_for(self, user_id: int) -> list[dict[str, Any]]:
        """Requests this bureau user's 市县 must answer, newest deadline first."""
        scope = self.roles.actor(user_id).scope(BUREAU)
        if scope is None:
            return []
        return [r for r in self.storage.report_requests() if scope == PROVINCE or scope in self.regions_of(r)]

    def submitter(self, user_id: int, request_id: int) -> tuple[dict[str, Any], str]:
        """The request and the 市县 this user submits for; refuses other 市县, the province, and late submissions."""
        actor = self.roles.actor(user_id)
        if not actor.holds(BUREAU):
            raise PermissionDenied("只有住建局用户可以报送。")
        request = self.storage.report_request(request_id)
        if request is None:
            raise ReportError("没有这个报送要求。")
        scope = report_region(actor, self.regions_of(request))
        if scope is None:
            raise PermissionDenied("这个报送要求不需要您所在的单位报送。")
        if parse_iso(request["deadline"]) <= self.clock():
            raise ReportError("已经过了截止时间，不能再报送。如有特殊情况请联系省住建厅。")
        return request, scope

    def add(self, user_id: int, request_id: int, kind: str, text: str | None = None, file_name: str | None = None,
            content: bytes | None = None) -> int:
        """One more piece of the draft; returns how many pieces the draft has."""
        request, region = self.submitter(user_id, request_id)
        if kind == "text" and not (text or "").strip():
            raise ReportError("内容不能为空。")
        if content is not None and len(content) > MAX_FILE_BYTES:
            raise ReportError("文件超过 20 MB，机器人无法接收。请压缩后再发。")
        self.storage.add_report_item({"request_id": request_id, "region": region, "user_id": user_id, "kind": kind,
                                      "text": text, "file_name": file_name, "content": content,
                                      "size": len(content) if content is not None else None})
        return len(self.storage.report_items(request_id, region, "draft"))

    def submit(self, user_id: int, request_id: int) -> int:
        request, region = self.submitter(user_id, request_id)
        if not self.storage.report_items(request_id, region, "draft"):
            raise ReportError("还没有添加任何材料。")
        count = self.storage.submit_report(request_id, region, user_id, iso(self.clock()))
        self.roles.audit(user_id, "report.submit", id=request_id, region=region, items=count)
        return count

    def discard(self, user_id: int, request_id: int) -> None:
        _, region = self.submitter(user_id, request_id)
        self.storage.clear_report_drafts(request_id, region)

    def status(self, user_id: int | None, request_id: int) -> tuple[dict[str, Any], list[RegionStatus]]:
        if user_id is not None:
            self._province(user_id)
        request = self.storage.report_request(request_id)
        if request is None:
            raise ReportError("没有这个报送要求。")
        submissions = self.storage.report_submissions(request_id)
        rows = []
        for region in self.regions_of(request):
            submission = submissions.get(region)
            items = len(self.storage.report_items(request_id, region, "submitted")) if submission else 0
            rows.append(RegionStatus(region, submission["submitted_at"] if submission else None,
                                     submission["first_name"] if submission else None, items))
        return request, rows

    def gather(self, user_id: int | None, request_id: int) -> tuple[dict[str, Any], list[RegionStatus], dict]:
        """Everything submitted for a request (read on the database's thread; packing can happen elsewhere)."""
        request, rows = self.status(user_id, request_id)
        items = {row.region: self.storage.report_items(request_id, row.region, "submitted")
                 for row in rows if row.submitted_at}
        if user_id is not None:
            self.roles.audit(user_id, "report.export", id=request_id)
        return request, rows, items

    def archive(self, user_id: int | None, request_id: int, tz: ZoneInfo) -> bytes:
        return pack_archive(*self.gather(user_id, request_id), tz)

    def reminders_due(self) -> list[tuple[dict[str, Any], str, str]]:
        """(request, 市县, kind) for each 市县 yet to submit that has not had this reminder: 3 days and 1 day before."""
        now = self.clock()
        due = []
        for request in self.storage.report_requests():
            deadline = parse_iso(request["deadline"])
            if deadline <= now:
                continue
            submitted = self.storage.report_submissions(request["id"])
            for kind, before in REMINDERS:
                if now < deadline - before:
                    continue
                for region in self.regions_of(request):
                    if region not in submitted and self.storage.mark_reminder(request["id"], region, kind):
                        due.append((request, region, kind))
        return due


NAME_BYTES = 180  # of UTF-8 per file name inside the ZIP: unzip and most file systems refuse names over 255 bytes


def pack_archive(request: dict[str, Any], rows: list[RegionStatus], items: dict[str, list[dict[str, Any]]],
                 tz: ZoneInfo) -> bytes:
    """A ZIP with one folder per 市县: 文字材料.txt plus every photo and document as sent, and 报送情况.txt, with
    times as people there read them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        status_lines = [f"{request['title']}（截止 {local_text(request['deadline'], tz)}）"]
        for row in rows:
            submitted = f"已报送 {local_text(row.submitted_at, tz)}" if row.submitted_at else "未报送"
            status_lines.append(f"{row.region}\t{submitted}")
            texts = []
            for number, item in enumerate(items.get(row.region, []), 1):
                if item["kind"] == "text":
                    texts.append(item["text"])
                    continue
                name = entry_name(number, item["file_name"] or f"{item['kind']}-{number}.jpg")
                archive.writestr(f"{row.region}/{name}", item["content"] or b"")
                if item["text"]:
                    texts.append(f"[{name}] {item['text']}")
            if texts:
                archive.writestr(f"{row.region}/文字材料.txt", "\n\n".join(texts))
        archive.writestr("报送情况.txt", "\n".join(status_lines))
    return buffer.getvalue()


def entry_name(number: int, name: str) -> str:
    """`NN-name.ext` for the item's place in its 市县 folder (unique there), at most NAME_BYTES of UTF-8, cut in the
    name and never in the extension; no folders and no control characters."""
    cleaned = re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", name).strip(". ") or "file"
    stem, dot, extension = cleaned.rpartition(".")
    if not dot or not stem or len(extension.encode()) > 16:
        stem, extension = cleaned, ""
    suffix = f".{extension}" if extension else ""
    prefix = f"{number:02d}-"
    room = NAME_BYTES - len(prefix.encode()) - len(suffix.encode())
    while len(stem.encode()) > room:
        stem = stem[:-1]
    return prefix + stem + suffix
