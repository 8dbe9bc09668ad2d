"""The web application: the page, and the JSON API it uses (documented in docs/WEB.md).

``create_app(data_dir)`` gives a FastAPI app whose jobs and gallery live in ``data_dir``; the worker starts
and stops with the app (its lifespan). Job ids and file names in URLs are checked against the server's
own (regex, then the record), so nothing a request says reaches the disk as a path. ``guard.Guard`` answers
only for the server's own host names and lets only its own page (or a client with no Origin) change jobs.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import UsageError, WriteError
from ..jobs.spec import REQUEST_KINDS, Executor, InputImage
from ..jobs.status import FINISHED
from .guard import LOCAL_HOSTS, Guard
from .options import RequestOptions, option_names, parse_options, schema
from .preview import PREVIEW_OPTIONS, STYLE_SIDE, PreviewPainter, Superseded, shrunk
from .queue import JobQueue
from .store import JobNotFound, JobStore
from .uploads import DecodeBudget, Limits, RequestProblem, check_image, form_problem

STATIC = Path(__file__).parent / "static"
NO_STORE = {"Cache-Control": "no-store"}
#: How often a live view (server-sent events) looks for a change, and sends a keep-alive when there is none.
EVENT_POLL_S, KEEPALIVE_S = 0.2, 15.0


def check_memory(options: RequestOptions, images: Sequence[InputImage], held: int = 0) -> None:
    """A job that cannot fit in the memory free, with what the running job ``held`` (freed before this one starts),
    is a 400 with the engine's message now, not a failed job later; each network of a comparison is checked."""
    import io

    import PIL.Image

    from ..core.memory import check_fits
    from ..errors import UsageError

    pictures = [PIL.Image.open(io.BytesIO(image.data)) for image in images]  # sizes from the headers
    try:
        for run in options.runs:
            check_fits(run, pictures[0], pictures[1:], reclaimable=held)
    except UsageError as err:
        raise RequestProblem(400, option_names(str(err))) from None


def create_app(data_dir: str | os.PathLike, executor: Executor | None = None, limits: Limits | None = None,
               preview_every: int = 5, allowed_hosts: Sequence[str] | None = None) -> FastAPI:
    """The app, its jobs in ``data_dir`` (created if missing), run one at a time by ``executor``
    (``nstyle.jobs.spec.ThreadExecutor()`` by default). It answers only requests whose Host is one of
    ``allowed_hosts`` (default: localhost, 127.0.0.1, [::1]; ``guard.served_hosts`` makes the list for a
    ``--host``)."""
    limits = limits or Limits()
    decoding = DecodeBudget(limits.max_decode_bytes)  # uploads decoded at once, by the memory they take
    store = JobStore(data_dir)
    jobs = JobQueue(store, executor, preview_every=preview_every)
    remote = type(jobs.executor).__name__ == "RayExecutor"
    previews = PreviewPainter()  # the fast network, loaded on the first preview

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        jobs.start()
        try:
            yield
        finally:
            await run_in_threadpool(jobs.stop)

    app = FastAPI(title="nstyle", summary="Neural style transfer: stylise images, compare backbones",
                  lifespan=lifespan)
    app.state.store, app.state.jobs, app.state.limits, app.state.previews = store, jobs, limits, previews
    app.add_middleware(Guard, allowed_hosts=LOCAL_HOSTS if allowed_hosts is None else allowed_hosts)

    @app.exception_handler(RequestProblem)
    async def _problem(_request: Request, err: RequestProblem):
        return JSONResponse({"detail": err.message}, status_code=err.status)

    @app.exception_handler(WriteError)
    async def _full(_request: Request, err: WriteError):  # a full disk or a read-only --data: the server's, not a 500
        return JSONResponse({"detail": str(err)}, status_code=507)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, err: RequestValidationError):
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=422)

    def record_of(job_id: str) -> dict:
        try:
            return store.get(job_id)
        except JobNotFound:
            raise HTTPException(404, f"no job {job_id[:40]!r}; GET /api/jobs lists them") from None

    # -- the page ------------------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html", headers=NO_STORE)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # -- the API -------------------------------------------------------------------------------------------

    @app.get("/api/health")
    def health():
        return {"status": "ok"}

    @app.get("/api/options")
    def options():
        """Every option a job may set (name, kind, default, choices, help), the backbones, the limits."""
        return schema() | {"limits": limits.public(), "kinds": list(REQUEST_KINDS)}

    async def read_form(request: Request):
        """The multipart form of a job or a preview, its size limits checked before it is read; its content and
        style uploads (not yet read) and the ``options`` text."""
        length = request.headers.get("content-length")
        if length is None:
            raise RequestProblem(411, "send the upload with a Content-Length")
        if not length.isdigit() or int(length) > limits.max_request_bytes:
            raise RequestProblem(413, f"the upload is larger than the limit of "
                                      f"{limits.max_request_bytes / 2**20:.0f} MB in all; send smaller images")
        try:
            form = await request.form(max_files=limits.max_styles + 2, max_fields=10)
        except StarletteHTTPException as err:  # the multipart parser's own limits
            raise form_problem(str(err.detail), limits) from None
        content = form.get("content")
        styles = form.getlist("style")
        if not isinstance(content, UploadFile):
            raise RequestProblem(400, "no content image: send it as the file field 'content'")
        if not styles or not all(isinstance(s, UploadFile) for s in styles):
            raise RequestProblem(400, "no style image: send one or more as the file field 'style'")
        if len(styles) > limits.max_styles:
            raise RequestProblem(400, f"{len(styles)} style images; at most {limits.max_styles} on this server")
        text = form.get("options")
        if text is not None and not isinstance(text, str):
            raise RequestProblem(400, "options must be a form field holding a JSON object, not a file")
        return form, content, styles, text

    async def checked_uploads(content: UploadFile, styles: list) -> list[tuple[bytes, tuple[InputImage, str]]]:
        """Each upload's bytes and its checked image and display name (the content first)."""
        uploads = [(content, "content")] + [(s, f"style{i}") for i, s in enumerate(styles)]
        checked = []
        for upload, role in uploads:
            data = await upload.read(limits.max_file_bytes + 1)
            checked.append((data, await run_in_threadpool(check_image, data, role, upload.filename, limits,
                                                          decoding)))
        return checked

    @app.post("/api/jobs", status_code=201)
    async def create_job(request: Request):
        """multipart/form-data: ``content`` (one image), ``style`` (one or more images), ``options`` (a JSON
        object of option values), ``kind`` (transfer or compare). Returns the new job's id and record."""
        form, content, styles, text = await read_form(request)
        kind = form.get("kind") or "transfer"
        if kind not in REQUEST_KINDS:
            raise RequestProblem(400, f"kind must be one of {', '.join(REQUEST_KINDS)}, not {str(kind)[:40]!r}")
        opts = await run_in_threadpool(parse_options, text, kind, len(styles), limits)  # the one parse
        checked = [image for _, image in await checked_uploads(content, styles)]
        if not remote:  # a Ray cluster's nodes have their own memory: the job's own Painter checks it there
            await run_in_threadpool(check_memory, opts, [img for img, _ in checked], jobs.held_bytes())
        names = {"content": checked[0][1], "styles": [shown for _, shown in checked[1:]]}
        record = await run_in_threadpool(store.create, kind, opts.given, checked[0][0], [img for img, _ in checked[1:]],
                                         names)
        jobs.submit(record["id"])
        return {"id": record["id"], "job": record}

    @app.post("/api/preview")
    async def preview(request: Request):
        """multipart/form-data as for a job (``content``, ``style``, ``options``), but only the options
        strength, preserve_color and style_blend: the content painted at once by the fast network at the
        page's preview size, as a JPEG; nothing is stored. 409 when a newer preview superseded it."""
        _form, content, styles, text = await read_form(request)
        opts = await run_in_threadpool(parse_options, text, "transfer", len(styles), limits)
        others = sorted(set(opts.given) - set(PREVIEW_OPTIONS))
        if others:
            raise RequestProblem(400, f"a preview takes only the options {', '.join(PREVIEW_OPTIONS)}, not "
                                      f"{', '.join(others)}; the full job (POST /api/jobs) takes the rest")
        run = opts.runs[0]
        pictures = [await run_in_threadpool(shrunk, data, STYLE_SIDE if i else previews.size, decoding, shown,
                                            limits.max_pixels)
                    for i, (data, (_, shown)) in enumerate(await checked_uploads(content, styles))]
        try:
            painted = await run_in_threadpool(previews.paint, pictures[0], pictures[1:],
                                              run.style_blend_for(len(styles)), run.strength, run.preserve_color)
        except Superseded:
            raise RequestProblem(409, "a newer preview was asked for; this one was not painted") from None
        except UsageError as err:
            raise RequestProblem(400, option_names(str(err))) from None
        return Response(painted.jpeg, media_type="image/jpeg",
                        headers=NO_STORE | {"X-Preview-Seconds": f"{painted.seconds:.3f}"})

    @app.get("/api/jobs")
    def list_jobs():
        """Every job, newest first (the gallery), without per-iteration losses."""
        return {"jobs": store.list()}

    @app.get("/api/jobs/{job_id}")
    def get_job(job_id: str):
        """Status, progress (iteration, total, loss, time left), losses per iteration, options, files."""
        return record_of(job_id)

    @app.delete("/api/jobs/{job_id}")
    def cancel_job(job_id: str):
        """Stop a queued or running job; a running one keeps its image so far (status ``cancelled``)."""
        record_of(job_id)
        return jobs.cancel(job_id)

    @app.post("/api/jobs/{job_id}/rerun", status_code=201)
    def rerun_job(job_id: str):
        """A new job with the same images and options."""
        old = record_of(job_id)
        spec = store.spec(job_id)
        record = store.create(old["kind"], old["options"], spec.content, spec.styles, old["names"])
        jobs.submit(record["id"])
        return {"id": record["id"], "job": record}

    @app.get("/api/jobs/{job_id}/image")
    def job_image(job_id: str, download: bool = False):
        """The result, or while the job runs the latest preview (PNG); 404 before the first preview."""
        record_of(job_id)
        try:
            path = store.image_path(job_id)
        except FileNotFoundError:
            raise HTTPException(404, "no image yet; the first preview comes after the first iterations") from None
        name = f"nstyle-{job_id[:8]}.png" if download else None
        return FileResponse(path, media_type="image/png", filename=name, headers=NO_STORE)

    @app.get("/api/jobs/{job_id}/files/{name}")
    def job_file(job_id: str, name: str, download: bool = False):
        """One of the job's files: its inputs (``content.jpg``, ``style0.png``, ...) and a comparison's outputs
        (``grid.png``, ``losses.png``, ``losses_normalised.png``, ``table.md``, ``table.csv``, ``report.md``,
        ``MODEL.png``, ``MODEL.losses.csv``), as listed in the job's record."""
        record_of(job_id)
        try:
            path = store.file_path(job_id, name)
        except (FileNotFoundError, JobNotFound):
            raise HTTPException(404, f"job {job_id} has no file {name[:60]!r}") from None
        media = "text/markdown; charset=utf-8" if name.endswith(".md") else None
        return FileResponse(path, media_type=media, filename=f"{job_id[:8]}-{name}" if download else None,
                            headers=NO_STORE)

    @app.get("/api/jobs/{job_id}/events")
    async def job_events(job_id: str, request: Request):
        """Server-sent events: a ``job`` event with the record (without per-iteration losses) whenever it
        changes, then ``end`` once the job has finished."""
        record_of(job_id)

        async def stream():
            seen, quiet = -1, 0.0
            while not await request.is_disconnected():
                version = store.version(job_id)
                if version != seen:
                    seen, quiet = version, 0.0
                    record = store.get(job_id)
                    record.pop("losses", None)
                    yield f"event: job\ndata: {json.dumps(record)}\n\n"
                    if record["status"] in FINISHED:
                        yield "event: end\ndata: {}\n\n"
                        return
                elif quiet >= KEEPALIVE_S:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(EVENT_POLL_S)
                quiet += EVENT_POLL_S

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers=NO_STORE | {"X-Accel-Buffering": "no"})

    return app
