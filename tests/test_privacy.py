"""In the default configuration no message text reaches the disk or the logs.

People tell this bot that they use heroin, that a friend is not breathing, that they want
to die. None of it may be kept. Two conversations are held with made-up marker words in
every message: one through ``recovery-bot chat`` (a real process, with its home, state,
temp and working folders pointed at empty temporary folders), one through the core with
every logger at DEBUG. Afterwards the folders and the captured logs are searched for the
markers. (The Telegram shell has its own log and storage checks in tests/telegram.)
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core import Core

# Made-up words, so a hit can only be the user's text, never a coincidence.
MARKERS = ("zorblequax", "flimbertoast", "quantopherine", "snerdlewick", "plonkivar")
MESSAGES = [
    "my friend zorblequax is not breathing",
    "i want to die flimbertoast",
    "where can i get methadone quantopherine",
    "snerdlewick withdrawal is killing me how long does it last",
    "plonkivar",
    "2",  # a button number, then free text again
    "he od'd zorblequax what do i do",
]


def folders(tmp_path: Path) -> dict[str, Path]:
    names = ("home", "state", "tmp", "cwd", "cache", "config", "data")
    out = {name: tmp_path / name for name in names}
    for path in out.values():
        path.mkdir()
    return out


def find_markers(roots: list[Path], markers: tuple[str, ...] = MARKERS) -> list[str]:
    """Every file (by name or content, any encoding of the marker) that holds a marker."""
    found = []
    needles = [m.encode(enc) for m in markers for enc in ("utf-8", "utf-16-le", "utf-16-be")]
    for root in roots:
        for path in root.rglob("*"):
            if any(m in path.name.lower() for m in markers):
                found.append(f"{path} (name)")
            if path.is_file():
                data = path.read_bytes().lower()
                if any(n in data for n in needles):
                    found.append(str(path))
    return found


def test_the_search_finds_a_marker_when_there_is_one(tmp_path: Path) -> None:
    """The search below is not vacuous: it sees text in files, names and UTF-16."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "log.txt").write_text("user said ZorbleQuax", encoding="utf-8")
    (tmp_path / "b.bin").write_bytes("flimbertoast".encode("utf-16-le"))
    (tmp_path / "plonkivar.json").write_text("{}", encoding="utf-8")
    assert len(find_markers([tmp_path])) == 3


def test_a_console_conversation_leaves_no_trace(tmp_path: Path) -> None:
    dirs = folders(tmp_path)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(dirs["home"]),
        "RECOVERY_BOT_STATE_DIR": str(dirs["state"]),
        "TMPDIR": str(dirs["tmp"]),
        "XDG_CACHE_HOME": str(dirs["cache"]),
        "XDG_CONFIG_HOME": str(dirs["config"]),
        "XDG_DATA_HOME": str(dirs["data"]),
        "XDG_STATE_HOME": str(dirs["state"]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--country", "GB"],
        input="\n".join(MESSAGES) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=dirs["cwd"],
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # The conversation really happened: the emergency and crisis replies were shown ...
    assert "999" in result.stdout
    assert "116 123" in result.stdout
    # ... and nothing of it was kept, nor complained about on stderr.
    assert find_markers(list(dirs.values())) == []
    assert not any(m in result.stderr.lower() for m in MARKERS)


def test_a_core_conversation_logs_no_message_text(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dirs = folders(tmp_path)
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setenv("TMPDIR", str(dirs["tmp"]))
    monkeypatch.chdir(dirs["cwd"])
    caplog.set_level(logging.DEBUG)
    for name in ("bot", "bot.core", "bot.understand.safety", "bot.understand.matcher",
                 "bot.text.normalize"):
        caplog.set_level(logging.DEBUG, logger=name)

    core = Core.load()
    replies = [core.handle(text, country) for text in MESSAGES for country in ("GB", None)]
    for text in MESSAGES:
        core.classify(text)
    logging.getLogger("bot.core").debug("canary %s", "after the conversation")

    assert {r.route for r in replies} >= {"overdose", "crisis"}
    assert "canary after the conversation" in caplog.text  # the capture works at DEBUG
    logged = (
        caplog.text.lower()
        + " ".join(
            f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
        ).lower()
    )
    assert not [m for m in MARKERS if m in logged]
    out, err = capsys.readouterr()
    assert not [m for m in MARKERS if m in (out + err).lower()]
    assert find_markers(list(dirs.values())) == []


def test_no_reply_repeats_what_the_user_wrote(core: Core) -> None:
    """Replies are vetted content only: user text is never echoed back (so it cannot end up
    in a forwarded message, a screenshot of the bot's words, or the bot's own logs)."""
    for text in MESSAGES:
        for country in ("US", None):
            reply = core.handle(text, country)
            shown = " ".join((*reply.messages, *(b.label for b in reply.buttons))).lower()
            assert not [m for m in MARKERS if m in shown]
