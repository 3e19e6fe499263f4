/**
 * Incremental line splitter for the FTP control channel (RFC 959 §4, Telnet NVT per RFC 854).
 *
 * Lines end at LF; a CR right before the LF belongs to the terminator (CRLF and bare LF are both
 * accepted, as every real client and server does). A lone CR elsewhere is data and stays in `text`.
 *
 * Telnet: the control connection speaks the NVT subset of Telnet. `IAC IAC` is a literal 0xFF byte;
 * `IAC WILL/WONT/DO/DONT x`, `IAC SB … IAC SE` and the two-byte commands (`IAC IP`, `IAC DM`, the
 * Synch that precedes ABOR, …) are removed from `text` and reported in `telnet`. An IAC followed by a
 * byte that is not a Telnet command is an unescaped 0xFF in the data (latin1 servers do this); both
 * bytes are kept. LF inside a Telnet sequence (an option byte, a subnegotiation) does not end a line.
 *
 * Text decoding: the bytes of a line are decoded as UTF-8 when they are valid UTF-8 (RFC 2640, and what
 * every modern server sends), otherwise as latin1, so every byte maps to one character and nothing is
 * lost. NUL and other control bytes are kept as they are; escaping them is the display's job.
 *
 * Memory is bounded: a line longer than `maxLineLength` bytes is handed out cut (overlong = true) and
 * the rest of it is discarded, only counted, up to the next LF.
 *
 * A splitter that need not hand out raw bytes (`keepRaw: false`, the analyzer's) takes the whole plain-ASCII
 * lines of a chunk from one latin1 decode of it; the byte-by-byte path gives the same lines.
 */
import { isUtf8 } from 'node:buffer';

export interface LineSplitterOptions {
  /** Longest line kept: bytes before the LF (a CR before it counts). Default 8192. */
  maxLineLength?: number;
  /** Hand out each line's exact bytes in `raw` (a relay needs them). Default true; otherwise `raw` is null. */
  keepRaw?: boolean;
}

export interface SplitLine {
  /** The line without CR/LF, Telnet sequences removed, decoded (UTF-8 when valid, else latin1). */
  text: string;
  /**
   * The exact bytes including the terminator, for relaying (null without keepRaw). Cut lines hold the
   * first maxLineLength bytes.
   */
  raw: Buffer | null;
  /** True when the line was cut at maxLineLength; the rest up to the next LF was discarded. */
  overlong: boolean;
  /** Telnet commands seen in the line, by name ('IP', 'DM', 'WILL 1', 'SB 24', …), in order. */
  telnet?: string[];
}

export const DEFAULT_MAX_LINE_LENGTH = 8192;
/** At most this many Telnet commands are recorded per line (the rest are still removed). */
const MAX_TELNET_PER_LINE = 16;

const LF = 0x0a;
const CR = 0x0d;
const IAC = 0xff;
const SE = 240;
const SB = 250;
const WILL = 251;
const DONT = 254;

const COMMAND_NAMES: Record<number, string> = {
  240: 'SE', 241: 'NOP', 242: 'DM', 243: 'BRK', 244: 'IP', 245: 'AO', 246: 'AYT', 247: 'EC',
  248: 'EL', 249: 'GA', 250: 'SB', 251: 'WILL', 252: 'WONT', 253: 'DO', 254: 'DONT',
};

/** Any byte outside 7-bit ASCII, 0xFF (Telnet IAC) included, in a latin1-decoded string. */
const NON_ASCII = /[^\x00-\x7f]/;

const enum State {
  Data,
  Iac,
  /** After IAC WILL/WONT/DO/DONT: the next byte is the option. */
  Option,
  /** Inside IAC SB … until IAC SE. */
  Sub,
  SubIac,
  /** After a cut overlong line: skip to the next LF. */
  Discard,
}

export class LineSplitter {
  private readonly max: number;
  private readonly keepRaw: boolean;
  private state = State.Data;
  private raw: Buffer[] = [];
  private rawLength = 0;
  private text: Buffer[] = [];
  private telnet: string[] | null = null;
  /** The command byte of a pending IAC WILL/WONT/DO/DONT or SB, for naming. */
  private pendingCommand = 0;
  private discarded = 0;

  constructor(opts: LineSplitterOptions = {}) {
    const max = opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxLineLength must be a positive integer, got ${max}`);
    this.max = max;
    this.keepRaw = opts.keepRaw ?? true;
  }

  /** Bytes held for a line not yet terminated. */
  get pendingBytes(): number {
    return this.rawLength;
  }

  /** Bytes thrown away after overlong lines, in total. */
  get discardedBytes(): number {
    return this.discarded;
  }

  /** The lines that chunk[start, end) completes. */
  push(chunk: Buffer, start = 0, end = chunk.length): SplitLine[] {
    const out: SplitLine[] = [];
    let i = start;
    if (!this.keepRaw) {
      if (this.rawLength > 0) {
        // A line begun in an earlier chunk (a long reply across segments): the byte path finishes it,
        // and the plain path may take the whole lines after it.
        let lf = i;
        while (lf < end && chunk[lf] !== LF) lf++;
        if (lf < end) {
          this.bytes(chunk.subarray(i, lf + 1), out);
          i = lf + 1;
        }
      }
      if (this.state === State.Data && this.rawLength === 0) i = this.plainLines(chunk, i, end, out);
    }
    if (i < end) this.bytes(i === 0 && end === chunk.length ? chunk : chunk.subarray(i, end), out);
    return out;
  }

  /** The byte-by-byte path over a whole chunk (Telnet, UTF-8, partial and overlong lines). */
  private bytes(chunk: Buffer, out: SplitLine[]): void {
    const n = chunk.length;
    let i = 0;
    let nextLf = -2; // -2: not searched yet, -1: none in this chunk
    let nextIac = -2;
    while (i < n) {
      if (this.state === State.Discard) {
        const lf = chunk.indexOf(LF, i);
        const next = lf < 0 ? n : lf + 1;
        this.discarded += next - i;
        i = next;
        if (lf >= 0) this.state = State.Data;
        continue;
      }
      const b = chunk[i]!;
      const endsLine = b === LF && (this.state === State.Data || this.state === State.Iac);
      if (!endsLine && this.rawLength >= this.max) {
        out.push(this.cut());
        continue;
      }
      if (this.state === State.Data) {
        if (b === LF) {
          this.appendRaw(LF);
          out.push(this.finish(true));
          i++;
        } else if (b === IAC) {
          this.appendRaw(IAC);
          this.state = State.Iac;
          i++;
        } else {
          // The run of plain bytes up to the next LF or IAC, bounded by the line limit. The positions of
          // the next LF and IAC are searched natively and reused until passed.
          if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i);
          if (nextIac !== -1 && nextIac < i) nextIac = chunk.indexOf(IAC, i);
          let stop = Math.min(n, i + this.max - this.rawLength);
          if (nextLf >= 0 && nextLf < stop) stop = nextLf;
          if (nextIac >= 0 && nextIac < stop) stop = nextIac;
          // A run that reaches its LF takes the LF along: one copy per ordinary line.
          const end = stop === nextLf ? stop + 1 : stop;
          const piece = Buffer.allocUnsafe(end - i);
          chunk.copy(piece, 0, i, end);
          if (end > stop && this.rawLength === 0 && this.telnet === null && this.text.length === 0) {
            // The common case, a whole line in one run: no piece lists to collect and concatenate.
            let textEnd = stop - i;
            if (textEnd > 0 && piece[textEnd - 1] === CR) textEnd--;
            out.push({ text: decodeLineText(piece.subarray(0, textEnd)), raw: this.keepRaw ? piece : null, overlong: false });
            i = end;
            continue;
          }
          this.raw.push(piece);
          this.text.push(end > stop ? piece.subarray(0, stop - i) : piece);
          this.rawLength += piece.length;
          i = end;
          if (end > stop) out.push(this.finish(true));
        }
        continue;
      }
      // Inside a Telnet sequence: one byte at a time (rare).
      i++;
      this.appendRaw(b);
      if (this.state === State.Iac && b === LF) {
        // IAC then LF is no Telnet command: an unescaped 0xFF ending the line.
        this.text.push(Buffer.from([IAC]));
        this.state = State.Data;
        out.push(this.finish(true));
        continue;
      }
      this.telnetByte(b);
    }
  }

  /**
   * The whole lines at the start of chunk[start, end) when they are all plain 7-bit ASCII (no Telnet
   * IAC, nothing to decode as UTF-8) and within the limit: their text from one latin1 decode of the
   * range. Returns the offset where the byte path takes over (`start` when the range has anything else
   * before its last LF).
   */
  private plainLines(chunk: Buffer, start: number, end: number, out: SplitLine[]): number {
    // Searched in the decoded string: a search in `chunk` (a whole read buffer) could run past the range.
    const all = chunk.toString('latin1', start, end);
    // The last LF is nearly always the last byte; String#lastIndexOf is a runtime call.
    let lastLf = all.length - 1;
    while (lastLf >= 0 && all.charCodeAt(lastLf) !== LF) lastLf--;
    if (lastLf < 0) return start;
    const s = lastLf === all.length - 1 ? all : all.slice(0, lastLf + 1);
    if (NON_ASCII.test(s)) return start;
    let i = 0;
    while (i <= lastLf) {
      const lf = s.indexOf('\n', i);
      if (lf - i > this.max) return start + i;
      const lineEnd = lf > i && s.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
      out.push({ text: s.slice(i, lineEnd), raw: null, overlong: false });
      i = lf + 1;
    }
    return start + i;
  }

  /** The trailing partial line at end of stream, if any; resets the splitter. */
  flush(): SplitLine | null {
    const wasDiscarding = this.state === State.Discard;
    if (this.state === State.Iac) this.text.push(Buffer.from([IAC])); // a dangling IAC is data
    const line = this.rawLength > 0 && !wasDiscarding ? this.finish(false) : null;
    this.reset();
    return line;
  }

  private telnetByte(b: number): void {
    switch (this.state) {
      case State.Iac:
        if (b === IAC) {
          this.text.push(Buffer.from([IAC]));
          this.state = State.Data;
        } else if (b >= WILL && b <= DONT) {
          this.pendingCommand = b;
          this.state = State.Option;
        } else if (b === SB) {
          this.pendingCommand = b;
          this.state = State.Option;
        } else if (b >= SE) {
          this.note(COMMAND_NAMES[b]!);
          this.state = State.Data;
        } else {
          // Not a Telnet command: an unescaped 0xFF in the data (latin1 servers do this). Keep both bytes.
          this.text.push(Buffer.from([IAC, b]));
          this.state = State.Data;
        }
        return;
      case State.Option:
        this.note(`${COMMAND_NAMES[this.pendingCommand]} ${b}`);
        this.state = this.pendingCommand === SB ? State.Sub : State.Data;
        return;
      case State.Sub:
        if (b === IAC) this.state = State.SubIac;
        return;
      case State.SubIac:
        this.state = b === SE ? State.Data : State.Sub;
        return;
      default:
        return;
    }
  }

  private appendRaw(b: number): void {
    const piece = Buffer.from([b]);
    this.raw.push(piece);
    this.rawLength += 1;
  }

  private note(name: string): void {
    this.telnet ??= [];
    if (this.telnet.length < MAX_TELNET_PER_LINE) this.telnet.push(name);
  }

  /** Ends the current line; `terminated` when its LF is the last raw byte, `cut` for an overlong line. */
  private finish(terminated: boolean, cut = false): SplitLine {
    const raw = this.raw.length === 1 ? this.raw[0]! : Buffer.concat(this.raw, this.rawLength);
    let textBytes = this.text.length === 1 ? this.text[0]! : Buffer.concat(this.text);
    if (terminated && textBytes.length > 0 && textBytes[textBytes.length - 1] === CR) {
      textBytes = textBytes.subarray(0, textBytes.length - 1);
    }
    const line: SplitLine = { text: cut ? decodeCutText(textBytes) : decodeLineText(textBytes), raw: this.keepRaw ? raw : null, overlong: false };
    if (this.telnet) line.telnet = this.telnet;
    this.clearLine();
    return line;
  }

  private cut(): SplitLine {
    const line = this.finish(false, true);
    line.overlong = true;
    this.state = State.Discard;
    return line;
  }

  private clearLine(): void {
    this.raw = [];
    this.text = [];
    this.rawLength = 0;
    this.telnet = null;
  }

  private reset(): void {
    this.clearLine();
    this.state = State.Data;
    this.pendingCommand = 0;
  }
}

/** UTF-8 when the bytes are valid UTF-8, else latin1 (one character per byte, nothing lost). */
export function decodeLineText(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}

/** A cut line may end inside a UTF-8 character: drop that partial character rather than fall back to latin1. */
function decodeCutText(bytes: Buffer): string {
  for (let drop = 0; drop <= 3 && drop < bytes.length; drop++) {
    const head = bytes.subarray(0, bytes.length - drop);
    if (isUtf8(head)) return head.toString('utf8');
  }
  return bytes.toString('latin1');
}
