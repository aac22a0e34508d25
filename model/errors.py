"""Errors of the model client, in the hub's one tree.

    HubError
    └── ModelError              the model endpoint failed; the message says what to do
        ├── EndpointUnavailable nothing answers at the base URL, or it answered 502/503/504
        ├── ModelTimeout        no answer (or no next chunk) within the timeout
        ├── ModelNotLoaded      the server runs, but not the model that was asked for
        ├── ContextOverflow     the prompt plus max_tokens exceed the model's context
        ├── ModelRateLimited    429; `retry_after` seconds when the server said
        ├── ModelAuthError      401/403: key or token missing or wrong
        ├── BadModelResponse    any other 4xx, or a body that is not what the API promises
        └── OutOfTokens         the answer hit max_tokens (`finish_reason: "length"`), e.g. while still thinking

Messages never carry the API key or the request body; they name the base URL.
"""

from __future__ import annotations

from mcp_hub.errors import HubError


class ModelError(HubError):
    kind = "model"


class EndpointUnavailable(ModelError):
    kind = "model_unavailable"


class ModelTimeout(ModelError):
    kind = "model_timeout"


class ModelNotLoaded(ModelError):
    kind = "model_not_loaded"


class ContextOverflow(ModelError):
    kind = "context_overflow"


class ModelRateLimited(ModelError):
    kind = "model_rate_limited"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        if retry_after is not None:
            message = f"{message} Retry after {retry_after:.0f} s."
        super().__init__(message)
        self.retry_after = retry_after


class ModelAuthError(ModelError):
    kind = "model_auth"


class BadModelResponse(ModelError):
    kind = "model_bad_response"


class OutOfTokens(ModelError):
    kind = "model_out_of_tokens"


#: What to say when a reasoning model spends its whole budget thinking and writes no answer.
OUT_OF_TOKENS_THINKING = (
    'the model ran out of tokens while thinking (finish_reason "length", no answer written); '
    "raise max_tokens (--max-tokens, [model] max_tokens) or set a thinking budget (--thinking-budget)"
)
