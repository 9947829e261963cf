"""The swarm GitHub App face (webhooks, queue, HTTP API): built in the GitHub App issue."""
