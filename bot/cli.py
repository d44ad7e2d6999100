"""``recovery-bot``: chat, classify, eval, lint and run."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.content import ENV_CONTENT, default_content_dir
from bot.content.yaml_source import ContentError

if TYPE_CHECKING:
    from bot.core import Core


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("recovery-bot")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _load_core(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from bot.core import Core

    return Core.load(args.content)


def _country(core, value: str | None) -> str | None:  # type: ignore[no-untyped-def]
    if value is None:
        return None
    code = core.resolve_country(value)
    if code is None:
        known = ", ".join(core.countries)
        raise SystemExit(f"recovery-bot: unknown country {value!r} (known: {known})")
    return code


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.console import run_chat

    core = _load_core(args)
    return run_chat(core, _country(core, args.country))


def cmd_classify(args: argparse.Namespace) -> int:
    from bot.console import render_reply
    from bot.conversation import Conversation, UserState

    core = _load_core(args)
    country = _country(core, args.country)
    conversation = Conversation(core)
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        event = conversation.text_event(text)
        c = event.classification or core.classify(text)
        outcome = conversation.handle(event, UserState(country=country), 0.0)
        first = outcome.replies[0] if outcome.replies else None
        out = {"text": text, "route": c.route,
               "intent": c.intent if c.route != "fallback" else None,
               "score": c.score, "candidates": [[i, s] for i, s in c.candidates[:3]],
               "reply": render_reply(_first_message(first)) if first else "",
               "safety": c.safety_report()}
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0


def _first_message(reply):  # type: ignore[no-untyped-def]
    """The reply's first message with its buttons only if it has no other message."""
    import dataclasses

    buttons = reply.buttons if len(reply.messages) == 1 else ()
    return dataclasses.replace(reply, messages=reply.messages[:1], buttons=buttons)


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluate import evaluate, format_report, report_json

    core = _load_core(args)
    path = Path(args.file)
    if not path.is_file():
        raise SystemExit(f"recovery-bot: no such file: {path}")
    report = evaluate(core, path)
    tuning = core.tuning.model_dump()
    if args.json:
        print(json.dumps({**report_json(report), "tuning": tuning}, indent=2,
                         ensure_ascii=False))
    else:
        print(format_report(report))
        print("tuning (tuning.yaml): " + ", ".join(f"{k}={v}" for k, v in tuning.items()))
    return 0 if report.passed_safety else 1


def cmd_lint(args: argparse.Namespace) -> int:
    from bot.core import Core
    from bot.telegram.profile import load_profile

    core = Core.load(args.content)
    load_profile(core.content.root)  # telegram.yaml (the bot's description), if present
    stale = _stale_models(core)
    if stale:
        for problem in stale:
            print(problem, file=sys.stderr)
        return 1
    total = sum(len(i.examples) for i in core.content.intents.values())
    print(f"content OK: {len(core.content.intents)} intents, {total} examples, "
          f"{len(core.content.responses.responses)} responses, "
          f"{len(core.countries)} countries ({core.content.root})")
    return 0


def _stale_models(core: Core) -> list[str]:
    """What start-up had to compute because a stored file lags the content."""
    from bot.content.load import meaning_examples
    from bot.understand.intent_head import (
        OUT_OF_SCOPE_FILE,
        IntentHeadError,
        read_out_of_scope,
        training_pairs,
    )

    intents = core.content.root / "intents"
    problems = []
    semantic, head = core.classifier.semantic, core.classifier.head
    if semantic is not None and semantic.stale:
        problems.append(f"{intents / 'embeddings.npz'}:1: {semantic.stale} intent examples have "
                        "no stored embedding: run `recovery-bot embed-intents`")
    try:
        off_topic = read_out_of_scope(intents / OUT_OF_SCOPE_FILE)
    except IntentHeadError as exc:
        return [*problems, str(exc)]
    if head is not None and head.is_stale(training_pairs(meaning_examples(core.content),
                                                         off_topic)):
        problems.append(f"{intents / 'head' / 'record.json'}:1: the intent head was trained on "
                        "other examples: run `recovery-bot train-intents`")
    return problems


def cmd_embed_intents(args: argparse.Namespace) -> int:
    """Store every intent example's sentence embedding (start-up then reads, not encodes)."""
    from bot.understand.semantic import CACHE_FILE

    core = _load_core(args)
    index = core.classifier.semantic
    assert index is not None
    path = core.content.root / "intents" / CACHE_FILE
    index.save(path)
    print(f"{len(index.matrix)} example embeddings written to {path}")
    return 0


def cmd_english_hashes(args: argparse.Namespace) -> int:
    """The fingerprint of every English entry, for the ``from:`` of translations."""
    from bot.content import load_content
    from bot.content.translations import english_hash

    responses = load_content(args.content).responses
    print(json.dumps({
        "responses": {rid: english_hash(r) for rid, r in responses.responses.items()},
        "messages": {key: english_hash(m) for key, m in responses.messages.items()},
    }, indent=2))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.telegram.app import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recovery-bot",
        description="Checked, sourced answers for people affected by opioid use. "
                    "Not a medical service; in an emergency call your local emergency number.")
    parser.add_argument("--content", type=Path, default=None,
                        help=f"content folder (default: ${ENV_CONTENT} or the project's own)")
    parser.add_argument("--version", action="version", version=f"recovery-bot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("chat", help="talk to the bot in this terminal (no token, no network)")
    p.add_argument("--country", help="country code or name, e.g. GB, usa, australia")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("classify", help="one message per stdin line in, one JSON line out")
    p.add_argument("--country", help="country code or name")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("eval", help="score a labelled JSONL file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("lint", help="validate all content files")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("embed-intents", help="store the intent examples' sentence embeddings")
    p.set_defaults(func=cmd_embed_intents)
    p = sub.add_parser("english-hashes", help="fingerprints of the English texts (for the "
                       "`from:` of translations)")
    p.set_defaults(func=cmd_english_hashes)
    p = sub.add_parser("run", help="run the Telegram bot (TELEGRAM_BOT_TOKEN)")
    p.add_argument("--webhook-url", help="serve a webhook at this public URL instead of polling")
    p.add_argument("--listen", default="127.0.0.1", help="webhook listen address")
    p.add_argument("--port", type=int, default=8443, help="webhook listen port")
    p.add_argument("--metrics-port", type=int, default=None,
                   help="serve /healthz, /readyz and /metrics on this port (any mode)")
    p.add_argument("--metrics-host", default="127.0.0.1", help="address for --metrics-port")
    p.set_defaults(func=cmd_run)

    from bot.training.cli import add_train_intents, add_train_safety, add_tune_cv

    add_train_safety(sub)
    add_train_intents(sub)
    add_tune_cv(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.content is None:
        args.content = default_content_dir()
    try:
        return int(args.func(args) or 0)
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"recovery-bot: {len(exc.problems)} content problem(s); fix them and try again",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
