"""The petition domain and its web faces."""
