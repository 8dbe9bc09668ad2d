// nstyle's page: builds its forms from GET /api/options, sends jobs to POST /api/jobs, follows a job through
// server-sent events (GET /api/jobs/{id}/events, polling GET /api/jobs/{id} if they fail), shows the gallery.
// As soon as a content and a style are chosen it asks POST /api/preview for the fast network's picture and shows
// it where the result goes, labelled "preview"; strength, colour and blend changes ask again (debounced).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { kind: "transfer", schema: null, content: null, styles: [], job: null, source: null, curve: [],
                preview: { timer: null, abort: null, url: null, count: 0 } };
const PREVIEW_OPTIONS = ["strength", "preserve_color", "style_blend"];
const PREVIEW_DELAY_MS = 250;  // options typed or stepped within this time make one request

// ---- helpers --------------------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600 ? `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`
    : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const number = (x) => (x === null || x === undefined ? "?" : Number(x).toPrecision(4));

function showMessage(text, isError = true) {
  const m = $("message");
  m.textContent = text || "";
  m.className = isError ? "error" : "";
}

async function api(url, options = {}) {
  const response = await fetch(url, options);
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) {
    const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail))
      : `${response.status} ${response.statusText}`;
    throw new Error(detail);
  }
  return body;
}

// ---- the form -------------------------------------------------------------------------------------------

function optionInput(opt) {
  const id = `opt-${opt.name}`;
  const label = el("label", { for: id, title: opt.help, text: opt.name.replace(/_/g, " ") });
  let input;
  if (opt.choices) {
    input = el("select", { id, name: opt.name });
    const def = opt.default === null ? "" : String(opt.default);
    input.append(el("option", { value: "", text: opt.default === null ? "none (default)" : `${def} (default)` }));
    for (const c of opt.choices) if (c !== def) input.append(el("option", { value: c, text: c }));
  } else {
    const isList = opt.kind === "floats" || opt.kind === "strs";
    input = el("input", { id, name: opt.name, type: isList ? "text" : (opt.kind === "str" ? "text" : "number"),
                          step: "any", placeholder: opt.default === null ? (isList ? "space-separated" : "default")
                                                                         : String(opt.default) });
  }
  input.dataset.kind = opt.kind;
  return el("div", { class: "option" + (opt.compare ? "" : " only-transfer") }, label, input);
}

function buildForm(schema) {
  const main = $("main-options"), more = $("more-options");
  for (const opt of schema.transfer) (opt.main ? main : more).append(optionInput(opt));
  $("opt-strength").setAttribute("min", "0");
  $("opt-strength").setAttribute("max", "1");
  $("opt-strength").setAttribute("step", "0.05");
  for (const m of schema.models) {
    const box = el("input", { type: "checkbox", value: m.name, id: `model-${m.name}` });
    box.checked = schema.compare.models.includes(m.name);
    $("models").append(el("label", { class: "model", title: m.description }, box, ` ${m.name}`));
  }
  // The model select: say which backbones' weights are not downloaded yet (their first run fetches them).
  for (const option of $("opt-model").options) {
    const m = schema.models.find((x) => x.name === (option.value || schema.transfer.find((o) => o.name === "model").default));
    if (m && !m.cached) option.textContent += " (weights not fetched yet)";
  }
}

function setKind(kind) {
  state.kind = kind;
  $("job-form").dataset.kind = kind;
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.kind === kind);
  $("submit").textContent = kind === "compare" ? "Compare" : "Stylise";
  $("style-label").textContent = kind === "compare" ? "Style image" : "Style images";
  const d = state.schema.compare;
  const defaults = kind === "compare" ? d : Object.fromEntries(state.schema.transfer.map((o) => [o.name, o.default]));
  for (const name of ["size", "iterations", "seed"]) $(`opt-${name}`).placeholder = String(defaults[name]);
  if (kind === "compare" && state.styles.length > 1) state.styles = state.styles.slice(0, 1);
  renderThumbs();
  schedulePreview();
}

function collectOptions(only = null) {  // only: these options (a preview's), without the compare fields
  const options = {};
  for (const opt of state.schema.transfer) {
    if (state.kind === "compare" && !opt.compare) continue;
    if (only && !only.includes(opt.name)) continue;
    const input = $(`opt-${opt.name}`);
    const raw = input.value.trim();
    if (raw === "") continue;
    if (opt.kind === "int" || opt.kind === "float") options[opt.name] = Number(raw);
    else if (opt.kind === "floats") options[opt.name] = raw.split(/[\s,]+/).map(Number);
    else if (opt.kind === "strs") options[opt.name] = raw.split(/[\s,]+/);
    else options[opt.name] = raw;
    if ((opt.kind === "int" || opt.kind === "float") && !isFinite(options[opt.name])) {
      throw new Error(`${opt.name.replace(/_/g, " ")}: give a number, not "${raw}"`);
    }
  }
  if (state.kind === "compare" && !only) {
    options.models = [...document.querySelectorAll("#models input:checked")].map((b) => b.value);
    if (!options.models.length) throw new Error("tick at least one backbone to compare");
  }
  return options;
}

function renderThumbs() {
  const show = (files, box, remove) => {
    box.replaceChildren(...files.map((file, i) => {
      const img = el("img", { alt: file.name, title: file.name });
      img.src = URL.createObjectURL(file);
      return el("figure", {}, img, el("figcaption", { text: file.name }),
                el("button", { type: "button", class: "remove", title: "remove", text: "×", onclick: () => remove(i) }));
    }));
  };
  show(state.content ? [state.content] : [], $("content-thumbs"), () => { state.content = null; renderThumbs(); schedulePreview(); });
  show(state.styles, $("style-thumbs"), (i) => { state.styles.splice(i, 1); renderThumbs(); schedulePreview(); });
}

function addFiles(target, files) {
  files = [...files];
  if (!files.length) return;
  if (target === "content") state.content = files[0];
  else state.styles = state.kind === "compare" ? files.slice(0, 1) : state.styles.concat(files);
  showMessage("");
  renderThumbs();
  schedulePreview();
}

function wireDrop(zone, input, target) {
  input.addEventListener("change", () => { addFiles(target, input.files); input.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); addFiles(target, e.dataTransfer.files); });
}

async function submitJob(event) {
  event.preventDefault();
  showMessage("");
  try {
    if (!state.content) throw new Error("add a content image first");
    if (!state.styles.length) throw new Error("add a style image first");
    const form = new FormData();
    form.append("kind", state.kind);
    form.append("options", JSON.stringify(collectOptions()));
    form.append("content", state.content, state.content.name);
    for (const s of state.styles) form.append("style", s, s.name);
    $("submit").disabled = true;
    const created = await api("/api/jobs", { method: "POST", body: form });
    follow(created.id);
    refreshGallery();
  } catch (err) {
    showMessage(err.message);
  } finally {
    $("submit").disabled = false;
  }
}

// ---- the instant preview --------------------------------------------------------------------------------

function cancelPreview() {
  clearTimeout(state.preview.timer);
  if (state.preview.abort) state.preview.abort.abort();
  state.preview.abort = null;
}

function jobRunning() {  // a job of this page not finished yet (queued before its first event)
  return Boolean(state.job) && !FINISHED.includes(state.job.status || "queued");
}

// A preview is asked for when a transfer has a content and a style and no job of this page is running; the
// newest request wins (the one before is aborted here, and the server skips any still waiting).
function schedulePreview() {
  cancelPreview();
  if (jobRunning()) return;
  if (state.kind !== "transfer" || !state.content || !state.styles.length) {
    if ($("job").dataset.status === "preview") $("job").hidden = true;  // nothing to preview any more
    return;
  }
  state.preview.timer = setTimeout(requestPreview, PREVIEW_DELAY_MS);
}

async function requestPreview() {
  let options;
  try { options = collectOptions(PREVIEW_OPTIONS); } catch (err) { showPreviewError(err.message); return; }
  const form = new FormData();
  form.append("options", JSON.stringify(options));
  form.append("content", state.content, state.content.name);
  for (const s of state.styles) form.append("style", s, s.name);
  const abort = new AbortController();
  state.preview.abort = abort;
  showPreviewPanel("painting a preview…");
  let response;
  try {
    response = await fetch("/api/preview", { method: "POST", body: form, signal: abort.signal });
  } catch (err) {
    if (err.name !== "AbortError") showPreviewError(`cannot reach the server: ${err.message}`);
    return;
  }
  if (abort.signal.aborted || response.status === 409) return;  // a newer preview is on its way
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    showPreviewError(detail);
    return;
  }
  const blob = await response.blob();
  if (abort.signal.aborted || jobRunning()) return;
  if (state.preview.url) URL.revokeObjectURL(state.preview.url);
  state.preview.url = URL.createObjectURL(blob);
  state.preview.count += 1;
  const seconds = Number(response.headers.get("X-Preview-Seconds"));
  showPreviewPanel(`fast preview painted in ${seconds.toFixed(2)} s; press Stylise for the full-quality picture`);
  const panel = $("job");
  panel.dataset.preview = String(state.preview.count);
  $("live").src = state.preview.url;
}

function showPreviewPanel(note) {
  if (jobRunning()) return;
  const panel = $("job");
  panel.hidden = false;
  panel.dataset.status = "preview";
  const names = [state.content.name, state.styles.map((s) => s.name).join(" + ")];
  $("job-title").textContent = `Preview: ${names[0]} in the style of ${names[1]}`;
  $("job-error").textContent = "";
  $("stats").textContent = note;
  $("settings").textContent = "";
  $("job-note").textContent = "";
  $("maps-results").hidden = true;
  $("compare-results").hidden = true;
}

function showPreviewError(text) {
  if (jobRunning()) return;
  showPreviewPanel("no preview");
  $("job-error").textContent = `preview: ${text}`;
}

// ---- one job, live --------------------------------------------------------------------------------------

const FINISHED = ["done", "cancelled", "failed", "interrupted"];

function follow(id) {
  cancelPreview();
  if (state.source) state.source.close();
  state.job = { id, preview: -1, version: -1 };
  state.curve = [];
  const panel = $("job");
  panel.hidden = false;
  panel.dataset.id = id;
  panel.dataset.updates = "0";
  $("live").removeAttribute("src");
  panel.scrollIntoView({ behavior: "smooth", block: "start" });
  const source = new EventSource(`/api/jobs/${id}/events`);
  state.source = source;
  source.addEventListener("job", (e) => {
    const record = JSON.parse(e.data);
    if (record.progress) state.curve.push([record.progress.iteration, record.progress.loss]);
    panel.dataset.updates = String(Number(panel.dataset.updates) + 1);
    render(record);
  });
  source.addEventListener("end", async () => { source.close(); await finishFollow(id); });
  source.onerror = () => { source.close(); if (state.job && state.job.id === id) poll(id); };
}

async function poll(id) {  // when server-sent events are not available
  while (state.job && state.job.id === id) {
    try {
      const record = await api(`/api/jobs/${id}`);
      state.curve = record.losses.map((p) => [p[0], p[1]]);
      render(record);
      if (FINISHED.includes(record.status)) { refreshGallery(); return; }
    } catch (err) { $("job-error").textContent = err.message; return; }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function finishFollow(id) {
  const record = await api(`/api/jobs/${id}`);
  state.curve = record.losses.map((p) => [p[0], p[1]]);
  if (state.job && state.job.id === id) render(record);
  refreshGallery();
}

function render(record) {
  const id = record.id, panel = $("job"), p = record.progress;
  panel.dataset.status = record.status;
  state.job.status = record.status;
  const names = record.names || {};
  $("job-title").textContent = `${record.kind === "compare" ? "Comparison" : "Stylise"}: ${names.content || "content"} in the style of ${(names.styles || []).join(" + ") || "style"} (${record.status})`;
  const finished = FINISHED.includes(record.status);
  panel.dataset.iteration = p ? String(p.iteration) : "0";
  if (p) {
    $("bar").value = record.status === "done" ? 1 : (p.total ? Math.min(1, p.iteration / p.total) : 0);
    const parts = [`iteration ${p.iteration} / ${p.total}`];
    if (p.stage) parts.push(p.stage);
    parts.push(`loss ${number(p.loss)}`);
    if (!finished) parts.push(`${duration(p.elapsed)} elapsed`, `about ${duration(p.time_left)} left`);
    $("stats").textContent = parts.join(" · ");
  } else {
    $("bar").removeAttribute("value");  // indeterminate while the network loads
    $("stats").textContent = record.status === "queued" ? "waiting for the job before it"
      : finished ? "" : "starting (loading the network)";
  }
  if (finished && record.seconds !== null) {
    $("stats").textContent += `${p ? " · " : ""}${record.status} after ${record.iterations} iterations in ${duration(record.seconds)}`;
  }
  $("job-error").textContent = record.error || "";
  $("job-note").textContent = [record.node ? `on Ray node ${record.node}` : "", record.note || ""].filter(Boolean).join(" · ");
  const hasResult = record.files.includes("result.png");
  if ((record.preview > state.job.preview || (hasResult && state.job.result !== true)) && (record.preview || hasResult)) {
    state.job.preview = record.preview;
    state.job.result = hasResult;
    $("live").src = `/api/jobs/${id}/image?v=${record.version}-${hasResult ? "r" : record.preview}`;
  }
  $("settings").textContent = summary(record);
  $("stop").hidden = FINISHED.includes(record.status);
  $("download").hidden = !hasResult;
  $("download").href = `/api/jobs/${id}/image?download=true`;
  $("again").hidden = !FINISHED.includes(record.status);
  drawCurve();
  renderCompare(record);
  renderMaps(record);
}

// The maps --auto-maps found (content_map.png, style_map.png or style_map_1.png, ...), beside the result.
function renderMaps(record) {
  const box = $("maps-results");
  const names = record.files.filter((f) => /^(content_map|style_map(_[0-9]+)?)\.png$/.test(f));
  box.hidden = !names.length;
  if (!names.length || box.dataset.id === record.id) return;
  box.dataset.id = record.id;
  const caption = (name) => name === "content_map.png" ? "content regions"
    : name === "style_map.png" ? "style regions" : `style ${name.match(/[0-9]+/)[0]} regions`;
  $("maps").replaceChildren(...names.map((name) => el("figure", {},
    el("img", { src: `/api/jobs/${record.id}/files/${name}?v=${record.version}`, alt: caption(name) }),
    el("figcaption", {}, el("a", { href: `/api/jobs/${record.id}/files/${name}?download=true`, download: "",
                                   text: caption(name) })))));
}

function summary(record) {
  const o = Object.entries(record.options).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(",") : v}`);
  return o.length ? `settings: ${o.join(" · ")}` : "settings: the defaults";
}

function drawCurve() {
  const canvas = $("curve"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const pts = state.curve.filter((p) => p[1] > 0 && isFinite(p[1]));
  if (pts.length < 2) return;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => Math.log10(p[1]));
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const pad = 6, w = canvas.width - 2 * pad, h = canvas.height - 2 * pad;
  ctx.strokeStyle = "#8a3b12";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  pts.forEach((p, i) => {
    const x = pad + (x1 > x0 ? (p[0] - x0) / (x1 - x0) : 0) * w;
    const y = pad + (y1 > y0 ? 1 - (Math.log10(p[1]) - y0) / (y1 - y0) : 0.5) * h;
    if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = "#666";
  ctx.font = "11px sans-serif";
  ctx.fillText(`loss ${number(pts[pts.length - 1][1])} (log scale)`, pad + 2, canvas.height - 4);
}

async function renderCompare(record) {
  const box = $("compare-results");
  const ready = record.kind === "compare" && record.files.includes("grid.png");
  box.hidden = !ready;
  if (!ready || box.dataset.id === record.id) return;
  box.dataset.id = record.id;
  const file = (name) => `/api/jobs/${record.id}/files/${name}?v=${record.version}`;
  $("grid").src = file("grid.png");
  $("loss-curves").src = file("losses.png");
  $("loss-normalised").src = file("losses_normalised.png");
  $("report").href = `/api/jobs/${record.id}/files/report.md?download=true`;
  $("table-csv").href = `/api/jobs/${record.id}/files/table.csv?download=true`;
  const text = await (await fetch(file("table.csv"))).text();
  const rows = text.trim().split("\n").map(parseCsvLine);
  const table = $("table");
  table.replaceChildren(el("thead", {}, el("tr", {}, ...rows[0].map((h) => el("th", { text: h.replace(/_/g, " ") })))),
                        el("tbody", {}, ...rows.slice(1).map((r) => el("tr", {}, ...r.map((c) => el("td", { text: c }))))));
}

function parseCsvLine(line) {  // table.csv is written by Python's csv module: quotes only where needed
  const cells = [];
  const re = /("([^"]|"")*"|[^,]*)(,|$)/g;
  let m;
  while ((m = re.exec(line)) && m[0] !== "") {
    cells.push(m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1]);
    if (m[3] === "") break;
  }
  return cells;
}

// ---- the gallery ----------------------------------------------------------------------------------------

async function refreshGallery() {
  let jobs;
  try { jobs = (await api("/api/jobs")).jobs; } catch (err) { return; }
  const box = $("gallery");
  if (!jobs.length) return;
  box.replaceChildren(...jobs.map((job) => {
    const names = job.names || {};
    const hasImage = job.files.includes("result.png") || job.preview > 0;
    const img = hasImage ? el("img", { alt: `${job.kind} ${job.status}`, loading: "lazy",
                                       src: `/api/jobs/${job.id}/image?v=${job.version}-${job.status}` })
                         : el("div", { class: "placeholder", text: job.status });
    const when = new Date(job.created * 1000).toLocaleString();
    const card = el("article", { class: `card ${job.status}`, "data-id": job.id },
      img,
      el("p", { class: "title", text: `${names.content || "content"} × ${(names.styles || []).join(" + ")}` }),
      el("p", { class: "hint", text: `${job.kind} · ${job.status}${job.seconds !== null ? ` · ${duration(job.seconds)}` : ""} · ${when}` }),
      el("p", { class: "hint", text: summary(job) }),
      el("div", { class: "actions" },
        el("button", { type: "button", text: "Open", onclick: () => follow(job.id) }),
        job.files.includes("result.png") ? el("a", { class: "button", href: `/api/jobs/${job.id}/image?download=true`, download: "", text: "Download" }) : "",
        FINISHED.includes(job.status) ? el("button", { type: "button", text: "Run again", onclick: () => rerun(job.id) }) : ""));
    return card;
  }));
}

async function rerun(id) {
  try {
    const created = await api(`/api/jobs/${id}/rerun`, { method: "POST" });
    follow(created.id);
    refreshGallery();
  } catch (err) { showMessage(err.message); }
}

// ---- start ----------------------------------------------------------------------------------------------

async function start() {
  try {
    state.schema = await api("/api/options");
  } catch (err) { showMessage(`cannot reach the server: ${err.message}`); return; }
  buildForm(state.schema);
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => setKind(tab.dataset.kind));
  wireDrop($("content-drop"), $("content-input"), "content");
  wireDrop($("style-drop"), $("style-input"), "styles");
  $("job-form").addEventListener("submit", submitJob);
  for (const name of PREVIEW_OPTIONS) {
    for (const type of ["input", "change"]) $(`opt-${name}`).addEventListener(type, schedulePreview);
  }
  $("stop").addEventListener("click", async () => {
    try { await api(`/api/jobs/${state.job.id}`, { method: "DELETE" }); } catch (err) { showMessage(err.message); }
  });
  $("again").addEventListener("click", () => rerun(state.job.id));
  setKind("transfer");
  refreshGallery();
  document.body.dataset.ready = "true";
}

start();
