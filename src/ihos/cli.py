"""The ``ihos`` command line: serve, worker, migrate, demo, createadmin, audit verify, keys generate."""

from __future__ import annotations

import asyncio

import typer

from ihos.config import get_settings

cli = typer.Typer(help="ihos 互联网医院平台", no_args_is_help=True, add_completion=False)


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
        proxy_headers=False,
        log_level=get_settings().log_level.lower(),
    )


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
    typer.echo("database is up to date")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
