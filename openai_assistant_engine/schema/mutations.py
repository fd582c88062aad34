"""Mutations of the data records (insert-or-update and delete), and askOpenAi/currentRun."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import graphene

from ..assistant_configuration import check_configuration
from ..errors import BadRequestError
from ..identity.access import owner_of
from .queries import ask_open_ai_field, current_run_field
from .scalars import JSON, DateTime
from .types import AssistantType, MessageType, MigratedThreadType, ThreadType

__all__ = ["Mutations"]


class InsertUpdateAssistant(graphene.Mutation):
    class Arguments:
        assistant_type = graphene.String(required=True)
        assistant_id = graphene.String(required=True)
        assistant_name = graphene.String(required=True)
        functions = graphene.List(JSON, required=True)
        updated_by = graphene.String(required=True)
        configuration = JSON()

    assistant = graphene.Field(AssistantType)

    @staticmethod
    def mutate(_root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> InsertUpdateAssistant:
        functions = kwargs["functions"]
        for position, entry in enumerate(functions):
            if not isinstance(entry, Mapping):
                raise BadRequestError(
                    f"functions[{position}] must be an object with module_name, class_name, "
                    "function_name and configuration."
                )
        configuration = kwargs.get("configuration")
        if configuration is not None:
            if not isinstance(configuration, Mapping):
                raise BadRequestError("configuration must be a JSON object.")
            check_configuration(configuration, info.context.settings.openai_backend)
        access = info.context.access
        access.require_admin("insertUpdateAssistant")
        kwargs["updated_by"] = access.updated_by(kwargs["updated_by"])
        record = info.context.store.upsert_assistant(**kwargs)
        return InsertUpdateAssistant(assistant=record)


class DeleteAssistant(graphene.Mutation):
    class Arguments:
        assistant_type = graphene.String(required=True)
        assistant_id = graphene.String(required=True)

    ok = graphene.Boolean()

    @staticmethod
    def mutate(
        _root: Any, info: graphene.ResolveInfo, assistant_type: str, assistant_id: str
    ) -> DeleteAssistant:
        info.context.access.require_admin("deleteAssistant")
        info.context.store.delete_assistant(assistant_type, assistant_id)
        return DeleteAssistant(ok=True)


class InsertUpdateThread(graphene.Mutation):
    class Arguments:
        assistant_id = graphene.String(required=True)
        thread_id = graphene.String(required=True)
        assistant_type = graphene.String(required=True)
        run = JSON(description="A run to record: {run_id, status, usage, ...}.")
        updated_by = graphene.String(required=True)
        is_voice = graphene.Boolean()

    thread = graphene.Field(ThreadType)

    @staticmethod
    def mutate(
        _root: Any,
        info: graphene.ResolveInfo,
        assistant_id: str,
        thread_id: str,
        assistant_type: str,
        updated_by: str,
        run: Any = None,
        is_voice: bool | None = None,
    ) -> InsertUpdateThread:
        store = info.context.store
        access = info.context.access
        updated_by = access.updated_by(updated_by)
        owner = access.owner_for_thread(thread_id)
        if run is not None:
            if not isinstance(run, Mapping) or not run.get("run_id"):
                raise BadRequestError("run must be a JSON object with a run_id.")
            store.record_run(
                thread_id=thread_id,
                run_id=str(run["run_id"]),
                fields={
                    **_run_fields(run),
                    "assistant_id": assistant_id,
                    "updated_by": updated_by,
                    **owner,
                },
            )
        record = store.upsert_thread(
            assistant_id=assistant_id,
            thread_id=thread_id,
            assistant_type=assistant_type,
            updated_by=updated_by,
            is_voice=is_voice,
            owner=owner,
        )
        return InsertUpdateThread(thread=record)


# Run bookkeeping that only the engine writes (tool rounds, which backend and assistant
# type the run lives on, the backend's progress, who owns it).
_ENGINE_RUN_FIELDS = (
    "backend_state",
    "tool_rounds",
    "submitted_rounds",
    "backend",
    "assistant_type",
    "owner",
    "tenant",
)


def _run_fields(run: Mapping[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in run.items() if k != "run_id"}
    for name in _ENGINE_RUN_FIELDS:
        if name in fields:
            raise BadRequestError(f"run.{name} is kept by the engine; a caller cannot set it.")
    for name in ("status", "model", "error"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise BadRequestError(f"run.{name} must be a string or null.")
    if fields.get("usage") is not None and not isinstance(fields["usage"], Mapping):
        raise BadRequestError("run.usage must be a JSON object or null.")
    for name in ("created_at", "completed_at"):
        if fields.get(name) is not None:
            try:
                fields[name] = _to_datetime(fields[name])
            except ValueError as exc:
                raise BadRequestError(f"run.{name}: {exc}") from exc
    return fields


def _to_datetime(value: Any) -> datetime:
    from .scalars import parse_datetime

    if isinstance(value, bool):
        raise ValueError("a timestamp must be ISO 8601 text or seconds since the epoch.")
    if isinstance(value, (int, float)):
        from datetime import timezone

        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError) as exc:
            raise ValueError(f"{value!r} seconds since the epoch is out of range.") from exc
    return parse_datetime(value)


class DeleteThread(graphene.Mutation):
    class Arguments:
        assistant_id = graphene.String(required=True)
        thread_id = graphene.String(required=True)

    ok = graphene.Boolean()

    @staticmethod
    def mutate(
        _root: Any, info: graphene.ResolveInfo, assistant_id: str, thread_id: str
    ) -> DeleteThread:
        info.context.access.thread(assistant_id, thread_id)
        info.context.conversation.delete_thread(assistant_id=assistant_id, thread_id=thread_id)
        return DeleteThread(ok=True)


class MigrateThread(graphene.Mutation):
    """Carry a recorded thread on, on another backend (its id stays the same)."""

    class Arguments:
        assistant_id = graphene.String(required=True)
        thread_id = graphene.String(required=True)
        to_backend = graphene.String(required=True, description="chat, responses")
        conversation_state = graphene.String(
            description="responses: openai (the default here) or engine"
        )
        dry_run = graphene.Boolean(default_value=False)

    migration = graphene.Field(MigratedThreadType)

    @staticmethod
    def mutate(_root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> MigrateThread:
        info.context.access.thread(kwargs["assistant_id"], kwargs["thread_id"])
        report = info.context.conversation.migrate_thread(**kwargs)
        return MigrateThread(migration=report)


class InsertUpdateMessage(graphene.Mutation):
    class Arguments:
        thread_id = graphene.String(required=True)
        message_id = graphene.String(required=True)
        run_id = graphene.String(required=True)
        role = graphene.String(required=True)
        message = graphene.String(required=True)
        created_at = DateTime(required=True)

    message = graphene.Field(MessageType)

    @staticmethod
    def mutate(_root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> InsertUpdateMessage:
        thread = info.context.access.thread_by_id(kwargs["thread_id"])
        owner = owner_of(thread) if thread else {}
        return InsertUpdateMessage(message=info.context.store.upsert_message(**kwargs, owner=owner))


class DeleteMessage(graphene.Mutation):
    class Arguments:
        thread_id = graphene.String(required=True)
        message_id = graphene.String(required=True)

    ok = graphene.Boolean()

    @staticmethod
    def mutate(
        _root: Any, info: graphene.ResolveInfo, thread_id: str, message_id: str
    ) -> DeleteMessage:
        info.context.access.thread_by_id(thread_id)
        info.context.store.delete_message(thread_id, message_id)
        return DeleteMessage(ok=True)


class Mutations(graphene.ObjectType):
    insert_update_assistant = InsertUpdateAssistant.Field()
    # The same fields as the queries, for clients that cache queries (queries.py says why).
    ask_open_ai = ask_open_ai_field()
    current_run = current_run_field()
    delete_assistant = DeleteAssistant.Field()
    insert_update_thread = InsertUpdateThread.Field()
    delete_thread = DeleteThread.Field()
    migrate_thread = MigrateThread.Field()
    insert_update_message = InsertUpdateMessage.Field()
    delete_message = DeleteMessage.Field()
