// The t2l-edge page: one question goes to the adapted model, then to the plain base, each
// streamed from /v1/chat/completions. Plain browser APIs only (no build step, no CDN).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { model: null, history: { adapted: [], base: [] }, busy: false };

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function fail(res) {
  let message = res.status + " " + res.statusText;
  try { message = (await res.json()).error.message; } catch (e) { /* not JSON */ }
  if (res.status === 401) $("key-label").hidden = false;
  throw new Error(message);
}

async function connect() {
  const res = await fetch("/v1/models", { headers: headers() });
  if (!res.ok) return fail(res);
  state.model = (await res.json()).data[0].id;
  const info = await fetch("/v1/adapters", { headers: headers() });
  const bundle = info.ok ? (await info.json()).bundle_id : "?";
  $("meta").textContent = "base " + state.model + " · bundle " + bundle;
}

function bubble(column, role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  $(column + "-log").appendChild(div);
  return div;
}

// Read an SSE body: events are separated by a blank line, each "data:" line carries JSON.
async function stream(body, onText) {
  const res = await fetch("/v1/chat/completions", { method: "POST", headers: headers(), body: JSON.stringify(body) });
  if (!res.ok) return fail(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "", last = {};
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    const events = buf.split(/\r?\n\r?\n/);
    buf = events.pop();
    for (const ev of events) {
      const data = ev.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
      if (!data || data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const choice = chunk.choices && chunk.choices[0];
      if (choice && choice.delta && choice.delta.content) onText(choice.delta.content);
      if (chunk.t2l) last.t2l = chunk.t2l;
      if (chunk.usage) last.usage = chunk.usage;
    }
  }
  return last;
}

function stats(last, adapted) {
  const t = last.t2l.timings, n = last.usage ? last.usage.completion_tokens : 0;
  const speed = t.tokens_per_s.toFixed(1) + " tok/s · " + n + " tokens";
  if (!adapted) return speed;
  const a = last.t2l.adapters[0];
  const made = a.cached ? "adapter from cache" : "adapter generated in " + t.make_ms.toFixed(1) + " ms";
  const cost = last.t2l.in_prompt_tokens ? " · description in prompt: +" + last.t2l.in_prompt_tokens + " prompt tokens" : "";
  return made + " (+" + (t.load_ms + t.switch_ms).toFixed(1) + " ms to load and switch) · " + speed + cost;
}

async function ask(column, prompt, extra) {
  const history = state.history[column];
  history.push({ role: "user", content: prompt });
  bubble(column, "user", prompt);
  const out = bubble(column, "assistant", "");
  const body = Object.assign({ model: state.model, messages: history, stream: true, temperature: 0,
    max_tokens: Number($("max-tokens").value) || 96, stream_options: { include_usage: true } }, extra);
  try {
    const last = await stream(body, (text) => { out.textContent += text; });
    history.push({ role: "assistant", content: out.textContent });
    $(column + "-stats").textContent = stats(last, column === "adapted");
  } catch (e) {
    history.pop();
    out.className = "msg error";
    out.textContent = e.message;
  }
}

async function send(ev) {
  ev.preventDefault();
  const description = $("description").value.trim(), prompt = $("prompt").value.trim();
  if (state.busy) return;
  if (!description || !prompt) { $("status").textContent = "type a task description and a message"; return; }
  state.busy = true;
  $("send").disabled = true;
  $("status").textContent = "answering…";
  try {
    if (!state.model) await connect();
    const scale = Number($("scale").value);
    const inPrompt = $("in-prompt").checked;
    await ask("adapted", prompt, { t2l: { description: description, scale: isNaN(scale) ? 1 : scale, in_prompt: inPrompt } });
    await ask("base", prompt, { lora: [] });  // explicitly no adapter, whatever the global scales are
    $("prompt").value = "";
    $("status").textContent = "";
  } catch (e) {
    $("status").textContent = e.message;
  } finally {
    state.busy = false;
    $("send").disabled = false;
  }
}

function reset() {
  for (const column of ["adapted", "base"]) {
    state.history[column] = [];
    $(column + "-log").textContent = "";
    $(column + "-stats").textContent = "";
  }
}

window.addEventListener("DOMContentLoaded", () => {
  $("form").addEventListener("submit", send);
  $("reset").addEventListener("click", reset);
  connect().catch((e) => { $("meta").textContent = e.message; });
});
