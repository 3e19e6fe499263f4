import { posix } from 'node:path';

/**
 * Working directories and transfer paths. A path is anchored when it starts with "/" (known from
 * an absolute argument, or from a 257 reply). A session that navigates with CWD before any PWD
 * moves relative to a start directory nobody has named; that cwd is kept relative to the start,
 * as Zeek does: "." is the start, "./pub/data" two levels below it, "../x" beside it.
 */

/** True for a working directory or path known only relative to the session's start directory. */
export function isRelativePath(p: string): boolean {
  return p === '.' || p === '..' || p.startsWith('./') || p.startsWith('../');
}

/** A relative path in its written form: "." for the start, "./a/b" below it, "../a" above it. */
function relativeForm(p: string): string {
  const n = posix.normalize(p);
  if (n === '.' || n === '..' || n.startsWith('../')) return n;
  return `./${n}`;
}

/**
 * The directory or file `arg` names when sent from `cwd`: absolute arguments as they are
 * (normalized), relative ones joined to an absolute or a relative cwd; null when the cwd is not
 * known at all (the caller decides what a bare relative argument means then).
 */
export function resolveFtpPath(cwd: string | null, arg: string): string | null {
  if (arg.startsWith('/')) return posix.normalize(arg);
  if (cwd === null) return null;
  if (isRelativePath(cwd)) return relativeForm(posix.join(cwd, arg));
  return posix.normalize(posix.join(cwd, arg));
}

export function parentDir(cwd: string | null): string | null {
  if (cwd === null) return null;
  if (isRelativePath(cwd)) return relativeForm(posix.join(cwd, '..'));
  return posix.dirname(cwd);
}

/**
 * Where the session started, given a relative cwd and the absolute path a 257 reply names for it:
 * "/srv/ftp" for "./pub/data" and "/srv/ftp/pub/data". Null when the two do not fit together
 * (the relative path climbs above the start, or a symlink made the server's path differ).
 */
export function startDirOf(relative: string, absolute: string): string | null {
  if (!absolute.startsWith('/') || !isRelativePath(relative)) return null;
  const rel = posix.normalize(relative).replace(/(.)\/+$/, '$1');
  if (rel === '..' || rel.startsWith('../')) return null;
  const abs = posix.normalize(absolute).replace(/(.)\/+$/, '$1');
  if (rel === '.') return abs;
  const parts = rel.split('/');
  const absParts = abs === '/' ? [] : abs.slice(1).split('/');
  if (parts.length > absParts.length) return null;
  const tail = absParts.slice(absParts.length - parts.length);
  for (let i = 0; i < parts.length; i++) if (tail[i] !== parts[i]) return null;
  return '/' + absParts.slice(0, absParts.length - parts.length).join('/');
}

/** A relative path placed under the start directory it was relative to. */
export function anchorPath(start: string, relative: string): string {
  return posix.normalize(posix.join(start, relative));
}

/** The quoted path of a 257 reply: `257 "/pub/x""y" is the current directory` (quotes doubled inside). */
export function parse257Path(text: string): string | null {
  const start = text.indexOf('"');
  if (start < 0) return null;
  let out = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      if (text[i + 1] === '"') {
        out += '"';
        i++;
        continue;
      }
      return out;
    }
    out += c;
  }
  return null;
}

/** Verbs whose argument may start with options (`LIST -la /pub`): only these have options stripped. */
const LISTING_VERBS: ReadonlySet<string> = new Set(['LIST', 'NLST']);

/**
 * The path a transfer command names: cwd + argument where known; the argument itself when the
 * working directory is unknown; for a listing without argument, the cwd. Leading "-x" words are
 * listing options only for LIST and NLST: `RETR -rf` retrieves a file named "-rf".
 */
export function transferPath(cwd: string | null, arg: string | null, verb = 'RETR'): string | null {
  if (arg === null || arg === '') return cwd;
  if (LISTING_VERBS.has(verb) && arg.startsWith('-')) {
    const rest = arg.replace(/^(-\S+\s*)+/, '');
    return rest ? transferPath(cwd, rest, verb) : cwd;
  }
  return resolveFtpPath(cwd, arg) ?? arg;
}
