#!/usr/bin/env node
// A basic-ftp (npm) client for captures/scenarios/record.sh: one connection, a list of operations, and a JSON line
// on stdout saying what happened (each operation's outcome, the server's reply text on failure). basic-ftp is a real
// client library; this file only sequences its calls.
//
//   node basic-ftp-client.mjs HOST USER PASS OP...
//   OP: login-only | list:PATH | get:PATH:OUT | put:LOCAL:PATH | raw:COMMAND | sleep:SECONDS | type:A|I
//       size:PATH | slowget:PATH:OUT:BYTES_PER_SECOND (a reader slower than the link: TCP's window closes)
// Exit status 0 when every operation succeeded, 1 otherwise (the JSON says which failed).
import { Client } from 'basic-ftp';
import { createWriteStream, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';

const [host, user, password, ...ops] = process.argv.slice(2);
// LAB_TIMEOUT_MS: how long basic-ftp waits for a connection or a reply before it gives up (or tries the next mode).
const client = new Client(Number(process.env.LAB_TIMEOUT_MS ?? 15_000));
const results = [];
let failed = false;
try {
  await client.access({ host, user, password, secure: false });
  results.push({ op: 'login', ok: true });
  for (const op of ops) {
    const [kind, ...rest] = op.split(':');
    try {
      if (kind === 'login-only') continue;
      if (kind === 'list') results.push({ op, ok: true, entries: (await client.list(rest[0])).length });
      else if (kind === 'get') {
        await client.downloadTo(createWriteStream(rest[1]), rest[0]);
        results.push({ op, ok: true });
      } else if (kind === 'slowget') {
        const rate = Number(rest[2]);
        const parts = [];
        // A sink that takes each chunk only after the time it would take at `rate`: basic-ftp pauses the socket
        // meanwhile, the kernel buffer fills, and the client's TCP advertises a zero window.
        const sink = new Writable({
          highWaterMark: 1024,
          write(chunk, _enc, done) {
            parts.push(Buffer.from(chunk));
            setTimeout(done, (chunk.length / rate) * 1000);
          },
        });
        await client.downloadTo(sink, rest[0]);
        writeFileSync(rest[1], Buffer.concat(parts));
        results.push({ op, ok: true });
      } else if (kind === 'put') {
        await client.uploadFrom(rest[0], rest[1]);
        results.push({ op, ok: true });
      } else if (kind === 'raw') {
        const r = await client.send(rest.join(':'));
        results.push({ op, ok: true, code: r.code, message: r.message });
      } else if (kind === 'type') {
        const r = await client.send(`TYPE ${rest[0]}`);
        results.push({ op, ok: true, code: r.code });
      } else if (kind === 'size') {
        results.push({ op, ok: true, size: await client.size(rest[0]) });
      } else if (kind === 'sleep') {
        await new Promise((r) => setTimeout(r, Number(rest[0]) * 1000));
        results.push({ op, ok: true });
      } else throw new Error(`unknown op ${kind}`);
    } catch (e) {
      failed = true;
      results.push({ op, ok: false, code: e.code ?? null, error: String(e.message ?? e).split('\n')[0] });
      if (client.closed) break;
    }
  }
} catch (e) {
  failed = true;
  results.push({ op: 'login', ok: false, code: e.code ?? null, error: String(e.message ?? e).split('\n')[0] });
}
client.close();
process.stdout.write(JSON.stringify({ client: 'basic-ftp', results }) + '\n');
process.exit(failed ? 1 : 0);
