/**
 * The one policy for secrets on the control channel, used by every output (reports, NDJSON, the
 * ladder, the dashboard's panes, inspect, the proxy's log): PASS and ACCT arguments, and the
 * security data of ADAT commands and of ADAT= replies (RFC 2228), become "****" unless the user
 * asked for them with --show-passwords. The mechanism named by AUTH (TLS, GSSAPI) is no secret.
 */
import type { Dissection, Field, Layer } from '../dissect/field.js';

export const MASKED = '****';

/** Commands whose argument is a secret. */
export const SECRET_VERBS: ReadonlySet<string> = new Set(['PASS', 'ACCT', 'ADAT']);

/** "ADAT=<base64>" in a 235/334/335/63x reply carries the server's security data. */
const REPLY_SECRET = /(ADAT=)(\S+)/i;

export function isSecretVerb(verb: string): boolean {
  return SECRET_VERBS.has(verb.toUpperCase());
}

/** A command's argument as it may be shown. */
export function maskArg(verb: string, arg: string | null, showPasswords = false): string | null {
  if (arg === null || showPasswords) return arg;
  return isSecretVerb(verb) ? MASKED : arg;
}

/** A reply's text as it may be shown. */
export function maskReplyText(text: string, showPasswords = false): string {
  // Most replies carry no "=" at all: skip the regular expression for them (reports run this on every reply).
  if (showPasswords || text.indexOf('=') < 0 || !REPLY_SECRET.test(text)) return text;
  return text.replace(new RegExp(REPLY_SECRET.source, 'gi'), `$1${MASKED}`);
}

/** "VERB arg" for one-line summaries (packets list, ladder), masked. */
export function commandText(verb: string, arg: string | null, showPasswords = false): string {
  const shown = maskArg(verb, arg, showPasswords);
  return shown === null ? verb : `${verb} ${shown}`;
}

/**
 * A dissection as it may be shown: secret arguments become "****" in the field tree and as
 * 0x2a bytes in the bytes it carries (so the hex pane cannot show them either). Works on
 * copies of the byte buffers; the dissection's field objects are changed in place.
 */
export function maskDissection(d: Dissection, showPasswords = false): Dissection {
  if (showPasswords) return d;
  for (const layer of d.layers) {
    if (layer.name !== 'ftp') continue;
    for (const line of layer.fields) {
      const kids = line.children ?? [];
      const verb = kids[0]?.name === 'ftp.request.command' ? String(kids[0].value) : null;
      const arg = kids.find((f: Field) => f.name === (verb !== null ? 'ftp.request.arg' : 'ftp.response.arg'));
      if (!arg || typeof arg.value !== 'string') continue;
      if (verb !== null) {
        if (!isSecretVerb(verb)) continue;
        blank(d, layer, arg.offset, arg.length);
        arg.value = MASKED;
        arg.display = `${MASKED} (masked; --show-passwords shows it)`;
        line.display = line.display.replace(/^(\S+\s+).*?(\\r\\n| \(line continues.*)?$/, (_m, v: string, tail?: string) => `${v}${MASKED}${tail ?? ''}`);
        continue;
      }
      const m = REPLY_SECRET.exec(arg.value);
      if (!m) continue;
      const at = arg.offset + m.index + m[1]!.length;
      blank(d, layer, at, m[2]!.length);
      arg.value = maskReplyText(arg.value);
      arg.display = maskReplyText(arg.display);
      line.display = maskReplyText(line.display);
    }
  }
  return d;
}

/** Overwrite bytes [offset, offset + length) with '*' in a copy of the buffer the layer indexes. */
function blank(d: Dissection, layer: Layer, offset: number, length: number): void {
  if (layer.source === 'reassembled' && d.reassembled) {
    const copy = Buffer.from(d.reassembled.bytes);
    copy.fill(0x2a, offset, offset + length);
    d.reassembled = { ...d.reassembled, bytes: copy };
  } else {
    const copy = Buffer.from(d.bytes);
    copy.fill(0x2a, offset, offset + length);
    d.bytes = copy;
  }
}
