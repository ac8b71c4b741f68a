"""The officers' web console and JSON API (tickets arrive with the console issue)."""
