/**
 * The operator's status page (`GET /`): live calls with per-stream packets, loss and last packet, refreshed
 * every second from `GET /status.json`. Plain HTML/CSS/JS in one string, no build step; values are put in
 * with textContent, so call-ids and tags from the network cannot inject markup.
 */
import type { Engine } from '../engine/engine.js';
import { trafficTotals } from './metrics.js';

export interface StatusStream {
  tag: string;
  media: number;
  kind: string;
  local: string;
  remote: string;
  packets: number;
  bytes: number;
  errors: number;
  dropped: number;
  /** Share of received packets not forwarded (0..1). */
  loss: number;
  /** Seconds since the last packet; null: none yet. */
  lastPacketAgo: number | null;
}

export interface StatusCall {
  callId: string;
  ageSeconds: number;
  answered: boolean;
  deleting: boolean;
  streams: StatusStream[];
}

/** Calls listed on the page at most (the JSON says how many there are in all). */
const MAX_CALLS = 500;

export function statusSnapshot(engine: Engine, now = Date.now()) {
  const calls: StatusCall[] = [];
  for (const call of engine.calls.values()) {
    if (calls.length >= MAX_CALLS) break;
    const streams: StatusStream[] = [];
    for (const m of call.monologues) {
      for (const s of m.media) {
        const leg = s.pair?.rtp;
        if (!leg || !s.pair) continue;
        const packets = leg.rtp.packets + leg.rtcp.packets + s.pair.rtcp.rtcp.packets;
        const dropped = leg.dropped + s.pair.rtcp.dropped;
        const last = Math.max(leg.lastPacket, s.pair.rtcp.lastPacket);
        streams.push({
          tag: m.tag || '(pending)',
          media: s.index,
          kind: s.kind,
          local: `${leg.localAddress}:${leg.localPort}`,
          remote: leg.endpoint ? `${leg.endpoint.address}:${leg.endpoint.port}` : '-',
          packets,
          bytes: leg.rtp.bytes + leg.rtcp.bytes + s.pair.rtcp.rtcp.bytes,
          errors: leg.rtp.errors + leg.rtcp.errors,
          dropped,
          loss: packets ? dropped / packets : 0,
          lastPacketAgo: last ? Math.round((now - last) / 100) / 10 : null,
        });
      }
    }
    calls.push({
      callId: call.callId,
      ageSeconds: Math.floor((now - call.created) / 1000),
      answered: call.answered,
      deleting: call.deleteAt !== 0,
      streams,
    });
  }
  const t = trafficTotals(engine);
  return {
    uptimeSeconds: Math.floor((now - engine.stats.started) / 1000),
    sessions: engine.calls.size,
    sessionsTotal: engine.stats.managed,
    packets: t.rtpPackets + t.rtcpPackets,
    calls,
  };
}

export const STATUS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sipmedia proxy</title>
<link rel="icon" href="data:,">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
  h1 { font-size: 1.3em; margin: 0 0 .5em; }
  .summary span { display: inline-block; margin-right: 1.5em; }
  .summary b { font-size: 1.4em; }
  table { border-collapse: collapse; width: 100%; margin-top: 1em; background: #fff; }
  th, td { padding: .3em .6em; border-bottom: 1px solid #ddd; text-align: left; font-variant-numeric: tabular-nums; }
  th { background: #eee; }
  td.num { text-align: right; }
  tr.call td { background: #f0f4ff; font-weight: 600; }
  .idle { color: #b00; }
  .ok { color: #070; }
  #state { color: #888; font-size: .9em; }
</style>
</head>
<body>
<h1>sipmedia proxy</h1>
<div class="summary">
  <span>calls <b id="sessions">-</b></span>
  <span>calls since start <b id="total">-</b></span>
  <span>packets <b id="packets">-</b></span>
  <span>uptime <b id="uptime">-</b></span>
  <span id="state">connecting...</span>
</div>
<table>
  <thead><tr><th>call / tag</th><th>media</th><th>local</th><th>remote</th><th>packets</th><th>loss</th><th>last packet</th></tr></thead>
  <tbody id="calls"><tr><td colspan="7">no calls</td></tr></tbody>
</table>
<script>
"use strict";
function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
}
function render(s) {
  document.getElementById("sessions").textContent = s.sessions;
  document.getElementById("total").textContent = s.sessionsTotal;
  document.getElementById("packets").textContent = s.packets;
  document.getElementById("uptime").textContent = s.uptimeSeconds + " s";
  const body = document.getElementById("calls");
  const rows = [];
  for (const c of s.calls) {
    const tr = document.createElement("tr");
    tr.className = "call";
    tr.dataset.callId = c.callId;
    cell(tr, c.callId);
    cell(tr, c.answered ? "answered" : "offered");
    cell(tr, c.ageSeconds + " s");
    cell(tr, c.deleting ? "deleting" : "");
    cell(tr, ""); cell(tr, ""); cell(tr, "");
    rows.push(tr);
    for (const st of c.streams) {
      const r = document.createElement("tr");
      cell(r, "  " + st.tag);
      cell(r, st.media + " " + st.kind);
      cell(r, st.local);
      cell(r, st.remote);
      cell(r, String(st.packets), "num");
      cell(r, (st.loss * 100).toFixed(1) + " %", "num");
      const idle = st.lastPacketAgo === null || st.lastPacketAgo > 5;
      cell(r, st.lastPacketAgo === null ? "never" : st.lastPacketAgo + " s ago", idle ? "idle" : "ok");
      rows.push(r);
    }
  }
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 7;
    td.textContent = "no calls";
    tr.appendChild(td);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
}
async function refresh() {
  const state = document.getElementById("state");
  try {
    const r = await fetch("status.json", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    render(await r.json());
    state.textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    state.textContent = "not reachable: " + e.message;
  }
  setTimeout(refresh, 1000);
}
refresh();
</script>
</body>
</html>
`;
