"""Deterministic sample exports for 2020-Q1 and 2020-Q2 that reproduce the reference report.

One in-memory "world" of Trà Vinh's agencies and their records is built from a seed; each quarter's
exports are snapshots of it taken a few days after the quarter ends, written with the quirks the spec
allows. The expected indicators and the planted findings are computed from the in-memory records (never
by reading the files back) and written to `<out>/sample-truth/<quarter>.json`.

Planted defects (their exact file, sheet and row are in the truth file):
- dvc: the iGate summary (`dvc/Bao cao tong hop.xlsx`) has a hand-typed `Tổng cộng` row whose
  level-4 total reads 11.375 (the dossiers give 11.357): `summary_mismatch` at that cell.
- dvc: one dossier in the June file names a procedure code missing from the catalogue: `unknown_procedure`.
- mail: one mailbox names an agency that is in no registry: `unmatched_agency`.
- ioffice: documents split over two files that repeat rows at the boundary: `duplicates_dropped`; and rows
  dated outside the quarter: `outside_quarter`. dvc: monthly dossier files overlapping at month
  boundaries: `duplicates_dropped`. portal: a few posts of the previous quarter: `outside_quarter`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.orchestration.partitions import quarter_window
from pipeline.sample.variants import ExportFile, Variant
from pipeline.sample.writers import Sheet, layout, write_file

SEED = 2020
QUARTERS = ("2020-Q1", "2020-Q2")
EXPORT_DATE = {"2020-Q1": dt.date(2020, 4, 3), "2020-Q2": dt.date(2020, 7, 3)}
Q2 = "2020-Q2"

# Figures the Q2 2020 report publishes (shared/spec/indicators.md); the world is built to give them.
Q2_TARGETS = {
    "users": 6758, "agencies": {"Tỉnh": 96, "Huyện": 308, "Xã": 106},
    "documents_electronic": 74019, "documents_signed": 54665, "documents_paper": 6481,
    "ca_issued": 145, "ca_active": 1626, "ca_sim": 25, "ca_org": 460, "ca_revoked": 9, "ca_expired": 12,
    "mail_created": 47, "mailboxes": 7079, "endpoints": 14, "meetings": 6,
    "component_sites": 40,
    "posts": {"leadership_news": 191, "leader_schedules": 11, "citizen_reception": 3, "direction_documents": 82,
              "legal_documents": 30, "draft_consultations": 16, "tthc_decisions": 6},
    "translations": {"en": 19, "km": 70},
    "services": 1949, "services_l3": 605, "services_l4": 539,
    "received": 62566, "resolved": 57160, "l3_in_person": 28752, "l3_online": 903,
    "l4_in_person": 8923, "l4_online": 2434,
}
SUMMARY_TYPO_LEVEL4 = 11375

DISTRICTS = [
    ("thành phố", "Trà Vinh", "TP."), ("thị xã", "Duyên Hải", "TX."), ("huyện", "Càng Long", "H."),
    ("huyện", "Cầu Kè", "H."), ("huyện", "Tiểu Cần", "H."), ("huyện", "Châu Thành", "H."),
    ("huyện", "Cầu Ngang", "H."), ("huyện", "Trà Cú", "H."), ("huyện", "Duyên Hải", "H."),
]
COMMUNES_PER_DISTRICT = [10, 7, 14, 11, 11, 14, 15, 17, 7]  # 106
PLACE_NAMES = (
    "An Trường An Trường A Bình Phú Đại Phúc Đại Phước Đức Mỹ Huyền Hội Mỹ Cẩm Nhị Long Nhị Long Phú "
    "Phương Thạnh Tân An Tân Bình Tân Ngãi Hòa Ân Châu Điền Phong Phú Phong Thạnh Tam Ngãi Thông Hòa "
    "Thạnh Phú Hiếu Tử Hiếu Trung Long Thới Ngãi Hùng Tân Hòa Tân Hùng Hưng Mỹ Lương Hòa Lương Hòa A "
    "Song Lộc Nguyệt Hóa Phước Hảo Đa Lộc Mỹ Chánh Thanh Mỹ Hòa Lợi Hòa Minh Long Hòa Kim Hòa "
    "Mỹ Long Bắc Mỹ Long Nam Hiệp Hòa Thuận Hòa Vinh Kim Kim Hòa Trường Thọ Long Sơn Nhị Trường "
    "Thạnh Hòa Sơn Hiệp Mỹ Đông Hiệp Mỹ Tây Long Khánh Long Vĩnh Đông Hải Ngũ Lạc Long Toàn Dân Thành "
    "Trường Long Hòa Hàm Giang Hàm Tân Kim Sơn Lưu Nghiệp Anh Ngãi Xuyên Phước Hưng Tân Hiệp "
    "Tập Sơn Thanh Sơn An Quảng Hữu Lưu Nghiệp Anh A Đôn Châu Đôn Xuân Định An Long Hiệp Ngọc Biên "
    "Hòa Tân Tân Sơn Hòa Thuận Đa Phước Hưng Nhượng Long Đức Hòa Lợi An Phú Tân Mỹ Văn Long Thuận Lợi"
).split()
DEPARTMENTS = [
    ("Sở Thông tin và Truyền thông", "STTTT", "Sở TT&TT"), ("Sở Nội vụ", "SNV", None), ("Sở Tài chính", "STC", None),
    ("Sở Kế hoạch và Đầu tư", "SKHĐT", "Sở KH&ĐT"), ("Sở Tư pháp", "STP", None), ("Sở Công Thương", "SCT", None),
    ("Sở Nông nghiệp và Phát triển nông thôn", "SNN", "Sở NN&PTNT"), ("Sở Tài nguyên và Môi trường", "STNMT", "Sở TN&MT"),
    ("Sở Xây dựng", "SXD", None), ("Sở Giao thông vận tải", "SGTVT", "Sở GTVT"), ("Sở Giáo dục và Đào tạo", "SGDĐT", "Sở GD&ĐT"),
    ("Sở Y tế", "SYT", None), ("Sở Lao động - Thương binh và Xã hội", "SLĐTBXH", "Sở LĐ-TB&XH"),
    ("Sở Văn hóa, Thể thao và Du lịch", "SVHTTDL", "Sở VHTT&DL"), ("Sở Khoa học và Công nghệ", "SKHCN", "Sở KH&CN"),
    ("Ban Dân tộc tỉnh", "BDT", None), ("Ban Quản lý Khu kinh tế tỉnh", "BQLKKT", None), ("Thanh tra tỉnh", "TTr", None),
    ("Văn phòng Ủy ban nhân dân tỉnh", "VPUBND", "VP UBND tỉnh"), ("Văn phòng Hội đồng nhân dân tỉnh", "VPHĐND", "VP HĐND tỉnh"),
    ("Văn phòng Tỉnh ủy", "VPTU", None), ("Ban Quản lý dự án đầu tư xây dựng tỉnh", "BQLDA", None),
]
UNIT_KINDS = ["Văn phòng", "Thanh tra", "Phòng Kế hoạch - Tài chính", "Trung tâm", "Chi cục", "Phòng Tổ chức cán bộ"]
DISTRICT_OFFICES = [
    "Văn phòng HĐND và UBND", "Phòng Nội vụ", "Phòng Tài chính - Kế hoạch", "Phòng Tư pháp",
    "Phòng Tài nguyên và Môi trường", "Phòng Lao động - Thương binh và Xã hội", "Phòng Văn hóa và Thông tin",
    "Phòng Giáo dục và Đào tạo", "Phòng Y tế", "Phòng Kinh tế và Hạ tầng", "Phòng Nông nghiệp và Phát triển nông thôn",
    "Thanh tra", "Phòng Dân tộc", "Trung tâm Văn hóa - Thể thao", "Ban Quản lý dự án", "Trung tâm Y tế",
]
SURNAMES = "Nguyễn Trần Lê Phạm Huỳnh Võ Phan Trương Bùi Đặng Đỗ Ngô Hồ Dương Thạch Sơn Kim Lâm Châu Lý".split()
MIDDLE = "Văn Thị Hoàng Minh Thanh Ngọc Quốc Hữu Kim Thị Mỹ Đức".split()
GIVEN = "An Bình Chi Dũng Hòa Hạnh Hùng Khánh Linh Long Mai Nam Nga Phúc Quân Sang Tâm Thảo Thủy Trang Tuấn Vy Xuân Yến Thúy Khoa".split()
_TONE = "\u0300\u0301\u0303\u0309\u0323"


def old_tone_style(text: str) -> str:
    """`hoà` -> `hòa`, `Uỷ` -> `Ủy`: the other tone-mark placement, as older keyboards type it."""
    moved = re.sub(rf"([oOuU])([aAeEyY])([{_TONE}])(?![^\W\d_]|[\u0300-\u036f])", r"\1\3\2",
                   unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFC", moved)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@dataclass
class Agency:
    code: str
    name: str
    level: str
    parent: str | None = None
    aliases: list[str] = field(default_factory=list)
    short: str = ""
    variants: list[str] = field(default_factory=list)  # how other systems write the name


@dataclass
class Planted:
    check_id: str
    source: str
    file: str
    sheet: str
    row: int | None
    cell: str | None = None


class World:
    """Every record of the sample province, with its dates; exports are snapshots of it."""

    def __init__(self, seed: int = SEED, scale: int = 1):
        self.rng = random.Random(seed)
        self.agencies: list[Agency] = []
        self._build_registry()
        # `scale` copies of the province's registry (benchmarks): same structure, names and codes suffixed
        self.copies = [(self.province, self.districts, self.district_units, self.communes)]
        for j in range(1, scale):
            self.copies.append(tuple([_clone(a, j) for a in group] for group in self.copies[0]))
        self.agencies = [a for copy in self.copies for group in copy for a in group]

    # --- registry ---------------------------------------------------------------------------------
    def _build_registry(self) -> None:
        rng = self.rng
        province = []
        for i, (name, short, alias) in enumerate(DEPARTMENTS, start=1):
            agency = Agency(f"000.00.{i:02d}.H60", name, "Tỉnh", short=short, aliases=[alias] if alias else [])
            province.append(agency)
        # units of the departments, so that the province level has 100 agencies
        n = 0
        while len(province) < 100:
            dept = DEPARTMENTS[n % 15]
            kind = UNIT_KINDS[(n // 15) % len(UNIT_KINDS)]
            index = len(province)
            province.append(Agency(f"000.{n // 15 + 1:02d}.{n % 15 + 1:02d}.H60", f"{kind} {dept[0]}", "Tỉnh",
                                   parent=f"000.00.{n % 15 + 1:02d}.H60", short=f"{dept[1]}{index}"))
            n += 1
        places = iter(dict.fromkeys(PLACE_NAMES_JOINED()))
        districts, district_units, communes = [], [], []
        for d, ((kind, place, abbr), n_communes) in enumerate(zip(DISTRICTS, COMMUNES_PER_DISTRICT), start=1):
            district = Agency(f"000.00.{50 + d}.H60", f"Ủy ban nhân dân {kind} {place}", "Huyện",
                              short=f"UBND{d}", aliases=[f"UBND {kind} {place}"])
            district.variants = [f"UBND {abbr} {place}", f"Ủy ban nhân dân {abbr}{place}", f"{abbr}{place}",
                                 f"{kind.capitalize()} {place}"]
            districts.append(district)
            for j, office in enumerate(DISTRICT_OFFICES):
                district_units.append(Agency(f"000.{j + 1:02d}.{50 + d}.H60", f"{office} {kind} {place}", "Huyện",
                                             parent=district.code, short=f"H{d}P{j}"))
            for k in range(n_communes):
                commune_kind = "Phường" if (d <= 2 and k < 4) else ("Thị trấn" if k == 4 else "Xã")
                name = next(places)
                commune = Agency(f"{k + 1:03d}.{d:02d}.{50 + d}.H60", f"Ủy ban nhân dân {commune_kind.lower()} {name}",
                                 "Xã", parent=district.code, short=f"X{d}{k}")
                commune.variants = [f"UBND {commune_kind.lower()} {name}", f"{commune_kind} {name}"]
                if commune_kind == "Phường":
                    commune.variants.append(f"P.{name}")
                elif commune_kind == "Thị trấn":
                    commune.variants.append(f"UBND TT. {name}")
                communes.append(commune)
        # schools under districts so the district level has 315 agencies (308 use iOffice)
        s = 0
        while len(districts) + len(district_units) < 315:
            district = districts[s % 9]
            kind, place, _ = DISTRICTS[s % 9]
            district_units.append(Agency(f"000.{30 + s // 9:02d}.{51 + s % 9}.H60",
                                         f"Trường Trung học cơ sở số {s // 9 + 1} {kind} {place}", "Huyện",
                                         parent=district.code, short=f"THCS{s}"))
            s += 1
        for agency in province + district_units:
            agency.variants = [agency.name] + agency.aliases
        self.province, self.districts, self.district_units, self.communes = province, districts, district_units, communes
        self.agencies = province + districts + district_units + communes
        rng.shuffle(self.district_units)

    def written_name(self, agency: Agency) -> str:
        """How an export writes an agency: official, alias, prefixed, abbreviated, NFD or old tones."""
        r = self.rng.random()
        name = self.rng.choice(agency.variants) if agency.variants and r < 0.5 else agency.name
        if r > 0.93:
            name = nfd(name)
        elif r > 0.86:
            name = old_tone_style(name)
        elif r > 0.83:
            name = name.upper() if self.rng.random() < 0.5 else "  " + name.replace(" ", "\u00a0", 1)
        return name

    def person(self) -> str:
        return f"{self.rng.choice(SURNAMES)} {self.rng.choice(MIDDLE)} {self.rng.choice(GIVEN)}"


def _clone(agency: Agency, copy: int) -> Agency:
    suffix = f" khu vực {copy + 1}"
    return Agency(f"{agency.code}.{copy + 1}", agency.name + suffix, agency.level,
                  parent=f"{agency.parent}.{copy + 1}" if agency.parent else None,
                  aliases=[a + suffix for a in agency.aliases], short=f"{agency.short}K{copy + 1}",
                  variants=[v + suffix for v in agency.variants])


def PLACE_NAMES_JOINED() -> list[str]:
    """Two-word place names from the word list (Vietnamese place names are mostly two syllables)."""
    words = PLACE_NAMES
    names = []
    for i in range(0, len(words) - 1, 2):
        names.append(f"{words[i]} {words[i + 1]}")
    for i in range(1, len(words) - 1, 2):
        names.append(f"{words[i]} {words[i + 1]}")
    return names


def _date_between(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def _split(rng: random.Random, total: int, parts: int, minimum: int = 1) -> list[int]:
    """`total` split into `parts` positive counts, uneven like real agencies."""
    weights = [rng.paretovariate(1.6) for _ in range(parts)]
    counts = [minimum + int((total - minimum * parts) * w / sum(weights)) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % parts] += 1
    return counts


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _excel_serial(day: dt.date) -> int:
    return (day - dt.date(1899, 12, 30)).days


@dataclass
class Quarter:
    """One quarter's exports: rows per table (typed values), and how to write them."""

    key: str
    truth: dict = field(default_factory=dict)
    planted: list[Planted] = field(default_factory=list)


class SampleBuilder:
    """Builds both quarters from one world, writes the files, returns the ground truth."""

    def __init__(self, out: Path, seed: int = SEED, scale: int = 1, variant: Variant | None = None, only: str | None = None):
        self.out = out
        self.scale = scale
        self.variant = variant
        self.only = only  # a source folder: the variant applies to its files alone
        self.t = _scaled(Q2_TARGETS, scale)
        self.world = World(seed, scale)
        self.rng = self.world.rng
        self.dvc_agencies, self.ioffice_agencies, self.no_ioffice = [], [], []
        for province, districts, district_units, communes in self.world.copies:
            self.dvc_agencies += province[:18] + districts + communes
            self.ioffice_agencies += province[:96] + (districts + district_units)[:308] + communes
            self.no_ioffice += province[96:] + (districts + district_units)[308:]
        self.iso_agencies = list(self.dvc_agencies)
        self._accounts()
        self._certificates()
        self._mailboxes()
        self._procedures()

    def _write(self, fmt: str, path: Path, sheets: Sheet | list[Sheet]):
        """Write a file in its plain form, or as the variant being generated says an agency's file may look.
        Returns each data row's Excel row in the plain form (under a variant, planted findings keep those)."""
        listed = [sheets] if isinstance(sheets, Sheet) else sheets
        plain = self.variant is None or (self.only is not None and path.parent.name != self.only)
        files = [ExportFile(path.name, fmt, listed)] if plain else self.variant(ExportFile(path.name, fmt, listed))
        for export in files:
            write_file(path.parent / export.name, export.fmt, export.sheets)
        positions = {s.name: [] if s.free_text is not None else layout(s).data_rows for s in listed}
        return positions[sheets.name] if isinstance(sheets, Sheet) else positions

    # --- stocks shared by both quarters ------------------------------------------------------------
    def _accounts(self) -> None:
        rng, t = self.rng, self.t
        self.accounts = []
        counts = _split(rng, t["users"], len(self.ioffice_agencies))
        n = 0
        for agency, count in zip(self.ioffice_agencies, counts):
            for _ in range(count):
                n += 1
                created = (_date_between(rng, dt.date(2020, 4, 1), dt.date(2020, 6, 30)) if rng.random() < 0.03
                           else _date_between(rng, dt.date(2016, 1, 1), dt.date(2020, 3, 31)))
                self.accounts.append((f"tk{n:05d}", agency, "active", created))
        for i in range(260 * self.scale):  # locked accounts, including every agency without an active one
            agency = self.no_ioffice[i] if i < len(self.no_ioffice) else rng.choice(self.ioffice_agencies)
            n += 1
            self.accounts.append((f"tk{n:05d}", agency, "locked", _date_between(rng, dt.date(2015, 1, 1), dt.date(2020, 5, 31))))
        for _ in range(31 * self.scale):  # created after the quarter ended, before the export
            n += 1
            self.accounts.append((f"tk{n:05d}", rng.choice(self.ioffice_agencies), "active",
                                  _date_between(rng, dt.date(2020, 7, 1), dt.date(2020, 7, 2))))

    def _certificates(self) -> None:
        rng, t = self.rng, self.t
        q2_first, q2_last = quarter_window(Q2)
        certs = []  # (issued, expires, revoked)
        for _ in range(t["ca_issued"]):
            issued = _date_between(rng, q2_first, q2_last)
            certs.append((issued, _add_years(issued, 3), None))
        for i in range(t["ca_active"] - t["ca_issued"]):
            issued = _date_between(rng, dt.date(2017, 7, 1), dt.date(2020, 3, 31))
            expires = _add_years(issued, (3 if issued.year >= 2018 else 5))
            revoked = dt.date(2020, 7, 2) if i == 0 else None  # revoked after quarter end: still active
            certs.append((issued, expires, revoked))
        for _ in range(t["ca_revoked"]):
            issued = _date_between(rng, dt.date(2018, 1, 1), dt.date(2020, 3, 31))
            certs.append((issued, _add_years(issued, 3), _date_between(rng, q2_first, q2_last)))
        for i in range(t["ca_expired"]):
            expires = q2_last if i == 0 else _date_between(rng, q2_first, q2_last)
            certs.append((_add_years(expires, -3), expires, None))
        for _ in range(310 * self.scale):  # expired before the quarter
            issued = _date_between(rng, dt.date(2014, 1, 1), dt.date(2017, 3, 31))
            certs.append((issued, _add_years(issued, 3), None))
        for _ in range(70 * self.scale):  # revoked before the quarter
            issued = _date_between(rng, dt.date(2016, 1, 1), dt.date(2019, 12, 31))
            certs.append((issued, _add_years(issued, 3),
                          _date_between(rng, issued + dt.timedelta(days=30), dt.date(2020, 3, 31))))
        q1_last = quarter_window("2020-Q1")[1]
        certs.append((dt.date(2017, 3, 20), dt.date(2020, 3, 20), dt.date(2020, 3, 20)))  # revoked on expiry day
        certs.append((dt.date(2017, 3, 31), q1_last, None))  # expires on the last day of Q1
        active_q2 = [i for i, (iss, exp, rev) in enumerate(certs) if iss <= q2_last < exp and (rev is None or rev > q2_last)]
        devices = ["sim_pki"] * t["ca_sim"] + ["usb_token"] * (len(active_q2) - t["ca_sim"])
        types = ["organization"] * t["ca_org"] + ["individual"] * (len(active_q2) - t["ca_org"])
        rng.shuffle(devices)
        rng.shuffle(types)
        attrs = {i: (d, ty) for i, d, ty in zip(active_q2, devices, types)}
        self.certificates = []
        for i, (issued, expires, revoked) in enumerate(certs):
            device, kind = attrs.get(i) or (rng.choice(["usb_token"] * 9 + ["sim_pki"]), rng.choice(["organization", "individual"]))
            agency = rng.choice(self.ioffice_agencies)
            subscriber = agency.name if kind == "organization" else self.world.person()
            self.certificates.append({
                "serial": f"{rng.getrandbits(64):016X}", "subscriber": subscriber, "type": kind, "agency": agency,
                "device": device, "issued": issued, "expires": expires, "revoked": revoked,
            })
        rng.shuffle(self.certificates)

    def _mailboxes(self) -> None:
        rng, t = self.rng, self.t
        self.mailboxes = []
        q2_first, q2_last = quarter_window(Q2)
        for i in range(t["mailboxes"]):
            created = (_date_between(rng, q2_first, q2_last) if i < t["mail_created"]
                       else _date_between(rng, dt.date(2014, 6, 1), dt.date(2020, 3, 31)))
            self.mailboxes.append({"address": f"hopthu{i:05d}@travinh.gov.vn", "agency": rng.choice(self.ioffice_agencies),
                                   "created": created, "status": "Hoạt động" if rng.random() < 0.95 else "Khóa"})
        for i in range(12 * self.scale):
            self.mailboxes.append({"address": f"moi{i:03d}@travinh.gov.vn", "agency": rng.choice(self.ioffice_agencies),
                                   "created": dt.date(2020, 7, rng.randint(1, 2)), "status": "Hoạt động"})
        self.unmatched_mailbox = self.mailboxes[0]["address"]  # created in Q2: only the Q2 export lists it
        self.unmatched_agency_name = "Trung tâm Dữ liệu vùng Đồng bằng sông Cửu Long"
        rng.shuffle(self.mailboxes)

    def _procedures(self) -> None:
        rng, t = self.rng, self.t
        n = t["services"]
        levels = [4] * t["services_l4"] + [3] * t["services_l3"] + [2] * (n - t["services_l4"] - t["services_l3"])
        rng.shuffle(levels)
        extra_owners = self.dvc_agencies[:18] * 6 + self.world.districts
        owners = list(self.dvc_agencies) + [rng.choice(extra_owners) for _ in range(n - len(self.dvc_agencies))]
        codes = rng.sample(range(1000000, 1000000 + 12000 * self.scale), n)
        self.procedures = []
        for i, (level, agency, code) in enumerate(zip(levels, owners, codes)):
            text_code = f"{code // 1000000}.{code % 1000000:06d}" if code < 2000000 else str(code)
            self.procedures.append({"code": text_code, "name": f"Thủ tục {FIELDS[i % len(FIELDS)].lower()} số {i + 1}",
                                    "field": FIELDS[i % len(FIELDS)], "agency": agency, "level": level,
                                    "added_q2": False})
        # procedures published in Q2 (level 4), absent from the Q1 catalogue
        q2_new = [p for p in self.procedures if p["level"] == 4 and p["agency"] in self.dvc_agencies[:18]][:19 * self.scale]
        for p in q2_new:
            p["added_q2"] = True
        self.unknown_code = "1.099999"

    # --- per-quarter flows -------------------------------------------------------------------------
    def build(self) -> dict:
        truths = {}
        started = time.perf_counter()
        for quarter in QUARTERS:
            q = Quarter(quarter)
            folder = self.out / quarter
            self._write_registry(folder, q)
            self._write_ioffice(folder, q)
            self._write_certificates(folder, q)
            self._write_mail(folder, q)
            self._write_videoconf(folder, q)
            self._write_portal(folder, q)
            self._write_dvc(folder, q)
            self._write_iso(folder, q)
            truths[quarter] = {"indicators": q.truth, "planted": [p.__dict__ for p in q.planted]}
        truth_dir = self.out / "sample-truth"
        truth_dir.mkdir(parents=True, exist_ok=True)
        for quarter, truth in truths.items():
            (truth_dir / f"{quarter}.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        truths["seconds"] = round(time.perf_counter() - started, 1)
        return truths

    def _title(self, quarter: str, title: str, system: str) -> list[str]:
        first, last = quarter_window(quarter)
        return [system, "", title.upper(), f"Từ ngày {first:%d/%m/%Y} đến ngày {last:%d/%m/%Y}", ""]

    def _write_registry(self, folder: Path, q: Quarter) -> None:
        rows = [[a.code, a.name, self.rng.choice([a.level, f"Cấp {a.level.lower()}"]), a.parent or "", "; ".join(a.aliases)]
                for a in self.world.agencies]
        self._write("xlsx", folder / "agencies" / "Danh muc co quan don vi.xlsx", [Sheet(
            "Danh mục", ["Mã đơn vị", "Tên đơn vị", "Cấp", "Mã đơn vị cấp trên", "Tên khác"], rows,
            title=["UBND TỈNH TRÀ VINH", "DANH MỤC CƠ QUAN, ĐƠN VỊ", ""])])

    def _write_ioffice(self, folder: Path, q: Quarter) -> None:
        rng, w = self.rng, self.world
        first, last = quarter_window(q.key)
        export = EXPORT_DATE[q.key]
        accounts = [a for a in self.accounts if a[3] <= export]
        active = [a for a in accounts if a[2] == "active" and a[3] <= last]
        q.truth["ioffice.users"] = len(active)
        with_accounts = {a[1].code for a in active}
        for level, suffix in (("Tỉnh", "province"), ("Huyện", "district"), ("Xã", "commune")):
            q.truth[f"ioffice.agencies.{suffix}"] = len({a.code for a in w.agencies if a.level == level and a.code in with_accounts})
        q.truth["ioffice.agencies"] = len(with_accounts)
        rows = []
        for username, agency, status, created in accounts:
            label = {"active": rng.choice(["Hoạt động", "Đang hoạt động"]), "locked": rng.choice(["Khóa", "Đã khóa"])}[status]
            rows.append([f"0{rng.randint(900000000, 999999999)}", w.written_name(agency),
                         username.upper() if rng.random() < 0.02 else username,
                         w.person(), label, _excel_serial(created)])
        self._write("xlsx", folder / "ioffice" / f"Export_{export:%Y%m%d}_0830.xlsx", [
            Sheet("Hướng dẫn", [], [], free_text=["Hướng dẫn sử dụng biểu mẫu", "Cột Ngày tạo: ngày tạo tài khoản",
                                                   "Dữ liệu xuất từ hệ thống iOffice"]),
            Sheet("Tài khoản", ["Số điện thoại", "Đơn vị", "Tên đăng nhập", "Họ và tên", "Trạng thái", "Ngày tạo"], rows,
                  title=["HỆ THỐNG QUẢN LÝ VĂN BẢN VÀ ĐIỀU HÀNH", "DANH SÁCH TÀI KHOẢN NGƯỜI DÙNG", ""]),
        ])
        # documents of the quarter: electronic (with or without paper), signed, paper only
        t = self.t
        if q.key == Q2:
            n_electronic, n_signed, n_paper = t["documents_electronic"], t["documents_signed"], t["documents_paper"]
        else:
            n_electronic = rng.randint(66000, 70000) * self.scale
            n_signed, n_paper = int(n_electronic * rng.uniform(0.62, 0.68)), rng.randint(7000, 8000) * self.scale
        kinds = ["signed"] * n_signed + ["unsigned"] * (n_electronic - n_signed) + ["paper"] * n_paper
        rng.shuffle(kinds)
        weights = [rng.paretovariate(1.3) for _ in self.ioffice_agencies]
        issuers = rng.choices(self.ioffice_agencies, weights=weights, k=len(kinds))
        sequence: dict[str, int] = {}
        documents = []
        for kind, agency in zip(kinds, issuers):
            sequence[agency.code] = sequence.get(agency.code, 0) + 1
            day = _date_between(rng, first, last)
            form = "Giấy" if kind == "paper" else ("Điện tử và giấy" if rng.random() < 0.2 else "Điện tử")
            documents.append((day, f"{sequence[agency.code]}/{agency.short}-VP", agency, form, kind == "signed"))
        outside = []
        for i in range(50):  # the export's period spills over the quarter's edges
            day = first - dt.timedelta(days=1 + i % 3) if i < 30 else last + dt.timedelta(days=1 + i % 2)
            agency = rng.choice(self.ioffice_agencies)
            outside.append((day, f"{900 + i}/{agency.short}-VP", agency, "Điện tử", True))
        q.truth["ioffice.documents.total"] = len(documents)
        q.truth["ioffice.documents.electronic"] = n_electronic
        q.truth["ioffice.documents.signed"] = n_signed
        documents.sort(key=lambda d: d[0])
        middle = first + dt.timedelta(days=61)  # first two months in one file, the last in another
        part1 = [d for d in documents if d[0] < middle + dt.timedelta(days=3)] + [d for d in outside if d[0] < first]
        part2 = [d for d in documents if d[0] >= middle] + [d for d in outside if d[0] > last]
        part1.sort(key=lambda d: d[0])
        part2.sort(key=lambda d: d[0])
        file1, file2 = f"So van ban {first:%m}-{(middle - dt.timedelta(days=1)):%m}.xlsx", f"So van ban thang {last:%m}.xlsx"
        def subject(number):  # the same in both files
            return SUBJECTS[sum(map(ord, number)) % len(SUBJECTS)]
        rows1 = [[n + 1, number, day, subject(number), w.written_name(agency), form, "Có" if signed else "Không"]
                 for n, (day, number, agency, form, signed) in enumerate(part1)]
        rows2 = [[number, "x" if signed else "", w.written_name(agency), f"{day.day}/{day.month}/{day.year}", form, subject(number)]
                 for day, number, agency, form, signed in part2]
        pos1 = self._write("xlsx", folder / "ioffice" / file1, [Sheet(
            "Sổ văn bản đi", ["STT", "Số ký hiệu", "Ngày văn bản", "Trích yếu", "Đơn vị ban hành", "Hình thức", "Ký số"], rows1,
            title=self._title(q.key, "Sổ văn bản phát hành", "HỆ THỐNG QLVB VÀ ĐIỀU HÀNH iOFFICE"), column_numbers=True)])
        pos2 = self._write("xlsx", folder / "ioffice" / file2, [Sheet(
            "Sheet1", ["SỐ KÝ HIỆU", "Ký số", "Đơn vị\nban hành", "NGÀY\nVĂN BẢN", "Hình thức", "Trích yếu"], rows2)])
        duplicates = [i for i, d in enumerate(part2) if d[0] < middle + dt.timedelta(days=3) and first <= d[0] <= last]
        q.planted.append(Planted("duplicates_dropped", "ioffice", f"ioffice/{file2}", "Sheet1", pos2["Sheet1"][duplicates[0]]))
        out_rows = [pos1["Sổ văn bản đi"][i] for i, d in enumerate(part1) if d[0] < first]
        q.planted.append(Planted("outside_quarter", "ioffice", f"ioffice/{file1}", "Sổ văn bản đi", out_rows[0]))
        (folder / "ioffice" / f"~${file2}").write_bytes(b"\x0bTran Thi Lan" + b" " * 40)

    def _write_certificates(self, folder: Path, q: Quarter) -> None:
        first, last = quarter_window(q.key)
        export = EXPORT_DATE[q.key]
        certs = [c for c in self.certificates if c["issued"] <= export]
        def shown(c):
            return c["revoked"] if c["revoked"] and c["revoked"] <= export else None
        active = [c for c in certs if c["issued"] <= last < c["expires"] and (shown(c) is None or shown(c) > last)]
        q.truth.update({
            "ca.issued": sum(first <= c["issued"] <= last for c in certs),
            "ca.revoked": sum(shown(c) is not None and first <= shown(c) <= last for c in certs),
            "ca.expired": sum(first <= c["expires"] <= last and not (shown(c) and shown(c) <= c["expires"]) for c in certs),
            "ca.active": len(active),
            "ca.active.usb_token": sum(c["device"] == "usb_token" for c in active),
            "ca.active.sim_pki": sum(c["device"] == "sim_pki" for c in active),
            "ca.active.organization": sum(c["type"] == "organization" for c in active),
            "ca.active.individual": sum(c["type"] == "individual" for c in active),
        })
        rows = []
        for c in certs:
            revoked = shown(c)
            status = "Đã thu hồi" if revoked else ("Hết hạn" if c["expires"] <= export else "Đang hoạt động")
            device = {"usb_token": self.rng.choice(["USB Token", "Token"]), "sim_pki": self.rng.choice(["SIM PKI", "SIM"])}[c["device"]]
            rows.append([c["serial"], c["subscriber"], {"organization": "Tổ chức", "individual": "Cá nhân"}[c["type"]],
                         self.world.written_name(c["agency"]), device, c["issued"], c["expires"], revoked, status])
        self._write("xls", folder / "certificates" / "So theo doi CTS.xls", Sheet(
            "CTS", ["Số serial", "Tên thuê bao", "Loại thuê bao", "Cơ quan", "Thiết bị", "Ngày cấp", "Ngày hết hạn", "Ngày thu hồi",
                    "Trạng thái"],
            rows, title=["SỔ THEO DÕI CHỨNG THƯ SỐ", ""]))

    def _write_mail(self, folder: Path, q: Quarter) -> None:
        first, last = quarter_window(q.key)
        export = EXPORT_DATE[q.key]
        boxes = [m for m in self.mailboxes if m["created"] <= export]
        q.truth["mail.created"] = sum(first <= m["created"] <= last for m in boxes)
        q.truth["mail.mailboxes"] = sum(m["created"] <= last for m in boxes)
        rows = []
        for m in boxes:
            agency = self.unmatched_agency_name if m["address"] == self.unmatched_mailbox else self.world.written_name(m["agency"])
            day = m["created"]
            rows.append([m["address"], self.world.person(), agency, f"{day:%d/%m/%Y}", m["status"]])
        name = f"Danh sach hop thu {export:%d%m%Y}.xlsx"
        pos = self._write("xlsx", folder / "mail" / name, [Sheet(
            "Hộp thư", ["Địa chỉ thư điện tử", "Họ và tên", "Đơn vị", "Ngày tạo", "Trạng thái"], rows,
            title=["SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "DANH SÁCH HỘP THƯ ĐIỆN TỬ CÔNG VỤ", ""], signature=True)])
        for i, m in enumerate(boxes):
            if m["address"] == self.unmatched_mailbox:
                q.planted.append(Planted("unmatched_agency", "mail", f"mail/{name}", "Hộp thư", pos["Hộp thư"][i]))

    def _write_videoconf(self, folder: Path, q: Quarter) -> None:
        rng, w = self.rng, self.world
        first, last = quarter_window(q.key)
        sites = ["Trung tâm Hội nghị tỉnh", "Sở Thông tin và Truyền thông", "Văn phòng UBND tỉnh", "Văn phòng HĐND tỉnh",
                 "Văn phòng Tỉnh ủy"] + [f"UBND {k} {p}" for k, p, _ in DISTRICTS]
        endpoints = [(f"Điểm cầu {s}", s, dt.date(2018, 1, 15) + dt.timedelta(days=37 * i)) for i, s in enumerate(sites)]
        endpoints[-1] = (endpoints[-1][0], endpoints[-1][1], dt.date(2020, 5, 12))  # the newest, put in service in Q2
        listed = [e for e in endpoints if e[2] <= EXPORT_DATE[q.key]]
        q.truth["vcon.endpoints"] = sum(e[2] <= last for e in listed)
        meetings = [(_date_between(rng, first, last), f"Họp trực tuyến {TOPICS[i % len(TOPICS)]}") for i in range(6 if q.key == Q2 else 5)]
        q.truth["vcon.meetings"] = len(meetings)
        meetings.sort()
        rows = [[f"{d:%d/%m/%Y}", topic, w.written_name(w.province[18]), rng.randint(10, 14)] for d, topic in meetings]
        self._write("xlsx", folder / "videoconf" / "Hoi nghi truyen hinh.xlsx", [
            Sheet("Điểm cầu", ["STT", "Tên điểm cầu", "Địa điểm", "Ngày đưa vào sử dụng"],
                  [[i + 1, n, loc, d] for i, (n, loc, d) in enumerate(listed)], title=["DANH SÁCH ĐIỂM CẦU", ""]),
            Sheet("Cuộc họp", ["Ngày họp", "Nội dung", "Đơn vị chủ trì", "Số điểm cầu"], rows,
                  title=["DANH SÁCH CUỘC HỌP TRỰC TUYẾN", ""]),
        ])

    def _write_portal(self, folder: Path, q: Quarter) -> None:
        rng = self.rng
        first, last = quarter_window(q.key)
        main = "https://travinh.gov.vn"
        n_component = self.t["component_sites"] // self.scale - (0 if q.key == Q2 else 1)
        component = [(f"Trang thông tin điện tử {a.name}", f"https://{a.short.lower()}.travinh.gov.vn")
                     for a in self.world.province[:22] + self.world.districts + self.world.province[22:40]][:n_component]
        sites = [["Cổng thông tin điện tử tỉnh Trà Vinh", main, "Cổng chính", "Tiếng Việt, Tiếng Anh; Tiếng Khmer"]]
        sites += [[name, url, "Trang thành phần", "Tiếng Việt"] for name, url in component]
        q.truth.update({"portal.main": 1, "portal.languages": 3, "portal.component_sites": len(component)})
        labels = {c: v[0] for c, v in POST_LABELS.items()}
        labels["draft_consultations"] = "Lấy ý kiến dự thảo"
        counts = (self.t["posts"] if q.key == Q2 else {c: max(1, int(v * rng.uniform(0.8, 1.1))) for c, v in self.t["posts"].items()})
        translations = self.t["translations"] if q.key == Q2 else {"en": 17 * self.scale, "km": 64 * self.scale}
        posts, n = [], 0

        def add(category: str, language: str, site: str, day: dt.date, original: str | None = None) -> str:
            nonlocal n
            n += 1
            post_id = f"TB{n:06d}"
            posts.append([post_id, day, f"{labels.get(category, category)}: tin số {n}", labels.get(category, category),
                          rng.choice(LANGUAGE_LABELS[language]), original or "", site])
            return post_id

        originals = []
        for category, count in counts.items():
            for _ in range(count):
                originals.append(add(category, "vi", rng.choice([main, main + "/"]), _date_between(rng, first, last)))
            q.truth[f"portal.posts.{category}"] = count
        for _ in range(240 * self.scale):
            add("Tin tức - Sự kiện", "vi", main, _date_between(rng, first, last))
        for language, count in translations.items():
            for _ in range(count):
                add("leadership_news", language, main, _date_between(rng, first, last), rng.choice(originals))
            q.truth[f"portal.translations.{language}"] = count
        add("leadership_news", "en", main, _date_between(rng, first, last))  # written in English: no translation
        for _ in range(90 * self.scale):
            add(rng.choice(list(counts)), "vi", rng.choice(component)[1], _date_between(rng, first, last))
        stale = len(posts)
        for _ in range(4):
            add("leadership_news", "vi", main, first - dt.timedelta(days=2))
        rng.shuffle(posts)
        pos = self._write("xlsx", folder / "portal" / "Cong thong tin.xlsx", [
            Sheet("Danh sách trang", ["Tên trang", "Địa chỉ", "Loại trang", "Ngôn ngữ"], sites,
                  title=["DANH SÁCH CỔNG/TRANG THÔNG TIN ĐIỆN TỬ", ""]),
            Sheet("Tin bài", ["Mã tin", "Ngày đăng", "Tiêu đề", "Chuyên mục", "Ngôn ngữ", "Bản dịch của", "Trang"], posts,
                  title=self._title(q.key, "Tin bài đã đăng", "CỔNG THÔNG TIN ĐIỆN TỬ TỈNH TRÀ VINH")),
        ])
        first_stale = min(pos["Tin bài"][i] for i, p in enumerate(posts) if int(p[0][2:]) > stale)
        q.planted.append(Planted("outside_quarter", "portal", "portal/Cong thong tin.xlsx", "Tin bài", first_stale))

    def _write_dvc(self, folder: Path, q: Quarter) -> None:
        rng, w, t = self.rng, self.world, self.t
        first, last = quarter_window(q.key)
        catalogue = [p for p in self.procedures if q.key == Q2 or not p["added_q2"]]
        by_level = {lvl: [p for p in catalogue if p["level"] == lvl] for lvl in (2, 3, 4)}
        q.truth.update({"dvc.services": len(catalogue), "dvc.services.level3": len(by_level[3]), "dvc.services.level4": len(by_level[4])})
        for level, suffix in (("Tỉnh", "province"), ("Huyện", "district"), ("Xã", "commune")):
            q.truth[f"dvc.agencies.{suffix}"] = len({p["agency"].code for p in catalogue if p["agency"].level == level})
        rows = [[p["code"], p["name"], p["field"], w.written_name(p["agency"]), p["agency"].level,
                 rng.choice(LEVEL_LABELS[p["level"]])] for p in catalogue]
        self._write("xlsx", folder / "dvc" / "Danh muc TTHC.xlsx", [
            Sheet("Danh mục TTHC", ["Mã thủ tục", "Tên thủ tục", "Lĩnh vực", "Cơ quan thực hiện", "Cấp thực hiện", "Mức độ"], rows,
                  title=["DANH MỤC THỦ TỤC HÀNH CHÍNH", ""], total_row=["Tổng cộng", len(rows)]),
            Sheet("Sheet2", [], [], hidden=True, free_text=[]),
        ])
        # dossiers of the quarter, by (level, channel)
        if q.key == Q2:
            plan = {(3, "in_person"): t["l3_in_person"], (3, "online"): t["l3_online"],
                    (4, "in_person"): t["l4_in_person"], (4, "online"): t["l4_online"]}
            level2 = t["received"] - sum(plan.values()) - 1
            resolved_target = t["resolved"]
        else:
            k = self.scale
            plan = {(3, "in_person"): 26800 * k, (3, "online"): 702 * k, (4, "in_person"): 7400 * k, (4, "online"): 1850 * k}
            level2, resolved_target = 19800 * k, None
        plan[(2, "in_person")] = int(level2 * 0.9)
        plan[(2, "postal")] = 40
        plan[(2, "online")] = level2 - plan[(2, "in_person")] - 40
        dossiers = []
        for (level, channel), count in plan.items():
            for _ in range(count):
                p = rng.choice(by_level[level])
                dossiers.append({"procedure": p["code"], "agency": p["agency"], "channel": channel, "level": level,
                                 "received": dt.datetime.combine(_date_between(rng, first, last),
                                                                 dt.time(rng.randint(7, 16), rng.randint(0, 59)))})
        if q.key == Q2:
            dossiers.append({"procedure": self.unknown_code, "agency": w.communes[0], "channel": "in_person", "level": None,
                             "received": dt.datetime(2020, 6, 15, 9, 30)})
        rng.shuffle(dossiers)
        resolved_target = resolved_target or int(len(dossiers) * 0.91)
        for i, d in enumerate(dossiers):
            received = d["received"].date()
            if i < resolved_target:
                d["resulted"] = min(received + dt.timedelta(days=rng.randint(0, 20)), last)
            else:
                d["resulted"] = last + dt.timedelta(days=rng.randint(1, 3)) if rng.random() < 0.3 else None
            if not d["resulted"]:
                d["return"] = None
            else:
                d["return"] = "postal" if (q.key != Q2 and i < 2) else rng.choice(["in_person", "in_person", "online"])
        dossiers.sort(key=lambda d: d["received"])
        for n, d in enumerate(dossiers):
            d["id"] = f"{d['received']:%y%m}-{n + 1:06d}"
        received = dossiers
        q.truth.update({
            "dvc.dossiers.received": len(received),
            "dvc.dossiers.resolved": sum(d["resulted"] is not None and d["resulted"] <= last for d in received),
            "dvc.dossiers.level34": sum(d["level"] in (3, 4) for d in received),
            "dvc.dossiers.returned_by_post": sum(d["return"] == "postal" and first <= d["resulted"] <= last for d in received),
        })
        for level in (3, 4):
            q.truth[f"dvc.dossiers.level{level}"] = sum(d["level"] == level for d in received)
            for channel in ("in_person", "online"):
                q.truth[f"dvc.dossiers.level{level}.{channel}"] = sum(d["level"] == level and d["channel"] == channel for d in received)
        labels = {"in_person": "Trực tiếp", "online": "Trực tuyến", "postal": "Qua bưu chính"}
        returns = {"in_person": "Trực tiếp", "online": "Trực tuyến", "postal": "Bưu chính công ích"}
        headers = ["Mã hồ sơ", "Mã thủ tục", "Cơ quan tiếp nhận", "Ngày tiếp nhận", "Kênh nộp", "Ngày hẹn trả", "Ngày có kết quả",
                   "Hình thức trả kết quả"]
        for month in range(3):
            month_first = dt.date(first.year, first.month + month, 1)
            month_end = dt.date(first.year, first.month + month + 1, 1) if month < 2 else last + dt.timedelta(days=1)
            month_last = month_end - dt.timedelta(days=1)
            low, high = month_first - dt.timedelta(days=2 if month else 0), month_last + dt.timedelta(days=2 if month < 2 else 0)
            chosen = [d for d in dossiers if low <= d["received"].date() <= high]
            rows = [[d["id"], d["procedure"], w.written_name(d["agency"]), f"{d['received']:%d/%m/%Y %H:%M}", labels[d["channel"]],
                     f"{d['received'].date() + dt.timedelta(days=15):%d/%m/%Y}",
                     f"{d['resulted']:%d/%m/%Y}" if d["resulted"] else "", returns[d["return"]] if d["return"] else ""] for d in chosen]
            name = f"bao cao thang {month_first.month}.xls"
            pos = self._write("html", folder / "dvc" / name, Sheet("table 1", headers, rows,
                                                               title=[f"DANH SÁCH HỒ SƠ THÁNG {month_first.month}/{month_first.year}"]))
            if month == 1:
                q.planted.append(Planted("duplicates_dropped", "dvc", f"dvc/{name}", "table 1", pos[0]))
            if q.key == Q2 and month == 2:
                i = next(i for i, d in enumerate(chosen) if d["procedure"] == self.unknown_code)
                q.planted.append(Planted("unknown_procedure", "dvc", f"dvc/{name}", "table 1", pos[i]))
        self._write_summary(folder, q, received, last)

    def _write_summary(self, folder: Path, q: Quarter, received: list[dict], last: dt.date) -> None:
        per_agency: dict[str, list[int]] = {}
        agencies = {}
        for d in received:
            values = per_agency.setdefault(d["agency"].code, [0] * 6)
            agencies[d["agency"].code] = d["agency"]
            values[0] += 1
            values[1] += d["level"] == 3
            values[2] += d["level"] == 3 and d["channel"] == "online"
            values[3] += d["level"] == 4
            values[4] += d["level"] == 4 and d["channel"] == "online"
            values[5] += d["resulted"] is not None and d["resulted"] <= last
        rows, totals = [], [0] * 6
        for n, (code, values) in enumerate(sorted(per_agency.items()), start=1):
            rows.append([n, self.world.written_name(agencies[code])] + [_vn_number(v) if n % 3 == 0 else v for v in values])
            totals = [a + b for a, b in zip(totals, values)]
        typed = list(totals)
        if q.key == Q2:
            typed[3] = SUMMARY_TYPO_LEVEL4 if self.scale == 1 else typed[3] + 18
        sheet = Sheet("Tổng hợp", [], rows, title=self._title(q.key, "Báo cáo tổng hợp tình hình tiếp nhận hồ sơ",
                                                              "CỔNG DỊCH VỤ CÔNG TỈNH TRÀ VINH"),
                      two_row_header=[("STT", []), ("Đơn vị", []), ("Tổng số hồ sơ tiếp nhận", []), ("Mức độ 3", ["Tổng số", "Trực tuyến"]),
                                      ("Mức độ 4", ["Tổng số", "Trực tuyến"]), ("Đã giải quyết", [])],
                      column_numbers=True, total_row=["", "Tổng cộng"] + [_vn_number(v) for v in typed], signature=True)
        pos = self._write("xlsx", folder / "dvc" / "Bao cao tong hop.xlsx", [sheet])
        if q.key == Q2:
            q.planted.append(Planted("summary_mismatch", "dvc", "dvc/Bao cao tong hop.xlsx", "Tổng hợp", pos["Tổng hợp"][-1],
                                     f"F{pos['Tổng hợp'][-1]}"))

    def _write_iso(self, folder: Path, q: Quarter) -> None:
        first, last = quarter_window(q.key)
        deployed = {a.code: (dt.date(2020, 5, 4) if a in self.world.communes[-6:] else dt.date(2019, 3, 1) + dt.timedelta(days=i))
                    for i, a in enumerate(self.iso_agencies)}
        listed = [a for a in self.iso_agencies if deployed[a.code] <= EXPORT_DATE[q.key]]
        for level, suffix in (("Tỉnh", "province"), ("Huyện", "district"), ("Xã", "commune")):
            q.truth[f"iso.agencies.{suffix}"] = sum(a.level == level and deployed[a.code] <= last for a in listed)
        rows = [[i + 1, self.world.written_name(a), a.level, deployed[a.code]] for i, a in enumerate(listed)]
        self._write("xlsx", folder / "iso" / "ISO dien tu.xlsx", [Sheet("ISO", ["STT", "Tên cơ quan", "Cấp", "Ngày triển khai"], rows,
                                                               title=["DANH SÁCH CƠ QUAN ÁP DỤNG ISO ĐIỆN TỬ", ""])])


def _vn_number(value: int) -> str:
    """1626 -> "1.626", as typed by hand in Vietnamese spreadsheets."""
    return f"{value:,}".replace(",", ".")


FIELDS = ["Hộ tịch", "Đất đai", "Xây dựng", "Giáo dục", "Y tế", "Lao động", "Thương mại", "Giao thông", "Tư pháp", "Nông nghiệp",
          "Tài chính", "Văn hóa"]
SUBJECTS = ["V/v triển khai kế hoạch năm 2020", "V/v báo cáo tình hình thực hiện nhiệm vụ", "Quyết định về việc phê duyệt dự toán",
            "V/v tăng cường công tác phòng, chống dịch COVID-19", "Thông báo kết luận cuộc họp", "V/v cử cán bộ tham dự tập huấn"]
TOPICS = ["triển khai nhiệm vụ kinh tế - xã hội", "phòng, chống dịch COVID-19", "với Chính phủ", "giao ban tháng", "về cải cách hành chính"]
POST_LABELS = {
    "leadership_news": ("Hoạt động lãnh đạo tỉnh",), "leader_schedules": ("Lịch làm việc",), "citizen_reception": ("Lịch tiếp công dân",),
    "direction_documents": ("Văn bản chỉ đạo điều hành",), "legal_documents": ("Văn bản quy phạm pháp luật",),
    "draft_consultations": ("Dự thảo lấy ý kiến",), "tthc_decisions": ("Công bố thủ tục hành chính",),
}
LANGUAGE_LABELS = {"vi": ["Tiếng Việt", "vi"], "en": ["Tiếng Anh", "en"], "km": ["Tiếng Khmer", "km"]}
LEVEL_LABELS = {2: ["2", "Mức độ 2"], 3: ["3", "Mức độ 3", "Mức 3"], 4: ["4", "Mức 4", "DVC mức độ 4"]}


def rates(truth: dict) -> dict:
    """The rate indicators from the counts of a truth dict."""
    def pct(a: str, b: str) -> float | None:
        return 100.0 * truth[a] / truth[b] if truth[b] else None
    return {
        "ioffice.documents.electronic_rate": pct("ioffice.documents.electronic", "ioffice.documents.total"),
        "ioffice.documents.signed_rate": pct("ioffice.documents.signed", "ioffice.documents.electronic"),
        "dvc.services.level3_rate": pct("dvc.services.level3", "dvc.services"),
        "dvc.services.level4_rate": pct("dvc.services.level4", "dvc.services"),
        "dvc.dossiers.level3.online_rate": pct("dvc.dossiers.level3.online", "dvc.dossiers.level3"),
        "dvc.dossiers.level4.online_rate": pct("dvc.dossiers.level4.online", "dvc.dossiers.level4"),
    }


def _scaled(targets, scale: int):
    if isinstance(targets, dict):
        return {k: _scaled(v, scale) for k, v in targets.items()}
    return targets * scale


def generate(out: Path, seed: int = SEED, scale: int = 1, variant: Variant | None = None, only: str | None = None) -> dict:
    """Write both sample quarters under `out`; return the ground truth (also written to sample-truth/).
    `scale` > 1 multiplies the agencies (registry copies) and the records, for benchmarks. `variant` writes
    every export (or, with `only`, those of one source folder: one agency's file in TCVN3, say) as that rule of the
    spec says it may look (pipeline.sample.variants): the figures are the same."""
    builder = SampleBuilder(out, seed, scale, variant, only)
    truths = builder.build()
    for quarter in QUARTERS:
        truths[quarter]["indicators"].update(rates(truths[quarter]["indicators"]))
        path = out / "sample-truth" / f"{quarter}.json"
        path.write_text(json.dumps(truths[quarter], ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return truths
