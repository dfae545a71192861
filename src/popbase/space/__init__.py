"""Real space: division boundaries, grids, buildings and rooms."""
