"""The export tables of `shared/spec/exports.md`, as data.

Each table is a `TableSpec`: the folder it lives in, its columns (header label variants, type, required),
and its key. One generic reader (`pipeline.lib.reader`) reads every table from these specs; adding a table
or a label variant is an edit here, never a new reading function.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.lib.messages import say

READ_AS = ("text", "code", "integer", "number", "date", "bool", "level", "languages")  # the catalog's `[column]` words


@dataclass(frozen=True)
class Column:
    name: str
    labels: tuple[str, ...]
    type: str = "text"  # text | code | integer | number | date | bool | choice | level | languages
    required: bool = True
    choices: dict[str, tuple[str, ...]] | None = None
    other: str | None = None  # code for values outside `choices`; None makes them an error
    agency: bool = False  # a free-text agency name, matched against the registry

    @property
    def description(self) -> str:
        """What the column holds and where from, for Dagster's column schema: the export's label, whether it is
        required, and how its value is read."""
        how = say(f"column.{self.type}") if self.type in READ_AS else ""
        if self.type == "choice":
            how = say("column.choice", choices="; ".join(say("column.choice_item", code=code, variants="`, `".join(variants))
                                                          for code, variants in (self.choices or {}).items()))
            how += say("column.choice_other", other=self.other) if self.other else ""
        if self.agency:
            how = say("column.agency", name=self.name)
        return say("column.described", label=self.labels[0], how=how,
                   required=say("column.required" if self.required else "column.optional"))


@dataclass(frozen=True)
class TableSpec:
    name: str
    source: str
    title: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    header_rows: int = 1
    in_quarter: str | None = None  # date column: rows dated outside the quarter are excluded
    keep_total_row: bool = False  # the total row is data for reconciliation (iGate summary)
    figures: bool = True  # False: for reconciliation only, never a figure's source

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def agency_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.agency)

    @property
    def staging_table(self) -> str:
        return f"stg_{self.name}"


LEVELS = {"Tỉnh": ("Tỉnh", "Cấp tỉnh"), "Huyện": ("Huyện", "Cấp huyện"), "Xã": ("Xã", "Cấp xã")}
CHANNELS = {
    "in_person": ("Trực tiếp",),
    "online": ("Trực tuyến",),
    "postal": ("Qua bưu chính", "Bưu chính công ích", "Qua bưu chính công ích"),
}
POST_CATEGORIES = {
    "leadership_news": ("Hoạt động lãnh đạo tỉnh",),
    "leader_schedules": ("Lịch làm việc",),
    "citizen_reception": ("Lịch tiếp công dân",),
    "direction_documents": ("Văn bản chỉ đạo điều hành",),
    "legal_documents": ("Văn bản quy phạm pháp luật",),
    "draft_consultations": ("Dự thảo lấy ý kiến", "Lấy ý kiến dự thảo"),
    "tthc_decisions": ("Công bố thủ tục hành chính",),
}
LANGUAGES = {"vi": ("Tiếng Việt", "vi"), "en": ("Tiếng Anh", "en"), "km": ("Tiếng Khmer", "km")}

C = Column
TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "agencies", "agencies", "Danh mục cơ quan, đơn vị",
        (
            C("code", ("Mã đơn vị",), "code"),
            C("name", ("Tên đơn vị",)),
            C("level", ("Cấp",), "choice", choices=LEVELS),
            C("parent_code", ("Mã đơn vị cấp trên",), "code", required=False),
            C("aliases", ("Tên khác",), required=False),
        ),
        key=("code",),
    ),
    TableSpec(
        "documents", "ioffice", "Sổ văn bản",
        (
            C("number", ("Số ký hiệu",)),
            C("doc_date", ("Ngày văn bản",), "date"),
            C("summary", ("Trích yếu",), required=False),
            C("issuer", ("Đơn vị ban hành",), agency=True),
            C("form", ("Hình thức",), "choice", choices={
                "electronic": ("Điện tử",), "paper": ("Giấy",),
                "both": ("Điện tử và giấy", "Điện tử và văn bản giấy", "Điện tử + giấy"),
            }),
            C("signed", ("Ký số",), "bool"),
        ),
        key=("issuer", "number", "doc_date"),
        in_quarter="doc_date",
    ),
    TableSpec(
        "accounts", "ioffice", "Tài khoản người dùng",
        (
            C("username", ("Tên đăng nhập",)),
            C("full_name", ("Họ và tên",), required=False),
            C("agency", ("Đơn vị",), agency=True),
            C("status", ("Trạng thái",), "choice", choices={
                "active": ("Hoạt động", "Đang hoạt động"), "locked": ("Khóa", "Đã khóa", "Bị khóa"),
            }),
            C("created", ("Ngày tạo",), "date"),
        ),
        key=("username",),
    ),
    TableSpec(
        "certificates", "certificates", "Sổ theo dõi chứng thư số",
        (
            C("serial", ("Số serial",)),
            C("subscriber", ("Tên thuê bao",)),
            C("subscriber_type", ("Loại thuê bao",), "choice", choices={
                "organization": ("Tổ chức",), "individual": ("Cá nhân",),
            }),
            C("agency", ("Cơ quan",), required=False, agency=True),
            C("device", ("Thiết bị",), "choice", choices={
                "usb_token": ("USB Token", "Token"), "sim_pki": ("SIM PKI", "SIM"),
            }),
            C("issued", ("Ngày cấp",), "date"),
            C("expires", ("Ngày hết hạn",), "date"),
            C("revoked", ("Ngày thu hồi",), "date", required=False),
            C("status", ("Trạng thái",), required=False),
        ),
        key=("serial",),
    ),
    TableSpec(
        "mailboxes", "mail", "Danh sách hộp thư công vụ",
        (
            C("address", ("Địa chỉ thư điện tử",)),
            C("full_name", ("Họ và tên",), required=False),
            C("agency", ("Đơn vị",), agency=True),
            C("created", ("Ngày tạo",), "date"),
            C("status", ("Trạng thái",), required=False),
        ),
        key=("address",),
    ),
    TableSpec(
        "endpoints", "videoconf", "Điểm cầu",
        (
            C("name", ("Tên điểm cầu",)),
            C("location", ("Địa điểm",), required=False),
            C("in_service", ("Ngày đưa vào sử dụng",), "date"),
        ),
        key=("name",),
    ),
    TableSpec(
        "meetings", "videoconf", "Cuộc họp trực tuyến",
        (
            C("meeting_date", ("Ngày họp",), "date"),
            C("topic", ("Nội dung",)),
            C("host", ("Đơn vị chủ trì",), required=False, agency=True),
            C("endpoint_count", ("Số điểm cầu",), "integer", required=False),
        ),
        key=("meeting_date", "topic"),
        in_quarter="meeting_date",
    ),
    TableSpec(
        "sites", "portal", "Danh sách cổng/trang",
        (
            C("name", ("Tên trang",)),
            C("url", ("Địa chỉ",)),
            C("site_type", ("Loại trang",), "choice", choices={
                "main": ("Cổng chính",), "component": ("Trang thành phần",),
            }),
            C("languages", ("Ngôn ngữ",), "languages"),
        ),
        key=("url",),
    ),
    TableSpec(
        "posts", "portal", "Tin bài đã đăng",
        (
            C("post_id", ("Mã tin",), "code"),
            C("posted", ("Ngày đăng",), "date"),
            C("title", ("Tiêu đề",), required=False),
            C("category", ("Chuyên mục",), "choice", choices=POST_CATEGORIES, other="other"),
            C("language", ("Ngôn ngữ",), "languages"),
            C("translation_of", ("Bản dịch của",), "code", required=False),
            C("site_url", ("Trang",)),
        ),
        key=("post_id",),
        in_quarter="posted",
    ),
    TableSpec(
        "procedures", "dvc", "Danh mục thủ tục hành chính",
        (
            C("code", ("Mã thủ tục",), "code"),
            C("name", ("Tên thủ tục",)),
            C("field", ("Lĩnh vực",), required=False),
            C("agency", ("Cơ quan thực hiện",), agency=True),
            C("level_of_government", ("Cấp thực hiện",), "choice", required=False, choices=LEVELS),
            C("service_level", ("Mức độ",), "level"),
        ),
        key=("code",),
    ),
    TableSpec(
        "dossiers", "dvc", "Danh sách hồ sơ",
        (
            C("dossier_id", ("Mã hồ sơ",), "code"),
            C("procedure_code", ("Mã thủ tục",), "code"),
            C("agency", ("Cơ quan tiếp nhận",), required=False, agency=True),
            C("received", ("Ngày tiếp nhận",), "date"),
            C("channel", ("Kênh nộp",), "choice", choices=CHANNELS),
            C("due", ("Ngày hẹn trả",), "date", required=False),
            C("resulted", ("Ngày có kết quả",), "date", required=False),
            C("return_channel", ("Hình thức trả kết quả",), "choice", required=False, choices=CHANNELS),
        ),
        key=("dossier_id",),
    ),
    TableSpec(
        "dossier_summary", "dvc", "Báo cáo tổng hợp tình hình tiếp nhận",
        (
            C("agency", ("Đơn vị",), agency=True),
            C("received", ("Tổng số hồ sơ tiếp nhận",), "integer"),
            C("level3", ("Mức độ 3 / Tổng số",), "integer"),
            C("level3_online", ("Mức độ 3 / Trực tuyến",), "integer"),
            C("level4", ("Mức độ 4 / Tổng số",), "integer"),
            C("level4_online", ("Mức độ 4 / Trực tuyến",), "integer"),
            C("resolved", ("Đã giải quyết",), "integer"),
        ),
        key=("agency",),
        header_rows=2,
        keep_total_row=True,
        figures=False,
    ),
    TableSpec(
        "iso", "iso", "Danh sách cơ quan áp dụng ISO điện tử",
        (
            C("agency", ("Tên cơ quan",), agency=True),
            C("level", ("Cấp",), "choice", required=False, choices=LEVELS),
            C("deployed", ("Ngày triển khai",), "date"),
        ),
        key=("agency",),
    ),
)

TABLES_BY_NAME = {t.name: t for t in TABLES}
SOURCES: dict[str, tuple[TableSpec, ...]] = {}
for _t in TABLES:
    SOURCES.setdefault(_t.source, ())
    SOURCES[_t.source] += (_t,)
