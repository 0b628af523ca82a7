"""``mercato --help``: a description, help for every command and option, defaults, settings."""

from __future__ import annotations

import re

import pytest

from mercato.cli import main
from mercato.settings import ENVIRONMENT

COMMANDS = [
    [],
    ["serve"],
    ["worker"],
    ["migrate"],
    ["user"],
    ["user", "create"],
    ["seed"],
    ["demo"],
]
COMMANDS += [["demo", "checkout"]]


def help_text(command: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def _options(text: str) -> list[tuple[str, str]]:
    """(option, its help) for each entry of the "options:" list."""
    block = text.split("\noptions:\n", 1)[1].split("\n\n", 1)[0]
    entries: list[list[str]] = []
    for line in block.splitlines():
        if line.startswith("  -"):
            option, _, rest = line.strip().partition("  ")
            entries.append([option, rest.strip()])
        else:  # the help on its own lines, below a long option
            entries[-1][1] = (entries[-1][1] + " " + line.strip()).strip()
    return [(option, helptext) for option, helptext in entries]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "mercato")
def test_every_command_and_option_is_described(command, capsys):
    text = help_text(command, capsys)
    usage, description = text.split("\n\n")[:2]
    assert usage.startswith("usage: mercato")
    assert description.strip() and not description.startswith(("positional", "options"))
    assert "`" not in text  # the raw docstring was printed before
    for option, helptext in _options(text):
        assert helptext, f"mercato {' '.join(command)}: {option} has no help"


def test_serve_shows_its_defaults(capsys):
    text = " ".join(help_text(["serve"], capsys).split())
    assert "--host HOST address to listen on (default: 127.0.0.1)" in text
    assert "--port PORT port to listen on (default: 9000)" in text
    assert "--workers WORKERS worker processes (default: 1)" in text


def test_demo_checkout_shows_its_defaults(capsys):
    text = " ".join(help_text(["demo", "checkout"], capsys).split())
    assert "(default: http://127.0.0.1:9000)" in text


def test_the_help_lists_every_setting_with_its_default(capsys):
    text = " ".join(help_text([], capsys).split())
    assert "settings (environment variables):" in text
    for name, meaning, default in ENVIRONMENT:
        assert re.search(rf"\b{name} {re.escape(meaning)}\. Default: {re.escape(default)}\.", text)
