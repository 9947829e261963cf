"""Alembic migrations of swarm's database (one revision per schema change)."""
