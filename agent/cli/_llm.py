"""``llm-check``: the LLM endpoint's capabilities, one line each (the CLI layer: never the sandbox's doctor)."""

from __future__ import annotations

import json
import os

import click
from rich.console import Console
from rich.markup import escape

from ._group import EXIT_ERROR, EXIT_OK, err_console


def llm_check(base_url: str | None, model: str | None, api_key_env: str | None, timeout_s: float,
              as_json: bool) -> int:
    from ..planner import endpoint_settings
    from ..planner._llm_check import check_endpoint

    settings = endpoint_settings(os.environ, base_url, model, api_key_env, timeout_s=timeout_s)
    if settings is None:  # nothing configured: no call at all, not even to a default host
        if as_json:
            click.echo(json.dumps({"configured": False, "ok": False}))
        err_console.print("[red]error:[/] no LLM endpoint configured: pass --llm-base-url URL or set "
                          "OPENAI_BASE_URL / OPENAI_API_KEY; nothing was called", highlight=False, soft_wrap=True)
        return EXIT_ERROR
    with err_console.status(f"checking {settings.base_url} (a few short requests)"):
        report = check_endpoint(settings)
    if as_json:
        click.echo(json.dumps({"configured": True} | report, indent=2))
    else:
        _print(report)
    return EXIT_OK if report["ok"] else EXIT_ERROR


def _print(r: dict) -> None:
    console = Console(highlight=False, soft_wrap=True)
    key = f"${r['api_key_env']} is {'set' if r['api_key_set'] else 'not set'}" if r["api_key_env"] else "no key"
    console.print(f"endpoint   {escape(r['endpoint'])} (model {escape(r['model'])}; {key})")
    models = ", ".join(r["models"]) if r["models"] is not None else f"unavailable ({r['models_error']})"
    console.print(f"models     {escape(models)}")  # names come from the server: untrusted text
    for mode, outcome in r["modes"].items():
        console.print(f"  {mode:<19}{escape(outcome)}")
    console.print(f"structured {r['mode'] or 'no mode worked'}")
    if r["first_token_s"] is not None:
        rate = f", {r['tokens_per_s']} tokens/s" if r["tokens_per_s"] else ""
        console.print(f"speed      first token after {r['first_token_s']:.2f}s{rate}")
    else:
        console.print(f"speed      unavailable ({escape(r['speed_error'] or '')})")
