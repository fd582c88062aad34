"""What an assistant record's ``configuration`` may hold, and what of it reaches OpenAI.

The engine reads a few keys itself (``model``, ``instructions``, ``tools``, ``backend``,
``conversation_state``, ``function_configuration``); every other key is a response
parameter passed to the model request. Only known parameters are: whoever may write an
assistant record must not be able to set what the engine owns (``conversation`` would
send every user's turn to a conversation they read, ``input`` would replace the question,
``extra_headers`` or ``timeout`` would reach the HTTP client). ``insertUpdateAssistant``
refuses any other key with a 400 naming it; records written before that check are
filtered at request time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .backends import CONVERSATION_STATES
from .config import BACKENDS
from .errors import BadRequestError

__all__ = ["ENGINE_KEYS", "RESPONSE_PARAMETERS", "check_configuration", "response_parameters"]

# Keys the engine interprets; never passed through as they are.
ENGINE_KEYS = frozenset(
    {"model", "instructions", "tools", "backend", "conversation_state", "function_configuration"}
)

# Per backend, the request parameters an assistant may set: sampling, limits and output
# shape, nothing that decides where the turn goes or what it says.
RESPONSE_PARAMETERS: Mapping[str, frozenset[str]] = {
    "assistants": frozenset({"temperature", "top_p", "max_prompt_tokens", "max_completion_tokens"}),
    "chat": frozenset(
        {
            "temperature",
            "top_p",
            "max_tokens",
            "max_completion_tokens",
            "presence_penalty",
            "frequency_penalty",
            "seed",
            "stop",
            "logit_bias",
            "logprobs",
            "top_logprobs",
            "tool_choice",
            "parallel_tool_calls",
            "response_format",
            "reasoning_effort",
            "service_tier",
            "metadata",
            "safety_identifier",
            "prompt_cache_key",
        }
    ),
    "responses": frozenset(
        {
            "temperature",
            "top_p",
            "top_logprobs",
            "max_output_tokens",
            "max_tool_calls",
            "parallel_tool_calls",
            "tool_choice",
            "truncation",
            "reasoning",
            "text",
            "metadata",
            "service_tier",
            "prompt_cache_key",
            "safety_identifier",
        }
    ),
}

# Set by the engine on every request (or by the SDK's client): named as such when refused.
_ENGINE_OWNED = frozenset(
    {
        "conversation",
        "input",
        "store",
        "stream",
        "background",
        "previous_response_id",
        "prompt",
        "assistant_id",
        "thread_id",
        "additional_messages",
        "additional_instructions",
        "messages",
        "stream_options",
        "extra_headers",
        "extra_query",
        "extra_body",
        "timeout",
    }
)


_ENGINE_KEY_TYPES = (
    ("model", str, "a string"),
    ("instructions", str, "a string"),
    ("tools", list, "a list of tool schemas"),
    ("function_configuration", Mapping, "an object"),
)


def check_configuration(configuration: Mapping[str, Any], default_backend: str) -> None:
    """Raise a 400 naming every key ``configuration`` may not hold for its backend."""
    backend = configuration.get("backend")
    if backend is None:
        backend = default_backend
    elif backend not in BACKENDS:
        raise BadRequestError(
            f"configuration.backend is {backend!r}; use {' or '.join(map(repr, BACKENDS))}."
        )
    state = configuration.get("conversation_state")
    if state is not None and state not in CONVERSATION_STATES:
        raise BadRequestError(
            f"configuration.conversation_state is {state!r}; use "
            f"{' or '.join(map(repr, CONVERSATION_STATES))}.",
            details={"invalid": ["conversation_state"]},
        )
    for key, kind, label in _ENGINE_KEY_TYPES:
        value = configuration.get(key)
        if value is not None and not isinstance(value, kind):
            raise BadRequestError(
                f"configuration.{key} must be {label}, got {type(value).__name__}.",
                details={"invalid": [key]},
            )
    allowed = RESPONSE_PARAMETERS[backend]
    refused = sorted(str(key) for key in configuration if key not in ENGINE_KEYS | allowed)
    if not refused:
        return
    owned = [key for key in refused if key in _ENGINE_OWNED]
    other = [key for key in refused if key not in _ENGINE_OWNED]
    reasons = []
    if owned:
        reasons.append(f"{_names(owned)} (set by the engine itself)")
    if other:
        reasons.append(f"{_names(other)} (not a {backend} response parameter)")
    raise BadRequestError(
        f"configuration may not hold {' and '.join(reasons)}. Allowed keys for the {backend} "
        f"backend: {', '.join(sorted(ENGINE_KEYS | allowed))}.",
        details={"refused": refused, "backend": backend},
    )


def response_parameters(configuration: Mapping[str, Any], backend: str) -> dict[str, Any]:
    """The configuration's known response parameters for ``backend``; nothing else."""
    allowed = RESPONSE_PARAMETERS.get(backend, frozenset())
    return {key: value for key, value in configuration.items() if key in allowed}


def _names(keys: list[str]) -> str:
    return ", ".join(repr(key) for key in keys)
