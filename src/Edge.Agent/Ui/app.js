// The device page: status, live charts from /metrics, a streaming chat, and the admin panel.
// Everything goes to the daemon that served this page (same origin); nothing else is fetched.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("dsedge-key") || "", admin: false, conversation: [], last: null, series: {} };

function headers(extra = {}) {
  return state.key ? { ...extra, Authorization: `Bearer ${state.key}` } : extra;
}

// A key without the infer role (an admin-only key) is refused on the infer routes (403): those are
// then asked without it, which anonymous loopback access may allow.
async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers || {}) });
  if (response.status === 403 && state.key && !path.startsWith("/v1/admin/"))
    return fetch(path, { ...options, headers: options.headers || {} });
  return response;
}

function setBadge(element, text, kind) {
  element.textContent = text;
  element.dataset.state = kind;
}

// Access: anonymous loopback, a key that works, or a key that is missing or wrong (401/403).
async function checkAccess() {
  const status = await api("/v1/status");
  if (status.status === 401 || status.status === 403) {
    setBadge($("access"), state.key ? "key refused: wrong key" : "a key is needed", "denied");
    $("admin-panel").hidden = true;
    return false;
  }
  setBadge($("access"), state.key ? "key accepted" : "anonymous (loopback)", state.key ? "ok" : "anonymous");
  const admin = state.key ? await api("/v1/admin/update") : { ok: false };
  state.admin = admin.ok;
  $("admin-panel").hidden = !state.admin;
  if (state.admin)
    $("access").textContent += ", admin";
  renderStatus(await status.json());
  return true;
}

function duration(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m ${seconds % 60}s`;
}

function renderStatus(s) {
  $("s-model").textContent = s.model;
  $("s-version").textContent = s.version + (s.on_probation ? " (on probation)" : "");
  $("s-architecture").textContent = `${s.architecture}, ${(s.parameters / 1e6).toFixed(1)} M parameters, context ${s.context_length}`;
  $("s-quantization").textContent = s.quantization;
  $("s-provider").textContent = s.provider;
  $("s-uptime").textContent = duration(s.uptime_seconds);
  $("s-ready").textContent = s.status === "ready" ? "ready" : `degraded: ${s.reason}`;
  setBadge($("health"), s.status, s.status);
  const list = $("ota-history");
  list.replaceChildren(...(s.ota_history.length === 0 ? [Object.assign(document.createElement("li"), { className: "empty", textContent: "none yet" })]
    : s.ota_history.map((h) => {
      const item = document.createElement("li");
      item.className = h.state;
      const when = new Date(h.at * 1000).toLocaleString();
      item.textContent = `${when}: ${h.state} ${h.version || ""}${h.previous_version ? ` (from ${h.previous_version})` : ""}${h.reason ? ` — ${h.reason}` : ""}`;
      return item;
    })));
}

async function refreshStatus() {
  try {
    const response = await api("/v1/status");
    if (response.ok)
      renderStatus(await response.json());
    else if (response.status === 401 || response.status === 403)
      await checkAccess();
  } catch {
    setBadge($("health"), "unreachable", "degraded");
  }
}

// Prometheus text: the sum of a metric's series, and a histogram's buckets.
function parseMetrics(text) {
  const values = {}, buckets = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const [, name, labels, raw] = match;
    const value = Number(raw);
    if (name.endsWith("_bucket")) {
      const le = /le="([^"]+)"/.exec(labels || "");
      if (!le) continue;
      const base = name.slice(0, -7), bound = le[1] === "+Inf" ? Infinity : Number(le[1]);
      (buckets[base] ||= new Map()).set(bound, ((buckets[base].get(bound)) || 0) + value);
    } else {
      values[name] = (values[name] || 0) + value;
    }
  }
  return { values, buckets };
}

// A quantile from cumulative bucket counts: the upper bound of the bucket where it falls.
function quantile(bucketMap, q) {
  if (!bucketMap) return null;
  const bounds = [...bucketMap.keys()].sort((a, b) => a - b);
  const total = bucketMap.get(Infinity) || 0;
  if (total === 0) return null;
  for (const bound of bounds)
    if (bucketMap.get(bound) >= q * total) return bound;
  return null;
}

function push(name, value) {
  const list = (state.series[name] ||= []);
  list.push(value);
  if (list.length > 60) list.shift();
  draw(name, list);
}

function draw(name, list) {
  const canvas = $(`c-${name}`);
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const numbers = list.filter((v) => v !== null && Number.isFinite(v));
  const max = Math.max(1e-9, ...numbers);
  context.strokeStyle = "#2c6bed";
  context.lineWidth = 2;
  context.beginPath();
  list.forEach((v, i) => {
    const x = (i / 59) * width, y = height - 4 - ((v ?? 0) / max) * (height - 8);
    i === 0 ? context.moveTo(x, y) : context.lineTo(x, y);
  });
  context.stroke();
}

function bytes(n) {
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)} GiB` : `${(n / (1 << 20)).toFixed(0)} MiB`;
}

async function refreshMetrics() {
  try {
    const response = await fetch("/metrics");
    if (!response.ok) return;
    const now = performance.now();
    const { values, buckets } = parseMetrics(await response.text());
    const tokens = values.dsedge_tokens_generated_total || 0;
    const tps = state.last ? Math.max(0, (tokens - state.last.tokens) / ((now - state.last.at) / 1000)) : 0;
    state.last = { tokens, at: now };
    push("tps", tps);
    $("v-tps").textContent = tps.toFixed(1);
    push("queue", values.dsedge_queue_depth || 0);
    $("v-queue").textContent = values.dsedge_queue_depth || 0;
    push("active", values.dsedge_active_sequences || 0);
    $("v-active").textContent = values.dsedge_active_sequences || 0;
    const ttft = buckets.dsedge_time_to_first_token_seconds;
    const p50 = quantile(ttft, 0.5), p99 = quantile(ttft, 0.99);
    push("ttft", p99);
    $("v-ttft").textContent = p50 === null ? "–" : `${(p50 * 1000).toFixed(0)} / ${p99 === Infinity ? ">max" : (p99 * 1000).toFixed(0)} ms`;
    push("memory", values.dsedge_resident_memory_bytes || 0);
    $("v-memory").textContent = bytes(values.dsedge_resident_memory_bytes || 0);
  } catch {
    // the next scrape tries again
  }
}

// The chat streams through the same API equipment uses: SSE deltas of content and reasoning_content.
async function sendChat(event) {
  event.preventDefault();
  const prompt = $("prompt").value.trim();
  if (!prompt) return;
  $("prompt").value = "";
  state.conversation.push({ role: "user", content: prompt });
  const userTurn = Object.assign(document.createElement("div"), { className: "turn user", textContent: prompt });
  const answer = Object.assign(document.createElement("div"), { className: "turn assistant" });
  const reasoning = Object.assign(document.createElement("div"), { className: "reasoning" });
  const content = document.createElement("span");
  answer.append(reasoning, content);
  $("transcript").append(userTurn, answer);
  $("send").disabled = true;
  const body = { messages: state.conversation, stream: true, max_tokens: Number($("max-tokens").value) || 128 };
  if ($("json-mode").checked) body.response_format = { type: "json_object" };
  try {
    const response = await api("/v1/chat/completions", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (!response.ok) {
      const error = await response.json().catch(() => ({}));
      throw new Error(error.error?.message || `HTTP ${response.status}`);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of frame.split("\n")) {
          if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
          const chunk = JSON.parse(line.slice(6));
          if (chunk.error) throw new Error(chunk.error.message);
          const delta = chunk.choices?.[0]?.delta || {};
          if (delta.reasoning_content) reasoning.textContent += delta.reasoning_content;
          if (delta.content) content.textContent += delta.content;
          $("transcript").scrollTop = $("transcript").scrollHeight;
        }
      }
    }
    state.conversation.push({ role: "assistant", content: content.textContent });
  } catch (error) {
    answer.classList.add("error");
    content.textContent = `Error: ${error.message}`;
    state.conversation.pop();
  } finally {
    $("send").disabled = false;
  }
}

// Admin: the bundle goes up as the body of POST /v1/admin/update; the daemon checks its signature,
// smoke-tests it and swaps it in before it answers, so the page shows the upload, then that wait.
function upload(event) {
  event.preventDefault();
  const file = $("bundle").files[0];
  if (!file) return;
  const progress = $("upload-progress"), shown = $("upload-state");
  progress.hidden = false;
  progress.value = 0;
  shown.className = "";
  shown.textContent = "uploading…";
  const request = new XMLHttpRequest();
  request.open("POST", "/v1/admin/update");
  request.setRequestHeader("Content-Type", "application/octet-stream");
  if (state.key) request.setRequestHeader("Authorization", `Bearer ${state.key}`);
  request.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    progress.value = (e.loaded / e.total) * 100;
    shown.textContent = e.loaded < e.total ? `uploading ${Math.round(progress.value)}%` : "checking the signature and smoke-testing…";
  };
  request.upload.onload = () => { shown.textContent = "checking the signature and smoke-testing…"; };
  request.onload = () => {
    progress.hidden = true;
    const body = JSON.parse(request.responseText || "{}");
    if (request.status === 200) {
      shown.className = "installed";
      shown.textContent = `installed ${body.version} (was ${body.previous_version}); on probation`;
    } else {
      shown.className = "refused";
      shown.textContent = `refused: ${body.error?.message || request.status}`;
    }
    refreshStatus();
  };
  request.onerror = () => { progress.hidden = true; shown.className = "refused"; shown.textContent = "the upload failed (connection lost)"; };
  request.send(file);
}

async function rollback() {
  if (!confirm("Roll back to the previous version?")) return;
  const shown = $("upload-state");
  shown.className = "";
  shown.textContent = "rolling back…";
  const response = await api("/v1/admin/rollback", { method: "POST" });
  const body = await response.json().catch(() => ({}));
  shown.className = response.ok ? "installed" : "refused";
  shown.textContent = response.ok ? `rolled back to ${body.version}` : `refused: ${body.error?.message || response.status}`;
  refreshStatus();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.key = $("key").value.trim();
  sessionStorage.setItem("dsedge-key", state.key);
  checkAccess();
});
$("chat-form").addEventListener("submit", sendChat);
$("upload-form").addEventListener("submit", upload);
$("rollback").addEventListener("click", rollback);
$("key").value = state.key;
checkAccess().catch(() => setBadge($("health"), "unreachable", "degraded"));
refreshMetrics();
setInterval(refreshStatus, 5000);
setInterval(refreshMetrics, 2000);
