"""The swarm command-line face."""
