import { describe, expect, it } from 'vitest';
import * as L from '../../src/dissect/linktypes.js';
import { dissectLink } from '../../src/dissect/link.js';

describe('link types the capture readers accept are the ones the dissector decodes', () => {
  it('every LINKTYPE_/DLT_ constant of the dissector is supported, and nothing else in 0..300', () => {
    const constants = new Set(Object.entries(L).filter(([k, v]) => /^(LINKTYPE|DLT)_/.test(k) && typeof v === 'number').map(([, v]) => v as number));
    for (let n = 0; n <= 300; n++) expect(L.isSupportedLinkType(n), `link type ${n}`).toBe(constants.has(n));
  });

  it('the dissector takes a packet of each supported type to a network layer (IPv4 after the link header)', () => {
    // A minimal IPv4 header behind each link header the dissector knows.
    const ip = Buffer.from('450000140000400040060000c0000201c0000202', 'hex');
    const heads: Record<number, Buffer> = {
      [L.LINKTYPE_EN10MB]: Buffer.concat([Buffer.alloc(12), Buffer.from('0800', 'hex')]),
      [L.LINKTYPE_NULL]: Buffer.from('02000000', 'hex'),
      [L.LINKTYPE_LOOP]: Buffer.from('00000002', 'hex'),
      [L.LINKTYPE_LINUX_SLL]: Buffer.concat([Buffer.alloc(14), Buffer.from('0800', 'hex')]),
      [L.LINKTYPE_LINUX_SLL2]: Buffer.concat([Buffer.from('0800', 'hex'), Buffer.alloc(18)]),
      [L.LINKTYPE_RAW]: Buffer.alloc(0), [L.DLT_RAW_12]: Buffer.alloc(0), [L.DLT_RAW_14]: Buffer.alloc(0), [L.LINKTYPE_IPV4]: Buffer.alloc(0),
    };
    for (const [lt, head] of Object.entries(heads)) {
      expect(dissectLink(Number(lt), Buffer.concat([head, ip]), []).version, `link type ${lt}`).toBe(4);
    }
  });
});
