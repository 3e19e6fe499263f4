import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { ChunkedWriter } from '../../src/report/output.js';
import { reportJsonPieces } from '../../src/report/json.js';
import { analyzed } from './captures.js';

describe('ChunkedWriter', () => {
  it('passes pieces through in order, larger and smaller than its chunk, whatever the reader pace', async () => {
    const a = await analyzed('zeek/ipv4.pcap');
    const big = 'x'.repeat(3 << 20);
    const pieces: (string | Buffer)[] = [...reportJsonPieces(a), big, Buffer.from('ünï'), '\n'];
    const stream = new PassThrough({ highWaterMark: 1024 });
    const got: Buffer[] = [];
    stream.on('data', (b: Buffer) => got.push(b));
    const w = new ChunkedWriter(stream);
    for (const p of pieces) await w.write(p);
    await w.end();
    expect(Buffer.concat(got).toString()).toBe(pieces.map(String).join(''));
  });
});
