"""Thai natural-language understanding: text in, an Understanding (intent, confidence, entities) out."""

from bot.nlu.understand import understand

__all__ = ["understand"]
