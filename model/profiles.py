"""What we know about each DeepSeek model: how to serve it and how to talk to it.

Facts (DESIGN.md §2, vLLM 0.33 docs and source):
- R1 and its distills: reasoning in `<think>` (vLLM `--reasoning-parser deepseek_r1`), temperature
  0.6, top_p 0.95, no system prompt (instructions go in the user turn); no usable native tool
  calling: tools go through the prompted protocol, constrained by structured outputs.
- cyberagent's Japanese R1 distills (14B/32B): Qwen2 architecture, same rules as the distills.
- R1-0528: native tool calls with `--tool-call-parser deepseek_v3` and vLLM's
  `examples/tool_chat_template_deepseekr1.jinja`; a system prompt is fine.
- V3.1: `--tool-call-parser deepseek_v31` with `examples/tool_chat_template_deepseekv31.jinja`;
  tool calls in non-thinking mode only (`chat_template_kwargs.thinking = false`).
- V3.2: `--tool-call-parser deepseek_v32`, `--tokenizer-mode deepseek_v32` (its own chat encoding,
  no template file), `--reasoning-parser deepseek_v3` with `thinking = true`; within a tool loop the
  assistant's reasoning must be sent back, and is dropped when a new user turn starts.

- V3 and V3-0324: `--tool-call-parser deepseek_v3` with `examples/tool_chat_template_deepseekv3.jinja`;
  no reasoning (no reasoning parser); 163,840 tokens of context (`max_position_embeddings`).
- V4 (V4-Flash / V4-Pro) and V4.1: `--tool-call-parser deepseek_v4` / `deepseek_v41` and
  `--reasoning-parser deepseek_v4` / `deepseek_v41`, all four in vLLM 0.33.0's registries
  (tests/model/data/vllm_flags.json); V4 also `--tokenizer-mode deepseek_v4` (its own chat encoding,
  no template file). V4.1's tokenizer mode is not in the registry under its own name and is left out
  (the model's own template is used). Context 1,048,576 (the V4 model card's 1M tokens; V4.1 assumed
  the same).

Token limits: `max_tokens` (profile default 8,192; `--max-tokens` / `[model] max_tokens` win) is sent as
`max_completion_tokens` to current vLLM (the structured_outputs constraint marks it), as `max_tokens`
elsewhere. A thinking budget (`--thinking-budget` / `[model] thinking_budget`) is sent as vLLM's
`thinking_token_budget` to profiles with a reasoning parser (the server must be started with
`--reasoning-config`); other servers do not get it.

The request parameter for structured outputs depends on the server: vLLM >= 0.10.2 takes
`structured_outputs: {"json": schema}` (the only form since 0.12.0, which silently ignores the old
one); vLLM < 0.10.2 takes `guided_json: schema`; Ollama and llama.cpp take `response_format`
(`json_schema`); Azure and unknown servers get no constraint (tolerant parser + one repair round).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Constraint = Literal["structured_outputs", "guided_json", "response_format", "none"]

#: The vLLM release the serve command and the default constraint are checked against.
PINNED_VLLM = "0.33.0"

R1_SAMPLING = {"temperature": 0.6, "top_p": 0.95}


@dataclass(frozen=True)
class Profile:
    name: str
    hf_id: str
    description: str
    context_length: int
    temperature: float | None = 0.6
    top_p: float | None = 0.95
    #: False: fold the system prompt into the first user message (R1 and distills).
    system_prompt: bool = False
    native_tools: bool = False
    tool_call_parser: str | None = None
    #: A vLLM `examples/` template file name; the serve command resolves it in a template directory.
    chat_template: str | None = None
    reasoning_parser: str | None = "deepseek_r1"
    tokenizer_mode: str | None = None
    #: `chat_template_kwargs.thinking` to send, when the model has a switch.
    thinking: bool | None = None
    #: Send the assistant's reasoning back inside a tool loop (V3.2 thinking with tools).
    reasoning_in_tool_loop: bool = False
    #: The structured-outputs request parameter for the prompted tool protocol.
    constraint: Constraint = "structured_outputs"
    max_tokens: int = 8192
    #: The answer budget an out-of-tokens retry may grow to (the context bounds it too).
    max_tokens_ceiling: int = 32_768

    def sampling(self) -> dict[str, float]:
        out = {}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.top_p is not None:
            out["top_p"] = self.top_p
        return out


def _distill(name: str, hf_id: str, what: str) -> Profile:
    return Profile(name, hf_id, f"{what}: R1 distill, prompted tools", 131_072)


def _v3(name: str, hf_id: str, what: str) -> Profile:
    """DeepSeek-V3 and its 0324 update: native tool calls with vLLM's tool template, no reasoning."""
    return Profile(
        name,
        hf_id,
        f"{what}: native tool calls, no reasoning",
        163_840,
        temperature=0.3,
        top_p=None,
        system_prompt=True,
        native_tools=True,
        tool_call_parser="deepseek_v3",
        chat_template="tool_chat_template_deepseekv3.jinja",
        reasoning_parser=None,
    )


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile("r1", "deepseek-ai/DeepSeek-R1", "DeepSeek-R1 (671B MoE): prompted tools", 163_840),
        _distill("r1-distill-qwen-1.5b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "Qwen2.5-Math-1.5B base"),
        _distill("r1-distill-qwen-7b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "Qwen2.5-Math-7B base"),
        _distill("r1-distill-qwen-14b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", "Qwen2.5-14B base"),
        _distill("r1-distill-qwen-32b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "Qwen2.5-32B base"),
        _distill("r1-distill-llama-8b", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "Llama-3.1-8B base"),
        _distill("r1-distill-llama-70b", "deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "Llama-3.3-70B base"),
        _distill("r1-ja-14b", "cyberagent/DeepSeek-R1-Distill-Qwen-14B-Japanese", "Japanese, Qwen2 architecture"),
        _distill("r1-ja-32b", "cyberagent/DeepSeek-R1-Distill-Qwen-32B-Japanese", "Japanese, Qwen2 architecture"),
        Profile(
            "r1-0528",
            "deepseek-ai/DeepSeek-R1-0528",
            "DeepSeek-R1-0528: native tool calls",
            163_840,
            system_prompt=True,
            native_tools=True,
            tool_call_parser="deepseek_v3",
            chat_template="tool_chat_template_deepseekr1.jinja",
        ),
        Profile(
            "v3.1",
            "deepseek-ai/DeepSeek-V3.1",
            "DeepSeek-V3.1: native tool calls in non-thinking mode",
            163_840,
            system_prompt=True,
            native_tools=True,
            tool_call_parser="deepseek_v31",
            chat_template="tool_chat_template_deepseekv31.jinja",
            reasoning_parser="deepseek_v3",
            thinking=False,
        ),
        Profile(
            "v3.2",
            "deepseek-ai/DeepSeek-V3.2",
            "DeepSeek-V3.2: native tool calls while thinking",
            163_840,
            temperature=1.0,
            system_prompt=True,
            native_tools=True,
            tool_call_parser="deepseek_v32",
            reasoning_parser="deepseek_v3",
            tokenizer_mode="deepseek_v32",
            thinking=True,
            reasoning_in_tool_loop=True,
        ),
        _v3("v3", "deepseek-ai/DeepSeek-V3", "DeepSeek-V3"),
        _v3("v3-0324", "deepseek-ai/DeepSeek-V3-0324", "DeepSeek-V3-0324"),
        Profile(
            "v4",
            "deepseek-ai/DeepSeek-V4-Flash",
            "DeepSeek-V4 (Flash; the Pro id works too): native tool calls while thinking",
            1_048_576,
            temperature=None,
            top_p=None,
            system_prompt=True,
            native_tools=True,
            tool_call_parser="deepseek_v4",
            reasoning_parser="deepseek_v4",
            tokenizer_mode="deepseek_v4",
        ),
        Profile(
            "v4.1",
            "deepseek-ai/DeepSeek-V4.1-Flash-1017",
            "DeepSeek-V4.1: native tool calls while thinking",
            1_048_576,
            temperature=None,
            top_p=None,
            system_prompt=True,
            native_tools=True,
            tool_call_parser="deepseek_v41",
            reasoning_parser="deepseek_v41",
        ),
        Profile(
            "generic",
            "",
            "Any OpenAI-compatible model: prompted tools, tolerant parser, no constraint",
            32_768,
            temperature=None,
            top_p=None,
            system_prompt=True,
            reasoning_parser=None,
            constraint="none",
        ),
    ]
}


def get_profile(name_or_id: str) -> Profile:
    """A profile by name or Hugging Face id; an unknown id gets the profile its name suggests."""
    key = name_or_id.strip()
    if key.lower() in PROFILES:
        return PROFILES[key.lower()]
    for profile in PROFILES.values():
        if profile.hf_id and profile.hf_id.lower() == key.lower():
            return profile
    lower = key.lower()
    if "r1-0528" in lower:
        base = PROFILES["r1-0528"]
    elif "v4.1" in lower or "v4-1" in lower:
        base = PROFILES["v4.1"]
    elif "v4" in lower:
        base = PROFILES["v4"]
    elif "v3-0324" in lower:
        base = PROFILES["v3-0324"]
    elif "v3.2" in lower:
        base = PROFILES["v3.2"]
    elif "v3.1" in lower:
        base = PROFILES["v3.1"]
    elif "deepseek-v3" in lower:
        base = PROFILES["v3"]
    elif "r1" in lower:
        base = PROFILES["r1-distill-qwen-14b"] if "distill" in lower else PROFILES["r1"]
    else:
        base = PROFILES["generic"]
    return replace(base, name=key or base.name, hf_id=key)


def token_params(profile: Profile, max_tokens: int | None = None, thinking_budget: int | None = None) -> dict[str, int]:
    """The answer's token limit (and thinking budget) as the profile's server takes them."""
    limit = max_tokens or profile.max_tokens
    if profile.constraint != "structured_outputs":  # not a current vLLM: the classic name only
        return {"max_tokens": limit}
    out = {"max_completion_tokens": limit}
    if thinking_budget and profile.reasoning_parser:
        out["thinking_token_budget"] = thinking_budget
    return out
