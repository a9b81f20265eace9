"""Pydantic models of every request and response of the REST API (``/api/v1``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from lookalike.api.workspace import NAME_PATTERN
from lookalike.audience.options import AudienceOptions as LibraryOptions
from lookalike.audience.options import CONTACT_OPTIONS, choices, option_fields

Name = Field(pattern=NAME_PATTERN, min_length=1, max_length=64,
             description="letters, digits, '.', '_' or '-', starting with a letter or digit")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class ErrorOut(BaseModel):
    detail: Any


class JobOut(BaseModel):
    id: str
    kind: str
    owner: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1)
    message: str
    result: dict[str, Any]
    error: str | None
    created: str
    finished: str | None


class DatasetOut(BaseModel):
    name: str
    status: str
    ready: bool
    created: str | None = None
    customers: int | None = None
    rows: dict[str, Any] | None = None
    error: str | None = None
    source: dict[str, Any] = Field(default_factory=dict)


class RegisterDataset(_Strict):
    """A dataset read where it lives: a file path on the server, or a database URL + query/table."""

    name: str = Name
    path: str | None = Field(None, max_length=4096, description="file on the server (.xlsx, .csv, .parquet)")
    url: str | None = Field(None, max_length=4096, description="SQLAlchemy URL of the customer database")
    query: str | None = Field(None, max_length=20000, description="SQL query or table name (with url)")


class DemoDataset(_Strict):
    """Synthetic NovaRetail-style customers (for trying the product)."""

    name: str = Name
    n: int = Field(3000, ge=200, le=200_000)
    seed: int = Field(1, ge=0, le=2**31 - 1)


class QualityOut(BaseModel):
    dataset: str
    summary: list[str]
    report: dict[str, Any]


class LookalikeRow(BaseModel):
    customer_id: str
    vip_flag: int | None = None
    total_spent: float | None = None
    total_orders: float | None = None
    region: str | None = None
    fav_category: str | None = None
    distance: float


class LookalikesOut(BaseModel):
    dataset: str
    customer_id: str
    k: int
    lookalikes: list[LookalikeRow]


class SeedSpec(_Strict):
    """Seeds: the VIPs, a list of customer ids, or a one-line rule (``total_spent top 5%``)."""

    kind: Literal["vip", "ids", "rule"] = "vip"
    ids: list[str] | None = Field(None, max_length=1_000_000)
    rule: str | None = Field(None, max_length=2000)


def options_model(options: type = LibraryOptions, name: str = "AudienceOptions") -> type[BaseModel]:
    """The request model of an audience's options, generated from the library's dataclass: the same
    fields (those the API offers), defaults and descriptions, each kind with its JSON form and bounds."""
    fields: dict[str, Any] = {}
    for f in option_fields("api", options):
        fields[f.name] = _api_field(f)
    return create_model(name, __base__=_Strict, __doc__="Every option of an audience expansion (docs/audiences.md).",
                        __module__=__name__, **fields)


def _api_field(f) -> tuple[Any, Any]:
    kind, help, default = f.metadata["kind"], f.metadata["help"], f.default
    bounds = f.metadata.get("bounds") or (None, None)
    if kind == "seeds":
        if default is None:
            return SeedSpec | None, Field(None, description=help)
        return SeedSpec, Field(default_factory=SeedSpec, description=help)
    if kind == "size":
        return str, Field(default, max_length=20, description=help)
    if kind == "choice":
        allowed = Literal[choices(f)]  # type: ignore[valid-type]
        return (allowed | None if default is None else allowed), Field(default, description=help)
    if kind in ("int", "float"):
        return (int if kind == "int" else float), Field(default, ge=bounds[0], le=bounds[1], description=help)
    if kind == "flag":
        return bool, Field(default, description=help)
    if kind == "ids":
        return list[str] | None, Field(None, max_length=1_000_000, description=help)
    if kind == "filters":
        return dict[Literal[choices(f)], list[str]] | None, Field(None, description=help)  # type: ignore[valid-type]
    if kind == "rule":
        return str | None, Field(None, max_length=2000, description=help)
    if kind in ("duration", "cap"):
        return str | None, Field(default, max_length=20, description=help,
                                 examples=["14d" if kind == "duration" else "3/30d"])
    return str | None, Field(default, max_length=200, description=help)  # text


AudienceOptions = options_model()
#: The contact rules as request fields (the playbook run and the campaign export take them too).
CONTACT_FIELDS = {f.name: _api_field(f) for f in option_fields("api") if f.name in CONTACT_OPTIONS}


class AudienceRequest(AudienceOptions):
    name: str = Name
    top: int = Field(20, ge=0, le=1000, description="members returned in the response")


class ReachRow(BaseModel):
    share_of_base: float
    size: int
    mean_similarity: float
    min_similarity: float


class ProfileRow(BaseModel):
    feature: str
    seeds: float | None
    audience: float | None
    base: float | None
    audience_vs_base: float | None


class AudienceOut(BaseModel):
    name: str
    dataset: str | None
    size: int
    seeds: int
    created: str | None = None
    counts: dict[str, int]
    parameters: dict[str, Any]
    warnings: list[str] = Field(default_factory=list)
    reach: list[ReachRow] = Field(default_factory=list)
    profile: list[ProfileRow] = Field(default_factory=list)
    members: list[dict[str, Any]] = Field(default_factory=list)


class ReachOut(BaseModel):
    dataset: str
    size: int
    share_of_base: float
    candidates: int
    mean_similarity: float
    min_similarity: float


class PlaybookOut(BaseModel):
    name: str
    title: str
    description: str
    params: dict[str, Any]
    size: Any = None


class _PlaybookRun(_Strict):
    name: str = Name
    size: str | None = Field(None, max_length=20)
    params: dict[str, str | int | float] = Field(default_factory=dict)
    top: int = Field(20, ge=0, le=1000)


#: A playbook run; the contact rules, when given, override the playbook's.
PlaybookRun = create_model("PlaybookRun", __base__=_PlaybookRun, __module__=__name__, **CONTACT_FIELDS)


class _ExportRequest(_Strict):
    profile: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$", description="email, sms, push, meta or google")
    exclude_ids: list[str] | None = Field(None, max_length=1_000_000)
    allow_other_data: bool = Field(False, description="export even when the dataset changed since the audience "
                                                      "was built (its members' contacts or consents differ)")
    campaign: int | None = Field(None, ge=1, le=2**31 - 1, description=(
        "export for this campaign (id; created from this audience): its control group is left out, its treated "
        "customers are checked against the contact rules (the audience's, or those given here) and recorded as "
        "contacts of the campaign"))
    allow_over_cap: bool = Field(False, description="with campaign: export treated customers who break the contact "
                                                    "rules anyway (a warning) instead of refusing")


#: An export request; the contact rules (with ``campaign``) override the audience's.
ExportRequest = create_model("ExportRequest", __base__=_ExportRequest, __module__=__name__, **CONTACT_FIELDS)


class ExportFile(BaseModel):
    file: str
    rows: int
    sha256: str
    url: str


class ExportOut(BaseModel):
    audience: str
    profile: str
    rows_written: int
    files: list[ExportFile]
    counts: dict[str, int]
    warnings: list[str]


class ExportLogEntry(BaseModel):
    timestamp: str
    user: str
    audience: str
    profile: str
    rows: int
    files: list[dict[str, Any]]
    counts: dict[str, Any]
    warnings: list[str]


class UserOut(BaseModel):
    name: str
    role: str


class CampaignResultsOut(BaseModel):
    campaign_id: int
    results: dict[str, Any]


class ErasureOut(BaseModel):
    """What an erasure removed, per place (never the customer id; see docs/privacy.md)."""

    customer_key: str = Field(description="SHA-256 of the canonical customer id, as in erasure_log")
    log_id: int | None
    files: dict[str, int] = Field(description="file (relative to the workspace) -> rows removed")
    redacted: dict[str, int] = Field(description="JSON/text file -> occurrences of the id removed")
    models_refit: list[str]
    cache_entries_removed: int
    database: dict[str, int] = Field(description="campaign store table -> rows deleted")
    unhandled: list[str] = Field(description="files that still contain the id (delete them by hand)")
    total: int
