"""Errors of the model client: the model endpoint is an upstream service, so each is the core's error
of the same meaning (`mcp_hub.errors`) as well as a `ModelError`.

    HubError
    └── ConnectorError
        └── ModelError              the model endpoint failed; the message says what to do
            ├── EndpointUnavailable nothing answers at the base URL, or 502/503/504   (also UpstreamUnavailable)
            ├── ModelTimeout        no answer (or no next chunk) within the timeout   (also UpstreamTimeout)
            ├── ModelNotLoaded      the server runs, but not the model asked for      (also NotFound)
            ├── ContextOverflow     the prompt plus max_tokens exceed the context     (also InvalidInput)
            ├── ModelRateLimited    429; `retry_after` seconds when the server said   (also RateLimited)
            ├── ModelAuthError      401/403: key or token missing or wrong            (also AuthError)
            ├── BadModelResponse    any other 4xx, or a body that is not what the API promises
            └── OutOfTokens         the answer hit max_tokens (`finish_reason: "length"`), e.g. while still thinking

So the core's retry policy (`mcp_hub.retry`) retries them as it retries any upstream (rate limits
honouring `retry_after`, unavailability), and code that handles a core error handles the model's.
Messages never carry the API key or the request body; they name the base URL.
"""

from __future__ import annotations

from mcp_hub.errors import (
    AuthError,
    ConnectorError,
    InvalidInput,
    NotFound,
    RateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)


class ModelError(ConnectorError):
    kind = "model"


class EndpointUnavailable(ModelError, UpstreamUnavailable):
    kind = "model_unavailable"


class ModelTimeout(ModelError, UpstreamTimeout):
    kind = "model_timeout"


class ModelNotLoaded(ModelError, NotFound):
    kind = "model_not_loaded"


class ContextOverflow(ModelError, InvalidInput):
    kind = "context_overflow"


class ModelRateLimited(ModelError, RateLimited):
    """`retry_after` and the message's "Retry after N s." come from `RateLimited`."""

    kind = "model_rate_limited"


class ModelAuthError(ModelError, AuthError):
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
