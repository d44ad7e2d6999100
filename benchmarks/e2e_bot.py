"""One bot process for ``bench_e2e.py``: the real application or a minimal PTB echo bot.

    python benchmarks/e2e_bot.py KIND --base-url URL --state-dir DIR [--experiment NAME ...]

KIND:
- ``recovery``: ``bot.telegram.app.build_application(Core.load(), ...)`` run by
  ``bot.telegram.app.serve`` (polling), exactly as ``recovery-bot run`` minus signal plumbing;
- ``echo``: the floor: an Application with one MessageHandler that sends the text back, the
  same timeouts, the same concurrency limit (256 concurrent updates; PTB's default would be one
  at a time) and the same ``start_polling`` arguments as ``serve``;
- ``echo_limited``: ``echo`` plus the real application's rate limiter
  (``bot.telegram.rate_limit.UrgentFirstRateLimiter``, same ``max_retries``); the echo bot never
  marks a send urgent, so every reply goes through the shared 30 messages/s bucket.

Experiments (``--experiment NAME``, applied in this process before the application is built):
``no_overall_limit``; see experiments.py.

Both kinds get one extra TypeHandler in a later handler group that prints ``done <update_id>``
when the update's handlers have finished (the driver's signal that an update is handled), and
``ready`` once polling runs. SIGTERM stops the bot cleanly; it then prints how many times an
``import sniffio`` reached the import system (``sniffio_lookups N``): httpcore imports it per
lock; with sniffio installed only the first import does, without it every one (a failed import
that scans sys.path).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

import benchlib  # noqa: F401  (puts the repo on sys.path)
from experiments import EXPERIMENTS
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

import bot.telegram.app as app_module
from bot.core import Core
from bot.telegram.app import ALLOWED_UPDATES, BOOTSTRAP_RETRIES, POLL_TIMEOUT
from bot.telegram.concurrency import DEFAULT_MAX_CONCURRENT
from bot.telegram.rate_limit import UrgentFirstRateLimiter


class SniffioLookups:
    """Counts the ``import sniffio`` that reach the import system (not in sys.modules)."""

    count = 0

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "sniffio":
            SniffioLookups.count += 1


sys.meta_path.insert(0, SniffioLookups())  # type: ignore[arg-type]


TOKEN = "123456789:AAHbenchTOKENbenchTOKENbenchTOKEN12"
DONE_GROUP = 99


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    say(f"done {update.update_id}")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    await context.bot.send_message(message.chat_id, message.text)


def echo_application(base_url: str, limited: bool) -> Application:  # type: ignore[type-arg]
    builder = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(base_url)
        .concurrent_updates(DEFAULT_MAX_CONCURRENT)
        .connect_timeout(10)
        .read_timeout(15)
        .write_timeout(15)
        .get_updates_read_timeout(POLL_TIMEOUT + 10)
    )
    if limited:
        builder = builder.rate_limiter(
            UrgentFirstRateLimiter(max_retries=app_module.RATE_LIMIT_RETRIES)
        )
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return application


async def serve_echo(application: Application, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
    """``bot.telegram.app.serve`` minus the command menu (the echo bot has none)."""
    async with application:
        await application.start()
        await application.updater.start_polling(
            timeout=POLL_TIMEOUT,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
            bootstrap_retries=BOOTSTRAP_RETRIES,
        )
        say("ready")
        await stop.wait()
        await application.updater.stop()
        await application.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("recovery", "echo", "echo_limited"))
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--experiment", action="append", default=[], choices=EXPERIMENTS)
    args = parser.parse_args()
    for name in args.experiment:
        EXPERIMENTS[name]()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    if args.kind == "recovery":
        application = app_module.build_application(
            Core.load(), TOKEN, args.base_url, args.state_dir
        )
        application.add_handler(TypeHandler(Update, done), group=DONE_GROUP)
        await app_module.serve(
            application, stop, poll_timeout=POLL_TIMEOUT, ready=lambda: say("ready")
        )
    else:
        application = echo_application(args.base_url, limited=args.kind == "echo_limited")
        application.add_handler(TypeHandler(Update, done), group=DONE_GROUP)
        await serve_echo(application, stop)
    say(f"sniffio_lookups {SniffioLookups.count}")


if __name__ == "__main__":
    profile_to = os.environ.get("BENCH_PROFILE")  # cProfile the whole bot process into a file
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        try:
            asyncio.run(main())
        finally:
            profiler.disable()
            profiler.dump_stats(profile_to)
    else:
        asyncio.run(main())
