"""The help desk service: webhook, queue, NLU, dialogue engine, sender, CLI."""
