#!/usr/bin/env node
// Runs ftp-srv (npm) as a second, independent FTP server implementation for record.sh.
//   node run-ftp-srv.mjs --host 10.21.0.1 --port 21 --root DIR [--pasv-min N --pasv-max N] [--user NAME --pass PW]
// Anonymous login is always allowed; --user/--pass add one local account. Stops on SIGTERM/SIGINT.
import ftpSrv from 'ftp-srv';

const { FtpSrv } = ftpSrv;

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const host = args.get('host') ?? '127.0.0.1';
const port = Number(args.get('port') ?? 2121);
const root = args.get('root');
if (!root) {
  process.stderr.write('run-ftp-srv: --root DIR is required\n');
  process.exit(2);
}

// ftp-srv logs through bunyan to stdout by default; keep the recorder's output readable.
const quiet = { child: () => quiet, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };
const urlHost = host.includes(':') ? `[${host}]` : host;
const server = new FtpSrv({
  url: `ftp://${urlHost}:${port}`,
  pasv_url: host,
  pasv_min: Number(args.get('pasv-min') ?? 50100),
  pasv_max: Number(args.get('pasv-max') ?? 50199),
  anonymous: true,
  greeting: ['ftpscope recorder: ftp-srv'],
  log: quiet,
});
server.on('login', ({ username, password }, resolve, reject) => {
  if (username === 'anonymous') return resolve({ root });
  if (args.has('user') && username === args.get('user') && password === args.get('pass')) return resolve({ root });
  return reject(new Error('Login incorrect'));
});
server.on('client-error', () => {});

await server.listen();
process.stdout.write(`ftp-srv listening on ${urlHost}:${port}\n`);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
