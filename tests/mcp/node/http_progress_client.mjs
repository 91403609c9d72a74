// Calls the `count` tool of http_server.mjs N times over Streamable HTTP (official SDK Client and
// StreamableHTTPClientTransport) with a progress handler, and prints one JSON line:
//   {"calls": N, "all_progress": calls whose every progress notification reached the handler before
//    the answer resolved the call, "one_read": SSE answers whose whole body came in one read}
// The SDK forgets a request's progress handler when its answer arrives, so progress that is dispatched
// after the answer is lost: "all_progress" is the ordering check. "one_read" counts the streams where
// progress and answer came together, with no pause between them (the case the ordering must survive).
//
// Usage: node http_progress_client.mjs URL N STEPS   (STEPS: the n of each count call)
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";

const [url, nArg, stepsArg] = process.argv.slice(2);
const calls = Number(nArg), steps = Number(stepsArg);
if (!url || !(calls > 0) || !(steps > 0)) {
  console.error("usage: node http_progress_client.mjs URL N STEPS");
  process.exit(2);
}

let oneRead = 0;
// Counts the reads of each event-stream body on its way to the SDK; the bytes pass unchanged.
const countingFetch = async (input, init) => {
  const response = await fetch(input, init);
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("text/event-stream") || !response.body) return response;
  let reads = 0;
  const counter = new TransformStream({
    transform(chunk, controller) {
      if (chunk.byteLength > 0) reads++;
      controller.enqueue(chunk);
    },
    flush() {
      if (reads === 1) oneRead++;
    },
  });
  return new Response(response.body.pipeThrough(counter),
                      { status: response.status, statusText: response.statusText, headers: response.headers });
};

const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: countingFetch });
const client = new Client({ name: "agenttrace-http-progress-client", version: "1.0.0" });
await client.connect(transport);
let allProgress = 0;
for (let i = 0; i < calls; i++) {
  const progress = [];
  const r = await client.request({ method: "tools/call", params: { name: "count", arguments: { n: steps } } },
                                 CallToolResultSchema, { onprogress: (p) => progress.push(p.progress) });
  const seen = progress.length;  // as the answer resolved the call
  if (r.content?.[0]?.text === `counted to ${steps}` && seen === steps) allProgress++;
}
await transport.terminateSession();
await client.close();
process.stdout.write(JSON.stringify({ calls, all_progress: allProgress, one_read: oneRead }) + "\n");
