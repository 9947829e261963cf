"""Migration revisions, applied in order by `swarm_core.store.migrate`."""
