"""信息报送: the province asks, 市县 bureaus submit text, photos and files, the province downloads a ZIP."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.reports import RegionStatus, ReportError, Reports, pack_archive
from bot.roles import PermissionDenied, Roles
from bot.storage import Storage
from tests.helpers import ADMIN_ID, Clock, has_button

PROVINCE_USER, SANYA, HAIKOU = 900, 901, 902


def grant(storage, user_id, scope, region):
    storage.upsert_user(user_id, f"局{user_id}", None)
    storage.update_user(user_id, region=region, role="manager")
    storage.grant_role(user_id, "bureau", scope, ADMIN_ID)


def test_rules_deadline_scope_replacement_and_reminders():
    storage = Storage.memory()
    clock = Clock(datetime(2025, 9, 20, 0, 0, tzinfo=timezone.utc))
    roles = Roles(storage, frozenset({ADMIN_ID}), clock)
    reports = Reports(storage, roles, clock)
    grant(storage, PROVINCE_USER, "全省", "省直属")
    grant(storage, SANYA, "三亚市", "三亚市")
    grant(storage, HAIKOU, "海口市", "海口市")
    with pytest.raises(PermissionDenied):
        reports.create(SANYA, "总结", "", clock.now + timedelta(days=10), None)
    with pytest.raises(ReportError):
        reports.create(PROVINCE_USER, "总结", "", clock.now - timedelta(days=1), None)
    request = reports.create(PROVINCE_USER, "质量月总结", "总结、图片、宣传资料", clock.now + timedelta(days=10),
                             ["三亚市", "海口市"])
    reports.add(SANYA, request["id"], "text", text="第一版")
    reports.submit(SANYA, request["id"])
    reports.add(SANYA, request["id"], "text", text="第二版")
    reports.add(SANYA, request["id"], "photo", file_name="p.jpg", content=b"\xff\xd8")
    assert reports.submit(SANYA, request["id"]) == 2
    items = storage.report_items(request["id"], "三亚市", "submitted")
    assert [i["text"] for i in items] == ["第二版", None], "a new submission replaces the old one"
    with pytest.raises(PermissionDenied):
        reports.add(PROVINCE_USER, request["id"], "text", text="省里不报送")
    with pytest.raises(ReportError, match="20 MB"):
        reports.add(HAIKOU, request["id"], "document", file_name="big.pdf", content=b"x" * (20 * 1024 * 1024 + 1))
    assert reports.reminders_due() == []
    clock.now += timedelta(days=7, hours=1)  # less than three days left
    assert [(r["id"], region, kind) for r, region, kind in reports.reminders_due()] == [(request["id"], "海口市", "3d")]
    assert reports.reminders_due() == [], "each reminder once"
    clock.now += timedelta(days=2)
    assert [kind for _, _, kind in reports.reminders_due()] == ["1d"]
    clock.now += timedelta(days=2)
    with pytest.raises(ReportError, match="截止"):
        reports.add(HAIKOU, request["id"], "text", text="迟到了")


async def test_request_submit_and_download_in_chat(bot, tmp_path, monkeypatch, capsys):
    client = bot.client
    storage = bot.storage
    for user_id, scope, region in ((PROVINCE_USER, "全省", "省直属"), (SANYA, "三亚市", "三亚市"),
                                   (HAIKOU, "海口市", "海口市")):
        await client.user(user_id, f"局{user_id}", started=True)  # they redeemed their invite in the chat
        grant(storage, user_id, scope, region)
    await client.send(PROVINCE_USER, "/reports")
    await client.wait_for(PROVINCE_USER, has_button("新建报送要求"))
    await client.press(PROVINCE_USER, "新建报送要求")
    await client.wait_text(PROVINCE_USER, "标题")
    await client.send(PROVINCE_USER, "2025年质量月活动总结报送")
    await client.wait_text(PROVINCE_USER, "需要报送什么")
    await client.send(PROVINCE_USER, "活动总结、图片、宣传资料")
    await client.wait_text(PROVINCE_USER, "截止时间")
    deadline = (datetime.now(timezone.utc) + timedelta(days=5)).astimezone().strftime("%Y-%m-%d %H:%M")
    await client.send(PROVINCE_USER, deadline)
    await client.wait_for(PROVINCE_USER, has_button("☐三亚"))
    await client.press(PROVINCE_USER, "☐三亚")
    await client.wait_for(PROVINCE_USER, has_button("☑三亚"))
    await client.press(PROVINCE_USER, "☐海口")
    await client.wait_for(PROVINCE_USER, has_button("☑海口"))
    await client.press(PROVINCE_USER, "下一步")
    await client.wait_text(PROVINCE_USER, "报送单位：2 个市县")
    await client.press(PROVINCE_USER, "确认发起")
    await client.wait_text(PROVINCE_USER, "已通知 2 位")

    await client.wait_text(SANYA, "省住建厅信息报送要求")
    await client.press(SANYA, "开始报送")
    await client.wait_text(SANYA, "可以发多条")
    await client.send(SANYA, "三亚市共开展质量宣传活动 12 场，覆盖工地 86 个。")
    await client.wait_text(SANYA, "共 1 项")
    await client.send(SANYA, kind="photo", content_hex="ffd8ffe000104a464946", caption="启动仪式现场")
    await client.wait_text(SANYA, "共 2 项")
    await client.send(SANYA, kind="document", filename="../宣传材料.pdf", content="%PDF-1.4 demo")
    await client.wait_text(SANYA, "共 3 项")
    await client.press(SANYA, "提交")
    await client.wait_for(SANYA, has_button("确认提交"))
    await client.press(SANYA, "确认提交")
    await client.wait_text(SANYA, "已报送，共 3 项")

    request_id = storage.report_requests()[0]["id"]
    await client.send(PROVINCE_USER, "/reports")
    await client.wait_for(PROVINCE_USER, has_button("质量月活动总结"))
    await client.press(PROVINCE_USER, "质量月活动总结")
    table = await client.wait_text(PROVINCE_USER, "已报送 1/2")
    assert "✅ 三亚市" in table["text"] and "❌ 海口市 未报送" in table["text"]
    await client.press(PROVINCE_USER, "下载全部材料")
    document = await client.wait_for(PROVINCE_USER, lambda m: m["document"] == f"report-{request_id}.zip")
    content = (await client.http.get(f"/sandbox/files/{document['file_id']}")).content
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = sorted(archive.namelist())
    assert "三亚市/文字材料.txt" in names and "报送情况.txt" in names
    assert any(n.startswith("三亚市/") and n.endswith("宣传材料.pdf") and ".." not in n for n in names)
    assert archive.read(next(n for n in names if n.endswith(".pdf"))) == b"%PDF-1.4 demo"
    assert "启动仪式现场" in archive.read("三亚市/文字材料.txt").decode()

    await client.send(HAIKOU, "/reports")
    await client.wait_for(HAIKOU, has_button("📝"))
    await client.send(SANYA, "/reports")
    await client.wait_for(SANYA, has_button("✅"))

    monkeypatch.setenv("QB_DB", str(bot.config.db_path))
    monkeypatch.chdir(tmp_path)
    assert main(["reports", "export", str(request_id)]) == 0
    assert zipfile.ZipFile(tmp_path / f"report-{request_id}.zip").namelist() == archive.namelist()


def test_long_file_names_unzip_and_times_are_local(tmp_path):
    tz = ZoneInfo("Asia/Shanghai")
    long_name = "海南省住宅工程质量月活动" * 17 + ".pdf"  # 205 characters, over 600 bytes of UTF-8
    request = {"title": "质量月总结", "deadline": "2026-12-10T10:00:00.000+00:00"}
    rows = [RegionStatus("三亚市", "2026-12-09T02:30:00.000+00:00", "局901", 3)]
    items = {"三亚市": [{"kind": "document", "file_name": long_name, "content": b"one", "text": None},
                       {"kind": "document", "file_name": long_name, "content": b"two", "text": "同名的第二份"},
                       {"kind": "photo", "file_name": None, "content": b"\xff\xd8", "text": None}]}
    (tmp_path / "report.zip").write_bytes(pack_archive(request, rows, items, tz))
    names = zipfile.ZipFile(tmp_path / "report.zip").namelist()
    documents = [n for n in names if n.endswith(".pdf")]
    assert len(documents) == 2 and len(set(documents)) == 2, "same name twice: both kept"
    assert all(len(n.split("/")[-1].encode()) <= 180 for n in names)
    target = tmp_path / "out"
    if shutil.which("unzip"):
        result = subprocess.run(["unzip", "-q", str(tmp_path / "report.zip"), "-d", str(target)], capture_output=True)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
    else:  # writing every entry to a real file system meets the same limit on name length
        zipfile.ZipFile(tmp_path / "report.zip").extractall(target)
    assert sorted(p.read_bytes() for p in (target / "三亚市").glob("*.pdf")) == [b"one", b"two"]
    status = (target / "报送情况.txt").read_text(encoding="utf-8")
    assert "截止 2026-12-10 18:00" in status and "已报送 2026-12-09 10:30" in status and "+00:00" not in status
