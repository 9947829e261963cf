"""The swarm GitHub Action face (`swarm action`): built in the GitHub Action issue."""
