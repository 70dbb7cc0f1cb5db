"""`t2l-edge` entry point: dispatches subcommands with lazy imports.

Each subcommand lives in t2l_edge/commands/<name>.py and exposes a Typer `app` with one
command. Only the chosen module is imported, so `make-adapter` never pays for torch.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click
import typer.main

try:  # typer >= 0.2x vendors its own click: its Exit/usage errors are not click's classes
    from typer._click.exceptions import ClickException as _TyperClickException
    from typer.exceptions import Abort as _TyperAbort
    from typer.exceptions import Exit as _TyperExit
except ImportError:  # older typer uses click itself
    _TyperClickException, _TyperAbort, _TyperExit = click.ClickException, click.exceptions.Abort, click.exceptions.Exit

# name -> (module under t2l_edge.commands, one-line help shown by `t2l-edge --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "make-adapter": ("make_adapter", "Turn a task description into a LoRA adapter (GGUF or PEFT)."),
    "inspect": ("inspect_adapter", "Validate an adapter against a base model and describe it."),
    "generate": ("generate", "Answer a prompt with the base model plus an adapter in llama.cpp."),
    "chat": ("chat", "Make an adapter from a description and chat with it (or --compare with the base)."),
    "merge": ("merge", "Bake an adapter into a copy of the base model (base speed, any llama.cpp program)."),
    "export": ("export_bundle", "Export a trained hypernetwork and the encoder to an ONNX bundle."),
    "data": ("data", "Build the task store and benchmark suite from registry packages."),
    "train": ("train", "Train T2L (sft, recon) or a LoRA baseline (lora, mt-lora); torchrun for several processes."),
    "eval": ("eval", "Score the base, an adapter or T2L on the held-out multiple-choice benchmarks."),
    "specificity": ("specificity", "Swap controls: score each task under adapters from its own, other tasks' and random descriptions."),
    "report": ("report", "Render result JSON files as a markdown table."),
    "plot": ("plot", "Regenerate the analysis plots under docs/."),
    "serve": ("serve", "Serve an OpenAI-compatible API and a web page that make adapters on the fly."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return [n for n, (mod, _) in COMMANDS.items() if importlib.util.find_spec(f"t2l_edge.commands.{mod}")]

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module_name, short_help = COMMANDS[name]
        try:
            module = importlib.import_module(f"t2l_edge.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("t2l_edge.commands"):
                return None
            raise
        cmd = typer.main.get_command(module.app)
        cmd.name = name
        cmd.short_help = short_help
        return cmd

    def format_commands(self, ctx, formatter):
        # Help from the table, so `t2l-edge --help` imports no subcommand.
        rows = [(n, COMMANDS[n][1]) for n in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


cli = LazyGroup(
    name="t2l-edge",
    help=(
        "Text-to-LoRA on the edge: describe a task in one sentence, get a LoRA adapter for a "
        "llama.cpp model in milliseconds, offline.\n\n"
        "Example:\n\n"
        "  t2l-edge make-adapter \"Answer grade-school science questions with the letter of the right option.\" -o sci.gguf\n\n"
        "  t2l-edge generate --adapter sci.gguf --prompt \"Which gas do plants absorb? A) oxygen B) carbon dioxide\"\n\n"
        "Add --debug before the subcommand to see full tracebacks."
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
)
cli = click.version_option(package_name="t2l-edge", prog_name="t2l-edge")(cli)
cli = click.option("--debug", is_flag=True, envvar="T2L_DEBUG", help="Show full tracebacks on errors.")(cli)


def main(argv: list[str] | None = None) -> int:
    from .core.errors import T2LError

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("T2L_DEBUG") == "1"
    try:
        cli.main(args=args, prog_name="t2l-edge", standalone_mode=False)
        return 0
    except T2LError as exc:
        if debug:
            raise
        click.echo(f"error: {exc.one_line()}", err=True)
        return 2
    except (click.exceptions.Exit, _TyperExit) as exc:
        return exc.exit_code
    except (click.ClickException, _TyperClickException) as exc:
        exc.show()
        return exc.exit_code
    except (click.exceptions.Abort, _TyperAbort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # a bug: one line unless --debug
        if debug:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug and report it)", err=True)
        return 1


# Click calls the group callback with --debug; nothing else to do there.
cli.callback = lambda debug=False: None  # noqa: E731

if __name__ == "__main__":
    sys.exit(main())
