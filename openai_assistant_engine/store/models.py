"""PynamoDB models of the six tables, built per connection.

PynamoDB binds table name and connection to the model class (its ``Meta``), while one
process may serve several settings (tests, SilvaEngine endpoints with other
prefixes), so the classes are made by :func:`build_models` for each
:class:`ConnectionOptions` instead of living at module level.

Why runs have a table of their own (``<prefix>runs``, keyed thread_id / run_id) instead
of a list inside the thread item, as the original system kept them:

* No lost writes. Each run is its own item, written by its own key, so two processes
  recording two runs of one thread at the same moment write two different items; nothing
  is read, modified and written back. Updates of a run are update expressions on that
  run's item alone.
* No item-size cliff. A DynamoDB item stops at 400 KB: a thread item holding every run
  would stop accepting runs after a few thousand. With one item per run a thread may
  record any number of runs; reading them is a Query on the thread's partition.

JSON-shaped values (functions, configuration, usage, tool arguments and outputs) are kept
as JSON text: DynamoDB maps reject empty strings in keys and turn floats into Decimals,
while JSON text round-trips any value exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

__all__ = ["TABLE_NAMES", "ConnectionOptions", "StoreModels", "build_models"]

TABLE_NAMES = ("assistants", "threads", "runs", "messages", "tool_calls", "value_parts")


@dataclass(frozen=True)
class ConnectionOptions:
    table_prefix: str = "oae-"
    region: str | None = None
    host: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    max_retry_attempts: int = 3
    connect_timeout_seconds: int = 5
    read_timeout_seconds: int = 20
    # One client serves every thread of the process: room for as many requests at once.
    max_pool_connections: int = 50


@dataclass(frozen=True)
class StoreModels:
    Assistant: type[Model]
    Thread: type[Model]
    Run: type[Model]
    Message: type[Model]
    ToolCallRecord: type[Model]
    ValuePart: type[Model]

    def all(self) -> tuple[type[Model], ...]:
        return (
            self.Assistant,
            self.Thread,
            self.Run,
            self.Message,
            self.ToolCallRecord,
            self.ValuePart,
        )


def _meta(options: ConnectionOptions, table: str) -> type:
    attrs = {
        "table_name": f"{options.table_prefix}{table}",
        "billing_mode": "PAY_PER_REQUEST",
        "max_retry_attempts": options.max_retry_attempts,
        "connect_timeout_seconds": options.connect_timeout_seconds,
        "read_timeout_seconds": options.read_timeout_seconds,
    }
    if options.region:
        attrs["region"] = options.region
    if options.host:
        attrs["host"] = options.host
    if options.aws_access_key_id and options.aws_secret_access_key:
        attrs["aws_access_key_id"] = options.aws_access_key_id
        attrs["aws_secret_access_key"] = options.aws_secret_access_key
    return type("Meta", (), attrs)


def build_models(options: ConnectionOptions) -> StoreModels:
    """Model classes bound to one table prefix and one DynamoDB connection."""

    class ThreadIdIndex(GlobalSecondaryIndex):
        """Finds a thread by its id alone (liveMessages and messages know no assistant)."""

        class Meta:
            index_name = "thread_id-index"
            projection = AllProjection()

        thread_id = UnicodeAttribute(hash_key=True)

    class ThreadTenantIndex(GlobalSecondaryIndex):
        """A tenant's threads, read from its own partition (identity on: threadList)."""

        class Meta:
            index_name = "tenant-index"
            projection = AllProjection()

        tenant = UnicodeAttribute(hash_key=True)
        thread_id = UnicodeAttribute(range_key=True)

    class MessageTenantIndex(GlobalSecondaryIndex):
        """A tenant's messages in time order (identity on: messageList without a thread)."""

        class Meta:
            index_name = "tenant-index"
            projection = AllProjection()

        tenant = UnicodeAttribute(hash_key=True)
        created_at = UTCDateTimeAttribute(range_key=True)

    class MessageCreatedAtIndex(LocalSecondaryIndex):
        """A thread's messages in time order (message ids are not time-sortable)."""

        class Meta:
            index_name = "created_at-index"
            projection = AllProjection()

        thread_id = UnicodeAttribute(hash_key=True)
        created_at = UTCDateTimeAttribute(range_key=True)

    class Assistant(Model):
        Meta = _meta(options, "assistants")
        assistant_type = UnicodeAttribute(hash_key=True)
        assistant_id = UnicodeAttribute(range_key=True)
        assistant_name = UnicodeAttribute()
        functions = JSONAttribute(default=list)
        configuration = JSONAttribute(default=dict)
        updated_by = UnicodeAttribute(null=True)
        created_at = UTCDateTimeAttribute()
        updated_at = UTCDateTimeAttribute()

    class Thread(Model):
        Meta = _meta(options, "threads")
        assistant_id = UnicodeAttribute(hash_key=True)
        thread_id = UnicodeAttribute(range_key=True)
        assistant_type = UnicodeAttribute()
        is_voice = BooleanAttribute(default=False)
        backend = UnicodeAttribute(null=True)
        # Where the conversation lives: openai (upstream) or engine (these records).
        conversation_state = UnicodeAttribute(null=True)
        # migrateThread: what the thread was on before (backend, state, upstream id), and
        # the id the upstream service knows it by now, when not the thread's own.
        migrated_from = JSONAttribute(null=True)
        upstream_thread_id = UnicodeAttribute(null=True)
        active_run_id = UnicodeAttribute(null=True)
        # Set while an askOpenAi is between starting its run and recording it (a fingerprint
        # of the question): a repeated askOpenAi then looks for what the first one left.
        pending_ask = UnicodeAttribute(null=True)
        # An engine-held thread's one ask at a time (no model server locks it): whose
        # ask holds the thread, until when (epoch seconds); see Store.upsert_thread.
        ask_claim = UnicodeAttribute(null=True)
        ask_claim_until = NumberAttribute(null=True)
        # Who the thread belongs to (identity on; see identity/access.py): set once.
        owner = UnicodeAttribute(null=True)
        tenant = UnicodeAttribute(null=True)
        updated_by = UnicodeAttribute(null=True)
        created_at = UTCDateTimeAttribute()
        updated_at = UTCDateTimeAttribute()
        thread_id_index = ThreadIdIndex()
        tenant_index = ThreadTenantIndex()

    class Run(Model):
        Meta = _meta(options, "runs")
        thread_id = UnicodeAttribute(hash_key=True)
        run_id = UnicodeAttribute(range_key=True)
        assistant_id = UnicodeAttribute(null=True)
        assistant_type = UnicodeAttribute(null=True)
        backend = UnicodeAttribute(null=True)
        conversation_state = UnicodeAttribute(null=True)
        upstream_thread_id = UnicodeAttribute(null=True)
        status = UnicodeAttribute(null=True)
        usage = JSONAttribute(null=True)
        model = UnicodeAttribute(null=True)
        error = UnicodeAttribute(null=True)
        tool_rounds = NumberAttribute(default=0)
        submitted_rounds = UnicodeSetAttribute(null=True)
        # A round was claimed with an outcome DynamoDB had refused: see rounds.py.
        calls_unrecorded = BooleanAttribute(null=True)
        # Whose claim of the run's end on purpose this is (see Store.claim_run_end).
        end_claim = UnicodeAttribute(null=True)
        # Backend-specific progress (the Responses backend keeps its response chain here).
        backend_state = JSONAttribute(null=True)
        extra = JSONAttribute(null=True)
        owner = UnicodeAttribute(null=True)
        tenant = UnicodeAttribute(null=True)
        updated_by = UnicodeAttribute(null=True)
        created_at = UTCDateTimeAttribute()
        updated_at = UTCDateTimeAttribute(null=True)
        completed_at = UTCDateTimeAttribute(null=True)
        # Set once, by the one writer that records the run's end (a conditional write).
        ended_at = UTCDateTimeAttribute(null=True)
        # The streaming worker's lease: while it holds the run, polls only read the record.
        lease_until = NumberAttribute(null=True)
        lease_owner = UnicodeAttribute(null=True)
        # Ended by the engine while OpenAI may still hold it open (a give-up whose cancel
        # failed): the thread keeps naming it, and the next ask closes it upstream first.
        upstream_open = BooleanAttribute(null=True)

    class Message(Model):
        Meta = _meta(options, "messages")
        thread_id = UnicodeAttribute(hash_key=True)
        message_id = UnicodeAttribute(range_key=True)
        run_id = UnicodeAttribute(null=True)
        role = UnicodeAttribute()
        message = UnicodeAttribute()
        owner = UnicodeAttribute(null=True)
        tenant = UnicodeAttribute(null=True)
        # Where the rest of a message too long for one item is (see large_values.py).
        message_parts = JSONAttribute(null=True)
        # An assistant's reply after its run called tools (their records: tool_calls), so
        # a replay of the conversation reads them only where there are some.
        after_tool_calls = BooleanAttribute(null=True)
        # On a run's first reply in an engine-held thread: a copy of the run's tool calls
        # and outputs as they replay (small ones only), so a later request's context needs
        # no read of tool_calls per earlier turn.
        tool_replay = JSONAttribute(null=True)
        created_at = UTCDateTimeAttribute()
        created_at_index = MessageCreatedAtIndex()
        tenant_index = MessageTenantIndex()

    class ToolCallRecord(Model):
        Meta = _meta(options, "tool_calls")
        run_id = UnicodeAttribute(hash_key=True)
        tool_call_id = UnicodeAttribute(range_key=True)
        thread_id = UnicodeAttribute()
        owner = UnicodeAttribute(null=True)
        tenant = UnicodeAttribute(null=True)
        name = UnicodeAttribute()
        arguments = UnicodeAttribute(null=True)
        output = UnicodeAttribute(null=True)
        status = UnicodeAttribute()
        error = UnicodeAttribute(null=True)
        duration_ms = NumberAttribute(null=True)
        claimed_at = UTCDateTimeAttribute()
        # Whose claim this is (unique per attempt: see Store.claim_tool_call).
        claim_token = UnicodeAttribute(null=True)
        started_at = UTCDateTimeAttribute(null=True)
        finished_at = UTCDateTimeAttribute(null=True)
        # Where the rest of a text too long for one item is (see large_values.py).
        arguments_parts = JSONAttribute(null=True)
        output_parts = JSONAttribute(null=True)
        error_parts = JSONAttribute(null=True)

    class ValuePart(Model):
        """One numbered part of a text too long for its record's item."""

        Meta = _meta(options, "value_parts")
        owner = UnicodeAttribute(hash_key=True)
        part = NumberAttribute(range_key=True)
        text = UnicodeAttribute()

    return StoreModels(Assistant, Thread, Run, Message, ToolCallRecord, ValuePart)
