"""Buttons that dial the hotlines (knowledge/hotlines.yaml), for emergency and help replies."""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.loader import Button, Knowledge


def hotline_buttons(knowledge: Knowledge, numbers: Sequence[str]) -> tuple[Button, ...]:
    """One "โทร <number>" button per number, in the order asked; a number not in the hotline list is refused."""
    known = {hotline.number for hotline in knowledge.hotlines.hotlines}
    unknown = [n for n in numbers if n not in known]
    if unknown:
        raise ValueError(f"not a verified hotline: {unknown}")
    seen: list[str] = []
    for number in numbers:
        if number not in seen:
            seen.append(number)
    # "โทร 191 ตำรวจ": the label says whom the number reaches (LINE allows 20 characters).
    return tuple(Button(label=f"โทร {knowledge.hotlines.get(n).short}"[:20], text=f"โทร {n}", tel=n) for n in seen)
