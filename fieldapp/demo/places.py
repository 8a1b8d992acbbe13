"""Real-looking Seattle-area street addresses with coordinates, for synthetic patients.

The streets and neighbourhoods are real so routes look right on a map; the house
numbers are made up, and no address here belongs to a patient.
"""

from __future__ import annotations

from typing import NamedTuple


class Street(NamedTuple):
    """A street segment: name, city, ZIP, and a point on it."""

    street: str
    city: str
    postal_code: str
    lat: float
    lon: float


STREETS: tuple[Street, ...] = (
    Street("NW Market St", "Seattle", "98107", 47.6687, -122.3841),
    Street("N 45th St", "Seattle", "98103", 47.6613, -122.3420),
    Street("Greenwood Ave N", "Seattle", "98103", 47.6905, -122.3553),
    Street("NE 65th St", "Seattle", "98115", 47.6759, -122.3045),
    Street("35th Ave NE", "Seattle", "98115", 47.6836, -122.2905),
    Street("Rainier Ave S", "Seattle", "98144", 47.5771, -122.2981),
    Street("Beacon Ave S", "Seattle", "98108", 47.5529, -122.3084),
    Street("California Ave SW", "Seattle", "98116", 47.5615, -122.3868),
    Street("SW Alaska St", "Seattle", "98126", 47.5610, -122.3760),
    Street("15th Ave E", "Seattle", "98112", 47.6275, -122.3127),
    Street("E Madison St", "Seattle", "98122", 47.6167, -122.3030),
    Street("Queen Anne Ave N", "Seattle", "98109", 47.6361, -122.3569),
    Street("Dexter Ave N", "Seattle", "98109", 47.6357, -122.3432),
    Street("Aurora Ave N", "Seattle", "98133", 47.7180, -122.3445),
    Street("Lake City Way NE", "Seattle", "98125", 47.7098, -122.3003),
    Street("Martin Luther King Jr Way S", "Seattle", "98118", 47.5405, -122.2793),
    Street("Delridge Way SW", "Seattle", "98106", 47.5437, -122.3622),
    Street("Bellevue Way NE", "Bellevue", "98004", 47.6180, -122.2010),
    Street("148th Ave NE", "Bellevue", "98007", 47.6222, -122.1424),
    Street("Factoria Blvd SE", "Bellevue", "98006", 47.5757, -122.1710),
    Street("Market St", "Kirkland", "98033", 47.6823, -122.2087),
    Street("NE 85th St", "Kirkland", "98033", 47.6798, -122.1960),
    Street("Redmond Way", "Redmond", "98052", 47.6742, -122.1197),
    Street("NE 24th St", "Redmond", "98052", 47.6313, -122.1183),
    Street("S 3rd St", "Renton", "98057", 47.4808, -122.2100),
    Street("Benson Rd S", "Renton", "98055", 47.4610, -122.2000),
    Street("NE 175th St", "Shoreline", "98155", 47.7557, -122.3110),
    Street("Main St", "Bothell", "98011", 47.7601, -122.2054),
    Street("Front St N", "Issaquah", "98027", 47.5325, -122.0363),
    Street("Pacific Hwy S", "SeaTac", "98188", 47.4436, -122.2964),
    Street("Des Moines Memorial Dr S", "Burien", "98148", 47.4683, -122.3326),
    Street("196th St SW", "Lynnwood", "98036", 47.8210, -122.2960),
    Street("Meeker St", "Kent", "98032", 47.3817, -122.2430),
    Street("Island Crest Way", "Mercer Island", "98040", 47.5621, -122.2220),
)

CLINIC = Street("Boren Ave", "Seattle", "98104", 47.6062, -122.3250)
"""The clinic: every clinician's day starts and ends here unless they start from home."""
