import { posix } from 'node:path';

/** The directory `arg` names when sent from `cwd` (null cwd: only absolute paths are known). */
export function resolveFtpPath(cwd: string | null, arg: string): string | null {
  if (arg.startsWith('/')) return posix.normalize(arg);
  if (cwd === null) return null;
  return posix.normalize(posix.join(cwd, arg));
}

export function parentDir(cwd: string | null): string | null {
  if (cwd === null) return null;
  return posix.dirname(cwd);
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

/**
 * The path a transfer command names: cwd + argument where known; the argument itself
 * when the working directory is unknown; for a listing without argument, the cwd.
 */
export function transferPath(cwd: string | null, arg: string | null): string | null {
  if (arg === null || arg === '') return cwd;
  // LIST/NLST options such as "-la" are not paths.
  if (arg.startsWith('-')) {
    const rest = arg.replace(/^(-\S+\s*)+/, '');
    return rest ? transferPath(cwd, rest) : cwd;
  }
  return resolveFtpPath(cwd, arg) ?? arg;
}
