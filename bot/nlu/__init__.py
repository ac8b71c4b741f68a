"""Thai natural-language understanding: text in, an Understanding (intent, confidence, entities) out."""

from bot.nlu.pipeline import understand, warm_up

__all__ = ["understand", "warm_up"]
