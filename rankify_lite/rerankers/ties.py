"""Moved to :mod:`rankify_lite.ties` (the tie rule belongs to a stage, see cascade.py)."""

from rankify_lite.ties import DEFAULT, FIRST_STAGE, RULES, TREC_EVAL, check_rule, order, with_ties

__all__ = ["DEFAULT", "FIRST_STAGE", "RULES", "TREC_EVAL", "check_rule", "order", "with_ties"]
