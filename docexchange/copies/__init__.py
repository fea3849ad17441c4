"""copies package."""
