"""`python -m flowui_runtime run ...` (the container entrypoint) and `python -m flowui_runtime dockerfiles ...`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from flowui_runtime import entrypoint

    parser = argparse.ArgumentParser(prog="python -m flowui_runtime")
    subparsers = parser.add_subparsers(dest="command", required=True)
    entrypoint.parser_add_run(subparsers)
    dockerfiles = subparsers.add_parser(
        "dockerfiles", help="write one Dockerfile per dependency group of a dependencies_map.json"
    )
    dockerfiles.add_argument("--map", required=True, help="path of dependencies/dependencies_map.json")
    dockerfiles.add_argument("--out", required=True, help="folder to write <group>/Dockerfile into")
    args = parser.parse_args(argv)
    if args.command == "run":
        return entrypoint.main_run(args)
    from flowui_runtime import dockerfiles as dockerfiles_module

    return dockerfiles_module.main(args)


if __name__ == "__main__":
    sys.exit(main())
