"""The command line, end to end, in a real subprocess: ``python -m bot`` and the installed
``recovery-bot`` script. What is checked is what a person (or CI) sees: the text printed,
the JSON lines, and the exit code.

Expected reply text is rendered in-process with ``bot.console.render_reply`` from the same
content, so these tests check the plumbing (stdin, buttons, commands, content folder), not
the wording.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.console import render_reply, run_chat
from bot.core import Core
from bot.reply.model import ROUTES

PROJECT = Path(__file__).resolve().parents[1]
CONTENT_FILES = ("responses.yaml", "crisis_lines.yaml", "synonyms.yaml", "tuning.yaml")
ENV_CONTENT = "RECOVERY_BOT_CONTENT"
MARKER = "MARKER-7f3a-thanks-from-the-copy"
TIMEOUT = 120  # a hung process fails the test instead of hanging the suite


def script() -> Path | None:
    candidate = Path(sys.executable).with_name("recovery-bot")
    if candidate.is_file():
        return candidate
    found = shutil.which("recovery-bot")
    return Path(found) if found else None


ENTRY_POINTS = [
    pytest.param([sys.executable, "-m", "bot"], id="python-m-bot"),
    pytest.param(
        [str(script())],
        id="recovery-bot-script",
        marks=pytest.mark.skipif(script() is None, reason="recovery-bot script not installed"),
    ),
]


@pytest.fixture(params=ENTRY_POINTS)
def command(request: pytest.FixtureRequest) -> list[str]:
    return list(request.param)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != ENV_CONTENT}
    env["PYTHONUTF8"] = "1"
    env.update(extra)
    return env


def run(
    command: list[str],
    *args: str,
    stdin: str = "",
    cwd: Path = PROJECT,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env if env is not None else clean_env(),
        timeout=TIMEOUT,
        check=False,
    )


def python_m_bot() -> list[str]:
    return [sys.executable, "-m", "bot"]


def assert_in_order(output: str, *parts: str) -> None:
    position = 0
    for part in parts:
        found = output.find(part, position)
        assert found >= 0, f"missing (in order): {part[:200]!r}\n--- output ---\n{output[-3000:]}"
        position = found + len(part)


def copy_content(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copytree(PROJECT / "intents", root / "intents")
    shutil.copytree(PROJECT / "safety", root / "safety")
    for name in CONTENT_FILES:
        shutil.copy(PROJECT / name, root / name)
    return root


@pytest.fixture(scope="module")
def marked_content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A content copy whose "thanks" reply says MARKER: shows which content was used."""
    root = copy_content(tmp_path_factory.mktemp("marked") / "content")
    path = root / "responses.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    start = lines.index("  thanks:")
    i = next(n for n in range(start, len(lines)) if lines[n].startswith("    text: |"))
    lines.insert(i + 1, f"      {MARKER}")
    path.write_text("\n".join(lines), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def broken_content(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A content copy with an unknown button id; returns (root, line of the mistake)."""
    root = copy_content(tmp_path_factory.mktemp("broken") / "content")
    path = root / "responses.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    start = lines.index("  thanks:")
    i = next(n for n in range(start, len(lines)) if lines[n].startswith("    buttons: ["))
    lines[i] = lines[i].replace("[", "[no_such_topic, ", 1)
    path.write_text("\n".join(lines), encoding="utf-8")
    return root, i + 1


# --- chat --------------------------------------------------------------------------------------


def test_chat_with_piped_stdin(command: list[str], core: Core) -> None:
    stdin = "/country uk\n\nhow long does withdrawl last\n1\n/sos\n"
    result = run(command, "chat", stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr

    answer = core.handle("how long does withdrawl last", "GB")
    assert answer.route == "answer" and answer.buttons
    pressed = core.topic(answer.buttons[0].action.removeprefix("intent:"), "GB")
    assert_in_order(
        result.stdout,
        render_reply(core.message("welcome", None)),
        "> /country uk",
        render_reply(core.message("country_set", "GB")),
        "> how long does withdrawl last",
        render_reply(answer),
        "> 1",
        render_reply(pressed),
        "> /sos",
        render_reply(core.topic("overdose", "GB")),
    )
    assert "Call 999 now" in result.stdout.split("> /sos", 1)[1]
    # the empty line is skipped: one echo per non-empty line
    assert result.stdout.count("\n> ") == 4


def test_chat_picks_a_country_by_its_number(core: Core) -> None:
    numbers = [b.action for b in core.country_buttons()]
    pick = numbers.index("country:AU") + 1
    result = run(python_m_bot(), "chat", stdin=f"{pick}\n/sos\n")
    assert result.returncode == 0, result.stderr
    assert_in_order(
        result.stdout,
        render_reply(core.message("country_set", "AU")),
        "> /sos",
        render_reply(core.topic("overdose", "AU")),
    )


def test_chat_with_a_country_option_and_crisis_command(core: Core) -> None:
    result = run(python_m_bot(), "chat", "--country", "oz", stdin="/crisis\n")
    assert result.returncode == 0, result.stderr
    after = result.stdout.split("> /crisis", 1)[1]
    assert render_reply(core.topic("suicide", "AU")) in after
    assert "13 11 14" in after


def test_chat_an_emergency_while_asked_for_a_country_gets_the_overdose_steps(core: Core) -> None:
    # Right after /start the bot asks "which country?". An emergency that names a country
    # must still get the overdose steps, not "Got it: I'll show numbers for ...".
    result = run(python_m_bot(), "chat", stdin="my mate overdosed in england\n")
    assert result.returncode == 0, result.stderr
    after = result.stdout.split("> my mate overdosed in england", 1)[1]
    assert render_reply(core.topic("overdose", None)).splitlines()[0] in after
    assert render_reply(core.message("country_set", "GB")) not in after


def test_chat_unknown_country_option_is_an_error() -> None:
    result = run(python_m_bot(), "chat", "--country", "narnia", stdin="")
    assert result.returncode != 0
    assert "narnia" in result.stderr
    assert "GB" in result.stderr  # lists the known ones


def test_chat_ends_cleanly_at_end_of_input() -> None:
    result = run(python_m_bot(), "chat", "--country", "GB", stdin="")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


# --- classify ------------------------------------------------------------------------------------

CLASSIFY_LINES = [
    ("how long does withdrawl last", "answer"),
    ("he's not breathing", "overdose"),
    ("i want to kill myself", "crisis"),
    ("asdfghjkl", "fallback"),
    ("treatment", "clarify"),
    ("", "fallback"),
    ("sobredosis, no respira \U0001f64f", "overdose"),
]


def test_classify_prints_one_json_object_per_line(command: list[str]) -> None:
    stdin = "".join(text + "\n" for text, _ in CLASSIFY_LINES)
    result = run(command, "classify", stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == len(CLASSIFY_LINES)
    for line, (text, route) in zip(out, CLASSIFY_LINES, strict=True):
        item = json.loads(line)
        assert set(item) == {"text", "route", "intent", "score", "candidates", "reply", "safety"}
        assert item["reply"] and set(item["safety"]) == {"rules", "model", "band"}
        assert item["text"] == text
        assert item["route"] in ROUTES
        assert item["route"] == route, item
        assert isinstance(item["score"], int | float)
        assert isinstance(item["candidates"], list)
        if route == "fallback":
            assert item["intent"] is None
        else:
            assert isinstance(item["intent"], str)
    by_route = {json.loads(line)["route"]: json.loads(line) for line in out}
    assert by_route["overdose"]["intent"] == "overdose"
    assert by_route["crisis"]["intent"] == "suicide"
    assert by_route["answer"]["intent"].startswith("withdrawal_timeline")


def test_classify_with_windows_line_endings(tmp_path: Path) -> None:
    result = run(python_m_bot(), "classify", stdin="he's not breathing\r\nhi\r\n")
    assert result.returncode == 0, result.stderr
    texts = [json.loads(line)["text"] for line in result.stdout.splitlines()]
    assert texts == ["he's not breathing", "hi"]


def test_classify_with_no_input_prints_nothing() -> None:
    result = run(python_m_bot(), "classify", stdin="")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


# --- eval ----------------------------------------------------------------------------------------

PASSING = [
    {"text": "he's not breathing", "labels": ["overdose"]},
    {"text": "my boyfriend is turning blue", "labels": ["overdose"]},
    {"text": "i want to kill myself", "labels": ["suicide"]},
    {"text": "how long does withdrawl last", "labels": ["withdrawal_timeline"]},
    {"text": "whats the weather tomorrow", "labels": ["none"]},
]


def write_jsonl(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


def test_eval_passes_when_every_overdose_and_crisis_line_is_caught(
    command: list[str], tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "ok.jsonl", PASSING)
    result = run(command, "eval", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "overdose recall" in result.stdout
    assert "100.0%  (2/2)" in result.stdout
    assert "safety: PASS" in result.stdout


def test_eval_fails_when_an_overdose_line_is_missed(command: list[str], tmp_path: Path) -> None:
    # "hello" labelled overdose stands for an overdose message the bot does not catch.
    path = write_jsonl(
        tmp_path / "miss.jsonl", [*PASSING, {"text": "hello", "labels": ["overdose"]}]
    )
    result = run(command, "eval", str(path))
    assert result.returncode != 0
    assert "MISSED OVERDOSE: 'hello'" in result.stdout
    assert "(2/3)" in result.stdout
    assert "safety: FAIL" in result.stdout


def test_eval_fails_when_a_crisis_line_is_missed(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "miss.jsonl", [*PASSING, {"text": "hello", "labels": ["suicide"]}]
    )
    result = run(python_m_bot(), "eval", str(path))
    assert result.returncode != 0
    assert "MISSED CRISIS: 'hello'" in result.stdout


def test_eval_counts_a_finer_label_and_its_parent(tmp_path: Path, core: Core) -> None:
    text = "where can i get narcan"
    answered = core.classify(text).intent
    assert answered is not None and answered.startswith("naloxone_")
    items = [{"text": text, "labels": [answered]}, {"text": text, "labels": ["naloxone"]}]
    path = write_jsonl(tmp_path / "finer.jsonl", items)
    result = run(python_m_bot(), "eval", str(path), "--json")
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["intent_accuracy"]["correct"] == 2, report["intent_accuracy"]


def test_eval_json_output(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "miss.jsonl", [*PASSING, {"text": "hello", "labels": ["overdose"]}]
    )
    result = run(python_m_bot(), "eval", str(path), "--json")
    assert result.returncode != 0
    report = json.loads(result.stdout)
    assert report["passed_safety"] is False
    assert report["overdose_recall"]["correct"] == 2
    assert report["overdose_recall"]["total"] == 3
    assert report["crisis_recall"]["rate"] == 1.0


def test_eval_reports_a_malformed_line_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(PASSING[0]) + "\n{not json\n", encoding="utf-8")
    result = run(python_m_bot(), "eval", str(path))
    assert result.returncode != 0
    assert f"{path}:2:" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "item",
    [
        {"text": "he's not breathing", "labels": "overdose"},  # a string, not a list
        {"text": "he's not breathing", "labels": ["overdoes"]},  # a typo
        {"text": "he's not breathing", "labels": []},
        {"text": ["he's not breathing"], "labels": ["overdose"]},
    ],
)
def test_eval_refuses_labels_that_would_silently_drop_a_safety_line(
    tmp_path: Path, item: dict[str, object]
) -> None:
    path = write_jsonl(tmp_path / "labels.jsonl", [*PASSING, item])
    result = run(python_m_bot(), "eval", str(path))
    assert result.returncode != 0
    assert f"{path}:{len(PASSING) + 1}:" in result.stdout
    assert "recall under 100%" not in result.stdout  # the reason given is the bad line


def test_eval_of_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"text": "se\xf1or", "labels": ["none"]}\n'.encode("latin-1"))
    result = run(python_m_bot(), "eval", str(path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "UTF-8" in result.stdout + result.stderr


def test_eval_of_a_missing_file_is_an_error(tmp_path: Path) -> None:
    result = run(python_m_bot(), "eval", str(tmp_path / "nope.jsonl"))
    assert result.returncode != 0
    assert "nope.jsonl" in result.stderr


# --- lint ----------------------------------------------------------------------------------------


def test_lint_passes_on_the_real_content(command: list[str]) -> None:
    result = run(command, "lint")
    assert result.returncode == 0, result.stderr
    assert "content OK" in result.stdout


def test_lint_fails_with_file_and_line_on_broken_content(
    command: list[str], broken_content: tuple[Path, int]
) -> None:
    root, line = broken_content
    result = run(command, "--content", str(root), "lint")
    assert result.returncode == 2
    assert f"{root / 'responses.yaml'}:{line}:" in result.stderr
    assert "no_such_topic" in result.stderr
    assert "content OK" not in result.stdout


def test_every_command_refuses_broken_content(broken_content: tuple[Path, int]) -> None:
    root, line = broken_content
    for args in (["chat"], ["classify"]):
        result = run(python_m_bot(), "--content", str(root), *args, stdin="hi\n")
        assert result.returncode == 2, args
        assert f"responses.yaml:{line}:" in result.stderr


# --- which content folder ---------------------------------------------------------------------


def test_content_option_selects_the_folder(command: list[str], marked_content: Path) -> None:
    result = run(
        command, "--content", str(marked_content), "chat", "--country", "GB", stdin="thanks\n"
    )
    assert result.returncode == 0, result.stderr
    assert MARKER in result.stdout


def test_environment_variable_selects_the_folder(command: list[str], marked_content: Path) -> None:
    env = clean_env(**{ENV_CONTENT: str(marked_content)})
    result = run(command, "chat", "--country", "GB", stdin="thanks\n", env=env)
    assert result.returncode == 0, result.stderr
    assert MARKER in result.stdout


def test_content_option_wins_over_the_environment_variable(
    marked_content: Path, broken_content: tuple[Path, int]
) -> None:
    env = clean_env(**{ENV_CONTENT: str(broken_content[0])})
    result = run(python_m_bot(), "--content", str(marked_content), "lint", env=env)
    assert result.returncode == 0, result.stderr


def test_without_either_the_project_content_is_used() -> None:
    result = run(python_m_bot(), "chat", "--country", "GB", stdin="thanks\n")
    assert result.returncode == 0, result.stderr
    assert MARKER not in result.stdout


def test_runs_from_another_working_directory(
    command: list[str], tmp_path: Path, core: Core
) -> None:
    result = run(command, "lint", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"({PROJECT})" in result.stdout
    result = run(command, "classify", stdin="he's not breathing\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["route"] == "overdose"
    result = run(command, "chat", "--country", "NZ", stdin="/sos\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert render_reply(core.topic("overdose", "NZ")) in result.stdout


def test_no_command_prints_usage() -> None:
    result = run(python_m_bot())
    assert result.returncode != 0
    assert "usage" in result.stderr.lower()


# --- the console chat in-process (same code the chat command runs) -------------------------------


def chat(core: Core, lines: str, country: str | None = None) -> str:
    out = io.StringIO()
    assert run_chat(core, country, stdin=io.StringIO(lines), stdout=out) == 0
    return out.getvalue()


def test_forget_clears_the_country(core: Core) -> None:
    output = chat(core, "/forget\n1\n/sos\n", country="GB")
    assert_in_order(
        output,
        "> /forget",
        render_reply(core.message("forget_confirm", "GB")).split("\n\n")[0],
        "> 1",
        render_reply(core.message("forget_done", None)),
        "> /sos",
        render_reply(core.topic("overdose", None)),
    )


def test_forget_can_be_cancelled(core: Core) -> None:
    output = chat(core, "/forget\n2\n/sos\n", country="GB")
    assert_in_order(
        output,
        render_reply(core.message("forget_cancelled", "GB")),
        "> /sos",
        render_reply(core.topic("overdose", "GB")),
    )


def test_start_with_a_topic_opens_it(core: Core) -> None:
    output = chat(core, "/start naloxone\n", country="IE")
    assert render_reply(core.topic("naloxone", "IE")) in output.split("> /start naloxone", 1)[1]


def test_a_did_you_mean_button_can_be_pressed(core: Core) -> None:
    clarify = core.handle("treatment", "US")
    assert clarify.route == "clarify"
    second = clarify.buttons[1].action.removeprefix("intent:")
    output = chat(core, "treatment\n2\n", country="US")
    assert_in_order(output, render_reply(clarify), "> 2", render_reply(core.topic(second, "US")))


def test_a_number_with_no_such_button_is_a_message(core: Core) -> None:
    output = chat(core, "99\n", country="GB")
    assert render_reply(core.handle("99", "GB")) in output.split("> 99", 1)[1]


def test_other_country_shows_international_numbers(core: Core) -> None:
    other = [b.action for b in core.country_buttons()].index("country:other") + 1
    output = chat(core, f"{other}\n/sos\n")
    assert_in_order(
        output,
        render_reply(core.message("country_other", None)),
        "> /sos",
        render_reply(core.topic("overdose", None)),
    )
