// read.mjs FILE...: reads each Arrow IPC stream (a writer's file or a bus
// payload) with Arrow JS and prints, as JSON, per file its rows and a few
// fields of each row. Arrow JS has no codec of its own: a ZSTD and an
// LZ4_FRAME decoder from npm are registered with its compressionRegistry,
// which is how a browser or node reads compressed Arrow IPC. A traces/v2 file
// (every string dictionary-encoded, map keys included) is read the same way:
// Arrow JS decodes the dictionaries, so the code below is the same for both.
import { readFileSync } from 'node:fs';
import { tableFromIPC, compressionRegistry, CompressionType } from 'apache-arrow';
import { decompress as zstdDecompress } from 'fzstd';
import lz4 from 'lz4js';

// Arrow JS views a decoded buffer in place (a BigInt64Array for 64-bit
// columns needs an offset that is a multiple of 8), while fzstd may return a
// view into a larger buffer at any offset: copy those.
const aligned = (b) => (b.byteOffset % 8 === 0 ? b : b.slice());
compressionRegistry.set(CompressionType.ZSTD, { decode: (b) => aligned(zstdDecompress(b)) });
compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: (b) => Uint8Array.from(lz4.decompress(b)) });

const hex = (b) => (b == null ? null : Buffer.from(b).toString('hex'));
const out = {};
for (const path of process.argv.slice(2)) {
  try {
    out[path] = read(path);
  } catch (e) {
    out[path] = { error: String(e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e) };
  }
}

function read(path) {
  const t = tableFromIPC(readFileSync(path));
  const rows = [];
  for (const r of t) {
    const attrs = r.attributes_str == null ? {} : r.attributes_str.toJSON();
    const ints = r.attributes_int == null ? {} : r.attributes_int.toJSON();
    const res = r.resource_attributes_str == null ? {} : r.resource_attributes_str.toJSON();
    rows.push({
      service_name: r.service_name,
      name: r.name,
      trace_id: hex(r.trace_id),
      span_id: hex(r.span_id),
      route: attrs['http.route'] ?? null,
      status: ints['http.response.status_code'] == null ? null : Number(ints['http.response.status_code']),
      events: r.events == null ? 0 : r.events.length,
      event_names: r.events == null ? [] : [...r.events].map((e) => e.name),
      resource_service: res['service.name'] ?? null,
    });
  }
  return { num_rows: t.numRows, batches: t.batches.length, schema: t.schema.metadata.get('otlp.schema') ?? '', rows };
}
process.stdout.write(JSON.stringify(out));
