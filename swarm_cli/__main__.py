"""`python -m swarm_cli` runs the swarm command."""

from swarm_cli.main import main

main()
