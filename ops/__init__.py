"""Running the system: the one-machine runner, the demo county, `flask` commands."""
