"""Data files: the model price/quality/speed table (models.yml)."""
