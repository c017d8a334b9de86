"""Every figure of the report, defined once: id, Vietnamese label, unit, section, and the query.

A count is the number of rows its `rows` query returns; the same rows are its lineage (one row per
counted record: staging table, row id, and a detail such as the agency code). A rate is
numerator / denominator x 100 of two other indicators. Queries see `$quarter`, `$start`, `$end`.
Adding a figure is one entry here: the indicators table, the lineage and the annex follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    unit: str  # count | percent
    section: str
    rows: str | None = None  # SELECT table_name, row_id, detail — one row per counted record
    numerator: str | None = None
    denominator: str | None = None

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(sorted(set(re.findall(r"\b(stg_[a-z_]+)\b", self.rows or ""))))

    @property
    def unit_label(self) -> str:
        """The annex's `Đơn vị tính`: the longest matching id prefix of UNIT_LABELS."""
        if self.unit == "percent":
            return "%"
        prefix = max((p for p in UNIT_LABELS if self.id.startswith(p)), key=len)
        return UNIT_LABELS[prefix]

    @property
    def measure(self) -> str:
        """`flow` (counted over the quarter: compare the two quarters' counts), `stock` (a level at the quarter's
        end: compare the levels) or `rate` (compare in percentage points)."""
        if self.unit == "percent":
            return "rate"
        return "flow" if any(self.id.startswith(p) for p in FLOWS) else "stock"

    @property
    def decimals(self) -> int:
        """Decimals the annex shows (rounded half-up): as the report prints each kind of rate."""
        return RATE_DECIMALS.get(self.section, 2) if self.unit == "percent" else 0


UNIT_LABELS = {
    "ioffice.agencies": "Cơ quan", "ioffice.users": "Người dùng", "ioffice.documents": "Văn bản",
    "ca": "Chứng thư số", "mail": "Hộp thư", "vcon.endpoints": "Điểm cầu", "vcon.meetings": "Cuộc họp",
    "portal.main": "Cổng", "portal.languages": "Ngôn ngữ", "portal.component_sites": "Trang",
    "portal.posts": "Tin, bài", "portal.translations": "Tin, bài", "dvc.agencies": "Cơ quan",
    "dvc.services": "Dịch vụ", "dvc.dossiers": "Hồ sơ", "iso": "Cơ quan",
}
RATE_DECIMALS = {"ioffice": 1, "dvc": 2}
# figures counted over the quarter; every other count is a level at the quarter's end
FLOWS = ("ioffice.documents", "ca.issued", "ca.revoked", "ca.expired", "mail.created", "vcon.meetings", "portal.posts",
         "portal.translations", "dvc.dossiers")

SECTIONS = {
    "ioffice": "Hệ thống Quản lý văn bản và điều hành (iOffice)",
    "ca": "Ứng dụng chứng thư số",
    "mail": "Hệ thống thư điện tử công vụ",
    "vcon": "Hệ thống hội nghị truyền hình",
    "portal": "Cổng thông tin điện tử",
    "dvc": "Cổng dịch vụ công của tỉnh (iGate)",
    "iso": "Phần mềm ISO điện tử",
}
LEVEL_SUFFIX = {"province": "Tỉnh", "district": "Huyện", "commune": "Xã"}


def _registry_rows(codes_sql: str, level: str | None = None) -> str:
    level_filter = f" AND a.level = '{level}'" if level else ""
    return (
        "SELECT 'stg_agencies' AS table_name, a.row_id, a.code AS detail FROM stg_agencies a "
        f"WHERE a.quarter = $quarter{level_filter} AND a.code IN ({codes_sql})"
    )


def _rows(table: str, where: str, detail: str = "NULL") -> str:
    return f"SELECT '{table}' AS table_name, row_id, {detail} AS detail FROM {table} WHERE quarter = $quarter AND {where}"


ACTIVE_ACCOUNTS = "status = 'active' AND created <= $end"
DOCS_IN_QUARTER = "doc_date BETWEEN $start AND $end"
ELECTRONIC = f"{DOCS_IN_QUARTER} AND form IN ('electronic', 'both')"
CERT_ACTIVE = "issued <= $end AND expires > $end AND (revoked IS NULL OR revoked > $end)"
MAIN_PORTAL_URLS = (
    "SELECT rtrim(lower(url), '/') FROM stg_sites WHERE quarter = $quarter AND site_type = 'main'"
)
MAIN_PORTAL_POST = f"posted BETWEEN $start AND $end AND rtrim(lower(site_url), '/') IN ({MAIN_PORTAL_URLS})"
VI_ORIGINAL = "language = 'vi' AND translation_of IS NULL"
RECEIVED = "received BETWEEN $start AND $end"


def _procedure_level(levels: str) -> str:
    return (
        f"procedure_code IN (SELECT code FROM stg_procedures WHERE quarter = $quarter AND service_level IN ({levels}))"
    )


INDICATORS: list[Indicator] = []


def _add(*items: Indicator) -> None:
    INDICATORS.extend(items)


_accounts_agencies = f"SELECT agency_code FROM stg_accounts WHERE quarter = $quarter AND {ACTIVE_ACCOUNTS}"
_add(Indicator("ioffice.agencies", "Số cơ quan triển khai iOffice", "count", "ioffice", _registry_rows(_accounts_agencies)))
for suffix, level, label in (("province", "Tỉnh", "– cấp tỉnh"), ("district", "Huyện", "– cấp huyện"), ("commune", "Xã", "– cấp xã")):
    _add(Indicator(f"ioffice.agencies.{suffix}", label, "count", "ioffice", _registry_rows(_accounts_agencies, level)))
_add(
    Indicator("ioffice.users", "Số người dùng iOffice", "count", "ioffice", _rows("stg_accounts", ACTIVE_ACCOUNTS)),
    Indicator("ioffice.documents.total", "Tổng số văn bản phát hành", "count", "ioffice", _rows("stg_documents", DOCS_IN_QUARTER)),
    Indicator("ioffice.documents.electronic", "Số văn bản trao đổi trên môi trường mạng", "count", "ioffice",
              _rows("stg_documents", ELECTRONIC)),
    Indicator("ioffice.documents.electronic_rate", "Tỷ lệ trao đổi văn bản điện tử", "percent", "ioffice",
              numerator="ioffice.documents.electronic", denominator="ioffice.documents.total"),
    Indicator("ioffice.documents.signed", "Số văn bản ký số", "count", "ioffice", _rows("stg_documents", f"{ELECTRONIC} AND signed")),
    Indicator("ioffice.documents.signed_rate", "Tỷ lệ văn bản ký số", "percent", "ioffice",
              numerator="ioffice.documents.signed", denominator="ioffice.documents.electronic"),
    Indicator("ca.issued", "Chứng thư số cấp mới trong quý", "count", "ca", _rows("stg_certificates", "issued BETWEEN $start AND $end")),
    Indicator("ca.revoked", "Chứng thư số thu hồi trong quý", "count", "ca", _rows("stg_certificates", "revoked BETWEEN $start AND $end")),
    Indicator("ca.expired", "Chứng thư số hết hạn trong quý", "count", "ca",
              _rows("stg_certificates", "expires BETWEEN $start AND $end AND (revoked IS NULL OR revoked > expires)")),
    Indicator("ca.active", "Tổng số chứng thư số đang hoạt động", "count", "ca", _rows("stg_certificates", CERT_ACTIVE)),
    Indicator("ca.active.usb_token", "– lưu trên USB Token", "count", "ca",
              _rows("stg_certificates", f"{CERT_ACTIVE} AND device = 'usb_token'")),
    Indicator("ca.active.sim_pki", "– lưu trên SIM PKI", "count", "ca", _rows("stg_certificates", f"{CERT_ACTIVE} AND device = 'sim_pki'")),
    Indicator("ca.active.organization", "– của tổ chức", "count", "ca",
              _rows("stg_certificates", f"{CERT_ACTIVE} AND subscriber_type = 'organization'")),
    Indicator("ca.active.individual", "– của cá nhân", "count", "ca",
              _rows("stg_certificates", f"{CERT_ACTIVE} AND subscriber_type = 'individual'")),
    Indicator("mail.created", "Hộp thư công vụ tạo mới trong quý", "count", "mail",
              _rows("stg_mailboxes", "created BETWEEN $start AND $end")),
    Indicator("mail.mailboxes", "Tổng số hộp thư công vụ đã thiết lập", "count", "mail", _rows("stg_mailboxes", "created <= $end")),
    Indicator("vcon.endpoints", "Số điểm cầu hội nghị truyền hình", "count", "vcon", _rows("stg_endpoints", "in_service <= $end")),
    Indicator("vcon.meetings", "Số cuộc họp trực tuyến đã phục vụ", "count", "vcon",
              _rows("stg_meetings", "meeting_date BETWEEN $start AND $end")),
    Indicator("portal.main", "Cổng thông tin điện tử chính", "count", "portal", _rows("stg_sites", "site_type = 'main'")),
    Indicator("portal.languages", "Số ngôn ngữ của Cổng chính", "count", "portal",
              "SELECT DISTINCT ON (lang) 'stg_sites' AS table_name, row_id, lang AS detail "
              "FROM stg_sites, unnest(string_split(languages, ',')) AS l(lang) "
              "WHERE quarter = $quarter AND site_type = 'main' ORDER BY lang, row_id"),
    Indicator("portal.component_sites", "Số trang thông tin thành phần", "count", "portal", _rows("stg_sites", "site_type = 'component'")),
    Indicator("portal.posts.leadership_news", "Tin, bài về hoạt động của lãnh đạo tỉnh", "count", "portal",
              _rows("stg_posts", f"{MAIN_PORTAL_POST} AND {VI_ORIGINAL} AND category = 'leadership_news'")),
    Indicator("portal.translations.en", "Tin, bài biên dịch sang tiếng Anh", "count", "portal",
              _rows("stg_posts", f"{MAIN_PORTAL_POST} AND language = 'en' AND translation_of IS NOT NULL")),
    Indicator("portal.translations.km", "Tin, bài biên dịch sang tiếng Khmer", "count", "portal",
              _rows("stg_posts", f"{MAIN_PORTAL_POST} AND language = 'km' AND translation_of IS NOT NULL")),
)
for category, label in (
    ("leader_schedules", "Lịch làm việc của lãnh đạo tỉnh"),
    ("citizen_reception", "Lịch tiếp công dân"),
    ("direction_documents", "Văn bản chỉ đạo điều hành"),
    ("legal_documents", "Văn bản quy phạm pháp luật"),
    ("draft_consultations", "Dự thảo lấy ý kiến nhân dân"),
    ("tthc_decisions", "Quyết định công bố, bãi bỏ TTHC"),
):
    _add(Indicator(f"portal.posts.{category}", label, "count", "portal",
                   _rows("stg_posts", f"{MAIN_PORTAL_POST} AND {VI_ORIGINAL} AND category = '{category}'")))

_procedure_agencies = "SELECT agency_code FROM stg_procedures WHERE quarter = $quarter"
for suffix, level, label in (("province", "Tỉnh", "Cơ quan triển khai Cổng DVC – cấp tỉnh"),
                             ("district", "Huyện", "– cấp huyện"), ("commune", "Xã", "– cấp xã")):
    _add(Indicator(f"dvc.agencies.{suffix}", label, "count", "dvc", _registry_rows(_procedure_agencies, level)))
_add(
    Indicator("dvc.services", "Tổng số dịch vụ công", "count", "dvc", _rows("stg_procedures", "TRUE")),
    Indicator("dvc.services.level3", "Dịch vụ công mức độ 3", "count", "dvc", _rows("stg_procedures", "service_level = 3")),
    Indicator("dvc.services.level3_rate", "Tỷ lệ DVC mức độ 3", "percent", "dvc",
              numerator="dvc.services.level3", denominator="dvc.services"),
    Indicator("dvc.services.level4", "Dịch vụ công mức độ 4", "count", "dvc", _rows("stg_procedures", "service_level = 4")),
    Indicator("dvc.services.level4_rate", "Tỷ lệ DVC mức độ 4", "percent", "dvc",
              numerator="dvc.services.level4", denominator="dvc.services"),
    Indicator("dvc.dossiers.received", "Hồ sơ tiếp nhận trong quý", "count", "dvc", _rows("stg_dossiers", RECEIVED)),
    Indicator("dvc.dossiers.resolved", "Hồ sơ đã giải quyết", "count", "dvc", _rows("stg_dossiers", f"{RECEIVED} AND resulted <= $end")),
    Indicator("dvc.dossiers.level34", "Hồ sơ của DVC mức độ 3, 4", "count", "dvc",
              _rows("stg_dossiers", f"{RECEIVED} AND {_procedure_level('3, 4')}")),
)
for level in ("3", "4"):
    base = f"{RECEIVED} AND {_procedure_level(level)}"
    _add(
        Indicator(f"dvc.dossiers.level{level}", f"Hồ sơ mức độ {level}", "count", "dvc", _rows("stg_dossiers", base)),
        Indicator(f"dvc.dossiers.level{level}.in_person", "– nộp trực tiếp", "count", "dvc",
                  _rows("stg_dossiers", f"{base} AND channel = 'in_person'")),
        Indicator(f"dvc.dossiers.level{level}.online", "– nộp trực tuyến", "count", "dvc",
                  _rows("stg_dossiers", f"{base} AND channel = 'online'")),
        Indicator(f"dvc.dossiers.level{level}.online_rate", f"Tỷ lệ trực tuyến mức độ {level}", "percent", "dvc",
                  numerator=f"dvc.dossiers.level{level}.online", denominator=f"dvc.dossiers.level{level}"),
    )
_add(Indicator("dvc.dossiers.returned_by_post", "Hồ sơ trả kết quả qua bưu chính công ích", "count", "dvc",
               _rows("stg_dossiers", "resulted BETWEEN $start AND $end AND return_channel = 'postal'")))
_iso_agencies = "SELECT agency_code FROM stg_iso WHERE quarter = $quarter AND deployed <= $end"
for suffix, level, label in (("province", "Tỉnh", "Cơ quan áp dụng ISO điện tử – cấp tỉnh"),
                             ("district", "Huyện", "– cấp huyện"), ("commune", "Xã", "– cấp xã")):
    _add(Indicator(f"iso.agencies.{suffix}", label, "count", "iso", _registry_rows(_iso_agencies, level)))

INDICATORS_BY_ID = {i.id: i for i in INDICATORS}
assert len(INDICATORS_BY_ID) == len(INDICATORS), "indicator ids must be unique"


def source_tables(indicator: Indicator) -> tuple[str, ...]:
    """Staging tables an indicator reads, through its rate parts as well."""
    if indicator.rows is not None:
        return indicator.tables
    parts = (INDICATORS_BY_ID[indicator.numerator], INDICATORS_BY_ID[indicator.denominator])
    return tuple(sorted({t for p in parts for t in source_tables(p)}))
