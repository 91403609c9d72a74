// An MCP server over Streamable HTTP built from the official SDK (McpServer + StreamableHTTPServerTransport,
// stateful sessions, an in-memory event store for resumability). Prints "listening PORT" once ready.
//
// Tools: count {n, interrupt?} sends n progress notifications on the request's SSE stream (with
// interrupt, the server closes that stream after the second one: the client resumes it with
// Last-Event-ID and receives the rest from the event store); echo {text}; fail (a tool error).
//
// Each tools/call received is logged on stderr as "received tools/call NAME".
//
// Usage: node http_server.mjs [PORT]   (0 or absent: any free port)
// With TLS_CERT and TLS_KEY set (PEM files), it speaks HTTPS.
import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { InMemoryEventStore } from "@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function makeServer() {
  const server = new McpServer({ name: "agenttrace-http-test-server", version: "1.0.0" });
  server.tool("count", "Counts to n, reporting progress", { n: z.number().int(), interrupt: z.boolean().optional() },
    async ({ n, interrupt }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= n; i++) {
        if (token !== undefined) {
          await extra.sendNotification({ method: "notifications/progress",
                                         params: { progressToken: token, progress: i, total: n, message: `step ${i}` } });
        }
        if (interrupt && i === 2 && extra.closeSSEStream) extra.closeSSEStream();
        await sleep(interrupt ? 60 : 5);
      }
      return { content: [{ type: "text", text: `counted to ${n}` }] };
    });
  server.tool("echo", "Echoes its text", { text: z.string() },
    async ({ text }) => ({ content: [{ type: "text", text }] }));
  server.tool("fail", "Always fails", {},
    async () => ({ isError: true, content: [{ type: "text", text: "it failed, as asked" }] }));
  return server;
}

const transports = new Map();
const eventStore = new InMemoryEventStore();

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}

const handler = async (req, res) => {
  try {
    if (!req.url.startsWith("/mcp")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not here\n");
      return;
    }
    if (req.method === "GET" && req.headers["last-event-id"]) process.stderr.write("resumed a stream with Last-Event-ID\n");
    const body = req.method === "POST" ? await readJson(req) : undefined;
    // What reached the server, for tests that check a call never did.
    for (const m of Array.isArray(body) ? body : [body]) {
      if (m?.method === "tools/call") process.stderr.write(`received tools/call ${m.params?.name}\n`);
    }
    const sid = req.headers["mcp-session-id"];
    let transport = sid ? transports.get(sid) : undefined;
    if (!transport) {
      if (sid || !(req.method === "POST" && isInitializeRequest(body))) {
        res.writeHead(sid ? 404 : 400, { "content-type": "application/json" })
          .end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message: "no such session" }, id: null }));
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore,
        retryInterval: 50,
        onsessioninitialized: (id) => transports.set(id, transport),
      });
      transport.onclose = () => { if (transport.sessionId) transports.delete(transport.sessionId); };
      await makeServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  } catch (e) {
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(e));
  }
};
const httpServer = process.env.TLS_CERT
  ? https.createServer({ cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY) }, handler)
  : http.createServer(handler);
httpServer.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});
for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => process.exit(0));
