"""What-if market shaping: replay months of matching with a change in supply (issue 17)."""
