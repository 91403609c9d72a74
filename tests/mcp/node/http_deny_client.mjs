// An MCP client over Streamable HTTP (official SDK Client + StreamableHTTPClientTransport) that calls
// tools and prints each outcome as one JSON line: {"call":NAME,"result":...}, or
// {"call":NAME,"error":{"code":N,"message":S,"mcp":BOOL}} when the call is answered with a JSON-RPC
// error (as `agenttrace record --mcp-http --policy` answers a denied call; "mcp" says whether the SDK
// raised it as an McpError). The HTTP counterpart of deny_client.mjs.
//
// Usage: node http_deny_client.mjs URL CALLS_JSON   (CALLS_JSON: [[name, args], ...])
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

const [url, callsJson] = process.argv.slice(2);
if (!url || !callsJson) {
  console.error("usage: node http_deny_client.mjs URL CALLS_JSON");
  process.exit(2);
}
const calls = JSON.parse(callsJson);
const transport = new StreamableHTTPClientTransport(new URL(url));
const client = new Client({ name: "agenttrace-http-deny-client", version: "1.0.0" });
await client.connect(transport);
for (const [name, a] of calls) {
  try {
    const r = await client.callTool({ name, arguments: a });
    process.stdout.write(JSON.stringify({ call: name, result: r }) + "\n");
  } catch (e) {
    process.stdout.write(JSON.stringify({ call: name,
      error: { code: e.code, message: String(e.message), mcp: e instanceof McpError } }) + "\n");
  }
}
await transport.terminateSession();
await client.close();
