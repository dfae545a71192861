"""Real population: validating, resolving, fusing and linking person records."""
