// A scripted MCP client session (official SDK, StdioClientTransport) against the filesystem server,
// started either directly or through `agenttrace record --mcp`. Prints every response as one JSON line
// so that two runs can be compared byte for byte.
//
// Usage: node client.mjs DIR -- COMMAND ARGS...
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
if (sep !== 1 || argv.length < 3) {
  console.error("usage: node client.mjs DIR -- COMMAND ARGS...");
  process.exit(2);
}
const dir = argv[0];
const [command, ...args] = argv.slice(sep + 1);

const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
const client = new Client({ name: "agenttrace-test-client", version: "1.0.0" });
const out = (label, value) => process.stdout.write(JSON.stringify({ label, value }) + "\n");

await client.connect(transport);
out("server", client.getServerVersion());
const tools = await client.listTools();
out("tools", tools.tools.map((t) => t.name).sort());
const calls = [
  ["list_directory", { path: dir }],
  ["read_text_file", { path: `${dir}/hello.txt` }],
  ["read_text_file", { path: `${dir}/sub/nested.txt` }],
  ["write_file", { path: `${dir}/written.txt`, content: "written through the proxy\n" }],
  ["read_text_file", { path: `${dir}/written.txt` }],
  ["read_text_file", { path: `${dir}/does-not-exist.txt` }],  // a tool error (isError: true)
  ["read_text_file", { path: "/etc/hostname" }],               // outside the allowed directory
  ["get_file_info", { path: `${dir}/hello.txt` }],
];
for (const [name, args] of calls) {
  const r = await client.callTool({ name, arguments: args });
  if (name === "get_file_info") {
    // Times differ between runs; keep the stable fields.
    const text = r.content?.[0]?.text ?? "";
    out(`call ${name}`, { isError: r.isError ?? false, size: /size: (\d+)/.exec(text)?.[1] });
  } else {
    out(`call ${name}`, r);
  }
}
try {
  // Unknown tools are a normal result with isError: true (not a JSON-RPC error).
  out("call no_such_tool", await client.callTool({ name: "no_such_tool", arguments: {} }));
} catch (e) {
  out("call no_such_tool", { error: String(e.message ?? e).slice(0, 200) });
}
await client.close();
out("closed", true);
