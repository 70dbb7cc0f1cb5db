#!/usr/bin/env bash
# Every training run and evaluation behind the README's results, in order. Each step is
# skipped when its output exists, so the script resumes after an interruption; delete a
# result file to score it again. On the 2-core CI-type machine the whole script takes about
# 13 hours (one thread per job, one job at a time; two jobs at once use both cores); run steps by name to do part of it:
#   scripts/results.sh                 everything
#   scripts/results.sh oracle icl      only these steps
# Needs the training extras: scripts/setup.sh train,data,plot,dev
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
T=".venv/bin/t2l-edge"
EVAL="$T eval --style chat --limit 60 --threads 1"
PLAIN="$T eval --style plain --limit 60 --threads 1"  # the primary format
# The schedule of every run since sft-M2 (600-step warmup + linear decay, each stopped early with --until)
SCHED="--set steps=600 --set lr=1e-4 --set label_smoothing=0 --set eval_every=50 --set checkpoint_every=25 --set threads=1 --set warmup=0.05 --set match_lengths=true"
SFT_M=runs/bundle-sft-M  # the first SFT run, the shipped default until the mixed-shape run replaced it

have() { [ -e "$1" ] && echo "[results] $1 exists, skipped"; }

step_base() {
    have results/base-chat.json || $EVAL --row base --out results/base-chat.json
    have results/base-plain.json || $PLAIN --row base --out results/base-plain.json
    have results/base-letter.json || $T eval --row base --style letter --limit 60 --threads 1 --out results/base-letter.json
    have results/desc-in-prompt-chat.json || $EVAL --row desc-in-prompt --descriptions 2 --out results/desc-in-prompt-chat.json
}
step_icl() {
    have results/icl-3shot-chat.json || $EVAL --row icl --shots 3 --out results/icl-3shot-chat.json
}
step_mtlora() {
    have runs/mt-lora/best/adapter.gguf || $T train mt-lora --config configs/mt_lora_smollm2.yaml --set steps=500 --set eval_every=100 --set threads=1 --until 301
    have results/mt-lora-chat.json || $EVAL --row adapter --adapter runs/mt-lora/best/adapter.gguf --out results/mt-lora-chat.json
}
step_oracle() {
    $T train lora --config configs/oracle_lora_smollm2.yaml  # finished benchmarks are skipped
    have results/oracle-chat.json || $EVAL --row oracle --adapter-dir runs/oracle --out results/oracle-chat.json
}
step_sft_m() {  # the first SFT run (label smoothing 0.1, lr 2e-4), stopped at step 301 of 500; its best checkpoint is step 100
    have runs/sft-M/best/hypernet.safetensors || $T train sft --config configs/sft_smollm2_M.yaml --set steps=500 --set eval_every=100 \
        --set checkpoint_every=25 --set threads=1 --until 301
    have $SFT_M || $T export runs/sft-M/best -o $SFT_M
    have results/t2l-sft-M-chat.json || $EVAL --row t2l --bundle $SFT_M --descriptions 2 --out results/t2l-sft-M-chat.json
    have results/t2l-sft-M-plain.json || $PLAIN --row t2l --bundle $SFT_M --descriptions 2 --out results/t2l-sft-M-plain.json
}
step_sft() {  # second SFT run (lower lr, no label smoothing), stopped at step 334 (best at 300); not the default
    have runs/sft-M2/best/hypernet.safetensors || $T train sft --config configs/sft_smollm2_M.yaml --out runs/sft-M2 \
        $SCHED --until 334
    have runs/bundle-sft-M2 || $T export runs/sft-M2/best -o runs/bundle-sft-M2
    have results/t2l-sft-M2-chat.json || $EVAL --row t2l --bundle runs/bundle-sft-M2 --descriptions 2 --out results/t2l-sft-M2-chat.json
    have results/t2l-sft-M-letter.json || $T eval --row t2l --bundle $SFT_M --style letter --limit 60 --threads 1 --descriptions 1 --out results/t2l-sft-M-letter.json
}
step_controls() {
    have results/control-random-chat.json || $EVAL --row control-random --bundle $SFT_M --descriptions 1 --out results/control-random-chat.json
    have results/control-other-chat.json || $EVAL --row control-other --bundle $SFT_M --descriptions 1 --out results/control-other-chat.json
}
step_recon() {
    $T train lora --config configs/recon_library_smollm2.yaml
    have runs/recon-M/best || $T train recon --config configs/recon_smollm2_M.yaml
    have runs/bundle-recon-M || $T export runs/recon-M/best -o runs/bundle-recon-M
    have results/t2l-recon-M-chat.json || $EVAL --row t2l --bundle runs/bundle-recon-M --descriptions 1 --out results/t2l-recon-M-chat.json
}
step_recon_ab() {  # T2L-recon with the paper's cheaper loss (L1 on z-scored A and B): 14x cheaper per step than L1 on delta W (bench/bench_recon.py)
    $T train lora --config configs/recon_library_smollm2.yaml
    have runs/recon-M-ab/best || $T train recon --config configs/recon_smollm2_M.yaml --out runs/recon-M-ab --set loss=ab
    have runs/bundle-recon-M-ab || $T export runs/recon-M-ab/best -o runs/bundle-recon-M-ab
    have results/t2l-recon-M-ab-chat.json || $EVAL --row t2l --bundle runs/bundle-recon-M-ab --descriptions 1 --out results/t2l-recon-M-ab-chat.json
}
step_scaling() {  # same schedule as sft-M2, stopped at step 100, on 16, 64 and all 243 training tasks
    for n in 16 64 0; do
        name="sft-M2-tasks${n}"
        have "runs/$name/best/hypernet.safetensors" || $T train sft --config configs/sft_smollm2_M.yaml --out "runs/$name" \
            $SCHED --set max_train_tasks=$n --until 100
        have "runs/bundle-$name" || $T export "runs/$name/best" -o "runs/bundle-$name"
        have "results/scaling-$name.json" || $EVAL --row t2l --bundle "runs/bundle-$name" --descriptions 1 --out "results/scaling-$name.json"
    done
}
step_plain() {  # T2L trained in the plain (cloze) shape it is then scored in; the sft-M2 schedule, stopped at 150
    have runs/sft-plain/best/hypernet.safetensors || $T train sft --config configs/sft_smollm2_M.yaml --out runs/sft-plain \
        $SCHED --set prompt_style=plain --until 150
    have runs/bundle-sft-plain || $T export runs/sft-plain/best -o runs/bundle-sft-plain
    have results/t2l-sft-plain-plain.json || $PLAIN --row t2l --bundle runs/bundle-sft-plain --descriptions 2 --out results/t2l-sft-plain-plain.json
}
step_letter() {  # the lettered format (OLMES MC): options listed, the answer letter scored
    local L="$T eval --style letter --limit 60 --threads 1"
    have results/base-letter.json || $L --row base --out results/base-letter.json
    have results/t2l-sft-M-letter.json || $L --row t2l --bundle $SFT_M --descriptions 1 --out results/t2l-sft-M-letter.json
    have results/mt-lora-letter.json || $L --row adapter --adapter runs/mt-lora/best/adapter.gguf --out results/mt-lora-letter.json
    have results/oracle-letter.json || $L --row oracle --adapter-dir runs/oracle --out results/oracle-letter.json
}
step_generative() {  # greedy generation: GSM8K exact match, HumanEval/MBPP pass@1 in the sandbox; 10 items each (a smoke-sized row: greedy decoding costs ~10 s per item here)
    local G="$T eval --benchmarks gsm8k,humaneval,mbpp --limit 10 --threads 1"
    have results/base-gen.json || $G --row base --out results/base-gen.json
    have results/t2l-sft-M-gen.json || $G --row t2l --bundle $SFT_M --descriptions 1 --out results/t2l-sft-M-gen.json
}
step_mtlora_plain() {  # the multi-task baseline trained and scored in the plain shape, same schedule as sft-plain
    have runs/mt-lora-plain/best/adapter.gguf || $T train mt-lora --config configs/mt_lora_smollm2.yaml --out runs/mt-lora-plain \
        $SCHED --set prompt_style=plain --until 150
    have results/mt-lora-plain-plain.json || $PLAIN --row adapter --adapter runs/mt-lora-plain/best/adapter.gguf --out results/mt-lora-plain-plain.json
}
step_oracle_plain() {  # the oracle LoRAs trained in the plain shape they are scored in: the base->oracle gap in the primary format
    $T train lora --config configs/oracle_lora_smollm2.yaml --out runs/oracle-plain --set prompt_style=plain
    have results/oracle-plain-plain.json || $PLAIN --row oracle --adapter-dir runs/oracle-plain --out results/oracle-plain-plain.json
}
step_plain300() {  # the sft-plain schedule continued to step 300 (the lr schedule is set by steps=600, so this is the same run, longer)
    have runs/sft-plain-300/best/hypernet.safetensors || $T train sft --config configs/sft_smollm2_M.yaml --out runs/sft-plain-300 \
        $SCHED --set prompt_style=plain --until 300
    have runs/bundle-sft-plain-300 || $T export runs/sft-plain-300/best -o runs/bundle-sft-plain-300
    have results/t2l-sft-plain-300-plain.json || $PLAIN --row t2l --bundle runs/bundle-sft-plain-300 --descriptions 2 --out results/t2l-sft-plain-300-plain.json
}
step_mtlora_plain300() {  # the plain multi-task LoRA continued to step 300: the same schedule and length as sft-plain-300
    have runs/mt-lora-plain-300/best/adapter.gguf || $T train mt-lora --config configs/mt_lora_smollm2.yaml --out runs/mt-lora-plain-300 \
        $SCHED --set prompt_style=plain --until 300
    have results/mt-lora-plain-300-plain.json || $PLAIN --row adapter --adapter runs/mt-lora-plain-300/best/adapter.gguf --out results/mt-lora-plain-300-plain.json
}
step_mixed() {  # T2L trained half in the chat shape and half in the plain one: one bundle for chat use and cloze scoring
    have runs/sft-mixed/best/hypernet.safetensors || $T train sft --config configs/sft_smollm2_M.yaml --out runs/sft-mixed \
        $SCHED --set prompt_style=mixed --until 300
    have runs/bundle-sft-mixed || $T export runs/sft-mixed/best -o runs/bundle-sft-mixed
    have results/t2l-sft-mixed-plain.json || $PLAIN --row t2l --bundle runs/bundle-sft-mixed --descriptions 2 --out results/t2l-sft-mixed-plain.json
    have results/t2l-sft-mixed-chat.json || $EVAL --row t2l --bundle runs/bundle-sft-mixed --descriptions 1 --out results/t2l-sft-mixed-chat.json
    local B=runs/bundle-sft-mixed
    have results/control-random-sft-mixed-plain.json || $PLAIN --row control-random --bundle $B --descriptions 1 --out results/control-random-sft-mixed-plain.json
    have results/control-other-sft-mixed-plain.json || $PLAIN --row control-other --bundle $B --descriptions 1 --out results/control-other-sft-mixed-plain.json
}
step_plain_rows() {  # the remaining rows in the primary format: controls on the plain-trained T2L, description in the prompt, 3-shot ICL
    local B=runs/bundle-sft-plain-300
    have results/control-random-plain.json || $PLAIN --row control-random --bundle $B --descriptions 1 --out results/control-random-plain.json
    have results/control-other-plain.json || $PLAIN --row control-other --bundle $B --descriptions 1 --out results/control-other-plain.json
    have results/desc-in-prompt-plain.json || $PLAIN --row desc-in-prompt --descriptions 1 --out results/desc-in-prompt-plain.json
    have results/icl-3shot-plain.json || $PLAIN --row icl --shots 3 --out results/icl-3shot-plain.json
}
step_confirm() {  # the chosen default against the base on fresh items (seed 1, 120 per benchmark): the default was picked
    # among several T2L runs by its seed-0 score, so this is the unbiased check of that choice
    local C="$T eval --style plain --limit 120 --seed 1 --threads 1"
    have results/base-plain-seed1.json || $C --row base --out results/base-plain-seed1.json
    have results/t2l-default-plain-seed1.json || $C --row t2l --bundle models/default --descriptions 1 --out results/t2l-default-plain-seed1.json
}
step_agreement() {
    have results/torch-agreement.json || .venv/bin/python scripts/torch_agreement.py --limit 20 --out results/torch-agreement.json
}
step_report() {  # rows that have not been scored yet are left out; one table per prompt style
    local rows=() bars=() scaling=() refs=()
    for f in base-chat desc-in-prompt-chat icl-3shot-chat mt-lora-chat oracle-chat t2l-sft-M-chat t2l-sft-M2-chat \
             t2l-recon-M-chat t2l-recon-M-ab-chat t2l-sft-mixed-chat control-random-chat control-other-chat \
             base-plain desc-in-prompt-plain icl-3shot-plain mt-lora-plain-plain mt-lora-plain-300-plain oracle-plain-plain t2l-sft-M-plain \
             t2l-sft-plain-plain t2l-sft-plain-300-plain t2l-sft-mixed-plain control-random-plain control-other-plain \
             control-random-sft-mixed-plain control-other-sft-mixed-plain \
             base-letter mt-lora-letter oracle-letter t2l-sft-M-letter \
             base-gen t2l-sft-M-gen; do
        [ -e "results/$f.json" ] && rows+=("results/$f.json")
    done
    # the chart: the primary-format rows the README compares (all rows would be too many bars to read)
    for f in base-plain desc-in-prompt-plain icl-3shot-plain mt-lora-plain-300-plain oracle-plain-plain \
             t2l-sft-plain-300-plain t2l-sft-mixed-plain control-random-sft-mixed-plain; do
        [ -e "results/$f.json" ] && bars+=(--results "results/$f.json")
    done
    for f in base-chat base-plain base-letter base-gen; do [ -e "results/$f.json" ] && refs+=(--vs "results/$f.json"); done
    for n in 16 64 0; do
        [ -e "results/scaling-sft-M2-tasks$n.json" ] && scaling+=(--scaling "results/scaling-sft-M2-tasks$n.json")
    done
    $T report "${rows[@]}" "${refs[@]}" --out docs/results.md --force
    if [ -e results/t2l-default-plain-seed1.json ]; then  # fresh items: its own table, paired with the base on the same items
        $T report results/base-plain-seed1.json results/t2l-default-plain-seed1.json --vs results/base-plain-seed1.json \
            --out docs/results-confirm.md --force
    fi
    [ ${#scaling[@]} -gt 0 ] && scaling+=(--scaling-ref results/base-chat.json)
    $T plot --bundle models/default "${bars[@]}" "${scaling[@]}"
}

ALL=(base icl mtlora oracle sft_m sft controls recon recon_ab scaling plain mtlora_plain oracle_plain plain300 mtlora_plain300 mixed plain_rows confirm letter generative agreement report)
STEPS=("$@")
[ ${#STEPS[@]} -eq 0 ] && STEPS=("${ALL[@]}")
for s in "${STEPS[@]}"; do
    declare -F "step_$s" >/dev/null || { echo "error: unknown step '$s' (steps: ${ALL[*]})" >&2; exit 2; }
    echo "[results] step $s"
    "step_$s"
done
