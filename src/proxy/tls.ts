/**
 * TLS termination (--tls-terminate): the proxy is the TLS server towards the client (one
 * SecureContext for control and data) and the TLS client towards the server, resuming the
 * control connection's session on data connections (vsftpd's require_ssl_reuse demands it).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { FtpscopeError } from '../errors.js';

export interface TlsTerminationOptions {
  certFile: string;
  keyFile: string;
  /** Verify the server's certificate against the system CAs (off by default: FTP servers mostly self-sign). */
  verifyUpstream?: boolean;
}

export class TlsTermination {
  readonly clientContext: tls.SecureContext;
  readonly verifyUpstream: boolean;

  constructor(opts: TlsTerminationOptions) {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = fs.readFileSync(opts.certFile);
      key = fs.readFileSync(opts.keyFile);
    } catch (e) {
      throw new FtpscopeError('tls-config', `cannot read --cert/--key: ${(e as Error).message}`,
        'give a PEM certificate and key, e.g. openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj /CN=proxy');
    }
    try {
      this.clientContext = tls.createSecureContext({ cert, key });
    } catch (e) {
      throw new FtpscopeError('tls-config', `--cert ${opts.certFile} / --key ${opts.keyFile}: ${(e as Error).message}`,
        'check that the key matches the certificate and both are PEM');
    }
    this.verifyUpstream = opts.verifyUpstream ?? false;
  }

  /** Server-side TLS on a socket the client talks to (control after 234, or a data leg). */
  acceptClient(sock: net.Socket): tls.TLSSocket {
    return new tls.TLSSocket(sock, { isServer: true, secureContext: this.clientContext });
  }

  /** Client-side TLS on a socket to the server; `session` resumes the control connection's. */
  connectServer(sock: net.Socket, servername: string | null, session: Buffer | null): tls.TLSSocket {
    const opts: tls.ConnectionOptions = {
      socket: sock,
      rejectUnauthorized: this.verifyUpstream,
    };
    if (servername && net.isIP(servername) === 0) opts.servername = servername;
    if (session) opts.session = session;
    return tls.connect(opts);
  }
}

/** Keeps the newest resumable session of a TLS control connection (TLS 1.3 sends tickets after the handshake). */
export function trackSession(sock: tls.TLSSocket): () => Buffer | null {
  let latest: Buffer | null = null;
  sock.on('session', (s: Buffer) => { latest = s; });
  return () => latest ?? sock.getSession() ?? null;
}

/**
 * Resolves once the TLS handshake is done; rejects on an error, on the peer's FIN or close first,
 * or when `timeoutMs` (0: none) passes. A FIN during the handshake must end it: with allowHalfOpen
 * a TLSSocket only emits 'end' then, and would wait (and hold its session slot) forever.
 */
export function secured(sock: tls.TLSSocket, isServer: boolean, timeoutMs = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const ev = isServer ? 'secure' : 'secureConnect';
    let timer: NodeJS.Timeout | null = null;
    const done = () => { cleanup(); resolve(); };
    const fail = (e?: Error) => { cleanup(); reject(e ?? new Error('closed during the TLS handshake')); };
    const onClose = () => fail();
    const onEnd = () => fail(new Error('the peer closed the connection during the TLS handshake'));
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      sock.off(ev, done); sock.off('error', fail); sock.off('close', onClose); sock.off('end', onEnd);
    };
    sock.once(ev, done);
    sock.once('error', fail);
    sock.once('close', onClose);
    sock.once('end', onEnd);
    if (timeoutMs > 0) {
      timer = setTimeout(() => fail(new Error(`no TLS handshake within ${Math.round(timeoutMs / 1000)} s (--tls-handshake-timeout)`)), timeoutMs);
      timer.unref();
    }
  });
}
