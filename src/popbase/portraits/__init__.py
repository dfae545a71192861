"""The "1+9+X" portraits: tags computed from fused attributes and source events by rules."""
