"""The use cases: filing, actions, ratings, sweeps; each runs in one unit of work."""
