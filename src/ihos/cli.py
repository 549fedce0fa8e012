"""The ``ihos`` command line: serve, worker, migrate, demo, createadmin, resetadmin, audit verify,
keys generate / rotate."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.config import get_settings

cli = typer.Typer(help="ihos 互联网医院平台", no_args_is_help=True, add_completion=False)
audit_cli = typer.Typer(help="操作日志", no_args_is_help=True)
keys_cli = typer.Typer(help="密钥文件", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")
cli.add_typer(keys_cli, name="keys")

T = TypeVar("T")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on the configured database."""
    from ihos.db import commit, dispose_engine, get_sessionmaker

    async def run() -> T:
        try:
            async with get_sessionmaker()() as session:
                result = await work(session)
                await commit(session)
                return result
        finally:
            await dispose_engine()

    return asyncio.run(run())


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    workers: int = typer.Option(1, help="worker processes (production)"),
) -> None:
    """Serve the API and the built front ends."""
    import uvicorn

    uvicorn.run(
        "ihos.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # uvicorn kills a worker that misses a 5 s health check; a busy worker holding thousands of
        # queue-screen WebSockets can, and killing it drops them all into a reconnect storm.
        timeout_worker_healthcheck=30,
        proxy_headers=False,
        log_level=get_settings().log_level.lower(),
    )


@cli.command()
def worker(concurrency: int = typer.Option(4, help="jobs run at the same time")) -> None:
    """Run background work (production; embedded mode runs it inside `serve`)."""
    import logging

    from ihos.jobs import run_worker
    from ihos.security.masking import install_log_masking

    logging.basicConfig(
        level=get_settings().log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    install_log_masking()
    asyncio.run(run_worker(concurrency=concurrency))


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from ihos.db import create_engine
    from ihos.migrations import upgrade

    async def run() -> None:
        engine = create_engine()
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(run())
    typer.echo("数据库结构已是最新")


@cli.command()
def demo() -> None:
    """Seed the demo hospital (safe to run twice) and print the demo sign-ins."""
    from ihos import demo as demo_data

    created = _in_transaction(demo_data.seed)
    typer.echo("演示医院已创建。" if created else "演示医院已存在，未作改动。")
    typer.echo(demo_data.sign_ins())


@cli.command()
def createadmin(
    role: str = typer.Option(..., help="system_admin | security_admin | audit_admin"),
    username: str = typer.Option(..., help="sign-in name"),
    name: str = typer.Option(..., help="the person's name"),
    staff_number: str = typer.Option(..., help="工号"),
    hospital_code: str = typer.Option(
        None, help="hospital to create the administrator in (default: the first)"
    ),
    hospital_name: str = typer.Option(None, help="create the hospital with this name when it does not exist"),
) -> None:
    """Create one of the three administrators (三员分立). Prints a one-time password."""
    from sqlalchemy import select

    from ihos.auth.caller import Caller, command_line
    from ihos.errors import IhosError
    from ihos.models.organization import Hospital
    from ihos.organization import service

    async def work(session: AsyncSession) -> str:
        hospital = (
            await session.scalar(select(Hospital).where(Hospital.code == hospital_code))
            if hospital_code
            else await service.first_hospital(session)
        )
        if hospital is None:
            if not (hospital_code and hospital_name):
                raise typer.BadParameter("没有医院：请用 --hospital-code 和 --hospital-name 创建")
            hospital = await service.create_hospital(
                session, command_line(), code=hospital_code, name=hospital_name, short_name=None
            )
        caller = Caller(kind="cli", label="ihos createadmin", hospital_id=hospital.id)
        created = await service.create_administrator(
            session,
            caller,
            hospital_id=hospital.id,
            role=role,
            username=username,
            name=name,
            staff_number=staff_number,
        )
        return created.temporary_password

    try:
        password = _in_transaction(work)
    except IhosError as exc:
        typer.echo(f"未创建：{exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"已创建 {username}（{role}）。一次性密码：{password}")
    typer.echo("首次登录须修改密码，并用身份验证器绑定动态码。")


@cli.command()
def resetadmin(username: str = typer.Option(..., help="the administrator's sign-in name")) -> None:
    """Recover an administrator: new one-time password, authenticator enrolled again."""
    from ihos.auth.caller import command_line
    from ihos.errors import IhosError
    from ihos.organization import service

    async def work(session: AsyncSession) -> str:
        return await service.reset_administrator(session, command_line("ihos resetadmin"), username=username)

    try:
        password = _in_transaction(work)
    except IhosError as exc:
        typer.echo(f"未重置：{exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"已重置 {username}。一次性密码：{password}")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Seal pending entries, then check the whole SM3 chain; exit 1 at the first broken link."""
    from ihos.audit.service import ChainReport, seal, verify

    async def work(session: AsyncSession) -> ChainReport:
        await seal(session)
        return await verify(session)

    report = _in_transaction(work)
    if report.is_intact:
        typer.echo(f"操作日志完整：已校验 {report.checked} 条记录。")
        return
    typer.echo(f"操作日志被篡改：{report.problem}（第一个断点：第 {report.first_broken_seq} 条）", err=True)
    raise typer.Exit(1)


@keys_cli.command("generate")
def keys_generate(
    path: Path = typer.Option(None, help="where to write the key file (default: IHOS_KEY_FILE)"),
    force: bool = typer.Option(
        False, "--force", help="replace an existing key file (data encrypted with it is lost)"
    ),
) -> None:
    """Create a new key file: SM4 field keys, blind-index and link keys, the SM2 server key pair."""
    from ihos.security.keys import generate_key_file

    target = path or get_settings().key_file
    if target.exists() and not force:
        typer.echo(f"{target} 已存在；确需替换请加 --force（已加密的数据将无法解密）", err=True)
        raise typer.Exit(1)
    generate_key_file(target, overwrite=force)
    typer.echo(f"已生成密钥文件 {target}（权限 0600）。请备份到安全位置。")


@keys_cli.command("public")
def keys_public() -> None:
    """Print the server's SM2 public key for the transport envelope: hex (sm-crypto in the apps) and PEM."""
    from ihos.security.keys import get_keyring

    public = get_keyring().sm2_public
    typer.echo(public.to_hex())
    typer.echo(public.to_pem())


@keys_cli.command("rotate")
def keys_rotate(path: Path = typer.Option(None, help="the key file (default: IHOS_KEY_FILE)")) -> None:
    """Add a new current field-encryption key; older keys still decrypt existing data."""
    from ihos.security.keys import rotate_field_key

    key_id = rotate_field_key(path or get_settings().key_file)
    typer.echo(f"新的字段加密密钥：{key_id}。重启服务后生效。")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
