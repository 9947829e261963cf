"""Issue analysis (`swarm issue`): intake of an issue's text, and fault localization over a repository."""
