/** LINKTYPE_* values (tcpdump.org/linktypes.html) that ftpscope decodes. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_EN10MB = 1;
/** DLT_RAW as OpenBSD (14) and most other BSDs (12) number it. */
export const DLT_RAW_12 = 12;
export const DLT_RAW_14 = 14;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/** One table of link-type names, and of the ones the decoders understand, for the whole project: the capture layer's. */
export { linkTypeName, isSupportedLinkType } from '../capture/linktypes.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
/** Pre-standard QinQ outer tag some switches still send. */
export const ETHERTYPE_QINQ_OLD = 0x9100;

export function isVlanEtherType(t: number): boolean {
  return t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ || t === ETHERTYPE_QINQ_OLD;
}

/** BSD AF_INET6 differs per OS (FreeBSD 28, OpenBSD/NetBSD 24, macOS 30); AF_INET is 2 everywhere. */
export function nullFamilyToVersion(family: number): 4 | 6 | 0 {
  if (family === 2) return 4;
  if (family === 24 || family === 28 || family === 30 || family === 10) return 6;
  return 0;
}

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_AH = 51;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
