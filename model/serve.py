"""The exact `vllm serve` command for a profile (checked against vLLM 0.33.0's argument definitions).

- `--reasoning-parser` from the profile (`deepseek_r1` for R1 and distills, `deepseek_v3` for V3.x);
- native tools: `--enable-auto-tool-choice --tool-call-parser P` and, where the model needs vLLM's
  tool template, `--chat-template DIR/FILE` (files from vLLM's `examples/`, which the wheel does
  not ship: pass `--chat-template-dir`); V3.2: `--tokenizer-mode deepseek_v32` instead of a template;
- sampling defaults: `--override-generation-config '{"temperature": 0.6, "top_p": 0.95}'` (applied
  over the model's own generation_config, which `--generation-config auto` loads);
- LoRA: `--enable-lora --lora-modules name=path …`;
- tensor parallel: `--tp`, else the visible GPUs (`CUDA_VISIBLE_DEVICES`, else `nvidia-smi -L`);
- the API key never goes on the command line (any local user can read argv in `ps`): vLLM reads
  `VLLM_API_KEY` from its environment, which `serve_env` hands it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mcp_hub.errors import InvalidInput
from model.profiles import Profile


@dataclass(frozen=True)
class ServeOptions:
    tp: int | None = None
    max_model_len: int | None = None
    loras: Sequence[str] = field(default_factory=tuple)
    host: str = "127.0.0.1"
    port: int = 8000
    chat_template_dir: Path | None = None
    served_name: str | None = None
    api_key_env: str | None = None


def visible_gpus(env: Mapping[str, str] | None = None) -> int:
    """GPUs this process may use: CUDA_VISIBLE_DEVICES when set, else `nvidia-smi -L`, else 0."""
    env = os.environ if env is None else env
    devices = env.get("CUDA_VISIBLE_DEVICES")
    if devices is not None:
        return len([d for d in devices.split(",") if d.strip() and d.strip() != "-1"])
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=True).stdout  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def parse_lora(spec: str) -> tuple[str, str]:
    name, sep, path = spec.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise InvalidInput(f"--lora takes NAME=PATH, got {spec!r}")
    return name.strip(), path.strip()


def build_command(profile: Profile, options: ServeOptions, env: Mapping[str, str] | None = None) -> list[str]:
    if not profile.hf_id:
        raise InvalidInput("the generic profile names no model: pass a Hugging Face id (`model serve ORG/NAME`)")
    tp = options.tp or max(1, visible_gpus(env))
    command = ["vllm", "serve", profile.hf_id, "--host", options.host, "--port", str(options.port)]
    command += ["--served-model-name", options.served_name or profile.hf_id]
    command += ["--tensor-parallel-size", str(tp)]
    max_len = options.max_model_len or profile.context_length
    command += ["--max-model-len", str(max_len)]
    if profile.reasoning_parser:
        command += ["--reasoning-parser", profile.reasoning_parser]
    if profile.native_tools and profile.tool_call_parser:
        command += ["--enable-auto-tool-choice", "--tool-call-parser", profile.tool_call_parser]
        if profile.chat_template:
            directory = options.chat_template_dir or Path("templates")
            command += ["--chat-template", str(directory / profile.chat_template)]
    if profile.tokenizer_mode:
        command += ["--tokenizer-mode", profile.tokenizer_mode]
    sampling = profile.sampling()
    if sampling:
        command += ["--generation-config", "auto", "--override-generation-config", json.dumps(sampling)]
    if options.loras:
        modules = [f"{name}={path}" for name, path in (parse_lora(spec) for spec in options.loras)]
        command += ["--enable-lora", "--lora-modules", *modules]
    return command


def serve_env(options: ServeOptions, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """vLLM's environment: ours, with the key (from `api_key_env`) as `VLLM_API_KEY`, never in argv."""
    out = dict(os.environ if env is None else env)
    if options.api_key_env and options.api_key_env != "VLLM_API_KEY":
        key = out.get(options.api_key_env)
        if key:
            out["VLLM_API_KEY"] = key
    return out


def missing_template(profile: Profile, options: ServeOptions) -> Path | None:
    """The chat template file the command names, when it does not exist."""
    if not (profile.native_tools and profile.chat_template):
        return None
    path = (options.chat_template_dir or Path("templates")) / profile.chat_template
    return None if path.exists() else path
