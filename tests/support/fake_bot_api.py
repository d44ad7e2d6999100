"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests of the Telegram shell.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length, chunked bodies) over asyncio streams
for python-telegram-bot's httpx client, runs in the test's own event loop and implements:

getMe, getUpdates (long polling with ``timeout``), sendMessage, answerCallbackQuery,
editMessageText, editMessageReplyMarkup, setMyCommands, setMyDescription, setMyShortDescription,
deleteWebhook, setWebhook, getWebhookInfo, sendChatAction.

It applies Telegram's own checks (text 1-4096 characters after entity parsing, HTML restricted to
Telegram's tag set and balanced, callback_data at most 64 bytes, command menu shape) and answers
``400`` like Telegram when they fail. Every request is recorded in :attr:`FakeBotApi.calls`, in
arrival order, including those answered with an injected failure (see :meth:`FakeBotApi.fail_next`).

Outages: :meth:`FakeBotApi.start_outage` makes every method (or only some) answer ``502``, or
closes the listening socket so connections are refused, until :meth:`FakeBotApi.end_outage`.
:meth:`FakeBotApi.answer_late` carries a call out (a message counts as delivered) but answers
only after a delay: past the client's read timeout, the client cannot know it arrived.

Updates are queued with the ``*_update`` helpers (``text``, ``command``, ``press``, ``sticker``,
``voice``, ``photo``, ``location``, ``edit``, ``old_poll``), which return the update id;
``raw`` queues any JSON value as an update (junk included), delivered whatever
``allowed_updates`` says.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64

JSON_FIELDS = frozenset(
    {"reply_markup", "commands", "allowed_updates", "entities", "link_preview_options", "scope"}
)
INT_FIELDS = frozenset({"chat_id", "message_id", "offset", "timeout", "limit", "max_connections"})

ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "blockquote",
        "span",
        "tg-emoji",
    }
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*)?)>")
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6})|(lt|gt|amp|quot));")
_HREF = re.compile(r"""^\s*href\s*=\s*(?:"[^"]*"|'[^']*')\s*$""")
_SPOILER_CLASS = re.compile(r"""^\s*class\s*=\s*(?:"tg-spoiler"|'tg-spoiler')\s*$""")
_CODE_CLASS = re.compile(r"""^\s*class\s*=\s*(?:"language-[\w+-]+"|'language-[\w+-]+')\s*$""")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


class EntityParseError(ValueError):
    """Telegram's "can't parse entities" refusal."""


def parse_telegram_html(text: str) -> str:
    """Return the visible text of Telegram-HTML ``text``; raise EntityParseError like Telegram."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "<":
            offset = len(text[:pos].encode("utf-8"))
            match = _TAG.match(text, pos)
            if match is None:
                raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if name not in ALLOWED_TAGS:
                raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
            if closing:
                if not stack:
                    raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
                if stack[-1] != name:
                    raise EntityParseError(
                        f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                        f'found "</{name}>"'
                    )
                stack.pop()
            else:
                _check_attributes(name, attrs, offset)
                stack.append(name)
            pos = match.end()
        elif char == "&":
            match = _ENTITY.match(text, pos)
            if match is None:
                out.append("&")
                pos += 1
            else:
                out.append(html.unescape(match.group(0)))
                pos = match.end()
        else:
            out.append(char)
            pos += 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _check_attributes(name: str, attrs: str, offset: int) -> None:
    attrs = attrs.strip()
    if name == "a":
        ok = bool(_HREF.match(attrs))
    elif name == "span":
        ok = bool(_SPOILER_CLASS.match(attrs))
    elif name == "code":
        ok = not attrs or bool(_CODE_CLASS.match(attrs))
    elif name == "tg-emoji":
        ok = bool(re.match(r"""^\s*emoji-id\s*=\s*"\d+"\s*$""", attrs))
    elif name == "blockquote":
        ok = attrs in ("", "expandable")
    else:
        ok = not attrs
    if not ok:
        raise EntityParseError(f'Unsupported attributes in tag "{name}" at byte offset {offset}')


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    """An error answer: HTTP status plus Telegram's JSON body."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class Failure:
    """What to answer instead of the real thing: an HTTP status, or ``drop`` the connection."""

    kind: str  # "429", "403", "500", "502", "400", "drop"
    retry_after: int = 1


@dataclass
class ApiCall:
    """One request as the fake server received it."""

    seq: int
    method: str
    params: dict[str, Any]
    outcome: str = "pending"  # "ok", "error <status>", "drop", "429", ...
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    def urls(self) -> list[str]:
        markup = self.params.get("reply_markup") or {}
        return [
            button["url"]
            for row in markup.get("inline_keyboard", [])
            for button in row
            if "url" in button
        ]

    def callback_data(self) -> list[str]:
        markup = self.params.get("reply_markup") or {}
        return [
            button["callback_data"]
            for row in markup.get("inline_keyboard", [])
            for button in row
            if "callback_data" in button
        ]


class FakeBotApi:
    """The fake server. ``async with FakeBotApi(token) as api: ... api.base_url ...``."""

    def __init__(self, token: str, *, bot_id: int = 424242, username: str = "recovery_test_bot"):
        # the Telegram client language each user id reports (default "en")
        self.language_codes: dict[int, str] = {}
        self.token = token
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Recovery",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[ApiCall] = []
        self.commands: list[dict[str, str]] = []  # the default menu (no language_code)
        self.commands_by_language: dict[str, list[dict[str, str]]] = {}
        # the bot's description and short description, by language_code ("" = the default)
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.webhook: dict[str, Any] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._raw_ids: set[int] = set()  # updates queued by raw(): never filtered by kind
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._callback_ids = itertools.count(1)
        self._chats: dict[int, dict[str, Any]] = {}
        self._failures: dict[str, list[Failure]] = {}
        self._holds: dict[str, list[tuple[Callable[[dict[str, Any]], bool], asyncio.Event]]] = {}
        self._outage: str | None = None  # "5xx" or "refuse"
        self._outage_methods: frozenset[str] | None = None  # None: every method
        self._late: dict[str, float] = {}  # method -> seconds to wait before answering
        self.user_texts: list[str] = []  # every text/caption users "wrote", for log checks
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_connection, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    @property
    def base_url(self) -> str:
        """What to pass as PTB's ``base_url`` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- controlling the server --------------------------------------------------------------

    def fail_next(self, method: str, kind: str | int, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``kind`` (429/403/5xx/"drop")."""
        self._failures.setdefault(method, []).extend(
            Failure(str(kind), retry_after) for _ in range(times)
        )

    def hold_next(
        self, method: str, when: Callable[[dict[str, Any]], bool] = lambda params: True
    ) -> asyncio.Event:
        """Keep the next call of ``method`` whose params satisfy ``when`` waiting (unanswered)
        until the returned event is set."""
        release = asyncio.Event()
        self._holds.setdefault(method, []).append((when, release))
        return release

    async def start_outage(self, kind: str = "5xx", methods: tuple[str, ...] | None = None) -> None:
        """Until :meth:`end_outage`: ``"5xx"`` answers 502 to every call of ``methods`` (default
        every method); ``"refuse"`` closes the server, so connections are refused."""
        self._outage = kind
        self._outage_methods = frozenset(methods) if methods is not None else None
        if kind == "refuse":
            await self.stop()

    async def end_outage(self) -> None:
        kind, self._outage, self._outage_methods = self._outage, None, None
        if kind == "refuse":
            await self.start()  # the same port again

    def answer_late(self, seconds: float, method: str = "sendMessage") -> None:
        """Carry out every call of ``method`` at once but answer ``seconds`` later (0: on time)."""
        if seconds > 0:
            self._late[method] = seconds
        else:
            self._late.pop(method, None)

    def pending_failures(self, method: str) -> int:
        return len(self._failures.get(method, []))

    def calls_of(self, method: str, *, ok_only: bool = False) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def sent_to(self, chat_id: int) -> list[ApiCall]:
        """Successful sendMessage calls to ``chat_id``, in order."""
        return [
            c for c in self.calls_of("sendMessage", ok_only=True) if c.params["chat_id"] == chat_id
        ]

    async def wait_for(self, predicate: Callable[[FakeBotApi], Any], timeout: float = 15.0) -> Any:
        """Wait until ``predicate(self)`` is truthy (re-checked after every request); return it."""

        async def until() -> Any:
            async with self._changed:
                while not (result := predicate(self)):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(until(), timeout)

    async def wait_for_sent(self, chat_id: int, count: int, timeout: float = 15.0) -> list[ApiCall]:
        """Wait until ``count`` messages were delivered to ``chat_id``; return all delivered."""
        return await self.wait_for(
            lambda api: (sent := api.sent_to(chat_id)) and len(sent) >= count and sent, timeout
        )

    async def wait_for_calls(
        self, method: str, count: int = 1, timeout: float = 15.0
    ) -> list[ApiCall]:
        return await self.wait_for(
            lambda api: (calls := api.calls_of(method)) and len(calls) >= count and calls, timeout
        )

    async def wait_until_fetched(self, update_id: int, timeout: float = 15.0) -> None:
        """Wait until the bot confirmed ``update_id`` (asked getUpdates with a later offset)."""
        await self.wait_for(
            lambda api: any(
                c.method == "getUpdates" and int(c.params.get("offset") or 0) > update_id
                for c in api.calls
            ),
            timeout,
        )

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- building updates --------------------------------------------------------------------

    def user(self, user_id: int) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User{user_id}",
            "language_code": self.language_codes.get(user_id, "en"),
        }

    def chat(self, chat_id: int, chat_type: str = "private") -> dict[str, Any]:
        if chat_id not in self._chats:
            if chat_type == "private":
                self._chats[chat_id] = {"id": chat_id, "type": "private", "first_name": "Tester"}
            else:
                self._chats[chat_id] = {"id": chat_id, "type": chat_type, "title": "Group"}
        return self._chats[chat_id]

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _message(
        self, chat_id: int, user_id: int | None, chat_type: str, **content: Any
    ) -> dict[str, Any]:
        user_id = chat_id if user_id is None else user_id
        return {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self.chat(chat_id, chat_type),
            "from": self.user(user_id),
            **content,
        }

    def push(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, kind: payload})
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    def raw(self, content: Any) -> int:
        """Queue ``content`` as the body of an update, as is (junk included): a dict gets the
        next ``update_id`` unless it has one; anything else is wrapped as
        ``{"update_id": N, "message": content}``."""
        update_id = next(self._update_ids)
        if isinstance(content, dict):
            update = {"update_id": update_id, **content}
        else:
            update = {"update_id": update_id, "message": content}
        self._raw_ids.add(update_id)
        self._updates.append(update)
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    def old_poll(self, chat_id: int, question: str = "Which day suits the group best?") -> int:
        """A message carrying a poll as a Bot API server older than 9.6 sends it: its options
        have no ``persistent_id``, which PTB 22.8 requires (``PollOption``)."""
        self.user_texts.append(question)
        poll = {
            "id": "5123",
            "question": question,
            "options": [{"text": "Monday evening", "voter_count": 0},
                        {"text": "Thursday morning", "voter_count": 0}],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
        }
        return self.push("message", self._message(chat_id, None, "private", poll=poll))

    def take_update(self, update_id: int) -> dict[str, Any]:
        """Remove a queued update (to deliver it some other way, e.g. to a webhook)."""
        update = next(u for u in self._updates if u["update_id"] == update_id)
        self._updates.remove(update)
        return update

    def text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        reply_to_bot: bool = False,
    ) -> int:
        """Queue a text message; ``/commands`` and ``@mentions`` get their entities."""
        entities = []
        command = re.match(r"/[A-Za-z0-9_]+(?:@\w+)?", text)
        if command:
            entities.append(
                {"type": "bot_command", "offset": 0, "length": utf16_length(command[0])}
            )
        for mention in re.finditer(r"@\w+", text):
            if command and mention.start() < command.end():
                continue
            entities.append(
                {
                    "type": "mention",
                    "offset": utf16_length(text[: mention.start()]),
                    "length": utf16_length(mention[0]),
                }
            )
        self.user_texts.append(text)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        if reply_to_bot:
            content["reply_to_message"] = {
                "message_id": self._next_message_id(chat_id),
                "date": int(time.time()),
                "chat": self.chat(chat_id, chat_type),
                "from": self.bot_user,
                "text": "…",
            }
        return self.push("message", self._message(chat_id, user_id, chat_type, **content))

    def command(self, chat_id: int, command: str, **kwargs: Any) -> int:
        return self.text(chat_id, command, **kwargs)

    def press(
        self, chat_id: int, data: str, *, message_id: int | None = None, user_id: int | None = None
    ) -> int:
        """Queue a callback query as if the user pressed a button on the bot's message."""
        user_id = chat_id if user_id is None else user_id
        if message_id is None:
            mine = [mid for (cid, mid) in self.messages if cid == chat_id]
            message_id = max(mine) if mine else self._next_message_id(chat_id)
        stored = self.messages.get((chat_id, message_id), {"text": "…"})
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.bot_user,
            "text": stored["text"],
        }
        if stored.get("reply_markup"):
            message["reply_markup"] = stored["reply_markup"]
        return self.push(
            "callback_query",
            {
                "id": str(next(self._callback_ids)),
                "from": self.user(user_id),
                "message": message,
                "chat_instance": f"ci{chat_id}",
                "data": data,
            },
        )

    def sticker(self, chat_id: int, **kwargs: Any) -> int:
        sticker = {
            "file_id": "stk",
            "file_unique_id": "stku",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.push(
            "message", self._message(chat_id, None, "private", sticker=sticker, **kwargs)
        )

    def voice(self, chat_id: int) -> int:
        voice = {"file_id": "vc", "file_unique_id": "vcu", "duration": 3}
        return self.push("message", self._message(chat_id, None, "private", voice=voice))

    def photo(self, chat_id: int, caption: str | None = None) -> int:
        photo = [{"file_id": "ph", "file_unique_id": "phu", "width": 90, "height": 90}]
        extra = {"caption": caption} if caption else {}
        if caption:
            self.user_texts.append(caption)
        return self.push("message", self._message(chat_id, None, "private", photo=photo, **extra))

    def location(self, chat_id: int) -> int:
        location = {"latitude": 51.5, "longitude": -0.12}
        return self.push("message", self._message(chat_id, None, "private", location=location))

    def edit(self, chat_id: int, text: str) -> int:
        self.user_texts.append(text)
        message = self._message(chat_id, None, "private", text=text)
        message["edit_date"] = int(time.time())
        return self.push("edited_message", message)

    # -- HTTP ----------------------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                path, body = request
                status, payload = await self._dispatch(path, body)
                if status == 0:  # injected connection drop
                    break
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                    "Connection: keep-alive\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _dispatch(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", path.split("?", 1)[0])
        if match is None:
            return 404, ApiError(404, "Not Found").body()
        token, method = match.groups()
        params = _decode_params(body)
        call = ApiCall(seq=len(self.calls), method=method, params=params)
        self.calls.append(call)
        await self._notify()
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            await self._wait_if_held(method, params)
            if self._outage == "5xx" and (
                self._outage_methods is None or method in self._outage_methods
            ):
                call.outcome = "outage"
                raise ApiError(502, "Bad Gateway")
            failures = self._failures.get(method)
            if failures:
                failure = failures.pop(0)
                call.outcome = failure.kind
                if failure.kind == "drop":
                    return 0, {}
                raise _failure_error(failure)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params)
            call.outcome = "ok"
            late = self._late.get(method)
            if late:
                await self._notify()
                await asyncio.sleep(late)
            return 200, {"ok": True, "result": result}
        except ApiError as exc:
            if call.outcome == "pending":
                call.outcome = f"error {exc.status}"
            return exc.status, exc.body()
        finally:
            await self._notify()

    async def _wait_if_held(self, method: str, params: dict[str, Any]) -> None:
        holds = self._holds.get(method, [])
        for index, (when, release) in enumerate(holds):
            if when(params):
                del holds[index]
                await release.wait()
                return

    # -- Bot API methods -----------------------------------------------------------------------

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = dict(params)
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
        for command in commands:
            if not _COMMAND.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        language = params.get("language_code") or ""
        self.commands_by_language[language] = commands
        if not language:
            self.commands = commands
        return True

    async def _api_setMyDescription(self, params: dict[str, Any]) -> bool:
        self.descriptions[_language_code(params)] = _profile_text(params, "description", 512)
        return True

    async def _api_setMyShortDescription(self, params: dict[str, Any]) -> bool:
        self.short_descriptions[_language_code(params)] = _profile_text(
            params, "short_description", 120
        )
        return True

    async def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._require_chat(params)
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        allowed = params.get("allowed_updates") or None

        def ready() -> list[dict[str, Any]]:
            return [
                u for u in self._updates
                if not allowed or _update_kind(u) in allowed or u["update_id"] in self._raw_ids
            ][:limit]

        if not ready() and timeout > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await self.wait_for(lambda api: ready(), timeout=timeout)
        return ready()

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._require_chat(params)
        text, markup = self._checked_content(params)
        message_id = self._next_message_id(chat["id"])
        self.messages[(chat["id"], message_id)] = {"text": text, "reply_markup": markup}
        return self._bot_message(chat, message_id)

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message_id, stored = self._require_message(params)
        text, markup = self._checked_content(params)
        if stored["text"] == text and stored.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        self.messages[(chat["id"], message_id)] = {"text": text, "reply_markup": markup}
        return self._bot_message(chat, message_id)

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message_id, stored = self._require_message(params)
        markup = params.get("reply_markup")
        _check_markup(markup)
        if stored.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        stored["reply_markup"] = markup
        return self._bot_message(chat, message_id)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired")
        if len(str(params.get("text", ""))) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    # -- checks --------------------------------------------------------------------------------

    def _require_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int) or chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return self._chats[chat_id]

    def _require_message(
        self, params: dict[str, Any]
    ) -> tuple[dict[str, Any], int, dict[str, Any]]:
        chat = self._require_chat(params)
        message_id = params.get("message_id")
        stored = self.messages.get((chat["id"], message_id))  # type: ignore[arg-type]
        if stored is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat, int(message_id), stored  # type: ignore[arg-type]

    def _checked_content(self, params: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        text = params.get("text")
        if not isinstance(text, str):
            raise ApiError(400, "Bad Request: message text is empty")
        if params.get("parse_mode") == "HTML":
            try:
                text = parse_telegram_html(text)
            except EntityParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_length(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        _check_markup(markup)
        return text, markup

    def _bot_message(self, chat: dict[str, Any], message_id: int) -> dict[str, Any]:
        stored = self.messages[(chat["id"], message_id)]
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            "text": stored["text"],
        }
        if stored.get("reply_markup"):
            message["reply_markup"] = stored["reply_markup"]
        return message


def _check_markup(markup: Any) -> None:
    if markup is None:
        return
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            if not str(button.get("text", "")).strip():
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _failure_error(failure: Failure) -> ApiError:
    if failure.kind == "429":
        return ApiError(
            429,
            f"Too Many Requests: retry after {failure.retry_after}",
            retry_after=failure.retry_after,
        )
    if failure.kind == "403":
        return ApiError(403, "Forbidden: bot was blocked by the user")
    if failure.kind == "400":
        return ApiError(400, "Bad Request: injected")
    return ApiError(
        int(failure.kind), "Internal Server Error" if failure.kind == "500" else "Bad Gateway"
    )


def _language_code(params: dict[str, Any]) -> str:
    code = str(params.get("language_code") or "")
    if code and not re.fullmatch(r"[a-z]{2}", code):
        raise ApiError(400, "Bad Request: language code is invalid")
    return code


def _profile_text(params: dict[str, Any], name: str, limit: int) -> str:
    """setMyDescription / setMyShortDescription: 0-``limit`` characters ("" removes it)."""
    text = str(params.get(name) or "")
    if utf16_length(text) > limit:
        raise ApiError(400, f"Bad Request: {name} is too long")
    return text


def _update_kind(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _decode_params(body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
        if key in JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in INT_FIELDS:
            params[key] = int(value)
        else:
            params[key] = value
    return params


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, bytes] | None:
    """Read one HTTP/1.1 request; return (path, body) or None at end of stream."""
    request_line = await reader.readline()
    if not request_line:
        return None
    parts = request_line.decode("latin-1").split()
    if len(parts) < 2:
        return None
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                break
            body += await reader.readexactly(size)
            await reader.readline()
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    return parts[1], body
