"""Training configuration: defaults < YAML file < --set key=value, saved next to the outputs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..core.errors import T2LError


PROMPT_STYLES = ("chat", "plain", "mixed")  # the training shapes; keys of train.prompts.FORMATTERS
SAMPLE_BY = {"task": 0.0, "sqrt_family": 0.5, "family": 1.0}  # name -> power of train.batches.family_weights


@dataclass
class LoopConfig:
    """What train/loop.py reads, shared by every trainer. Field order = the order in config.json."""
    out: str = "runs/train"
    steps: int = 2000
    batch_tasks: int = 8  # examples per step, each from a different task (paper: 8 x 1)
    lr: float = 2e-4
    weight_decay: float = 0.01
    warmup: float = 0.2  # fraction of steps
    grad_clip: float = 1.0
    seed: int = 0
    log_every: int = 10
    eval_every: int = 200
    checkpoint_every: int = 100
    threads: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SFTConfig(LoopConfig):
    """sft, lora and mt-lora: through the frozen base."""
    out: str = "runs/sft"
    lr: float = 2e-4  # the paper's 2.5e-5 is for 1.2M steps; we have thousands
    base: str | None = None  # base GGUF; None = the default SmolLM2
    store: str | None = None  # task store; None = ~/.cache/t2l-edge/tasks
    hypernet: dict = field(default_factory=lambda: {"variant": "M"})  # HyperConfig fields
    tasks: list[str] = field(default_factory=list)  # empty = every pool task with descriptions
    heldout_tasks: list[str] = field(default_factory=list)  # validated with held-out descriptions
    max_train_tasks: int = 0  # >0: a seeded subset of the training tasks (held-out ones unchanged)
    allow_seed_descriptions: bool = False  # fall back to a task's own seed text (one description)
    max_len: int = 128
    prompt_style: str = "chat"  # chat (template, options listed), plain (cloze), as in `eval --style`; mixed = half each
    match_lengths: bool = False  # length bucketing: rows of a batch picked to have similar lengths
    l2: float = 1e-3
    label_smoothing: float = 0.1
    neftune_alpha: float = 5.0
    bf16: bool | str = "auto"  # autocast, weights stay fp32; auto = only with hardware bf16 (train/device.py)
    device: str = "auto"  # auto = cuda when available, else cpu
    synthetic_pairs: int = 0  # rows per batch drawn as conflict pairs of code-built tasks (data/synthetic.py), in pairs
    families: list[str] = field(default_factory=list)  # code-built families to draw them from; empty = all (data/synthetic.py FAMILIES)
    family_variants: list[str] = field(default_factory=list)  # only these trained variants: syn.FAMILY.VARIANT ids or fnmatch patterns; empty = all
    role_weight: float = 0.0  # >0: the role term (train/roles.py): half the reader's queries read the holding class's word, half the other's
    role_rows: int = 8  # descriptions the role term sees per step
    freeze: list[str] = field(default_factory=list)  # generator parameter prefixes SFT leaves as they are (e.g. word_path.to_b.)
    swap_weight: float = 0.0  # >0: the swap hinge of train/loss.py (reward for reading the description)
    swap_margin: float = 0.5  # nats a row should lose under another row's description
    hard_pairs: bool = False  # swap partners of one answer kind (multiple-choice with multiple-choice; train/batches.py)
    distill_weight: float = 0.0  # >0: prompt distillation (train/loss.py): the adapter alone should act as adapter + description in the prompt
    init_from: str | None = None  # a hypernetwork folder (best/ of an earlier run) to start from; a new schedule and optimizer
    reader_lr: float | None = None  # peak rate of the reader's output MLP and the word path (train/loop.py FAST_PARTS); None = lr
    sample_by: str = "task"  # task: every pool task alike; family: every family alike (57 MMLU subjects count once); sqrt_family: between
    eval_examples: int = 64
    rank_weight: float = 0.0  # >0: option ranking (train/choices.py): CE over a multiple-choice row's options, acc_norm as a loss
    rank_options: int = 0  # options per multiple-choice row in ranking, gold included (>1 also reports val_rank_acc)
    rank_temp: float = 1.0  # multiplies per-character log-likelihoods before the softmax over options
    rank_swap_weight: float = 0.0  # >0 (with swap_weight and rank_weight): the swap hinge on the ranking CE
    rank_swap_margin: float = 0.3  # nats of ranking CE a row should lose under another row's description


@dataclass
class ReconConfig(LoopConfig):
    """T2L trained to reproduce a library of task LoRAs (no base model in the loop)."""
    out: str = "runs/recon"
    lr: float = 1e-3
    warmup: float = 0.1
    eval_every: int = 100
    library: str = "runs/lora"  # a `train lora` output folder: LIBRARY/TASK/best/adapter.gguf
    hypernet: dict = field(default_factory=lambda: {"variant": "M"})  # rank/alpha/targets must match the library
    loss: str = "delta"  # delta: L1 on scale*B@A; ab: L1 on A and B z-scored per (module, layer)


def config_class(kind: str):
    """sft, lora and mt-lora share SFTConfig (same loop, batches and settings: comparable runs);
    for the LoRA baselines `hypernet` only supplies rank, alpha, rsLoRA and targets."""
    return ReconConfig if kind == "recon" else SFTConfig


def _family_names() -> list[str]:
    from ..data.synthetic import FAMILIES

    return [f.name for f in FAMILIES]


def _unknown_families(names) -> list[str]:
    if not isinstance(names, list):
        return [repr(names)]
    return [n for n in names if n not in _family_names()]


def _unknown_variants(ids) -> list[str]:
    from ..data.synthetic import FAMILIES, id_matches, task_id

    if not isinstance(ids, list):
        return [repr(ids)]
    known = [task_id(f, v) for f in FAMILIES for v in f.variants]
    return [i for i in ids if not any(id_matches(k, [i]) for k in known)]


def _coerce(value: str, current):
    if isinstance(current, bool):
        if value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("0", "false", "no"):
            return False
        raise ValueError(value)
    if isinstance(current, int) and not isinstance(current, bool):
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, (list, dict)) or current is None:
        try:
            return json.loads(value)
        except ValueError:
            return value.split(",") if isinstance(current, list) else value
    return value


def _sub_default(head: str, sub: str):
    """What a dotted --set key's value is read as when the config file leaves it out: the
    HyperConfig default for hypernet.* (so hypernet.read_tokens=4 is a number), else text."""
    if head == "hypernet":
        from ..hypernet.config import HyperConfig

        return getattr(HyperConfig(), sub, "")
    return ""


def resolve(cls, file: str | Path | None, overrides: list[str]):
    """defaults < YAML file < overrides ("key=value", "hypernet.variant=S")."""
    import yaml

    cfg = cls()
    names = {f.name for f in fields(cls)}
    if file:
        try:
            data = yaml.safe_load(Path(file).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            detail = " ".join(str(exc).split())[:200]  # YAML errors span lines; the CLI prints one
            raise T2LError(f"cannot read config {file}: {detail}", "check the path and the YAML syntax") from None
        unknown = set(data) - names
        if unknown:
            raise T2LError(f"{file}: unknown keys {sorted(unknown)}", f"known keys: {', '.join(sorted(names))}")
        for k, v in data.items():
            setattr(cfg, k, v)
    for item in overrides:
        if "=" not in item:
            raise T2LError(f"--set {item!r} is not key=value", "e.g. --set steps=500")
        key, value = item.split("=", 1)
        head, _, sub = key.partition(".")
        if head not in names:
            raise T2LError(f"--set: unknown key '{head}'", f"known keys: {', '.join(sorted(names))}")
        if sub:
            target = getattr(cfg, head)
            if not isinstance(target, dict):
                raise T2LError(f"--set: '{head}' has no sub-keys", "drop the dotted part")
            target[sub] = _coerce(value, target.get(sub, _sub_default(head, sub)))
        elif head == "bf16":  # true / false / auto, read by train/device.use_bf16
            setattr(cfg, head, value)
        else:
            try:
                setattr(cfg, head, _coerce(value, getattr(cfg, head)))
            except ValueError:
                raise T2LError(f"--set {key}: cannot read {value!r} as {type(getattr(cfg, head)).__name__}", "fix the value") from None
    style = getattr(cfg, "prompt_style", "chat")
    if style not in PROMPT_STYLES:
        raise T2LError(f"prompt_style {style!r} is not known", f"choose one of {', '.join(PROMPT_STYLES)}")
    if getattr(cfg, "sample_by", "task") not in SAMPLE_BY:
        raise T2LError(f"sample_by {cfg.sample_by!r} is not known", f"choose one of {', '.join(SAMPLE_BY)}")
    if getattr(cfg, "synthetic_pairs", 0) < 0 or 2 * getattr(cfg, "synthetic_pairs", 0) > getattr(cfg, "batch_tasks", 0):
        raise T2LError(f"synthetic_pairs={cfg.synthetic_pairs} needs 2 rows each out of batch_tasks={cfg.batch_tasks}",
                       "use at most batch_tasks / 2")
    unknown = _unknown_families(getattr(cfg, "families", []))
    if unknown:
        raise T2LError(f"families: {', '.join(unknown)} not known", f"choose from {', '.join(_family_names())}")
    if getattr(cfg, "role_weight", 0.0) < 0 or (getattr(cfg, "role_weight", 0.0) > 0 and (
            int(cfg.hypernet.get("read_tokens", 0)) < 2 or not cfg.synthetic_pairs or cfg.role_rows < 1)):
        raise T2LError(f"role_weight={cfg.role_weight} needs a reader of 2+ queries, conflict families and role_rows >= 1",
                       "set hypernet.read_tokens >= 2, synthetic_pairs > 0 and role_rows >= 1, or role_weight=0")
    unknown = _unknown_variants(getattr(cfg, "family_variants", []))
    if unknown:
        raise T2LError(f"family_variants: {', '.join(unknown)} match no trained variant of a code-built family",
                       "use syn.FAMILY.VARIANT ids, as the trainer's provenance lists them, or patterns such as "
                       "syn.rule_words_roles.digit_*")
    if getattr(cfg, "distill_weight", 0.0) < 0:
        raise T2LError(f"distill_weight={cfg.distill_weight} is negative", "use distill_weight >= 0 (0 = off)")
    if getattr(cfg, "rank_weight", 0.0) < 0 or getattr(cfg, "rank_temp", 1.0) <= 0 or (
            getattr(cfg, "rank_weight", 0.0) > 0 and getattr(cfg, "rank_options", 0) < 2):
        raise T2LError(f"rank_weight={cfg.rank_weight} / rank_options={cfg.rank_options} / rank_temp={cfg.rank_temp} "
                       "out of range", "use rank_weight >= 0, rank_options >= 2 when rank_weight > 0, rank_temp > 0")
    rank_swap = getattr(cfg, "rank_swap_weight", 0.0)
    if rank_swap < 0 or getattr(cfg, "rank_swap_margin", 0.3) <= 0 or (
            rank_swap > 0 and (getattr(cfg, "swap_weight", 0.0) <= 0 or getattr(cfg, "rank_weight", 0.0) <= 0)):
        raise T2LError(f"rank_swap_weight={rank_swap} / rank_swap_margin={cfg.rank_swap_margin} out of range",
                       "rank_swap_weight > 0 needs swap_weight > 0 and rank_weight > 0, and rank_swap_margin > 0")
    if getattr(cfg, "swap_weight", 0.0) < 0 or getattr(cfg, "swap_margin", 0.5) <= 0:
        raise T2LError(f"swap_weight={cfg.swap_weight} / swap_margin={cfg.swap_margin} out of range",
                       "use swap_weight >= 0 (0 = off) and swap_margin > 0 nats")
    return cfg
