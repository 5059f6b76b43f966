"""``rankify-lite rerankers``: every registered family, whether it is usable, its options."""

from __future__ import annotations

import argparse

from rankify_lite.cli.output import print_json, print_table


def add_parsers(sub) -> None:
    p = sub.add_parser("rerankers", help="list reranker families and their options")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rerankers)


def cmd_rerankers(args: argparse.Namespace) -> int:
    from rankify_lite.models.local_weights import weights_here
    from rankify_lite.rerankers.registry import families

    rows = [{"family": f.key, "available": f.available,
             "install": "" if f.available else f.install_hint,
             "default_model": f.default_model or "",
             # where the default model's weights are on this machine (None: not here)
             "weights_here": weights_here(f.default_model) if f.default_model else None,
             "options": ", ".join(f.options),
             "description": f.description} for f in families()]
    if args.json:
        print_json(rows)
        return 0
    print_table(["family", "available", "default model", "weights here", "options",
                 "description"],
                [[r["family"], "yes" if r["available"] else f"no: {r['install']}",
                  r["default_model"], _weights_cell(r), r["options"], r["description"]]
                 for r in rows])
    return 0


def _weights_cell(row: dict) -> str:
    if not row["default_model"]:
        return "-"  # no model to load (identity)
    if row["weights_here"]:
        return f"yes ({row['weights_here']})"
    from rankify_lite.models.local_weights import hub_offline

    return "no (offline: not loadable)" if hub_offline() else "no (downloads on first use)"
