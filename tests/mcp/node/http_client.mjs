// A scripted MCP client session over Streamable HTTP (official SDK Client + StreamableHTTPClientTransport),
// printing a transcript (one JSON line per step) that is the same whether it talks to the server
// directly or through `agenttrace record --mcp-http`: session ids and event ids are left out.
//
// Steps: initialize; tools/list; echo; count with SSE-streamed progress; count with a stream the
// server closes midway (resumed with Last-Event-ID); fail (tool error); an unknown tool; a GET
// server stream; close (DELETE of the session).
//
// Usage: node http_client.mjs URL [AUTHORIZATION [plain]]   (the header value is sent on every request;
// with "plain", the lines saying whether SSE event ids came are left out: a cassette served by
// `replay --serve --http` has none to resume from)
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";

const [url, auth, mode] = process.argv.slice(2);
if (!url) {
  console.error("usage: node http_client.mjs URL [AUTHORIZATION]");
  process.exit(2);
}
const out = (label, value) => process.stdout.write(JSON.stringify({ label, value }) + "\n");
const requestInit = auth ? { headers: { Authorization: auth } } : undefined;  // "" sends none
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit,
  reconnectionOptions: { initialReconnectionDelay: 50, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1.5, maxRetries: 5 },
});
const client = new Client({ name: "agenttrace-http-test-client", version: "1.0.0" });
await client.connect(transport);
out("server", client.getServerVersion());
out("session id present", typeof transport.sessionId === "string" && transport.sessionId.length > 0);
const tools = await client.listTools();
out("tools", tools.tools.map((t) => t.name).sort());
out("call echo", await client.callTool({ name: "echo", arguments: { text: "hello über http" } }));

for (const interrupt of [false, true]) {
  const progress = [];
  let tokens = 0;
  const r = await client.request(
    { method: "tools/call", params: { name: "count", arguments: { n: 5, interrupt } } },
    CallToolResultSchema,
    { onprogress: (p) => progress.push(p), onresumptiontoken: () => { tokens++; } });
  out(`call count interrupt=${interrupt}`, { result: r, progress });
  if (mode !== "plain") out(`count interrupt=${interrupt} got event ids`, tokens > 0);
}
out("call fail", await client.callTool({ name: "fail", arguments: {} }));
try {
  out("call no_such_tool", await client.callTool({ name: "no_such_tool", arguments: {} }));
} catch (e) {
  out("call no_such_tool", { error: String(e.message ?? e).slice(0, 200) });
}
await transport.terminateSession();  // DELETE
out("terminated", transport.sessionId === undefined);
await client.close();
out("closed", true);
