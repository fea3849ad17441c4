"""axis package."""
