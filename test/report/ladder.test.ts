import { describe, expect, it } from 'vitest';
import { renderLadder, type LadderLine } from '../../src/report/ladder.js';
import { analyzed, ALL_CAPTURES } from './captures.js';

const cols = (s: string): number => Array.from(s).length;

describe('flow ladder', () => {
  it.each(ALL_CAPTURES)('%s: fits the width, every line in time order, data connections on their own lane', async (capture) => {
    const a = await analyzed(capture);
    for (const s of a.sessions) {
      for (const width of [40, 80, 132]) {
        for (const l of renderLadder(s, { width })) expect(cols(l.text), l.text).toBeLessThanOrEqual(width);
      }
      const lines = renderLadder(s, { width: 80 });
      const idx = (pred: (l: LadderLine) => boolean): number => lines.findIndex(pred);

      // Commands point right, replies left, both between the control lifelines.
      const controlArrows = lines.filter((l) => l.kind === 'command' || l.kind === 'reply');
      for (const l of controlArrows) {
        if (l.kind === 'command') expect(l.text).toMatch(/\|--.*>\|$/);
        else expect(l.text).toMatch(/\|<.*--\|$/);
      }
      // Every command and reply is there, once, and in frame order.
      const expectedFrames = [
        ...s.commands.flatMap((c) => [c.frame, ...c.replies.map((r) => r.frame)]),
        ...s.unsolicitedReplies.map((r) => r.frame),
      ].filter((f): f is number => f !== null).sort((x, y) => x - y);
      const drawn = controlArrows.map((l) => l.frame).filter((f): f is number => f !== null);
      for (const f of expectedFrames) expect(drawn).toContain(f);
      expect([...drawn].sort((x, y) => x - y)).toEqual(drawn);
      for (const c of s.commands) {
        const line = lines.find((l) => l.kind === 'command' && l.frame === c.frame);
        expect(line?.text).toContain(c.verb);
        expect(line?.connId).toBe(s.tcp?.id ?? null);
      }

      // Strictly in time order (a frame tiebreak aside): every line that stands for something has its time.
      const timed = lines.filter((l) => l.ts !== null);
      for (let i = 1; i < timed.length; i++) expect(timed[i]!.ts!, timed[i]!.text).toBeGreaterThanOrEqual(timed[i - 1]!.ts!);

      for (const dc of s.dataConnections) {
        const own = lines.map((l, i) => ({ l, i })).filter(({ l }) => dc.tcp !== null && l.connId === dc.tcp.id);
        expect(own.length, `lines of data #${dc.id}`).toBeGreaterThan(0);
        // On its own lane, inside the control lifelines, every arrow tagged with the connection.
        for (const { l } of own) expect(l.text).toMatch(/\|  [:.'|]/);
        expect(own[0]!.l.text).toContain(`D${dc.id} `);
        for (const { l } of own.filter(({ l }) => l.kind === 'tcp')) expect(l.text).toContain(`D${dc.id} `);
        // SYN, SYN-ACK, ACK with their frames, then the payload, then FIN/RST.
        const hs = dc.tcp!.handshake;
        const order = [hs.synFrame, hs.synAckFrame, hs.ackFrame].filter((f): f is number => f !== null)
          .map((f) => own.findIndex(({ l }) => l.kind === 'tcp' && l.frame === f));
        expect(order.every((i) => i >= 0)).toBe(true);
        expect([...order].sort((x, y) => x - y)).toEqual(order);
        const payload = own.findIndex(({ l }) => l.kind === 'data' && /[<>]=|=[<>]/.test(l.text));
        expect(payload).toBeGreaterThan(Math.max(-1, ...order));
        const closes = own.filter(({ l }) => l.kind === 'tcp' && /D\d+ (FIN|RST)\b/.test(l.text));
        if (dc.tcp!.finFrame.some((f) => f !== null) || dc.tcp!.rstFrame !== null) {
          expect(closes.length).toBeGreaterThan(0);
          expect(own.indexOf(closes[0]!)).toBeGreaterThan(payload);
          // Each FIN/RST is drawn at its own frame.
          for (const { l } of closes) expect([...dc.tcp!.finFrame, dc.tcp!.rstFrame]).toContain(l.frame);
        }
        // Active mode: the FTP server opens the connection, so the SYN points left.
        const syn = own.find(({ l }) => l.kind === 'tcp' && l.frame === hs.synFrame);
        if (syn && dc.mode === 'active') expect(syn.l.text).toMatch(/:<-+ D\d+ SYN --:/);
        if (syn && dc.mode === 'passive') expect(syn.l.text).toMatch(/:-- D\d+ SYN -+>:/);
        // Drawn where it happened: after the setup exchange, before the transfer's final reply.
        const first = own[0]!.i;
        if (dc.setupFrame !== null) expect(first).toBeGreaterThan(idx((l) => l.frame === dc.setupFrame));
        if (dc.finalReply?.frame && hs.synFrame !== null) expect(first).toBeLessThan(idx((l) => l.kind === 'reply' && l.frame === dc.finalReply!.frame));
      }
    }
  });

  it('cuts long arguments with … instead of overflowing', async () => {
    const a = await analyzed('zeek/ipv6-multiline-reply.pcap');
    const s = a.sessions[0]!;
    const longest = s.commands.reduce((m, c) => ((c.arg ?? '').length > (m.arg ?? '').length ? c : m));
    const width = 30 + Math.floor((longest.arg ?? '').length / 2);
    const line = renderLadder(s, { width }).find((l) => l.kind === 'command' && l.frame === longest.frame)!;
    expect(cols(line.text)).toBe(width);
    expect(line.text).toMatch(/….*>\|$/);
  });
});
