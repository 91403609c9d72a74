// Benchmark of `agenttrace record --mcp-http` (docs/benchmarks.md, "MCP Streamable HTTP proxy"): the
// official SDK client calls the `echo` tool of http_server.mjs (each answer an SSE stream) directly and
// through the proxy, recording into a fresh store, in one run. Prints latency percentiles of sequential
// calls and the call rate with CONCURRENCY calls in flight.
//
// Usage: node bench_http.mjs AGENTTRACE_BIN [CALLS [CONCURRENCY]]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [bin, callsArg, concArg] = process.argv.slice(2);
if (!bin) {
  console.error("usage: node bench_http.mjs AGENTTRACE_BIN [CALLS [CONCURRENCY]]");
  process.exit(2);
}
const CALLS = Number(callsArg ?? 2000);
const CONC = Number(concArg ?? 8);
const here = dirname(fileURLToPath(import.meta.url));

function start(cmd, args, stream, re) {
  const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let buf = "";
    p[stream].on("data", (d) => {
      buf += d;
      const m = re.exec(buf);
      if (m) resolve({ p, port: m[1] });
    });
    p.on("exit", (c) => reject(new Error(`${cmd} exited ${c}: ${buf}`)));
  });
}

async function connect(url) {
  const client = new Client({ name: "bench", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport };
}

const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function measure(url) {
  const { client, transport } = await connect(url);
  const call = () => client.callTool({ name: "echo", arguments: { text: "x".repeat(100) } });
  for (let i = 0; i < 200; i++) await call();  // warm-up
  const lat = [];
  for (let i = 0; i < CALLS; i++) {
    const t = process.hrtime.bigint();
    await call();
    lat.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  lat.sort((a, b) => a - b);
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next++ < CALLS) await call();
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await transport.terminateSession();
  await client.close();
  return { lat, rate: CALLS / secs };
}

const server = await start("node", [join(here, "http_server.mjs"), "0"], "stdout", /listening (\d+)/);
const store = mkdtempSync(join(tmpdir(), "at-bench-http-"));
const upstream = `http://127.0.0.1:${server.port}/mcp`;
const proxy = await start(bin, ["record", "--mcp-http", "--listen", "127.0.0.1:0", "--upstream", upstream,
                                "--store", store], "stderr", /listening on http:\/\/127\.0\.0\.1:(\d+)/);
try {
  // Alternated (direct, proxied, proxied, direct) so that a drift in the machine's load during the run
  // does not favour one side; each side's figures are from its two rounds together.
  const via = `http://127.0.0.1:${proxy.port}/mcp`;
  const rounds = [];
  // The proxy's own CPU time (user + system, in clock ticks of 10 ms) per proxied call: less sensitive
  // to the machine's load than latency.
  const cpuTicks = () => {
    const f = readFileSync(`/proc/${proxy.p.pid}/stat`, "utf8").split(") ")[1].split(" ");
    return Number(f[11]) + Number(f[12]);
  };
  let ticks = 0;
  for (const [name, url] of [["direct", upstream], ["proxied", via], ["proxied", via], ["direct", upstream]]) {
    const before = cpuTicks();
    rounds.push([name, await measure(url)]);
    if (name === "proxied") ticks += cpuTicks() - before;
  }
  const f = (v) => v.toFixed(0);
  const side = (name) => {
    const rs = rounds.filter(([n]) => n === name).map(([, r]) => r);
    const lat = rs.flatMap((r) => r.lat).sort((a, b) => a - b);
    return { p50: pct(lat, 0.5), p99: pct(lat, 0.99), rate: rs.reduce((a, r) => a + r.rate, 0) / rs.length };
  };
  console.log(`calls ${CALLS} per round, concurrency ${CONC}`);
  for (const [name, r] of rounds) {
    console.log(`  ${name.padEnd(7)}: p50 ${f(pct(r.lat, 0.5))} us, p99 ${f(pct(r.lat, 0.99))} us, ${f(r.rate)} calls/s`);
  }
  const direct = side("direct"), proxied = side("proxied");
  console.log(`direct : p50 ${f(direct.p50)} us, p99 ${f(direct.p99)} us, ${f(direct.rate)} calls/s`);
  console.log(`proxied: p50 ${f(proxied.p50)} us, p99 ${f(proxied.p99)} us, ${f(proxied.rate)} calls/s`);
  console.log(`added  : p50 ${f(proxied.p50 - direct.p50)} us, p99 ${f(proxied.p99 - direct.p99)} us, ` +
              `throughput x${(proxied.rate / direct.rate).toFixed(2)}`);
  // Each round makes 200 warm-up + 2 x CALLS calls.
  console.log(`proxy CPU: ${((ticks * 10000) / (2 * (200 + 2 * CALLS))).toFixed(0)} us per proxied call`);
} finally {
  proxy.p.kill("SIGTERM");
  await new Promise((r) => proxy.p.on("exit", r));
  server.p.kill("SIGTERM");
  rmSync(store, { recursive: true, force: true });
}
