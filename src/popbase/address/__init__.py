"""Addresses: normalise, parse into components, match to buildings and rooms."""
