// A scripted MCP client (official SDK, stdio) for the cassette tests, run against progress_server.mjs
// directly, through `agenttrace record --mcp`, and against `agenttrace replay --serve`. Prints every
// result (and the progress it saw) as one JSON line, so that runs compare line by line.
//
// Usage: node cassette_client.mjs [--variant] [--extra] -- COMMAND ARGS...
//   --variant  shifts the JSON-RPC ids (a ping first) and adds _meta to every call: a cassette must match
//              anyway
//   --extra    one more call that the recording does not have
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
if (sep < 0 || sep === argv.length - 1) {
  console.error("usage: node cassette_client.mjs [--variant] [--extra] -- COMMAND ARGS...");
  process.exit(2);
}
const flags = new Set(argv.slice(0, sep));
const [command, ...args] = argv.slice(sep + 1);
const variant = flags.has("--variant");

const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
const client = new Client({ name: variant ? "another-client" : "cassette-test-client", version: variant ? "9.9.9" : "1.0.0" });
const out = (label, value) => process.stdout.write(JSON.stringify({ label, value }) + "\n");
const meta = variant ? { _meta: { traceparent: `00-${Date.now().toString(16).padStart(32, "0")}-00f067aa0ba902b7-01` } } : {};

await client.connect(transport);
if (variant) await client.ping();
out("server", client.getServerVersion());
out("tools", (await client.listTools()).tools.map((t) => t.name).sort());
const call = async (name, args, withProgress = false) => {
  const progress = [];
  const opts = withProgress ? { onprogress: (p) => progress.push(p) } : {};
  try {
    const r = await client.callTool({ name, arguments: args, ...meta }, undefined, opts);
    out(`call ${name}`, withProgress ? { result: r, progress } : r);
  } catch (e) {
    out(`call ${name}`, { error: String(e.message ?? e) });
  }
};
await call("count_to", { n: 3 }, true);
await call("next_number", {});
await call("next_number", {});  // the same request again: answered in recorded order
await call("roll", { sides: 1000000 });
if (flags.has("--extra")) await call("roll", { sides: 6 });
await client.close();
out("closed", true);
