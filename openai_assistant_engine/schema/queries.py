"""Query fields. Resolvers only translate arguments and hand over to the services."""

from __future__ import annotations

from typing import Any

import graphene

from ..errors import BadRequestError
from .types import (
    AskOpenAIType,
    AssistantListType,
    AssistantType,
    CurrentRunType,
    LiveMessageType,
    MessageListType,
    MessageType,
    ThreadListType,
    ThreadType,
    ToolCallType,
)

__all__ = ["Query", "ask_open_ai_field", "current_run_field", "page_arguments"]

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


def page_arguments(page_number: int | None, limit: int | None) -> tuple[int, int]:
    page_number = 1 if page_number is None else page_number
    limit = DEFAULT_PAGE_SIZE if limit is None else limit
    if page_number < 1:
        raise BadRequestError(f"pageNumber must be 1 or more; got {page_number}.")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise BadRequestError(f"limit must be between 1 and {MAX_PAGE_SIZE}; got {limit}.")
    return page_number, limit


def _page_result(page: Any, list_key: str) -> dict[str, Any]:
    return {
        list_key: page.items,
        "page_size": page.page_size,
        "page_number": page.page_number,
        "total": page.total,
    }


def _resolve_ask_open_ai(_root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
    return info.context.conversation.ask(**kwargs)


def _resolve_current_run(_root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
    return info.context.conversation.current_run(**kwargs)


# askOpenAi and currentRun are queries in the spec and also mutations (see mutations.py):
# caching clients (Apollo's default cache) answer a repeated query locally, so a poll
# sent as a query may never reach the engine. Both forms are built here, identical.
def ask_open_ai_field() -> graphene.Field:
    return graphene.Field(
        AskOpenAIType,
        assistant_type=graphene.String(required=True),
        assistant_id=graphene.String(required=True),
        user_query=graphene.String(required=True),
        updated_by=graphene.String(required=True),
        thread_id=graphene.String(),
        resolver=_resolve_ask_open_ai,
        description="Adds the user's message and starts a run; returns once the run id exists.",
    )


def current_run_field() -> graphene.Field:
    return graphene.Field(
        CurrentRunType,
        assistant_id=graphene.String(required=True),
        thread_id=graphene.String(required=True),
        run_id=graphene.String(required=True),
        updated_by=graphene.String(required=True),
        resolver=_resolve_current_run,
        description="The run's status; with the poll driver each call also moves it on.",
    )


class Query(graphene.ObjectType):
    ping = graphene.String(description="Answers 'pong' with the server time; touches nothing.")

    ask_open_ai = ask_open_ai_field()
    last_message = graphene.Field(
        LiveMessageType,
        assistant_id=graphene.String(),
        thread_id=graphene.String(required=True),
        role=graphene.String(required=True),
    )
    live_messages = graphene.List(
        LiveMessageType,
        thread_id=graphene.String(required=True),
        roles=graphene.List(graphene.String),
        order=graphene.String(),
    )
    current_run = current_run_field()
    assistant = graphene.Field(
        AssistantType,
        assistant_type=graphene.String(required=True),
        assistant_id=graphene.String(required=True),
    )
    assistant_list = graphene.Field(
        AssistantListType,
        page_number=graphene.Int(),
        limit=graphene.Int(),
        assistant_type=graphene.String(),
        assistant_name=graphene.String(),
    )
    thread = graphene.Field(
        ThreadType,
        assistant_id=graphene.String(required=True),
        thread_id=graphene.String(required=True),
    )
    thread_list = graphene.Field(
        ThreadListType,
        page_number=graphene.Int(),
        limit=graphene.Int(),
        assistant_id=graphene.String(),
        assistant_types=graphene.List(graphene.String),
    )
    message = graphene.Field(
        MessageType,
        thread_id=graphene.String(required=True),
        message_id=graphene.String(required=True),
    )
    message_list = graphene.Field(
        MessageListType,
        page_number=graphene.Int(),
        limit=graphene.Int(),
        thread_id=graphene.String(),
        roles=graphene.List(graphene.String),
        message=graphene.String(),
    )

    tool_calls = graphene.List(
        ToolCallType,
        run_id=graphene.String(required=True),
        description="The function calls a run made, with their outputs or errors.",
    )

    @staticmethod
    def resolve_ping(_root: Any, _info: graphene.ResolveInfo) -> str:
        from datetime import datetime, timezone

        return f"pong {datetime.now(timezone.utc).isoformat()}"

    @staticmethod
    def resolve_last_message(_root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return info.context.conversation.last_message(**kwargs)

    @staticmethod
    def resolve_live_messages(_root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return info.context.conversation.live_messages(**kwargs)

    @staticmethod
    def resolve_assistant(
        _root: Any, info: graphene.ResolveInfo, assistant_type: str, assistant_id: str
    ) -> Any:
        return info.context.store.get_assistant(assistant_type, assistant_id)

    @staticmethod
    def resolve_assistant_list(
        _root: Any,
        info: graphene.ResolveInfo,
        page_number: int | None = None,
        limit: int | None = None,
        assistant_type: str | None = None,
        assistant_name: str | None = None,
    ) -> Any:
        page_number, limit = page_arguments(page_number, limit)
        page = info.context.store.list_assistants(
            page_number=page_number,
            limit=limit,
            assistant_type=assistant_type,
            assistant_name=assistant_name,
        )
        return _page_result(page, "assistant_list")

    @staticmethod
    def resolve_thread(
        _root: Any, info: graphene.ResolveInfo, assistant_id: str, thread_id: str
    ) -> Any:
        return info.context.store.get_thread(assistant_id, thread_id)

    @staticmethod
    def resolve_thread_list(
        _root: Any,
        info: graphene.ResolveInfo,
        page_number: int | None = None,
        limit: int | None = None,
        assistant_id: str | None = None,
        assistant_types: list[str] | None = None,
    ) -> Any:
        page_number, limit = page_arguments(page_number, limit)
        page = info.context.store.list_threads(
            page_number=page_number,
            limit=limit,
            assistant_id=assistant_id,
            assistant_types=assistant_types,
        )
        return _page_result(page, "thread_list")

    @staticmethod
    def resolve_message(
        _root: Any, info: graphene.ResolveInfo, thread_id: str, message_id: str
    ) -> Any:
        return info.context.store.get_message(thread_id, message_id)

    @staticmethod
    def resolve_message_list(
        _root: Any,
        info: graphene.ResolveInfo,
        page_number: int | None = None,
        limit: int | None = None,
        thread_id: str | None = None,
        roles: list[str] | None = None,
        message: str | None = None,
    ) -> Any:
        page_number, limit = page_arguments(page_number, limit)
        page = info.context.store.list_messages(
            page_number=page_number,
            limit=limit,
            thread_id=thread_id,
            roles=roles,
            message=message,
        )
        return _page_result(page, "message_list")

    @staticmethod
    def resolve_tool_calls(_root: Any, info: graphene.ResolveInfo, run_id: str) -> Any:
        return info.context.store.list_tool_calls(run_id)
