/** Listening on a port from a range (--pasv-ports), skipping ports in use. */
import * as net from 'node:net';

export interface PortRange {
  from: number;
  to: number;
}

export function parsePortRange(text: string): PortRange | null {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (from < 1 || to > 65535 || from > to) return null;
  return { from, to };
}

/** Rotates through the range so consecutive sessions do not all fight over the first port. */
export class PortAllocator {
  private cursor = 0;
  constructor(private readonly range: PortRange | null) {}

  /** Listen on `host`, on a free port of the range (or any port without a range). */
  async listen(server: net.Server, host: string): Promise<number> {
    if (!this.range) return listenOnce(server, host, 0);
    const size = this.range.to - this.range.from + 1;
    for (let i = 0; i < size; i++) {
      const port = this.range.from + ((this.cursor + i) % size);
      try {
        const got = await listenOnce(server, host, port);
        this.cursor = (port - this.range.from + 1) % size;
        return got;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw e;
      }
    }
    throw new Error(`no free port in --pasv-ports ${this.range.from}-${this.range.to}`);
  }
}

function listenOnce(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => { server.off('listening', onListening); reject(e); };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}
