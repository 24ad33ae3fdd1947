/**
 * The status page document: one HTML file with its CSS and script inline, so it works with no
 * internet and loads in one request (about 10 KB). Polls /api/page every 2 s.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tk100b-gateway: depot status</title>
<link rel="icon" href="data:,">
<style>
  :root { --bg:#fff; --fg:#111; --muted:#555; --ok:#0a6b2d; --bad:#a30d0d; --warn:#8a5300; --line:#ccc; }
  @media (prefers-color-scheme: dark) { :root { --bg:#111; --fg:#eee; --muted:#bbb; --ok:#5fd68a; --bad:#ff8080; --warn:#ffc266; --line:#444; } }
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: var(--bg); color: var(--fg); }
  header { padding: .6rem 1rem; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 1rem; align-items: baseline; }
  h1 { font-size: 1.1rem; margin: 0; }
  main { padding: 0 1rem 2rem; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); }
  section { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; overflow-x: auto; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 1rem; margin: .2rem 0 .6rem; }
  table { border-collapse: collapse; width: 100%; font-size: 14px; }
  th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
  .ok { color: var(--ok); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; } .warn { color: var(--warn); font-weight: 600; }
  .muted { color: var(--muted); }
  button { font: inherit; cursor: pointer; background: none; border: 1px solid var(--line); color: var(--fg); border-radius: 4px; padding: .1rem .4rem; }
  button:focus, select:focus { outline: 3px solid #2a6df4; outline-offset: 1px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
  dt { color: var(--muted); } dd { margin: 0; }
  svg { width: 100%; height: auto; background: transparent; }
</style>
</head>
<body>
<header>
  <h1>tk100b-gateway</h1>
  <span id="summary" aria-live="polite">loading...</span>
  <span id="updated" class="muted"></span>
</header>
<main>
  <section class="wide" aria-labelledby="h-devices">
    <h2 id="h-devices">Trackers</h2>
    <label for="filter">Show</label>
    <select id="filter">
      <option value="all">all trackers</option>
      <option value="silent">silent or offline</option>
      <option value="alarm">with alarms</option>
    </select>
    <table>
      <thead><tr><th scope="col">Device</th><th scope="col">Family</th><th scope="col">State</th><th scope="col">Last seen</th><th scope="col">Last fix</th><th scope="col">Ignition</th><th scope="col">Relay</th><th scope="col">Battery/GSM</th><th scope="col">Alarms</th><th scope="col">Track</th></tr></thead>
      <tbody id="devices"></tbody>
    </table>
  </section>
  <section aria-labelledby="h-track">
    <h2 id="h-track">Track <span id="track-id" class="muted">(choose a tracker)</span></h2>
    <svg id="track" viewBox="0 0 300 200" role="img" aria-label="recent track of the chosen tracker"></svg>
  </section>
  <section aria-labelledby="h-uplink">
    <h2 id="h-uplink">Uplink</h2>
    <dl id="uplink"></dl>
    <svg id="drain" viewBox="0 0 300 80" role="img" aria-label="backlog over the last hour"></svg>
  </section>
  <section aria-labelledby="h-commands">
    <h2 id="h-commands">Engine-cut commands</h2>
    <table><thead><tr><th scope="col">Command</th><th scope="col">Device</th><th scope="col">Action</th><th scope="col">State</th><th scope="col">Reason</th></tr></thead><tbody id="commands"></tbody></table>
  </section>
  <section aria-labelledby="h-health">
    <h2 id="h-health">Gateway</h2>
    <dl id="health"></dl>
  </section>
</main>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const q = (path) => token ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : path;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const age = (sec) => sec < 90 ? sec + " s" : sec < 5400 ? Math.round(sec / 60) + " min" : (sec / 3600).toFixed(1) + " h";
const bytes = (n) => n == null ? "?" : n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " KiB" : n < 1073741824 ? (n / 1048576).toFixed(1) + " MiB" : (n / 1073741824).toFixed(2) + " GiB";
let selected = null;
let last = null;

function dl(el, rows) {
  el.innerHTML = rows.map(([k, v]) => "<dt>" + esc(k) + "</dt><dd>" + v + "</dd>").join("");
}

function render(p) {
  last = p;
  const filter = document.getElementById("filter").value;
  const online = p.devices.filter((d) => d.online).length;
  const alarming = p.devices.filter((d) => d.alarms.length).length;
  document.getElementById("summary").innerHTML =
    '<span class="' + (online ? "ok" : "warn") + '">' + online + " online</span> / " + p.devices.length + " known, " +
    (alarming ? '<span class="bad">' + alarming + " alarming</span>, " : "") +
    'uplink <span id="uplink-state" class="' + (p.uplink.connected ? "ok" : "bad") + '">' + (p.uplink.configured ? (p.uplink.connected ? "UP" : "DOWN") : "not configured") + "</span>, backlog " + p.backlog.rows + " rows";
  document.getElementById("updated").textContent = "updated " + new Date(p.now).toLocaleTimeString();
  const rows = p.devices
    .filter((d) => filter === "all" || (filter === "silent" ? d.silent : d.alarms.length > 0))
    .sort((a, b) => (b.alarms.length - a.alarms.length) || (a.online === b.online ? a.id.localeCompare(b.id) : a.online ? 1 : -1));
  document.getElementById("devices").innerHTML = rows.map((d) =>
    '<tr data-device="' + esc(d.id) + '">' +
    "<td>" + esc(d.id) + "</td><td>" + esc(d.protocol) + " / " + esc(d.transport) + "</td>" +
    '<td class="' + (d.online ? (d.silent ? "warn" : "ok") : "bad") + '">' + (d.online ? (d.silent ? "silent" : "online") : "offline") + "</td>" +
    "<td>" + age(d.lastSeenAgoSec) + " ago</td>" +
    "<td>" + (d.fix ? (d.fix.valid ? "" : '<span class="warn">invalid</span> ') + esc(d.fix.lat) + ", " + esc(d.fix.lon) + (d.fix.speedKmh != null ? " " + esc(d.fix.speedKmh) + " km/h" : "") + ' <span class="muted">' + age(d.fix.ageSec) + "</span>" : '<span class="muted">none</span>') + "</td>" +
    "<td>" + (d.ignition == null ? "-" : d.ignition ? "on" : "off") + "</td>" +
    '<td class="' + (d.relay === "cut" ? "bad" : "") + '">' + (d.relay || "-") + "</td>" +
    "<td>" + (d.batteryLevel != null ? esc(d.batteryLevel) + "%" : "-") + " / " + (d.gsmLevel != null ? esc(d.gsmLevel) : "-") + "</td>" +
    '<td class="bad">' + d.alarms.map(esc).join(", ") + "</td>" +
    '<td><button type="button" data-track="' + esc(d.id) + '" aria-label="show the track of ' + esc(d.id) + '">show</button></td></tr>').join("");
  dl(document.getElementById("uplink"), [
    ["state", '<span class="' + (p.uplink.connected ? "ok" : "bad") + '">' + (p.uplink.configured ? (p.uplink.connected ? "connected" : "disconnected") : "not configured (buffer only)") + "</span>"],
    ["session", esc(p.uplink.session)],
    ["last PUBACK", esc(p.uplink.lastAckAt || "never")],
    ["backlog", p.backlog.rows + " rows, " + bytes(p.backlog.bytes) + ", oldest " + age(Math.round(p.backlog.oldestAgeSec))],
    ["last error", esc(p.uplink.lastError || "-")],
  ]);
  chart(p.drain);
  document.getElementById("commands").innerHTML = p.commands.map((c) =>
    "<tr><td>" + esc(c.id) + "</td><td>" + esc(c.deviceId) + "</td><td>" + esc(c.action) + '</td><td class="' + (c.state === "confirmed" ? "ok" : ["failed", "rejected", "expired"].includes(c.state) ? "bad" : "") + '">' + esc(c.state) + "</td><td>" + esc(c.reason || "") + "</td></tr>").join("") ||
    '<tr><td colspan="5" class="muted">no commands yet</td></tr>';
  const h = p.health;
  dl(document.getElementById("health"), [
    ["CPU temperature", h.cpuTempC == null ? "n/a" : esc(h.cpuTempC) + " &deg;C"],
    ["free disk", bytes(h.diskFreeBytes)],
    ["memory (RSS)", bytes(h.memoryRssBytes)],
    ["flash written today", bytes(h.bytesWrittenToday)],
    ["uptime", age(h.uptimeSec)],
  ]);
}

function chart(points) {
  const svg = document.getElementById("drain");
  if (!points.length) { svg.innerHTML = '<text x="4" y="40" font-size="12" fill="currentColor">collecting samples (one per 10 s)</text>'; return; }
  const max = Math.max(1, ...points.map((p) => p.backlog));
  const step = 300 / Math.max(1, points.length - 1);
  const line = points.map((p, i) => (i * step).toFixed(1) + "," + (75 - (p.backlog / max) * 70).toFixed(1)).join(" ");
  const rate = points[points.length - 1].drainPerSec;
  svg.innerHTML = '<polyline fill="none" stroke="currentColor" stroke-width="2" points="' + line + '"/><text x="4" y="12" font-size="11" fill="currentColor">backlog (max ' + max + " rows), draining " + rate + " records/s</text>";
}

async function showTrack(id) {
  selected = id;
  document.getElementById("track-id").textContent = id;
  const r = await fetch(q("/api/track?device=" + encodeURIComponent(id)));
  const t = await r.json();
  const svg = document.getElementById("track");
  if (!t.points.length) { svg.innerHTML = '<text x="4" y="20" font-size="12" fill="currentColor">no positions yet</text>'; return; }
  const lats = t.points.map((p) => p.lat), lons = t.points.map((p) => p.lon);
  const minLat = Math.min(...lats), maxLat = Math.max(...lats), minLon = Math.min(...lons), maxLon = Math.max(...lons);
  const sx = 280 / Math.max(1e-6, maxLon - minLon), sy = 180 / Math.max(1e-6, maxLat - minLat), s = Math.min(sx, sy);
  const pts = t.points.map((p) => (10 + (p.lon - minLon) * s).toFixed(1) + "," + (190 - (p.lat - minLat) * s).toFixed(1));
  const end = pts[pts.length - 1].split(",");
  svg.innerHTML = '<polyline fill="none" stroke="currentColor" stroke-width="2" points="' + pts.join(" ") + '"/><circle r="4" cx="' + end[0] + '" cy="' + end[1] + '" fill="#2a6df4"/>';
}

document.getElementById("devices").addEventListener("click", (e) => {
  const id = e.target && e.target.getAttribute && e.target.getAttribute("data-track");
  if (id) showTrack(id).catch(() => undefined);
});
document.getElementById("filter").addEventListener("change", () => last && render(last));

async function poll() {
  try {
    const r = await fetch(q("/api/page"));
    if (r.ok) render(await r.json());
    if (selected) await showTrack(selected);
  } catch (err) {
    document.getElementById("updated").textContent = "gateway not reachable";
  }
  setTimeout(poll, 2000);
}
poll();
</script>
</body>
</html>
`;
