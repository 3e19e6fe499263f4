import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Session } from '../model/types.js';

/**
 * Finished sessions, rendered and parked in a temporary file so that a report over any
 * capture size keeps only an index in memory. Sessions finish out of order; `chunks()`
 * gives them back in id order.
 */
export class SessionSpool {
  private readonly dir: string;
  private readonly file: string;
  private readonly fd: number;
  private offset = 0;
  /** id → [offset, length] in the spool file. */
  private readonly index = new Map<number, [number, number]>();
  sessions = 0;
  dataConnections = 0;

  constructor(private readonly render: (s: Session) => string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftpscope-spool-'));
    this.file = path.join(this.dir, 'sessions');
    this.fd = fs.openSync(this.file, 'w+');
  }

  add(s: Session): void {
    const buf = Buffer.from(this.render(s), 'utf8');
    fs.writeSync(this.fd, buf, 0, buf.length, this.offset);
    this.index.set(s.id, [this.offset, buf.length]);
    this.offset += buf.length;
    this.sessions++;
    this.dataConnections += s.dataConnections.length;
  }

  /** The rendered sessions in id order. */
  *chunks(): Generator<string> {
    const ids = [...this.index.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const [off, len] = this.index.get(id)!;
      const buf = Buffer.allocUnsafe(len);
      fs.readSync(this.fd, buf, 0, len, off);
      yield buf.toString('utf8');
    }
  }

  close(): void {
    try {
      fs.closeSync(this.fd);
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
