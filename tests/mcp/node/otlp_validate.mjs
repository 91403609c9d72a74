// Validates an `agenttrace export --format otlp` file against the official OTLP protobuf definitions
// (the static protobufjs root generated from opentelemetry-proto that @opentelemetry/otlp-transformer
// ships). Usage: node otlp_validate.mjs FILE
//
// For each line (one TracesData, the same JSON shape as ExportTraceServiceRequest):
//   1. parse it; turn the OTLP/JSON specifics into protobufjs' JSON mapping (hex ids -> base64 bytes;
//      64-bit integers stay decimal strings);
//   2. fromObject and verify() it as an ExportTraceServiceRequest, encode to protobuf bytes, decode, and
//      toObject: the result must equal the input — a key the definitions do not have is dropped by
//      fromObject, so any unknown field (or one of the wrong type) makes the comparison fail;
//   3. check what OTLP requires of a span: a 16-byte traceId, an 8-byte non-zero spanId, a name, a
//      kind, start <= end, 64-bit times as strings in the JSON.
// Across the file: one trace id, unique span ids, every parentSpanId names a span of the trace, and
// exactly one root. Prints a summary line and exits 0, or prints every problem and exits 1.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const problems = [];
const fail = (where, what) => problems.push(`${where}: ${what}`);

const hexToBase64 = (hex) => Buffer.from(hex, 'hex').toString('base64');

// OTLP/JSON -> protobufjs JSON mapping: ids are hex in OTLP/JSON, base64 in the proto3 mapping.
function toProtoJson(line, where) {
  for (const rs of line.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        for (const k of ['traceId', 'spanId', 'parentSpanId']) {
          if (span[k] === undefined) continue;
          if (typeof span[k] !== 'string' || !/^([0-9a-f]{2})*$/.test(span[k])) {
            fail(where, `${k} ${JSON.stringify(span[k])} is not lower-case hex`);
          }
          span[k] = hexToBase64(span[k]);
        }
        for (const link of span.links ?? []) {
          link.traceId = hexToBase64(link.traceId);
          link.spanId = hexToBase64(link.spanId);
        }
      }
    }
  }
  return line;
}

// Empty arrays are not kept by toObject(arrays: false); drop them from the input before comparing.
function dropEmptyArrays(v) {
  if (Array.isArray(v)) return v.map(dropEmptyArrays);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      if (Array.isArray(x) && x.length === 0) continue;
      out[k] = dropEmptyArrays(x);
    }
    return out;
  }
  return v;
}

// The first path where a and b differ, for the message.
function firstDifference(a, b, path = '') {
  if (isDeepStrictEqual(a, b)) return null;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      if (!(k in b)) return `${path}.${k}: not in the OTLP definitions (dropped by the round trip)`;
      if (!(k in a)) return `${path}.${k}: appeared in the round trip`;
      const d = firstDifference(a[k], b[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return `${path}: ${JSON.stringify(a)?.slice(0, 120)} became ${JSON.stringify(b)?.slice(0, 120)}`;
}

const file = process.argv[2];
if (!file) {
  console.error('usage: node otlp_validate.mjs FILE');
  process.exit(2);
}
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
if (lines.length === 0) fail(file, 'no lines');

const spans = new Map();  // spanId hex -> span
const traceIds = new Set();
let spanCount = 0;
lines.forEach((text, i) => {
  const where = `${file}: line ${i + 1}`;
  let raw;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    fail(where, `not JSON: ${e.message}`);
    return;
  }
  // Checks on the OTLP/JSON form itself, before conversion.
  for (const rs of raw.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        const at = `${where}: span ${span.spanId} "${span.name}"`;
        ++spanCount;
        if (!/^[0-9a-f]{32}$/.test(span.traceId) || /^0+$/.test(span.traceId)) fail(at, 'traceId is not 32 hex digits');
        if (!/^[0-9a-f]{16}$/.test(span.spanId) || /^0+$/.test(span.spanId)) fail(at, 'spanId is not 16 hex digits, non-zero');
        if (span.parentSpanId !== undefined && !/^[0-9a-f]{16}$/.test(span.parentSpanId)) fail(at, 'parentSpanId is not 16 hex digits');
        if (typeof span.name !== 'string' || span.name.length === 0) fail(at, 'no name');
        if (!Number.isInteger(span.kind) || span.kind < 1 || span.kind > 5) fail(at, `kind ${span.kind} is not a SpanKind`);
        for (const k of ['startTimeUnixNano', 'endTimeUnixNano']) {
          if (typeof span[k] !== 'string' || !/^[0-9]+$/.test(span[k])) fail(at, `${k} is not a decimal string`);
        }
        if (BigInt(span.startTimeUnixNano ?? 0) > BigInt(span.endTimeUnixNano ?? 0)) fail(at, 'ends before it starts');
        for (const ev of span.events ?? []) {
          if (typeof ev.timeUnixNano !== 'string') fail(at, `event "${ev.name}" time is not a string`);
        }
        for (const a of [...(span.attributes ?? []), ...(rs.resource?.attributes ?? [])]) {
          if (a.value?.intValue !== undefined && typeof a.value.intValue !== 'string') fail(at, `${a.key}: intValue is not a string`);
        }
        if (spans.has(span.spanId)) fail(at, 'spanId used twice');
        spans.set(span.spanId, span);
        traceIds.add(span.traceId);
      }
    }
  }
  const input = dropEmptyArrays(toProtoJson(structuredClone(raw), where));
  const message = Request.fromObject(input);
  const why = Request.verify(message);
  if (why) {
    fail(where, `verify: ${why}`);
    return;
  }
  const bytes = Request.encode(message).finish();
  const back = Request.toObject(Request.decode(bytes), { longs: String, enums: Number, bytes: String });
  const diff = firstDifference(input, back);
  if (diff) fail(where, `round trip through the protobuf definitions differs at ${diff}`);
});

if (traceIds.size !== 1) fail(file, `${traceIds.size} trace ids (want 1)`);
let roots = 0;
for (const [id, span] of spans) {
  if (span.parentSpanId === undefined || span.parentSpanId === '') {
    ++roots;
  } else if (!spans.has(span.parentSpanId)) {
    fail(file, `span ${id} "${span.name}": parent ${span.parentSpanId} is not a span of the trace`);
  }
}
if (roots !== 1) fail(file, `${roots} root spans (want 1)`);

if (problems.length > 0) {
  for (const p of problems.slice(0, 50)) console.error(p);
  process.exit(1);
}
console.log(`ok: ${lines.length} lines, ${spanCount} spans, trace ${[...traceIds][0]}`);
