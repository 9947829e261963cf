"""GitHub: webhook signatures, event routing, `/swarm` commands, the REST client and the idempotent publisher.

The pure parts (signature, events, commands) do no I/O; the client is the one seam that
talks to GitHub.
"""
