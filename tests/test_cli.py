"""The ``ihos`` command line, run as an operator would, against a database of its own."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


def ihos(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "IHOS_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'ihos.db'}",
        "IHOS_KEY_FILE": str(workdir / "keys.json"),
        "IHOS_FILES__LOCAL_DIR": str(workdir / "files"),
        "IHOS_PASSWORD_HASH_FAST": "1",
    }
    return subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "ihos.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def seeded(workdir: Path) -> Path:
    assert ihos(workdir, "keys", "generate").returncode == 0
    assert ihos(workdir, "migrate").returncode == 0
    first = ihos(workdir, "demo")
    assert first.returncode == 0, first.stderr
    assert "演示医院已创建" in first.stdout
    return workdir


class TestDemo:
    def test_it_seeds_the_demo_hospital(self, seeded):
        db = sqlite3.connect(seeded / "ihos.db")
        counts = {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
            for table in ("campuses", "departments", "staff", "accounts", "patients")
        }
        assert counts["campuses"] == 2
        assert counts["departments"] >= 12
        assert counts["staff"] >= 38
        assert counts["accounts"] == 14
        assert counts["patients"] == 20
        roles = {row[0] for row in db.execute("SELECT DISTINCT role_code FROM staff_roles")}
        assert roles == {
            "doctor",
            "nurse",
            "pharmacist",
            "finance",
            "finance_supervisor",
            "customer_service",
            "content_editor",
            "insurance_office",
            "outpatient_office",
            "system_admin",
            "security_admin",
            "audit_admin",
        }

    def test_the_slot_pool_is_open_for_booking(self, seeded):
        db = sqlite3.connect(seeded / "ihos.db")
        days = db.execute("SELECT count(DISTINCT session_date) FROM clinic_sessions").fetchone()[0]
        free = db.execute("SELECT count(*) FROM slots WHERE status = 'free'").fetchone()[0]
        assert days >= 14
        assert free > 0

    def test_running_it_twice_changes_nothing(self, seeded):
        db = sqlite3.connect(seeded / "ihos.db")
        before = db.execute("SELECT count(*) FROM staff").fetchone()[0]
        again = ihos(seeded, "demo")
        assert again.returncode == 0
        assert "演示医院已存在" in again.stdout
        assert "sysadmin" in again.stdout  # the sign-ins are printed again
        assert db.execute("SELECT count(*) FROM staff").fetchone()[0] == before

    def test_personal_data_is_stored_encrypted(self, seeded):
        db = sqlite3.connect(seeded / "ihos.db")
        dump = "\n".join(db.iterdump())
        assert "110105198503120135" not in dump  # 张伟's ID number
        assert "13900000001" not in dump  # and phone


class TestAdministrators:
    def test_createadmin_and_resetadmin(self, seeded):
        created = ihos(
            seeded,
            "createadmin",
            "--role",
            "audit_admin",
            "--username",
            "auditor2",
            "--name",
            "钱审计",
            "--staff-number",
            "A0099",
        )
        assert created.returncode == 0, created.stderr
        assert "一次性密码" in created.stdout
        reset = ihos(seeded, "resetadmin", "--username", "auditor2")
        assert reset.returncode == 0 and "一次性密码" in reset.stdout

    def test_createadmin_refuses_business_roles(self, seeded):
        refused = ihos(
            seeded,
            "createadmin",
            "--role",
            "doctor",
            "--username",
            "doc99",
            "--name",
            "某",
            "--staff-number",
            "X1",
        )
        assert refused.returncode == 1
        assert "只能创建系统管理员、安全管理员或审计管理员" in refused.stderr


class TestAuditVerify:
    def test_intact_then_tampered(self, seeded):
        intact = ihos(seeded, "audit", "verify")
        assert intact.returncode == 0, intact.stderr
        assert "操作日志完整" in intact.stdout
        db = sqlite3.connect(seeded / "ihos.db")
        db.execute("DROP TRIGGER audit_entries_no_change")
        db.execute("UPDATE audit_entries SET action = 'forged' WHERE chain_seq = 7")
        db.commit()
        tampered = ihos(seeded, "audit", "verify")
        assert tampered.returncode == 1
        assert "第一个断点：第 7 条" in tampered.stderr


class TestKeys:
    def test_generate_refuses_to_overwrite(self, seeded):
        again = ihos(seeded, "keys", "generate")
        assert again.returncode == 1
        assert "已存在" in again.stderr

    def test_public_key(self, seeded):
        printed = ihos(seeded, "keys", "public")
        assert printed.stdout.startswith("04")
        assert "BEGIN PUBLIC KEY" in printed.stdout
