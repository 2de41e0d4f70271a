"""Settings: defaults, environment overrides, time limits and the demo county."""
