// An MCP client (official SDK, StdioClientTransport) that calls tools and prints each outcome as one
// JSON line: {"call":NAME,"result":...} or {"call":NAME,"error":{"code":N,"message":S}} when the call is
// answered with a JSON-RPC error (as `agenttrace record --mcp --policy` answers a denied call).
//
// Usage: node deny_client.mjs CALLS_JSON -- COMMAND ARGS...   (CALLS_JSON: [[name, args], ...])
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
if (sep !== 1 || argv.length < 3) {
  console.error("usage: node deny_client.mjs CALLS_JSON -- COMMAND ARGS...");
  process.exit(2);
}
const calls = JSON.parse(argv[0]);
const [command, ...args] = argv.slice(sep + 1);
const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
const client = new Client({ name: "agenttrace-deny-client", version: "1.0.0" });
await client.connect(transport);
for (const [name, a] of calls) {
  try {
    const r = await client.callTool({ name, arguments: a });
    process.stdout.write(JSON.stringify({ call: name, result: r }) + "\n");
  } catch (e) {
    process.stdout.write(JSON.stringify({ call: name, error: { code: e.code, message: String(e.message) } }) + "\n");
  }
}
await client.close();
