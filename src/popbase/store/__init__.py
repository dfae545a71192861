"""The graph store: a small interface and the LadybugDB backend."""
