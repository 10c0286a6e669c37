"""Demo catalog: categories, cost centres and items for Acme (Polish) and Globex (English).

Idempotent: rows that exist (by code or SKU) are kept as they are; only missing ones are added.
Runs inside `tenancy.system()` as part of `seed_demo()`.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from portal.extensions import db
from portal.models import Category, CostCenter, Item
from portal.services import audit, catalog, cost_centers

CATEGORIES = {
    "acme": [
        ("IT", "Sprzęt i oprogramowanie IT"),
        ("OFFICE", "Materiały biurowe"),
        ("PROD", "Materiały produkcyjne"),
        ("MRO", "Utrzymanie ruchu"),
        ("SERV", "Usługi"),
    ],
    "globex": [
        ("IT", "IT equipment and software"),
        ("OFFICE", "Office supplies"),
        ("SERV", "Services"),
    ],
}

# (code, name, manager's email). The approver manages most of Acme's; the CFO administration.
COST_CENTERS = {
    "acme": [
        ("ADM", "Administracja", "cfo@acme.example"),
        ("IT", "Dział IT", "approver@acme.example"),
        ("PROD", "Produkcja", "approver@acme.example"),
        ("LOG", "Logistyka", "approver@acme.example"),
    ],
    "globex": [
        ("ADM", "Administration", "approver@globex.example"),
        ("SALES", "Sales", "approver@globex.example"),
        ("WH", "Warehouse", "approver@globex.example"),
    ],
}

# (sku, name, description, unit, category, VAT %, list price, preferred supplier, active)
ACME_ITEMS = [
    ("IT-LAP-14", "Laptop 14\" Dell Latitude 5450, i5, 16 GB RAM, 512 GB SSD",
     "Standardowy laptop biurowy z gwarancją 3 lata on-site.", "pcs", "IT", "23", "4899.00",
     "nordwind", True),
    ("IT-LAP-16", "Laptop 16\" Lenovo ThinkPad T16, i7, 32 GB RAM, 1 TB SSD",
     "Dla działu konstrukcyjnego (CAD).", "pcs", "IT", "23", "6799.00", None, True),
    ("IT-MON-27", "Monitor 27\" IPS QHD z regulacją wysokości", "", "pcs", "IT", "23", "1149.00",
     None, True),
    ("IT-MON-24", "Monitor 24\" Full HD", "Zastąpiony przez IT-MON-27.", "pcs", "IT", "23",
     "629.00", None, False),
    ("IT-STAC-USBC", "Stacja dokująca USB-C z zasilaczem 100 W", "", "pcs", "IT", "23", "849.00",
     None, True),
    ("IT-MYS-BT", "Mysz bezprzewodowa Logitech M705", "", "pcs", "IT", "23", "149.00", None, True),
    ("IT-KLAW-PL", "Klawiatura przewodowa, układ polski programisty", "", "pcs", "IT", "23",
     "119.00", None, True),
    ("IT-SLUCH-ANC", "Słuchawki z mikrofonem i aktywną redukcją szumów", "", "pcs", "IT", "23",
     "459.00", None, True),
    ("IT-SSD-1TB", "Dysk SSD zewnętrzny 1 TB, USB-C", "", "pcs", "IT", "23", "389.00", None,
     True),
    ("IT-LIC-M365", "Licencja Microsoft 365 Business Standard, 1 użytkownik / rok", "",
     "licence", "IT", "23", "588.00", None, True),
    ("IT-LIC-AV", "Licencja programu antywirusowego, 1 stanowisko / rok", "", "licence", "IT",
     "23", "119.00", None, True),
    ("IT-DRUK-A4", "Drukarka laserowa monochromatyczna A4 z dupleksem", "", "pcs", "IT", "23",
     "1290.00", None, True),
    ("IT-TONER-59A", "Toner HP 59A, czarny", "Do drukarek HP LaserJet Pro M404.", "pcs", "IT",
     "23", "389.00", None, True),
    ("IT-UPS-1500", "Zasilacz awaryjny UPS 1500 VA", "", "pcs", "IT", "23", "1790.00",
     "nordwind", True),
    ("BIU-PAP-A4", "Papier ksero A4 80 g/m², ryza 500 arkuszy", "Biały, klasa C.", "ream",
     "OFFICE", "23", "18.90", None, True),
    ("BIU-PAP-A3", "Papier ksero A3 80 g/m², ryza 500 arkuszy", "", "ream", "OFFICE", "23",
     "39.50", None, True),
    ("BIU-DLUG-ZEL", "Długopisy żelowe niebieskie, opakowanie 12 szt.", "", "pack", "OFFICE",
     "23", "29.90", None, True),
    ("BIU-SEGR-75", "Segregator A4, grzbiet 75 mm", "", "pcs", "OFFICE", "23", "8.49", None,
     True),
    ("BIU-KARTKI", "Karteczki samoprzylepne 76×76 mm, żółte", "", "pack", "OFFICE", "23", "6.50",
     None, True),
    ("BIU-KOP-DL", "Koperty DL samoklejące, karton 1000 szt.", "", "box", "OFFICE", "23",
     "79.00", None, True),
    ("BIU-KRZ-ERG", "Krzesło biurowe ergonomiczne z podłokietnikami",
     "Siedzisko z regulacją głębokości, podparcie lędźwiowe.", "pcs", "OFFICE", "23", "899.00",
     None, True),
    ("BIU-KRZ-KONF", "Krzesło konferencyjne tapicerowane, czarne", "Wycofane z oferty.", "pcs",
     "OFFICE", "23", "239.00", None, False),
    ("BIU-BIURKO-EL", "Biurko z elektryczną regulacją wysokości 160×80 cm", "", "pcs", "OFFICE",
     "23", "1890.00", None, True),
    ("BIU-KAWA-1KG", "Kawa ziarnista 1 kg", "", "kg", "OFFICE", "23", "79.90", None, True),
    ("BIU-MLEKO", "Mleko UHT 3,2%, 1 l", "", "l", "OFFICE", "5", "3.89", None, True),
    ("BIU-CUKIER", "Cukier biały 1 kg", "", "kg", "OFFICE", "5", "4.99", None, True),
    ("BIU-KSIAZKA-BHP", "Poradnik „BHP w zakładzie pracy” (książka)", "", "pcs", "OFFICE", "5",
     "89.00", None, True),
    ("PROD-BLA-2MM", "Blacha stalowa DC01 2 mm, arkusz 1000×2000 mm", "", "pcs", "PROD", "23",
     "289.00", "polbud", True),
    ("PROD-PRET-12", "Pręt stalowy okrągły Ø12 mm, S235", "Sprzedawany na metry bieżące.", "m",
     "PROD", "23", "9.80", "polbud", True),
    ("PROD-PROF-40", "Profil stalowy zamknięty 40×40×3 mm", "", "m", "PROD", "23", "21.40",
     "polbud", True),
    ("PROD-SRUBA-M8", "Śruba sześciokątna M8×30, ocynk, opakowanie 100 szt.", "", "pack", "PROD",
     "23", "24.60", "nordwind", True),
    ("PROD-NAKR-M8", "Nakrętka sześciokątna M8, ocynk, opakowanie 100 szt.", "", "pack", "PROD",
     "23", "9.90", "nordwind", True),
    ("PROD-FARBA-7035", "Farba proszkowa RAL 7035, półmat", "", "kg", "PROD", "23", "32.50",
     None, True),
    ("PROD-KLEJ-EP", "Klej epoksydowy dwuskładnikowy 400 ml", "", "pcs", "PROD", "23", "69.00",
     None, True),
    ("PROD-FOLIA-STR", "Folia stretch 23 µm, rolka 1,5 kg", "", "roll", "PROD", "23", "22.90",
     "polbud", True),
    ("PROD-KARTON-60", "Karton klapowy 600×400×400 mm", "", "pcs", "PROD", "23", "5.40", None,
     True),
    ("PROD-PALETA-EUR", "Paleta EUR 1200×800 mm, nowa", "", "pcs", "PROD", "23", "79.00",
     "polbud", True),
    ("PROD-DRUT-SG2", "Drut spawalniczy SG2 Ø1,0 mm, szpula 15 kg", "", "roll", "PROD", "23",
     "189.00", None, True),
    ("MRO-REK-NITR", "Rękawice nitrylowe, rozmiar L, opakowanie 100 szt.", "", "box", "MRO", "8",
     "39.00", None, True),
    ("MRO-REK-ROB", "Rękawice robocze powlekane nitrylem", "", "pair", "MRO", "23", "6.90", None,
     True),
    ("MRO-OKULARY", "Okulary ochronne bezbarwne", "", "pcs", "MRO", "23", "18.50", None, True),
    ("MRO-KASK", "Kask ochronny przemysłowy, biały", "", "pcs", "MRO", "23", "44.00", None,
     True),
    ("MRO-BUTY-S3", "Obuwie robocze S3, rozmiar 43", "", "pair", "MRO", "23", "239.00", None,
     True),
    ("MRO-APTECZKA", "Apteczka zakładowa DIN 13157", "", "pcs", "MRO", "8", "149.00", None,
     True),
    ("MRO-SMAR-LT43", "Smar łożyskowy ŁT-43, wiadro 10 kg", "", "pcs", "MRO", "23", "159.00",
     None, True),
    ("MRO-OLEJ-HLP46", "Olej hydrauliczny HLP 46, kanister 20 l", "", "pcs", "MRO", "23",
     "329.00", "polbud", True),
    ("MRO-LOZ-6204", "Łożysko kulkowe 6204-2RS", "", "pcs", "MRO", "23", "14.20", "nordwind",
     True),
    ("MRO-CZYSCIWO", "Czyściwo włókninowe, rolka 500 listków", "", "roll", "MRO", "23", "49.00",
     None, True),
    ("MRO-LED-T8", "Świetlówka LED T8 120 cm, 18 W", "", "pcs", "MRO", "23", "19.90", None,
     True),
    ("SRV-SERWIS-H", "Serwis maszyn produkcyjnych, roboczogodzina", "", "h", "SERV", "23",
     "180.00", None, True),
    ("SRV-TRANSPORT", "Transport krajowy, jedna paleta", "", "service", "SERV", "23", "210.00",
     "polbud", True),
    ("SRV-SZKOL-BHP", "Szkolenie okresowe BHP, jedna osoba", "", "service", "SERV", "23",
     "120.00", None, True),
    ("SRV-SPRZATANIE", "Sprzątanie biura, abonament miesięczny", "", "month", "SERV", "23",
     "2400.00", None, True),
]

# Globex is Bulgarian, but the catalog offers the Polish VAT rates only (see the report).
GLOBEX_ITEMS = [
    ("GX-LAP-14", "Laptop 14\", Core i5, 16 GB RAM, 512 GB SSD", "", "pcs", "IT", "23",
     "1090.00", "nordwind", True),
    ("GX-MON-27", "Monitor 27\" QHD, height adjustable", "", "pcs", "IT", "23", "279.00", None,
     True),
    ("GX-DOCK-USBC", "USB-C docking station", "", "pcs", "IT", "23", "189.00", None, True),
    ("GX-HEADSET", "Headset with active noise cancelling", "", "pcs", "IT", "23", "99.00", None,
     True),
    ("GX-LIC-OFFICE", "Office suite licence, 1 user / year", "", "licence", "IT", "23", "149.00",
     None, True),
    ("GX-PAPER-A4", "Copy paper A4 80 g/m², ream of 500 sheets", "", "ream", "OFFICE", "23",
     "4.50", None, True),
    ("GX-PENS-BLUE", "Ballpoint pens, blue, pack of 50", "", "pack", "OFFICE", "23", "12.90",
     None, True),
    ("GX-BINDER-75", "Lever arch file A4, 75 mm", "", "pcs", "OFFICE", "23", "2.10", None, True),
    ("GX-CHAIR-ERGO", "Ergonomic office chair", "", "pcs", "OFFICE", "23", "219.00", None, True),
    ("GX-COFFEE-1KG", "Coffee beans, 1 kg", "", "kg", "OFFICE", "23", "18.90", None, True),
    ("GX-SRV-CLEAN", "Office cleaning, monthly", "", "month", "SERV", "23", "650.00", None, True),
    ("GX-SRV-COURIER", "Courier delivery, domestic parcel", "", "service", "SERV", "23", "7.50",
     "nordwind", True),
]

ITEMS = {"acme": ACME_ITEMS, "globex": GLOBEX_ITEMS}


def _categories(org, key, admin) -> dict[str, Category]:
    found = {
        c.code: c
        for c in db.session.scalars(select(Category).where(Category.organization_id == org.id))
    }
    for code, name in CATEGORIES[key]:
        if code not in found:
            found[code] = catalog.create_category(org, code=code, name=name, actor=admin)
    return found


def _cost_centers(org, key, admin, users) -> dict[str, CostCenter]:
    found = {
        c.code: c
        for c in db.session.scalars(
            select(CostCenter).where(CostCenter.organization_id == org.id)
        )
    }
    for code, name, manager in COST_CENTERS[key]:
        if code not in found:
            found[code] = cost_centers.create_cost_center(
                org, code=code, name=name, manager_id=users[manager].id, actor=admin
            )
    return found


def _items(org, admin, rows, categories, orgs) -> dict[str, Item]:
    found = {
        i.sku: i for i in db.session.scalars(select(Item).where(Item.organization_id == org.id))
    }
    added = []
    for sku, name, description, unit, category, vat, price, supplier, active in rows:
        if sku in found:
            continue
        item = Item(
            organization_id=org.id, sku=sku, name=name, description=description, unit=unit,
            category_id=categories[category].id, default_vat_rate=Decimal(vat),
            list_price=Decimal(price), currency=org.currency,
            preferred_supplier_id=orgs[supplier].id if supplier else None, is_active=active,
        )
        found[sku] = item
        added.append(item)
    # One flush for all items (batched INSERTs): the seed runs before every test.
    db.session.add_all(added)
    db.session.flush()
    for item in added:
        audit.record(actor=admin, action="item.created", obj=item,
                     summary={"sku": item.sku, "name": item.name, "source": "demo"})
    return found


def seed_catalog(orgs: dict, users: dict) -> dict:
    """Add the demo catalog for Acme and Globex; returns, per organisation key, its
    `categories`, `cost_centers` (by code) and `items` (by SKU)."""
    result = {}
    for key in ("acme", "globex"):
        org = orgs[key]
        admin = users[f"admin@{key}.example"]
        categories = _categories(org, key, admin)
        result[key] = {
            "categories": categories,
            "cost_centers": _cost_centers(org, key, admin, users),
            "items": _items(org, admin, ITEMS[key], categories, orgs),
        }
    db.session.flush()
    return result
