"""``datasets``, ``doctor``, ``llm-check`` and ``image``: the machine and its catalog."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from ._group import EXIT_ERROR, EXIT_OK, err_console, main
from ._llm import llm_check


@main.command("datasets")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as one JSON document.")
@click.pass_context
def datasets_cmd(ctx, as_json: bool):
    """The dataset catalog: what each entry is and whether it works offline right now."""
    import json

    from ..data import listing
    from ..report._console import datasets_table

    rows = listing(ctx.obj["home"] / "cache" / "datasets")
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    console = Console()
    console.print(datasets_table(rows, console.width))


@main.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON document.")
def doctor_cmd(as_json: bool):
    """Check the Docker engine, runtime, limits and the sandbox image; ok/warn/fail each."""
    import json

    from ..sandbox._doctor import as_dicts, checks_table, run_checks

    with err_console.status("checking the sandbox (runs a short probe container)"):
        checks = run_checks()
    failed = any(x.level == "fail" for x in checks)
    if as_json:
        click.echo(json.dumps({"ok": not failed, "checks": as_dicts(checks)}, indent=2))
    else:
        Console().print(checks_table(checks))
    sys.exit(EXIT_ERROR if failed else EXIT_OK)


@main.command("llm-check")
@click.option("--llm-base-url", default=None, metavar="URL",
              help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL).")
@click.option("--llm-model", default=None, help="Model name at the endpoint (default gpt-4o-mini).")
@click.option("--llm-api-key-env", default=None, metavar="NAME",
              help="Environment variable holding the API key (default OPENAI_API_KEY); never the key itself.")
@click.option("--llm-timeout", default=300.0, show_default=True, type=click.FloatRange(0, None, min_open=True),
              help="Seconds per request.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as one JSON document.")
def llm_check_cmd(llm_base_url, llm_model, llm_api_key_env, llm_timeout, as_json):
    """What the LLM endpoint can do: models, structured-output mode, first-token latency, tokens/s."""
    sys.exit(llm_check(llm_base_url, llm_model, llm_api_key_env, llm_timeout, as_json))


@main.group("image")
def image_group():
    """The sandbox image."""


@image_group.command("build")
@click.option("--force", is_flag=True, help="Rebuild even if the image matches the source.")
@click.option("--variant", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
def image_build(force: bool, variant: str):
    """Build the sandbox image (offline: a local base + wheels staged in the user's cache)."""
    from ..sandbox import build_image

    info = build_image(variant=variant, force=force)
    click.echo(f"{info.tag} {info.id}")


@image_group.command("base")
def image_base():
    """Build the local base image with debootstrap (root only: for machines with no registry)."""
    from ..sandbox import build_base_image

    click.echo(build_base_image())


