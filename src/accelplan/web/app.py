"""The web face: one page at / and a JSON API under /api (OpenAPI at /openapi.json, docs at /docs).

No state lives on the server: every answer is computed from the request, and the page keeps its
state in the URL so a link reproduces the comparison. Requests are bounded: body size, number of
chips, token and day ranges, and the shape of a pasted HuggingFace config. Bad input gets a 422 in
FastAPI's shape ({"detail": [{"loc": ["body", FIELD, ...], "msg": ...}]}) whose message names the
allowed values; the page shows it beside that field. Defaults are those of `accelplan compare`.

Comparisons run two at a time in child processes behind a bounded queue (accelplan.web.work): a full
queue gets 503 with Retry-After at once, a client that leaves stops its comparison, and the page, its
files and /api/options never wait behind one.
"""

# no `from __future__ import annotations`: the request model is built at run time from the catalog,
# and FastAPI reads the endpoint's annotations as objects.
import contextlib
import functools
import mimetypes
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, create_model

from accelplan import __version__
from accelplan.api import Comparison
from accelplan.catalog.schema import MAX_PHASES, BoardW
from accelplan.economics.data import UsdPerChipHour
from accelplan.errors import AccelplanError, CatalogError
from accelplan.phases import PHASE_SYNTAX, workload_from_phases
from accelplan.request import (
    DEFAULT_COMPARE_CHIPS,
    DEFAULT_DAYS,
    DEFAULT_GLOBAL_BATCH,
    DEFAULT_MODEL,
    DEFAULT_TOKENS,
    DEFAULT_WORKLOAD,
    PRECISIONS,
    CompareRequest,
    Conflict,
)
from accelplan.web import compare as comparing
from accelplan.web.fields import non_finite_numbers, not_finite_error, with_allowed
from accelplan.web.work import Busy, ChildProcesses, ClientGone, WorkQueue

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 256 * 1024  # a pasted config.json is a few kB; DeepSeek-V3's is under 2 kB
MAX_CHIPS = 12
MIN_TOKENS, MAX_TOKENS = 1e6, 1e16
MIN_DAYS, MAX_DAYS = 0.1, 3650.0
MAX_CLUSTER = 65536
MIN_SEQ, MAX_SEQ = 128, 131072
MAX_GLOBAL_BATCH = 65536
CONCURRENT_COMPARISONS = 2  # each is a CPU-bound plan search per chip; more would only queue on the cores
# Waiting comparisons beyond those running; more get 503 at once. The CLI's default comparison (a 505B MoE
# on 8 chips) takes several seconds, so a full queue is about a minute of waiting.
WAITING_COMPARISONS = 16
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that left; nobody reads it, the access log does
# A pasted config is bounded in shape so one request cannot ask for an unbounded search.
HF_BOUNDS = {"layers": ("num_hidden_layers", 1024), "hidden": ("hidden_size", 65536),
             "heads": ("num_attention_heads", 1024), "ffn_hidden": ("intermediate_size", 262144),
             "vocab": ("vocab_size", 4_000_000)}
MAX_EXPERTS = 4096
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

RegionText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]


class ChipOption(BaseModel):
    id: str
    name: str
    vendor: str
    status: str


class ModelOption(BaseModel):
    id: str
    name: str
    illustrative: bool


class WorkloadOption(BaseModel):
    """A training programme preset: its model and its phases (TOKENS@SEQ, as --phase writes them)."""

    id: str
    name: str
    model: str
    phases: list[str]
    illustrative: bool


class StackOption(BaseModel):
    id: str
    name: str
    runtimes: list[str]


class Options(BaseModel):
    """What the form offers: presets, chips, training stacks, regions (empty = free text), limits and defaults."""

    models: list[ModelOption]
    workloads: list[WorkloadOption]
    chips: list[ChipOption]
    stacks: list[StackOption]
    regions: list[str]
    region_groups: dict[str, str]
    region_supported: bool
    precisions: list[str]
    limits: dict[str, float]
    defaults: dict[str, Any]
    version: str


class Column(BaseModel):
    key: str
    label: str
    numeric: bool


class Table(BaseModel):
    columns: list[Column]
    rows: list[dict[str, str]]


class Figure(BaseModel):
    """A plotly.js figure: Plotly.newPlot(div, data, layout)."""

    id: str
    title: str
    caption: str
    data: list[dict[str, Any]]
    layout: dict[str, Any]


class CompareResponse(BaseModel):
    summary: str
    comparison: Comparison
    table: Table
    figures: list[Figure]
    notes: list[str]


def known_regions() -> dict[str, str]:
    """Accepted region spellings -> region group, from accelplan.economics where this build has it
    (group ids first, then member codes); empty when it has none (then any short code is passed on)."""
    try:
        from accelplan.economics import region_codes, region_groups
    except ImportError:
        return {}
    try:
        groups, codes = region_groups(), region_codes()
    except AccelplanError:
        return {}
    return {**{g: g for g in groups}, **{c: codes[c] for c in sorted(codes) if c not in groups}}


def _phase_text(p: Any) -> str:
    """A phase as --phase writes it: 19.5T@4K, 400B@32K."""
    tokens = next((f"{p.tokens / scale:g}{unit}" for scale, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"))
                   if p.tokens >= scale), f"{p.tokens:g}")
    seq = f"{p.seq_len // 1024}K" if p.seq_len % 1024 == 0 else str(p.seq_len)
    return f"{tokens}@{seq}"


def _upper(v: Any) -> Any:
    return v.strip().upper() if isinstance(v, str) else v


def field_error(loc: list[str | int], msg: str, status: int = 422) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": ["body", *loc], "msg": msg, "type": "value_error"}]}, status_code=status)


def request_model(chip_ids: list[str], model_ids: list[str], regions: list[str],
                  stack_ids: list[str], workload_ids: list[str] | None = None) -> type[BaseModel]:
    """The /api/compare body, with the catalog's ids as enums so OpenAPI lists the allowed values."""
    # types built at run time from the catalog: a static checker sees them as Any
    chip_t: Any = Literal[tuple(chip_ids)]
    model_t: Any = Literal[tuple(model_ids)]
    stack_t: Any = Literal[tuple(stack_ids)]
    workload_t: Any = Literal[tuple(workload_ids or [DEFAULT_WORKLOAD])]
    precision_t: Any = Literal[PRECISIONS]
    # region codes are matched without regard to case, as the economics package does
    region_t: Any = Annotated[Literal[tuple(regions)], BeforeValidator(_upper)] if regions else RegionText
    # the defaults and descriptions are the request's (accelplan.request.CompareRequest); the bounds are this server's
    return create_model(
        "CompareRequest",
        __config__=ConfigDict(extra="forbid"),
        __doc__="A comparison: one workload, several chips, and either a deadline (days) or a fixed chip count "
                "(accelplan.request.CompareRequest, with ids and bounds this server accepts).",
        model=(model_t | None, _as_request("model", description="model preset id, or hf_config instead (one phase)")),
        hf_config=(dict[str, Any] | None, Field(None, description="a HuggingFace config.json (as an object), instead "
                                                                    "of a preset")),
        chips=(list[chip_t], _as_request("chips", min_length=1, max_length=MAX_CHIPS)),
        workload=(workload_t | None, _as_request("workload", description="a training programme preset (its model "
                                                                         "and phases), instead of model/tokens/seq_len/"
                                                                         "global_batch; with none of these: "
                                                                         f"{DEFAULT_WORKLOAD}, as `accelplan compare`")),
        phases=(list[Annotated[str, StringConstraints(max_length=64)]] | None,
                Field(None, min_length=1, max_length=MAX_PHASES,
                      description=f"the phases of a programme on `model`, in order, each {PHASE_SYNTAX}")),
        tokens=(float | None, _as_request("tokens", ge=MIN_TOKENS, le=MAX_TOKENS)),
        days=(float | None, _as_request("days", ge=MIN_DAYS, le=MAX_DAYS)),
        n_chips=(int | None, _as_request("n_chips", ge=1, le=MAX_CLUSTER)),
        seq_len=(int | None, _as_request("seq_len", ge=MIN_SEQ, le=MAX_SEQ)),
        global_batch=(int | None, _as_request("global_batch", ge=1, le=MAX_GLOBAL_BATCH)),
        precision=(precision_t | None, _as_request("precision")),
        region=(region_t | None, _as_request("region")),
        available_only=(bool, _as_request("available_only")),
        framework=(stack_t | None, _as_request("framework", description="training stack every chip runs (each chip's "
                                                                        "runtime default where null); a chip it does "
                                                                        "not run on is left without a plan, saying so")),
        framework_version=(str | None, _as_request("framework_version", max_length=80)),
        prices=(dict[chip_t, UsdPerChipHour] | None,
                Field(None, description="cloud $/chip-hour per chip, replacing the published range")),
        board_power_w=(dict[chip_t, BoardW] | None,
                       Field(None, description="board power in W per chip, where the catalog has none or you "
                                               "know better")),
    )


# what a heavy endpoint (a request through the work queue) may answer besides 200 and 422
QUEUED_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "body is not readable JSON"},
    413: {"description": "request body over 256 KB"},
    503: {"description": "busy: the queue of comparisons is full; try again after the Retry-After header's seconds"},
}


def mixed_model(chip_ids: list[str], model_ids: list[str], regions: list[str]) -> type[BaseModel]:
    """The /api/mixed body: a mixed cluster (2 to 4 chip types and their counts) and one phase of a model."""
    chip_t: Any = Literal[tuple(chip_ids)]
    model_t: Any = Literal[tuple(model_ids)]
    precision_t: Any = Literal[PRECISIONS]
    region_t: Any = Annotated[Literal[tuple(regions)], BeforeValidator(_upper)] if regions else RegionText
    return create_model(
        "MixedRequest",
        __config__=ConfigDict(extra="forbid"),
        __doc__="One training job over several chip types (accelplan.plan.mixed), beside each type alone.",
        mix=(dict[chip_t, Annotated[int, Field(ge=1, le=MAX_CLUSTER)]],
             Field(..., min_length=2, max_length=4, description="chip id -> count, 2 to 4 chip types")),
        model=(model_t, Field(DEFAULT_MODEL, description="model preset id")),
        tokens=(float | None, Field(None, ge=MIN_TOKENS, le=MAX_TOKENS, description="training tokens")),
        seq_len=(int | None, Field(None, ge=MIN_SEQ, le=MAX_SEQ, description="sequence length (null: the model's, "
                                                                              "capped)")),
        global_batch=(int | None, Field(None, ge=1, le=MAX_GLOBAL_BATCH, description="sequences per step")),
        precision=(precision_t | None, Field(None, description="training precision (null: bf16)")),
        region=(region_t | None, Field(None, description="region group or country code for the economics")),
    )


def _as_request(name: str, **bounds: Any) -> Any:
    """A body field with the default and description of CompareRequest's field `name`, and this server's bounds."""
    field = CompareRequest.model_fields[name]
    default: Any = field.get_default(call_default_factory=True)
    return Field(default, description=bounds.pop("description", field.description), **bounds)


def to_request(body: Any) -> CompareRequest | JSONResponse:
    """The CompareRequest a body asks for, or a 422 naming the field at fault. A preset goes to the worker by id (it
    loads the same catalog); a pasted config as its spec, phases as a WorkloadSpec."""
    from pydantic import ValidationError

    from accelplan.economics import EconomicsOptions

    if body.model is not None and body.hf_config is not None:
        return field_error(["model"], "give either a model preset id (model) or a pasted config (hf_config), not both")
    if body.workload is not None and body.phases:
        return field_error(["workload"], "a workload preset gives the model and phases: leave out phases")
    model: Any = body.model
    if body.hf_config is not None:
        model = _hf_model(body.hf_config)
        if isinstance(model, JSONResponse):
            return model
    workload: Any = body.workload
    if body.phases:
        one_phase = [f for f in ("hf_config", "tokens", "seq_len", "global_batch") if getattr(body, f) is not None]
        if one_phase:
            return field_error(["phases"], "phases give each phase's tokens, sequence length and batch, on a preset "
                                           "model: leave out " + ", ".join(one_phase))
        try:
            workload = workload_from_phases(body.model or DEFAULT_MODEL, list(body.phases), body.precision or "bf16")
        except AccelplanError as exc:
            return field_error(["phases"], str(exc))
        model = None
    fields = {f: getattr(body, f) for f in ("tokens", "days", "n_chips", "seq_len", "global_batch", "precision",
                                             "region", "available_only", "framework", "framework_version")}
    try:
        econ = EconomicsOptions(prices=body.prices or {}, board_power_w=body.board_power_w or {})
        return CompareRequest(chips=list(dict.fromkeys(body.chips)), model=model, workload=workload, economics=econ,
                              **fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, Conflict):  # the first field it names is the one the body is asked to change
            return field_error([cause.fields[0]], str(cause))
        return field_error([str(p) for p in err["loc"]], str(err["msg"]).removeprefix("Value error, "))


class BodyLimit:
    """ASGI middleware: 413 for a request body over `max_bytes`, whether declared or streamed.

    The body (at most `max_bytes`) is read before the app runs and handed on in one message, so an
    over-long chunked body is refused before any parsing.
    """

    def __init__(self, app: Any, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def _reject(self, send: Any) -> None:
        resp = field_error([], f"request body is over the limit of {self.max_bytes} bytes", status=413)
        await send({"type": "http.response.start", "status": 413, "headers": resp.raw_headers})
        await send({"type": "http.response.body", "body": resp.body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._reject(send)
            return
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":  # the client went away
                return
            chunks.append(msg.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._reject(send)
                return
            if not msg.get("more_body", False):
                break
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _hf_model(cfg: dict[str, Any]) -> Any:
    """A ModelSpec from a pasted config, or a JSONResponse naming the field at fault."""
    from accelplan.catalog.hf import model_from_hf_config

    raw = str(cfg.get("_name_or_path") or cfg.get("model_type") or "pasted")
    name = "hf-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", raw.rstrip("/").rsplit("/", 1)[-1])[:40] or "pasted")
    try:
        spec = model_from_hf_config(cfg, name=name, file="hf_config")
    except CatalogError as exc:
        return field_error(["hf_config", *([exc.field] if exc.field else [])], str(exc))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return field_error(["hf_config"], f"not a readable HuggingFace config.json: {type(exc).__name__}: {exc}")
    for attr, (key, limit) in HF_BOUNDS.items():
        if getattr(spec, attr) > limit:
            return field_error(["hf_config", key], f"{key} = {getattr(spec, attr)} is over this server's limit of {limit}")
    if spec.moe is not None and spec.moe.experts > MAX_EXPERTS:
        return field_error(["hf_config", "experts"], f"{spec.moe.experts} experts is over this server's limit of "
                                                     f"{MAX_EXPERTS}")
    return spec


class FiniteJsonRoute(APIRoute):
    """A route whose JSON body may hold only finite numbers: NaN, Infinity or 1e400 gets a 422 at its place,
    before FastAPI's parser reads it as a float (whose echo in an error could not be written as JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            bad = non_finite_numbers(await request.body()) if request.method in ("POST", "PUT", "PATCH") else []
            if bad:
                schema = getattr(request.app.state, "body_schema", {})
                return JSONResponse({"detail": [not_finite_error(path, text, schema) for path, text in bad]},
                                    status_code=422)
            return await handle(request)  # the body read above is cached on `request`, which FastAPI reuses

        return checked


async def _client_gone(request: Request) -> None:
    """Returns when the client disconnects. The body is read by then, so the next message is the disconnect."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def create_app(in_processes: bool = True) -> FastAPI:
    """The app. `in_processes=False` runs comparisons in threads of this process, where a test can stand in
    for them; the page then waits for the GIL while they compute (see accelplan.web.work)."""
    from accelplan.catalog.loader import load_catalog
    from accelplan.report.html import plotly_js_path

    cat = load_catalog()
    chip_ids = sorted(cat.chips)
    model_ids = sorted(cat.models)
    region_groups = known_regions()
    regions = list(region_groups)
    compare_request = request_model(chip_ids, model_ids, regions, sorted(cat.stacks), sorted(cat.workloads))
    mixed_request = mixed_model(chip_ids, model_ids, regions)
    plotly_js = plotly_js_path()
    children = ChildProcesses(CONCURRENT_COMPARISONS, warm=comparing.warm) if in_processes else None
    queue = WorkQueue(CONCURRENT_COMPARISONS, WAITING_COMPARISONS, children)
    offered = Options(
        models=[ModelOption(id=m.id, name=m.name, illustrative=m.illustrative) for m in
                sorted(cat.models.values(), key=lambda m: m.id)],
        workloads=[WorkloadOption(id=w.id, name=w.name, model=w.model, phases=[_phase_text(p) for p in w.phases],
                                  illustrative=w.illustrative) for w in sorted(cat.workloads.values(), key=lambda w: w.id)],
        chips=[ChipOption(id=c.id, name=c.name, vendor=c.vendor, status=c.status) for c in
               sorted(cat.chips.values(), key=lambda c: (c.vendor, c.year or 0, c.id))],
        stacks=[StackOption(id=st.id, name=st.name, runtimes=list(st.runtimes)) for st in
                sorted(cat.stacks.values(), key=lambda st: st.id)],
        regions=regions, region_groups=region_groups, region_supported=True,
        precisions=list(PRECISIONS),
        limits={"max_chips": MAX_CHIPS, "min_tokens": MIN_TOKENS, "max_tokens": MAX_TOKENS, "min_days": MIN_DAYS,
                "max_days": MAX_DAYS, "max_cluster": MAX_CLUSTER, "min_seq_len": MIN_SEQ, "max_seq_len": MAX_SEQ,
                "max_global_batch": MAX_GLOBAL_BATCH, "max_body_bytes": MAX_BODY_BYTES},
        defaults={"model": DEFAULT_MODEL, "chips": list(DEFAULT_COMPARE_CHIPS), "tokens": DEFAULT_TOKENS,
                  "days": DEFAULT_DAYS, "global_batch": DEFAULT_GLOBAL_BATCH, "precision": "bf16",
                  "workload": DEFAULT_WORKLOAD},
        version=__version__)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if children is not None:
            children.start()  # they load the catalog now, not during the first comparison
        yield
        if children is not None:
            children.stop()

    app = FastAPI(title="accelplan", version=__version__, lifespan=lifespan,
                  description="Compare AI accelerators for LLM training: chips needed for a deadline, or time on a "
                              "fixed chip count, with the plots behind the answer. The page at / uses this API.")
    app.router.route_class = FiniteJsonRoute
    app.state.body_schema = compare_request.model_json_schema()
    app.state.queue = queue
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [with_allowed(e, app.state.body_schema) for e in exc.errors()]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    # The cheap endpoints are coroutines answering from memory: no thread, no file read, so they answer
    # within milliseconds while comparisons run. The page's own files are small and read once.
    page_html = (STATIC / "index.html").read_bytes()
    page_files = {p.name: p.read_bytes() for p in STATIC.iterdir() if p.suffix in (".js", ".css") and p.is_file()}
    offered_json = offered.model_dump_json().encode()

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> Response:
        return Response(page_html, media_type="text/html",
                        headers={"Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "no-cache"})

    @app.api_route("/static/{name}", methods=["GET", "HEAD"], include_in_schema=False)
    async def static(name: str) -> Response:
        if name == "plotly.min.js":  # 4.6 MB, streamed from the installed plotly package
            return FileResponse(plotly_js, media_type="text/javascript",
                                headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})
        if name not in page_files:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return Response(page_files[name], media_type=mimetypes.guess_type(name)[0],
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    @app.get("/api/options", response_model=Options, summary="What the form offers")
    async def options() -> Response:
        return Response(offered_json, media_type="application/json")

    async def queued(work: Callable[[], tuple[int, bytes]], request: Request) -> Response:
        """Run heavy work through the bounded queue: its answer, 503 with Retry-After when the queue is full, or
        nothing for a client that left."""
        try:
            status, content = await queue.run(work, functools.partial(_client_gone, request))
        except Busy as exc:
            return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after_s)})
        except ClientGone:
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        return Response(content, status_code=status, media_type="application/json")

    @app.post("/api/compare", response_model=CompareResponse, summary="Compare chips on one workload",
              responses=QUEUED_RESPONSES)
    async def compare(req: compare_request, request: Request) -> Any:  # type: ignore[valid-type]
        request_or_error = to_request(req)
        if isinstance(request_or_error, JSONResponse):
            return request_or_error
        return await queued(functools.partial(comparing.compare_json, request_or_error), request)

    @app.post("/api/mixed", summary="One job over several chip types, beside each type alone",
              responses=QUEUED_RESPONSES)
    async def mixed(req: mixed_request, request: Request) -> Any:  # type: ignore[valid-type]
        return await queued(functools.partial(comparing.mixed_json, req.model_dump()), request)  # type: ignore[attr-defined]

    return app
