"""GraphQL object types of the contract (names follow spec/openai_assistant_engine.graphql)."""

from __future__ import annotations

from typing import Any

import graphene

from .scalars import JSON, DateTime

__all__ = [
    "AskOpenAIType",
    "AssistantListType",
    "AssistantType",
    "CurrentRunType",
    "LiveMessageType",
    "MessageListType",
    "MessageType",
    "MigratedThreadType",
    "ThreadListType",
    "ThreadType",
    "ToolCallType",
]


class AskOpenAIType(graphene.ObjectType):
    assistant_id = graphene.String()
    thread_id = graphene.String()
    user_query = graphene.String()
    current_run_id = graphene.String()


class MigratedThreadType(graphene.ObjectType):
    """What migrateThread did (or, with dryRun, would do) to a thread."""

    assistant_id = graphene.String()
    thread_id = graphene.String()
    from_backend = graphene.String()
    from_state = graphene.String()
    to_backend = graphene.String()
    to_state = graphene.String()
    changed = graphene.Boolean(description="False: the thread was there already.")
    dry_run = graphene.Boolean()
    messages = graphene.Int(description="Messages carried (or that would be).")
    tool_calls = graphene.Int(description="Tool calls carried with their outputs.")
    upstream_thread_id = graphene.String(
        description="The id the upstream service knows the thread by, when not its own."
    )


class LiveMessageType(graphene.ObjectType):
    thread_id = graphene.String()
    run_id = graphene.String()
    message_id = graphene.String()
    role = graphene.String()
    message = graphene.String()
    created_at = DateTime()


class CurrentRunType(graphene.ObjectType):
    thread_id = graphene.String()
    run_id = graphene.String()
    status = graphene.String()
    usage = JSON()
    error = graphene.String(description="Why the run failed, expired, was cancelled or cut off.")


class AssistantType(graphene.ObjectType):
    assistant_type = graphene.String()
    assistant_id = graphene.String()
    assistant_name = graphene.String()
    functions = graphene.List(JSON)
    configuration = JSON(description="Model, instructions, tool schemas, backend, defaults.")
    updated_by = graphene.String()
    created_at = DateTime()
    updated_at = DateTime()


class AssistantListType(graphene.ObjectType):
    assistant_list = graphene.List(AssistantType)
    page_size = graphene.Int()
    page_number = graphene.Int()
    total = graphene.Int()


# What a thread's run record shows; bookkeeping such as the backend's progress stays inside.
_RUN_FIELDS = ("run_id", "status", "usage", "model", "error", "created_at", "completed_at")


class ThreadType(graphene.ObjectType):
    assistant = JSON(description="The assistant record this thread belongs to.")
    assistant_id = graphene.String()
    assistant_type = graphene.String()
    thread_id = graphene.String()
    is_voice = graphene.Boolean()
    backend = graphene.String()
    runs = graphene.List(JSON)
    updated_by = graphene.String()
    created_at = DateTime()
    updated_at = DateTime()

    @staticmethod
    def resolve_assistant(thread: dict[str, Any], info: graphene.ResolveInfo) -> Any:
        return info.context.store.find_assistant(thread["assistant_type"], thread["assistant_id"])

    @staticmethod
    def resolve_runs(thread: dict[str, Any], info: graphene.ResolveInfo) -> Any:
        return [
            {name: run.get(name) for name in _RUN_FIELDS}
            for run in info.context.store.list_runs(thread["thread_id"])
        ]


class ThreadListType(graphene.ObjectType):
    thread_list = graphene.List(ThreadType)
    page_size = graphene.Int()
    page_number = graphene.Int()
    total = graphene.Int()


class MessageType(graphene.ObjectType):
    thread_id = graphene.String()
    run_id = graphene.String()
    message_id = graphene.String()
    role = graphene.String()
    message = graphene.String()
    created_at = DateTime()


class ToolCallType(graphene.ObjectType):
    """One function call of a run, as the tool runner recorded it."""

    run_id = graphene.String()
    tool_call_id = graphene.String()
    thread_id = graphene.String()
    name = graphene.String()
    arguments = graphene.String(description="The JSON text the model sent.")
    output = graphene.String(description="The JSON text given back to the model.")
    status = graphene.String(description="running, completed or failed.")
    error = graphene.String()
    duration_ms = graphene.Int()
    started_at = DateTime()
    finished_at = DateTime()


class MessageListType(graphene.ObjectType):
    message_list = graphene.List(MessageType)
    page_size = graphene.Int()
    page_number = graphene.Int()
    total = graphene.Int()
