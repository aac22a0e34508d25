"""The `vllm serve` command builder, checked against the pinned vLLM release's argument definitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_hub.errors import InvalidInput
from model.profiles import PINNED_VLLM, PROFILES, get_profile
from model.serve import ServeOptions, build_command, visible_gpus

VLLM = json.loads((Path(__file__).parent / "data" / "vllm_flags.json").read_text())


def _flags(command: list[str]) -> list[str]:
    return [part for part in command if part.startswith("-")]


def test_flag_list_is_from_the_pinned_release() -> None:
    assert VLLM["vllm_version"] == PINNED_VLLM and len(VLLM["flags"]) > 200


@pytest.mark.parametrize("name", [n for n in PROFILES if n != "generic"])
def test_every_flag_we_emit_exists_in_vllm(name: str) -> None:
    options = ServeOptions(tp=2, max_model_len=32768, loras=("ja=/loras/ja",), api_key_env="VLLM_API_KEY")
    command = build_command(PROFILES[name], options, env={})
    assert command[:3] == ["vllm", "serve", PROFILES[name].hf_id]
    unknown = [flag for flag in _flags(command) if flag not in VLLM["flags"]]
    assert unknown == []
    profile = PROFILES[name]
    if profile.reasoning_parser:
        assert profile.reasoning_parser in VLLM["reasoning_parsers"]
    if profile.tool_call_parser:
        assert profile.tool_call_parser in VLLM["tool_call_parsers"]
    if profile.tokenizer_mode:
        assert profile.tokenizer_mode in VLLM["tokenizer_modes"]


def test_r1_distill_command() -> None:
    command = build_command(
        get_profile("r1-ja-14b"), ServeOptions(loras=("a=/x", "b=/y")), env={"CUDA_VISIBLE_DEVICES": "0,1"}
    )
    joined = " ".join(command)
    assert "--reasoning-parser deepseek_r1" in joined and "--tool-call-parser" not in joined
    assert "--tensor-parallel-size 2" in joined and "--max-model-len 131072" in joined
    assert command[command.index("--override-generation-config") + 1] == '{"temperature": 0.6, "top_p": 0.95}'
    assert command[command.index("--lora-modules") + 1 :][:2] == ["a=/x", "b=/y"] and "--enable-lora" in command


def test_native_tool_profiles() -> None:
    r1 = build_command(PROFILES["r1-0528"], ServeOptions(chat_template_dir=Path("/t")), env={})
    assert " ".join(r1).count("--enable-auto-tool-choice --tool-call-parser deepseek_v3") == 1
    assert r1[r1.index("--chat-template") + 1] == "/t/tool_chat_template_deepseekr1.jinja"
    v32 = build_command(PROFILES["v3.2"], ServeOptions(), env={"CUDA_VISIBLE_DEVICES": ""})
    assert "--chat-template" not in v32 and v32[v32.index("--tokenizer-mode") + 1] == "deepseek_v32"
    assert v32[v32.index("--tensor-parallel-size") + 1] == "1"


def test_bad_input() -> None:
    with pytest.raises(InvalidInput, match="NAME=PATH"):
        build_command(PROFILES["r1"], ServeOptions(loras=("nopath",)), env={})
    with pytest.raises(InvalidInput, match="Hugging Face id"):
        build_command(PROFILES["generic"], ServeOptions(), env={})
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0,2,3"}) == 3


def test_api_key_goes_by_environment_never_argv() -> None:
    from model.serve import serve_env

    options = ServeOptions(api_key_env="VLLM_API_KEY")
    command = build_command(PROFILES["r1"], options, env={})
    assert "--api-key" not in command and not any("VLLM_API_KEY" in part for part in command)
    assert serve_env(options, {"VLLM_API_KEY": "k-123", "PATH": "/bin"})["VLLM_API_KEY"] == "k-123"
    other = ServeOptions(api_key_env="MY_KEY")
    assert serve_env(other, {"MY_KEY": "k-9"})["VLLM_API_KEY"] == "k-9"


def test_deepseek_v3_and_v4_profiles() -> None:
    for name, parser in (
        ("v3", "deepseek_v3"),
        ("v3-0324", "deepseek_v3"),
        ("v4", "deepseek_v4"),
        ("v4.1", "deepseek_v41"),
    ):
        profile = PROFILES[name]
        assert profile.tool_call_parser == parser and profile.native_tools and profile.context_length >= 163_840
        assert profile.tool_call_parser in VLLM["tool_call_parsers"]
    assert PROFILES["v4"].reasoning_parser == "deepseek_v4" and PROFILES["v4.1"].reasoning_parser == "deepseek_v41"
    assert PROFILES["v3"].reasoning_parser is None and PROFILES["v4"].tokenizer_mode == "deepseek_v4"
    v4 = build_command(PROFILES["v4"], ServeOptions(), env={"CUDA_VISIBLE_DEVICES": "0"})
    assert "--chat-template" not in v4 and v4[v4.index("--tool-call-parser") + 1] == "deepseek_v4"
    assert get_profile("deepseek-ai/DeepSeek-V4-Pro").tool_call_parser == "deepseek_v4"
    assert get_profile("deepseek-ai/DeepSeek-V3-0324").name == "v3-0324"
    assert get_profile("someorg/DeepSeek-V3-AWQ").tool_call_parser == "deepseek_v3"
    assert get_profile("someorg/DeepSeek-V4.1-Flash-AWQ").tool_call_parser == "deepseek_v41"
