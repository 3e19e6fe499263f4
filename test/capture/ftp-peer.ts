import { spawn } from 'node:child_process';
import ftpSrv from 'ftp-srv';

/** A real FTP server (ftp-srv from npm) on 127.0.0.1 with anonymous login, serving `root`. */
export async function startFtpServer(root: string, greeting = 'ftpscope live test'): Promise<{ port: number; pasvMin: number; pasvMax: number; close(): Promise<void> }> {
  const port = 20000 + Math.floor(Math.random() * 5000);
  const pasvMin = 40000 + Math.floor(Math.random() * 1000) * 10;
  const quiet = { child: () => quiet, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };
  const server = new ftpSrv.FtpSrv({
    url: `ftp://127.0.0.1:${port}`, pasv_url: '127.0.0.1', pasv_min: pasvMin, pasv_max: pasvMin + 9,
    anonymous: true, greeting: [greeting], log: quiet as never,
  });
  server.on('login', (_d: unknown, resolve: (o: { root: string }) => void) => resolve({ root }));
  server.on('client-error', () => {});
  await server.listen();
  return { port, pasvMin, pasvMax: pasvMin + 9, close: () => server.close() };
}

/** Downloads a URL with curl (a real FTP client); extra args e.g. ['-P', '-'] for active mode. */
export function curl(url: string, extra: string[] = []): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = spawn('curl', ['-s', '--max-time', '20', ...extra, url]);
    const parts: Buffer[] = [];
    c.stdout.on('data', (d: Buffer) => parts.push(d));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(Buffer.concat(parts)) : reject(new Error(`curl ${url} exited ${code}`))));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
