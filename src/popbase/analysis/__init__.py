"""Analyses on the base: roll-ups and planning indicators."""
