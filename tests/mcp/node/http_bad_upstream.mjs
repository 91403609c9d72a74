// A misbehaving HTTP upstream for the proxy's robustness tests, written on raw sockets so that it can
// break HTTP itself. Prints "listening PORT". Paths:
//   /badjson   200 application/json whose body is not JSON
//   /garbage   a response that is not HTTP at all, then close
//   /cut       200 text/event-stream (chunked): one event, then half a chunk and close
//   /hold      200 text/event-stream (chunked) that stays open without events until the client leaves
//   /flood     200 text/event-stream (chunked) of 1 KiB notifications, as fast as the reader takes them;
//              prints "flood stalled" on stdout the first time a write does not go through
//   /headers   200 application/json: a JSON-RPC result holding the request's header lines as received
//   anything else: 200 application/json with a JSON-RPC result echoing the request id
//
// Usage: node http_bad_upstream.mjs [PORT]
import net from "node:net";

let floodStalled = false;

const server = net.createServer((sock) => {
  let buf = "";
  sock.on("error", () => {});
  sock.on("data", (d) => {
    buf += d.toString("latin1");
    const end = buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = buf.slice(0, end);
    const m = /content-length:\s*(\d+)/i.exec(head);
    const len = m ? Number(m[1]) : 0;
    if (buf.length < end + 4 + len) return;
    const body = buf.slice(end + 4, end + 4 + len);
    buf = buf.slice(end + 4 + len);
    const path = head.split(" ")[1];
    if (path === "/badjson") {
      const b = "{not json";
      sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n${b}`);
    } else if (path === "/garbage") {
      sock.end("HELLO, THIS IS NOT HTTP\r\n\r\n");
    } else if (path === "/cut") {
      const ev = 'data: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"one"}}\n\n';
      sock.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
      sock.write(`${ev.length.toString(16)}\r\n${ev}\r\n`);
      sock.end("40\r\ndata: {\"jsonrpc\":");
    } else if (path === "/hold") {
      sock.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
      sock.write("2\r\n:\n\r\n");  // a comment, so that the client sees the stream open
    } else if (path === "/headers") {
      const b = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { head: head.split("\r\n").slice(1) } });
      sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Upstream: yes\r\nContent-Length: ${b.length}\r\n\r\n${b}`);
    } else if (path === "/flood") {
      sock.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
      const ev = `data: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"${"f".repeat(1000)}"}}\n\n`;
      const chunk = `${ev.length.toString(16)}\r\n${ev}\r\n`;
      const pump = () => {
        while (!sock.destroyed && sock.write(chunk)) {}
        if (sock.destroyed) return;
        if (!floodStalled) {
          floodStalled = true;
          process.stdout.write("flood stalled\n");
        }
        sock.once("drain", pump);
      };
      pump();
    } else {
      let id = null;
      try { id = JSON.parse(body).id ?? null; } catch {}
      const b = JSON.stringify({ jsonrpc: "2.0", id, result: { ok: true } });
      sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n${b}`);
    }
  });
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => process.exit(0));
