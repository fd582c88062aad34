"""CRUD and pagination over the engine's tables, returning plain dicts.

Writes are update expressions (``SET x = if_not_exists(x, :now)`` and friends) so that an
insert-or-update keeps what it is not given, keeps ``created_at``, and never reads and
writes back a whole item: concurrent writers of different fields or different runs
cannot lose each other's work.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import (
    DeleteError,
    DoesNotExist,
    PutError,
    PynamoDBException,
    TableDoesNotExist,
    UpdateError,
)
from pynamodb.models import Model

from ..errors import (
    BadRequestError,
    ConfigurationError,
    ConflictError,
    EngineError,
    NotFoundError,
    UpstreamError,
)
from .large_values import LargeTexts
from .message_order import latest_other_time, placed_after
from .models import ConnectionOptions, StoreModels, build_models
from .pagination import END, PageSeeker
from .shared_connection import bind_models, shared_connection

__all__ = ["Page", "Store", "utc_now"]

logger = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])
_BATCH = 25


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    page_number: int
    page_size: int
    total: int


def _translate_errors(method: _F) -> _F:
    """Turn PynamoDB/botocore failures into engine errors with a useful message."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except EngineError:
            raise
        except TableDoesNotExist as exc:
            raise UpstreamError(
                f"DynamoDB table is missing ({exc.msg}); create the tables with "
                "`oae tables create` or create_tables()."
            ) from exc
        except PynamoDBException as exc:
            code = getattr(exc, "cause_response_code", None) or type(exc).__name__
            message = _cause_message(exc)
            raise _engine_error(code, str(message), _table_named_in(str(exc.cause)), args) from exc
        except (ClientError, BotoCoreError) as exc:  # the page seeker's boto3 calls
            error = getattr(exc, "response", {}).get("Error", {})
            code = error.get("Code") or type(exc).__name__
            message = error.get("Message") or str(exc)
            raise _engine_error(code, message, None, args) from exc

    return wrapper  # type: ignore[return-value]


def _engine_error(code: str, message: str, table: str | None, args: tuple) -> EngineError:
    if code == "ResourceNotFoundException":
        # Every call but describe_table reports a missing table this way.
        prefix = args[0].options.table_prefix if args else "?"
        return UpstreamError(
            f"DynamoDB table {table or '?'} is missing (table_prefix "
            f"{prefix!r}); create the tables with `oae tables create` or "
            "openai_assistant_engine.create_tables(**setting), or check the "
            "'table_prefix', 'region_name' and 'dynamodb_endpoint' settings."
        )
    if code == "ValidationException":
        # The request's values broke a DynamoDB rule (a key over 2048 bytes, an item
        # over 400 KB, an empty key): the caller's to fix, not an outage.
        return BadRequestError(f"DynamoDB refused the values: {message}")
    if "must specify a region" in message:
        return ConfigurationError(
            "DynamoDB has no region: set the setting region_name (or "
            "AWS_DEFAULT_REGION), or dynamodb_endpoint for a local DynamoDB."
        )
    return UpstreamError(f"DynamoDB request failed ({code}): {message}")


def _require_keys(**keys: str) -> None:
    """DynamoDB rejects an empty key (a ValidationException): say so as a bad request."""
    for name, value in keys.items():
        if not isinstance(value, str) or not value:
            raise BadRequestError(f"{name} must be a non-empty string; got {value!r}.")


def _table_named_in(text: str) -> str | None:
    """PynamoDB's verbose client error says ``on table (<name>)``."""
    match = re.search(r"on table \(([^)]+)\)", text)
    return match.group(1) if match else None


def _cause_message(exc: PynamoDBException) -> str:
    try:
        message = exc.cause_response_message
    except AttributeError:  # a dropped connection has no response to read a message from
        message = None
    return message or str(exc.cause or exc.msg)


def _is_conditional_failure(exc: PynamoDBException) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _all_of(*parts: Any) -> Any:
    """The AND of the conditions given (None ones left out); None when none is given."""
    condition = None
    for part in parts:
        if part is not None:
            condition = part if condition is None else condition & part
    return condition


class Store:
    """The engine's records. One instance per connection; cheap to keep for a process."""

    def __init__(self, options: ConnectionOptions) -> None:
        self.options = options
        # Every table on the process's one connection (one botocore client) for options.
        self.connection = shared_connection(options)
        self.models: StoreModels = build_models(options)
        bind_models(self.models.all(), self.connection)
        self._pages = PageSeeker(self.connection)
        self._texts = LargeTexts(self.models.ValuePart)

    # ---------------------------------------------------------------- tables
    @_translate_errors
    def create_tables(self, *, wait: bool = True) -> list[str]:
        """Create every missing table (PAY_PER_REQUEST); returns the names it created."""
        created = []
        for model in self.models.all():
            if not model.exists():
                model.create_table(billing_mode="PAY_PER_REQUEST", wait=wait)
                created.append(model.Meta.table_name)
        return created

    # ------------------------------------------------------------ assistants
    @_translate_errors
    def get_assistant(self, assistant_type: str, assistant_id: str) -> dict[str, Any]:
        item = self.find_assistant(assistant_type, assistant_id)
        if item is None:
            raise NotFoundError.for_keys(
                "Assistant", assistant_type=assistant_type, assistant_id=assistant_id
            )
        return item

    @_translate_errors
    def find_assistant(self, assistant_type: str, assistant_id: str) -> dict[str, Any] | None:
        _require_keys(assistant_type=assistant_type, assistant_id=assistant_id)
        return self._get(self.models.Assistant, assistant_type, assistant_id)

    @_translate_errors
    def list_assistants(
        self,
        *,
        page_number: int,
        limit: int,
        assistant_type: str | None = None,
        assistant_name: str | None = None,
    ) -> Page:
        model = self.models.Assistant
        condition = model.assistant_name.contains(assistant_name) if assistant_name else None
        if assistant_type:
            return self._query_page(
                model, assistant_type, page_number, limit, filter_condition=condition
            )
        return self._scan_page(model, page_number, limit, filter_condition=condition)

    @_translate_errors
    def upsert_assistant(
        self,
        *,
        assistant_type: str,
        assistant_id: str,
        updated_by: str,
        assistant_name: str | None = None,
        functions: Sequence[Any] | None = None,
        configuration: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        _require_keys(assistant_type=assistant_type, assistant_id=assistant_id)
        model = self.models.Assistant
        now = utc_now()
        actions = [
            model.updated_by.set(updated_by),
            model.updated_at.set(now),
            model.created_at.set(model.created_at | now),
            model.functions.set(model.functions | []),
            model.configuration.set(model.configuration | {}),
        ]
        if assistant_name is not None:
            actions.append(model.assistant_name.set(assistant_name))
        if functions is not None:
            actions[3] = model.functions.set(list(functions))
        if configuration is not None:
            actions[4] = model.configuration.set(dict(configuration))
        item = model(assistant_type, assistant_id)
        item.update(actions=actions)
        return self._simple(item)

    @_translate_errors
    def delete_assistant(self, assistant_type: str, assistant_id: str) -> None:
        _require_keys(assistant_type=assistant_type, assistant_id=assistant_id)
        model = self.models.Assistant
        self._delete_existing(
            model(assistant_type, assistant_id),
            model.assistant_id.exists(),
            "Assistant",
            assistant_type=assistant_type,
            assistant_id=assistant_id,
        )

    # --------------------------------------------------------------- threads
    @_translate_errors
    def get_thread(self, assistant_id: str, thread_id: str) -> dict[str, Any]:
        _require_keys(assistant_id=assistant_id, thread_id=thread_id)
        item = self._get(self.models.Thread, assistant_id, thread_id)
        if item is None:
            raise NotFoundError.for_keys("Thread", assistant_id=assistant_id, thread_id=thread_id)
        return item

    @_translate_errors
    def find_thread(self, thread_id: str) -> dict[str, Any] | None:
        """The thread record with this id, whichever assistant it belongs to."""
        model = self.models.Thread
        for item in model.thread_id_index.query(thread_id, limit=1):
            return self._simple(item)
        return None

    @_translate_errors
    def threads_with_id(self, thread_id: str) -> list[dict[str, Any]]:
        """Every thread record with this id (one, unless two assistants recorded it)."""
        _require_keys(thread_id=thread_id)
        return [self._simple(item) for item in self.models.Thread.thread_id_index.query(thread_id)]

    @_translate_errors
    def list_threads(
        self,
        *,
        page_number: int,
        limit: int,
        assistant_id: str | None = None,
        assistant_types: Sequence[str] | None = None,
        scope: Any = None,
    ) -> Page:
        """``scope`` (identity on: a tenant, and an owner within it) reads the tenant's
        partition of the tenant index: never another tenant's items."""
        model = self.models.Thread
        types = [t for t in (assistant_types or []) if t]
        condition = model.assistant_type.is_in(*types) if types else None
        if scope is not None:
            condition = _all_of(
                condition, model.assistant_id == assistant_id if assistant_id else None
            )
            return self._tenant_page(model, scope, page_number, limit, condition)
        if assistant_id:
            return self._query_page(
                model, assistant_id, page_number, limit, filter_condition=condition
            )
        return self._scan_page(model, page_number, limit, filter_condition=condition)

    @_translate_errors
    def upsert_thread(
        self,
        *,
        assistant_id: str,
        thread_id: str,
        assistant_type: str,
        updated_by: str,
        is_voice: bool | None = None,
        backend: str | None = None,
        conversation_state: str | None = None,
        pending_ask: str | None = None,
        owner: Mapping[str, str] | None = None,
        ask_claim: tuple[str, float] | None = None,
        idle_since_run: str | None = None,
    ) -> dict[str, Any]:
        """Insert or update a thread. ``pending_ask`` notes an askOpenAi in flight (a
        fingerprint of its question) until :meth:`mark_active_run` records its run.
        ``owner`` ({owner, tenant}) is recorded when the thread is made, never changed.

        ``ask_claim`` (token, until): the write holds the thread for one ask, and is made
        only if no other ask holds it (or its hold ran out) and no run is active but
        ``idle_since_run`` (the last run, known ended); else a ConflictError (409)."""
        _require_keys(assistant_id=assistant_id, thread_id=thread_id)
        model = self.models.Thread
        now = utc_now()
        actions = [
            model.assistant_type.set(assistant_type),
            model.updated_by.set(updated_by),
            model.updated_at.set(now),
            model.created_at.set(model.created_at | now),
            model.is_voice.set(model.is_voice | False if is_voice is None else is_voice),
        ]
        if backend is not None:
            # A thread lives on the backend it was created on, whatever the settings say later.
            actions.append(model.backend.set(model.backend | backend))
        if conversation_state is not None:
            actions.append(
                model.conversation_state.set(model.conversation_state | conversation_state)
            )
        if pending_ask is not None:
            actions.append(model.pending_ask.set(pending_ask))
        for name, value in (owner or {}).items():
            attribute = getattr(model, name)
            actions.append(attribute.set(attribute | value))
        item = model(assistant_id, thread_id)
        if ask_claim is None:
            item.update(actions=actions)
            return self._simple(item)
        token, until = ask_claim
        actions += [model.ask_claim.set(token), model.ask_claim_until.set(until)]
        idle = model.active_run_id.does_not_exist()
        if idle_since_run:
            idle = idle | (model.active_run_id == idle_since_run)
        free = model.ask_claim_until.does_not_exist() | (model.ask_claim_until < time.time())
        try:
            item.update(actions=actions, condition=idle & free)
        except UpdateError as exc:
            if not _is_conditional_failure(exc):
                raise
            raise ConflictError(
                f"Thread {thread_id!r} is busy with another askOpenAi; poll currentRun until "
                "its run ends, then ask again."
            ) from exc
        return self._simple(item)

    @_translate_errors
    def release_ask_claim(self, assistant_id: str, thread_id: str, token: str) -> None:
        """End an ask's hold on a thread (its run is recorded, or it failed)."""
        model = self.models.Thread
        try:
            model(assistant_id, thread_id).update(
                actions=[model.ask_claim.remove(), model.ask_claim_until.remove()],
                condition=model.ask_claim == token,
            )
        except UpdateError as exc:
            if not _is_conditional_failure(exc):
                raise

    @_translate_errors
    def delete_thread(
        self, assistant_id: str, thread_id: str, *, active_run_id: str | None = None
    ) -> None:
        """Delete a thread and its runs, provided its active run is still ``active_run_id``
        (the one the caller found ended): a run started meanwhile is a 409."""
        _require_keys(assistant_id=assistant_id, thread_id=thread_id)
        model = self.models.Thread
        idle = model.active_run_id.does_not_exist()
        if active_run_id is not None:
            idle = idle | (model.active_run_id == active_run_id)
        try:
            model(assistant_id, thread_id).delete(condition=model.thread_id.exists() & idle)
        except DeleteError as exc:
            if not _is_conditional_failure(exc):
                raise
            thread = self._get(model, assistant_id, thread_id, consistent_read=True)
            if thread is None:
                raise NotFoundError.for_keys(
                    "Thread", assistant_id=assistant_id, thread_id=thread_id
                ) from exc
            raise ConflictError(
                f"Thread {thread_id!r} has started run {thread.get('active_run_id')!r}: "
                "poll currentRun until it ends, then delete the thread."
            ) from exc
        # The runs belong to the thread; its messages stay until deleted one by one,
        # as the spec's deleteMessage expects.
        runs = self.models.Run
        keys = runs.query(thread_id, attributes_to_get=["thread_id", "run_id"])
        with runs.batch_write() as batch:
            for run in keys:
                batch.delete(run)

    @_translate_errors
    def move_thread(
        self,
        *,
        assistant_id: str,
        thread_id: str,
        backend: str,
        conversation_state: str,
        upstream_thread_id: str | None,
        migrated_from: Mapping[str, Any],
        was: tuple[str | None, str | None],
    ) -> bool:
        """Point a thread at another backend (migrateThread), if it is still on ``was``
        (backend, state: as read) and idle; False (nothing written) when it is not."""
        model = self.models.Thread
        condition = _all_of(
            model.thread_id.exists(),
            model.active_run_id.does_not_exist(),
            *(
                attribute == value if value is not None else attribute.does_not_exist()
                for attribute, value in zip(
                    (model.backend, model.conversation_state), was, strict=True
                )
            ),
        )
        actions = [
            model.backend.set(backend),
            model.conversation_state.set(conversation_state),
            model.upstream_thread_id.set(upstream_thread_id)
            if upstream_thread_id
            else model.upstream_thread_id.remove(),
            model.migrated_from.set(dict(migrated_from)),
            model.updated_at.set(utc_now()),
        ]
        try:
            model(assistant_id, thread_id).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    @_translate_errors
    def mark_active_run(self, assistant_id: str, thread_id: str, run_id: str) -> None:
        """Note the run a thread is busy with (a cheap check before asking OpenAI again);
        the askOpenAi that started it is no longer pending."""
        model = self.models.Thread
        model(assistant_id, thread_id).update(
            actions=[
                model.active_run_id.set(run_id),
                model.pending_ask.remove(),
                # The run stands for the thread's business now (see upsert_thread).
                model.ask_claim.remove(),
                model.ask_claim_until.remove(),
            ]
        )

    @_translate_errors
    def clear_active_run(self, assistant_id: str, thread_id: str, run_id: str) -> None:
        model = self.models.Thread
        item = model(assistant_id, thread_id)
        try:
            item.update(
                actions=[model.active_run_id.remove()],
                condition=model.active_run_id == run_id,
            )
        except PynamoDBException as exc:
            if not _is_conditional_failure(exc):
                raise

    # ------------------------------------------------------------------ runs
    @_translate_errors
    def record_run(
        self, *, thread_id: str, run_id: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Insert or update one run of a thread. Idempotent; only named fields change.

        ``fields`` may hold status, usage, model, error, assistant_id, updated_by,
        created_at, completed_at, backend_state and extra; anything else goes to extra.
        """
        _require_keys(thread_id=thread_id, run_id=run_id)
        model = self.models.Run
        now = utc_now()
        known = {
            "status",
            "usage",
            "model",
            "error",
            "assistant_id",
            "assistant_type",
            "backend",
            "conversation_state",
            "upstream_thread_id",
            "updated_by",
            "completed_at",
            "backend_state",
            "tool_rounds",
            "owner",
            "tenant",
            "lease_until",
            "lease_owner",
            "upstream_open",
        }
        actions = [
            model.updated_at.set(now),
            model.created_at.set(model.created_at | (fields.get("created_at") or now)),
        ]
        extra = {}
        for name, value in fields.items():
            if name in known:
                attribute = getattr(model, name)
                actions.append(attribute.remove() if value is None else attribute.set(value))
            elif name not in {"created_at", "run_id", "thread_id"}:
                extra[name] = value
        if extra:
            actions.append(model.extra.set(extra))
        item = model(thread_id, run_id)
        item.update(actions=actions)
        return self._simple(item)

    @_translate_errors
    def end_run(self, *, thread_id: str, run_id: str, fields: Mapping[str, Any]) -> bool:
        """Record a run's end once: False (nothing written) when an end is recorded already.

        ``fields``: status, usage, model, error, completed_at. The lease goes with it.
        """
        _require_keys(thread_id=thread_id, run_id=run_id)
        model = self.models.Run
        now = utc_now()
        actions = [
            model.updated_at.set(now),
            model.ended_at.set(now),
            model.created_at.set(model.created_at | now),
            model.lease_until.remove(),
            model.lease_owner.remove(),
        ]
        for name in ("status", "usage", "model", "error", "completed_at", "upstream_open"):
            if name in fields:
                value, attribute = fields[name], getattr(model, name)
                actions.append(attribute.remove() if value is None else attribute.set(value))
        try:
            model(thread_id, run_id).update(
                actions=actions, condition=model.ended_at.does_not_exist()
            )
        except PynamoDBException as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    @_translate_errors
    def get_run(self, thread_id: str, run_id: str) -> dict[str, Any] | None:
        _require_keys(thread_id=thread_id, run_id=run_id)
        return self._get(self.models.Run, thread_id, run_id, consistent_read=True)

    @_translate_errors
    def list_runs(self, thread_id: str) -> list[dict[str, Any]]:
        # Strongly consistent: insertUpdateThread answers with the run it has just written.
        query = self.models.Run.query(thread_id, consistent_read=True)
        runs = [self._simple(item) for item in query]
        runs.sort(key=lambda run: (run.get("created_at") or "", run["run_id"]))
        return runs

    @_translate_errors
    def claim_tool_round(
        self,
        thread_id: str,
        run_id: str,
        round_key: str,
        token: str = "",
        *,
        calls_unrecorded: bool = False,
    ) -> int | None:
        """Claim the submission of one round of tool outputs; None if it was claimed already.

        ``round_key`` names the round (its tool call ids), so each round is submitted once
        however many drivers reach it. Returns the number of rounds claimed so far.
        ``token`` (unique per attempt) marks the claim as the caller's: when botocore
        retries a claim whose first answer was lost, the retry's failed condition is
        recognised as the caller's own claim, not another driver's. ``calls_unrecorded``:
        outcomes of the round are not recorded yet; the run's end completes their records.
        """
        model = self.models.Run
        item = model(thread_id, run_id)
        mark = f"{round_key}@{token}"
        actions = [
            model.submitted_rounds.add({round_key, mark} if token else {round_key}),
            model.tool_rounds.add(1),
        ]
        if calls_unrecorded:
            actions.append(model.calls_unrecorded.set(True))
        try:
            item.update(actions=actions, condition=~model.submitted_rounds.contains(round_key))
        except PynamoDBException as exc:
            if not _is_conditional_failure(exc):
                raise
            record = self._get(model, thread_id, run_id, consistent_read=True) or {}
            if token and mark in (record.get("submitted_rounds") or ()):
                return int(record.get("tool_rounds") or 0)
            return None
        return int(item.tool_rounds)

    @_translate_errors
    def claim_run_end(self, thread_id: str, run_id: str, reason: str) -> bool:
        """Claim the ending of a run on purpose (e.g. the round cap), recording why.

        A conditional write on the run's ``error`` (empty until a run ends): exactly one
        driver wins and cancels the run upstream; False for the others, who leave it to the
        winner. The reason is in the record before the cancellation is, so whichever driver
        later records the cancelled run keeps it. A token unique to the attempt marks the
        claim: when botocore retries a claim whose first answer was lost, the retry finds
        its own mark and wins (else no driver would cancel the run).
        """
        model = self.models.Run
        token = uuid.uuid4().hex
        try:
            model(thread_id, run_id).update(
                actions=[
                    model.error.set(reason),
                    model.end_claim.set(token),
                    model.updated_at.set(utc_now()),
                ],
                condition=model.error.does_not_exist(),
            )
        except PynamoDBException as exc:
            if not _is_conditional_failure(exc):
                raise
            record = self._get(model, thread_id, run_id, consistent_read=True) or {}
            return record.get("end_claim") == token
        return True

    @_translate_errors
    def release_tool_round(
        self, thread_id: str, run_id: str, round_key: str, token: str = ""
    ) -> None:
        """Give a round back when its submission failed, so another attempt can make it."""
        model = self.models.Run
        marks = {round_key, f"{round_key}@{token}"} if token else {round_key}
        try:
            model(thread_id, run_id).update(
                actions=[model.submitted_rounds.delete(marks), model.tool_rounds.add(-1)],
                condition=model.submitted_rounds.contains(round_key),
            )
        except PynamoDBException as exc:
            if not _is_conditional_failure(exc):  # already given back (a retried release)
                raise

    # -------------------------------------------------------------- messages
    @_translate_errors
    def get_message(self, thread_id: str, message_id: str) -> dict[str, Any]:
        _require_keys(thread_id=thread_id, message_id=message_id)
        item = self._get(self.models.Message, thread_id, message_id)
        if item is None:
            raise NotFoundError.for_keys("Message", thread_id=thread_id, message_id=message_id)
        return item

    @_translate_errors
    def latest_message(self, thread_id: str, role: str) -> dict[str, Any] | None:
        """The thread's newest recorded message of ``role`` (newest first by time, in
        pages of 25: the newest message is nearly always the one asked for)."""
        _require_keys(thread_id=thread_id)
        model = self.models.Message
        query = model.created_at_index.query(
            thread_id,
            scan_index_forward=False,
            filter_condition=model.role == role,
            page_size=25,
        )
        for item in query:
            return self._simple(item)
        return None

    @_translate_errors
    def newest_messages_page(
        self, thread_id: str, limit: int, after: Any = None
    ) -> tuple[list[dict[str, Any]], Any]:
        """Up to ``limit`` of a thread's messages, newest first, from where the page
        before stopped (``after``: its second value); that value is None at the end."""
        _require_keys(thread_id=thread_id)
        query = self.models.Message.created_at_index.query(
            thread_id, scan_index_forward=False, limit=limit, last_evaluated_key=after
        )
        items = [self._simple(item) for item in query]
        return items, query.last_evaluated_key

    @_translate_errors
    def messages_of_thread(self, thread_id: str) -> dict[str, dict[str, Any]]:
        """Every recorded message of a thread, by message id."""
        return {
            item.message_id: self._simple(item) for item in self.models.Message.query(thread_id)
        }

    @_translate_errors
    def list_messages(
        self,
        *,
        page_number: int,
        limit: int,
        thread_id: str | None = None,
        roles: Sequence[str] | None = None,
        message: str | None = None,
        scope: Any = None,
    ) -> Page:
        """With ``scope`` and no thread: the tenant's partition of the tenant index."""
        model = self.models.Message
        wanted_roles = [r for r in (roles or []) if r]
        condition = _all_of(
            model.role.is_in(*wanted_roles) if wanted_roles else None,
            model.message.contains(message) if message else None,
        )
        if thread_id:
            return self._query_page(
                model,
                thread_id,
                page_number,
                limit,
                filter_condition=condition,
                index=model.created_at_index,
            )
        if scope is not None:
            return self._tenant_page(model, scope, page_number, limit, condition)
        return self._scan_page(model, page_number, limit, filter_condition=condition)

    def _tenant_page(
        self, model: Any, scope: Any, page_number: int, limit: int, condition: Any
    ) -> Page:
        """A page of the scope's tenant partition (tenant index), narrowed to its owner
        when the scope names one."""
        condition = _all_of(condition, model.owner == scope.owner if scope.owner else None)
        return self._query_page(
            model,
            scope.tenant,
            page_number,
            limit,
            filter_condition=condition,
            index=model.tenant_index,
        )

    @_translate_errors
    def upsert_message(
        self,
        *,
        thread_id: str,
        message_id: str,
        role: str,
        message: str,
        created_at: datetime,
        run_id: str | None = None,
        owner: Mapping[str, str] | None = None,
        keep_first_time: bool = False,
        after_tool_calls: bool | None = None,
        tool_replay: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Insert or update a message. ``keep_first_time``: a record made before keeps its
        time (the conversation order placed it: see :meth:`record_conversation`);
        otherwise ``created_at`` is written as given."""
        _require_keys(thread_id=thread_id, message_id=message_id)
        model = self.models.Message
        text, parts = self._texts.spill(model, (thread_id, message_id), "message", message)
        actions = [
            model.role.set(role),
            model.message.set(text),
            model.message_parts.set(parts) if parts else model.message_parts.remove(),
            # The first record's time stays: the conversation placed it.
            model.created_at.set(model.created_at | created_at)
            if keep_first_time
            else model.created_at.set(created_at),
        ]
        for name, value in (owner or {}).items():  # {owner, tenant}: kept once set
            attribute = getattr(model, name)
            actions.append(attribute.set(attribute | value))
        if run_id is not None:
            actions.append(model.run_id.set(run_id))
        if after_tool_calls is not None:
            actions.append(model.after_tool_calls.set(after_tool_calls))
        if tool_replay is not None:
            actions.append(model.tool_replay.set(tool_replay))
        item = model(thread_id, message_id)
        if parts is not None:
            item.update(actions=actions)
        else:
            try:  # one request, unless the record held a long text before
                item.update(actions=actions, condition=model.message_parts.does_not_exist())
            except UpdateError as exc:
                if not _is_conditional_failure(exc):
                    raise
                item.update(actions=actions)
                # The long text it held (now redacted, say) goes with its parts.
                self._texts.discard(model, (thread_id, message_id), "message")
        return self._simple(item)

    @_translate_errors
    def record_conversation(
        self, messages: Sequence[Mapping[str, Any]], owner: Mapping[str, str] | None = None
    ) -> None:
        """Record messages of one thread as they happened, in this order (a run's
        question and answers): each is placed after the one before it and after the
        thread's newest other message (message_order.py); a message recorded before keeps
        its first record's time. ``messages``: upsert_message's keyword arguments."""
        if not messages:
            return
        thread_id = messages[0]["thread_id"]
        ids = {m["message_id"] for m in messages}
        if len({m["thread_id"] for m in messages}) != 1:
            raise ValueError("record_conversation records the messages of one thread")
        _require_keys(thread_id=thread_id)  # each message's own keys: upsert_message
        latest = latest_other_time(self.models.Message, thread_id, ids)
        for entry in messages:
            at = placed_after(latest, entry["created_at"])
            self.upsert_message(**{**entry, "created_at": at}, owner=owner, keep_first_time=True)
            latest = at if latest is None else max(latest, at)

    @_translate_errors
    def delete_message(self, thread_id: str, message_id: str) -> None:
        _require_keys(thread_id=thread_id, message_id=message_id)
        model = self.models.Message
        self._delete_existing(
            model(thread_id, message_id),
            model.message_id.exists(),
            "Message",
            thread_id=thread_id,
            message_id=message_id,
        )
        self._texts.discard(model, (thread_id, message_id), "message")

    # ------------------------------------------------------------ tool calls
    @_translate_errors
    def claim_tool_call(
        self,
        *,
        run_id: str,
        tool_call_id: str,
        thread_id: str,
        name: str,
        arguments: str,
        stale_before: datetime,
        owner: Mapping[str, str] | None = None,
    ) -> tuple[bool, dict[str, Any] | None]:
        """Claim a tool call by a conditional write on its id.

        Returns (True, None) when the caller owns the call now; (False, record) when
        another caller claimed it (record shows whether it finished). A claim left by a
        process that died (still ``running`` and older than ``stale_before``) is taken over.
        A token unique to the attempt identifies the claim: when botocore retries a claim
        whose first answer was lost, the retry finds the caller's own claim and wins. (Its
        time did before: pollers of one process often claim in the same microsecond, and
        each of them ran the call.)
        """
        model = self.models.ToolCallRecord
        now = utc_now()
        token = uuid.uuid4().hex
        text, parts = self._texts.spill(model, (run_id, tool_call_id), "arguments", arguments)
        item = model(
            run_id,
            tool_call_id,
            thread_id=thread_id,
            name=name,
            arguments=text,
            arguments_parts=parts,
            status="running",
            claimed_at=now,
            claim_token=token,
            **(owner or {}),  # {owner, tenant} of the call's thread (identity on)
        )
        unclaimed = model.tool_call_id.does_not_exist()
        abandoned = (model.status == "running") & (model.claimed_at < stale_before)
        try:
            item.save(condition=unclaimed | abandoned)
        except PutError as exc:
            if not _is_conditional_failure(exc):
                raise
            existing = self._get(model, run_id, tool_call_id, consistent_read=True)
            mine = existing and existing.get("claim_token") == token
            if mine and existing.get("status") == "running":
                return True, None
            return False, existing
        return True, None

    @_translate_errors
    def finish_tool_call(
        self,
        *,
        run_id: str,
        tool_call_id: str,
        status: str,
        output: str,
        error: str | None,
        duration_ms: int,
        started_at: datetime,
        finished_at: datetime,
    ) -> None:
        model = self.models.ToolCallRecord
        keys = (run_id, tool_call_id)
        output, output_parts = self._texts.spill(model, keys, "output", output)
        actions = [
            model.status.set(status),
            model.output.set(output),
            model.output_parts.set(output_parts) if output_parts else model.output_parts.remove(),
            model.duration_ms.set(duration_ms),
            model.started_at.set(started_at),
            model.finished_at.set(finished_at),
        ]
        if error is None:
            actions += [model.error.remove(), model.error_parts.remove()]
        else:
            error, error_parts = self._texts.spill(model, keys, "error", error)
            actions.append(model.error.set(error))
            actions.append(
                model.error_parts.set(error_parts) if error_parts else model.error_parts.remove()
            )
        model(run_id, tool_call_id).update(actions=actions)

    @_translate_errors
    def list_tool_calls(self, run_id: str) -> list[dict[str, Any]]:
        return [
            self._simple(item)
            for item in self.models.ToolCallRecord.query(run_id, consistent_read=True)
        ]

    # --------------------------------------------------------------- helpers
    def _simple(self, item: Model) -> dict[str, Any]:
        """The item's set attributes as Python values (datetimes stay datetimes), long
        texts put back together from their parts."""
        values = {
            name: value
            for name in item.get_attributes()
            if (value := getattr(item, name, None)) is not None
        }
        return self._texts.restore(values)

    def _get(
        self, model: type[Model], hash_key: str, range_key: str, *, consistent_read: bool = False
    ) -> dict[str, Any] | None:
        try:
            return self._simple(model.get(hash_key, range_key, consistent_read=consistent_read))
        except DoesNotExist:
            return None

    def _delete_existing(self, item: Model, exists: Any, what: str, **keys: str) -> None:
        try:
            item.delete(condition=exists)
        except DeleteError as exc:
            if _is_conditional_failure(exc):
                raise NotFoundError.for_keys(what, **keys) from exc
            raise

    def _query_page(
        self,
        model: type[Model],
        hash_key: str,
        page_number: int,
        limit: int,
        *,
        filter_condition: Any = None,
        index: Any = None,
    ) -> Page:
        source = index if index is not None else model
        where = {
            "hash_key": hash_key,
            "filter_condition": filter_condition,
            "index_name": index.Meta.index_name if index is not None else None,
        }
        total = self._pages.count(model, **where)
        start = self._pages.start_after(model, (page_number - 1) * limit, **where)
        if start is END:
            return Page([], page_number, limit, total)
        results = source.query(
            hash_key, filter_condition=filter_condition, last_evaluated_key=start, limit=limit
        )
        return Page([self._simple(item) for item in results], page_number, limit, total)

    def _scan_page(
        self, model: type[Model], page_number: int, limit: int, *, filter_condition: Any = None
    ) -> Page:
        # Without a hash key there is no partition to Query: a filtered Scan is the only way.
        total = self._pages.count(model, filter_condition=filter_condition)
        start = self._pages.start_after(
            model, (page_number - 1) * limit, filter_condition=filter_condition
        )
        if start is END:
            return Page([], page_number, limit, total)
        results = model.scan(
            filter_condition=filter_condition, last_evaluated_key=start, limit=limit
        )
        return Page([self._simple(item) for item in results], page_number, limit, total)
