// A small MCP server (official SDK, stdio) for the cassette tests: a tool that reports progress while it
// works, a counter whose answer changes with every call, and a tool whose answer is random.
//
// Usage: node progress_server.mjs
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "progress-test-server", version: "1.0.0" });
let calls = 0;

server.registerTool(
  "count_to",
  { description: "Counts to n, reporting progress at each step", inputSchema: { n: z.number().int().min(1).max(50) } },
  async ({ n }, extra) => {
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= n; i++) {
      if (token !== undefined) {
        await extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress: i, total: n, message: `step ${i}` },
        });
      }
      // The SDK client handles notifications a tick later than answers, and drops progress that it
      // reads together with the answer: give it time, as real work does. The last pause is the one
      // that matters, and it is long, so that a client or proxy that a loaded machine runs late still
      // reads the last progress before the answer (nothing in the protocol says when it has read it).
      await new Promise((resolve) => setTimeout(resolve, i === n ? 300 : 20));
    }
    return { content: [{ type: "text", text: `counted to ${n}` }] };
  },
);

server.registerTool(
  "next_number",
  { description: "Answers 1, 2, 3, ... on successive calls", inputSchema: {} },
  async () => ({ content: [{ type: "text", text: `call #${++calls}` }] }),
);

server.registerTool(
  "roll",
  { description: "A random number (a tool whose answers differ from run to run)", inputSchema: { sides: z.number().int() } },
  async ({ sides }) => ({ content: [{ type: "text", text: String(1 + Math.floor(Math.random() * sides)) }] }),
);

await server.connect(new StdioServerTransport());
