"""The measures: kept facts, settled months, set-based SQL."""
