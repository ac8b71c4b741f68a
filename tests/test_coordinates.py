"""Latitude/longitude → province, offline (bot/nlu/coordinates.py), and a shared location's Understanding."""

from __future__ import annotations

from collections.abc import Iterator

import geothai
import pytest

from bot.nlu import coordinates
from bot.nlu.coordinates import province_of, understand_location
from tests.conftest import user_id
from tests.support.fake_line import FakeLineServer
from tests.support.heldout import shown_texts
from tests.test_conversation import Chat, start_chat

# Real coordinates of provincial capitals (city halls or city centres) and big towns, from every region.
CAPITALS = [
    ("กรุงเทพมหานคร", 13.7563, 100.5018),  # Sanam Luang
    ("เชียงใหม่", 18.7883, 98.9853),
    ("เชียงราย", 19.9105, 99.8406),
    ("แม่ฮ่องสอน", 19.3020, 97.9654),
    ("น่าน", 18.7756, 100.7730),
    ("พิษณุโลก", 16.8211, 100.2659),
    ("ขอนแก่น", 16.4419, 102.8360),
    ("นครราชสีมา", 14.9799, 102.0978),
    ("อุบลราชธานี", 15.2287, 104.8564),
    ("อุดรธานี", 17.4138, 102.7870),
    ("บึงกาฬ", 18.3609, 103.6464),
    ("หนองคาย", 17.8783, 102.7420),
    ("ตราด", 12.2428, 102.5175),
    ("ภูเก็ต", 7.8804, 98.3923),
    ("สุราษฎร์ธานี", 9.1382, 99.3217),
    ("นครศรีธรรมราช", 8.4304, 99.9631),
    ("สงขลา", 7.0084, 100.4747),  # Hat Yai
    ("ยะลา", 6.5411, 101.2804),
    ("นนทบุรี", 13.8621, 100.5144),
]


@pytest.mark.parametrize(("province", "latitude", "longitude"), CAPITALS, ids=[c[0] for c in CAPITALS])
def test_provincial_capitals_are_found_and_sure(province: str, latitude: float, longitude: float) -> None:
    assert province_of(latitude, longitude) == (province, True)


def test_every_one_of_the_77_provinces_is_reachable() -> None:
    """GeoNames' admin1 names all map to geothai's provinces, and each province owns the points of its towns."""
    places = coordinates.places()
    official = {p.name_th for p in geothai.provinces()}
    assert set(places.names) == official and len(official) == 77
    reached = {
        province_of(float(lat), float(lon)).province
        for lat, lon, owner in zip(places.latitudes, places.longitudes, places.provinces, strict=True)
        if owner != coordinates.ABROAD
        for lat, lon in [(lat * 180 / 3.141592653589793, lon * 180 / 3.141592653589793)]
    }
    assert reached == official


@pytest.mark.parametrize(
    ("where", "latitude", "longitude", "nearest"),
    [
        ("the Bangkok–Nonthaburi line at Ngam Wong Wan", 13.8571, 100.5480, "กรุงเทพมหานคร"),
        ("Khao Yai, where four provinces meet", 14.4400, 101.3700, None),
        ("Vientiane, across the Mekong from Nong Khai", 17.9757, 102.6331, "หนองคาย"),
        ("Poipet, across the border from Aranyaprathet", 13.6591, 102.5625, "สระแก้ว"),
        ("the Gulf of Thailand, far from any town", 11.5000, 101.0000, None),
    ],
)
def test_near_a_border_or_far_from_towns_is_not_sure(
    where: str, latitude: float, longitude: float, nearest: str | None
) -> None:
    guess = province_of(latitude, longitude)
    assert guess.sure is False, where
    assert guess.province in {p.name_th for p in geothai.provinces()}
    if nearest is not None:
        assert guess.province == nearest


def test_the_address_line_gives_wins_over_coordinates() -> None:
    """LINE's address names the province from its map: that is taken, and sure, even at a border point."""
    understood = understand_location(13.8571, 100.5480, "ถ.งามวงศ์วาน ต.บางกระสอ อ.เมืองนนทบุรี จ.นนทบุรี 11000")
    assert understood.entities["province"] == "นนทบุรี" and understood.unsure == ()


def test_without_an_address_the_coordinates_give_the_province_and_say_when_unsure() -> None:
    sure = understand_location(18.7883, 98.9853, None)
    assert (sure.entities, sure.unsure) == ({"province": "เชียงใหม่"}, ())
    border = understand_location(13.8571, 100.5480, "ถนนงามวงศ์วาน")  # an address that names no province
    assert border.entities["province"] == "กรุงเทพมหานคร" and border.unsure == ("province",)


# --- through the webhook --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    with FakeLineServer() as fake:
        yield from start_chat(fake, tmp_path_factory.mktemp("coordinates"))


def test_a_location_without_an_address_answers_which_province_from_its_coordinates(chat: Chat) -> None:
    uid = user_id("location-coordinates")
    assert "จังหวัดไหน" in "\n".join(shown_texts(chat.say(uid, "ขอที่อยู่ พมจ. ใกล้บ้านหน่อยค่ะ")))
    pin = {"type": "location", "title": "ตำแหน่งของฉัน", "latitude": 18.7883, "longitude": 98.9853}
    reply = "\n".join(shown_texts(chat.message(uid, pin)))
    assert "จังหวัดเชียงใหม่" in reply and "จังหวัดไหน" not in reply
