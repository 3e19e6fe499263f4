/**
 * LINKTYPE_* numbers ↔ names as tcpdump.org/linktypes.html spells them (without the prefix).
 * The capture readers use this to name what they saw; whether a link type can be decoded
 * is the dissector's call (src/dissect/linktypes.ts).
 */
const BY_NUMBER: ReadonlyMap<number, string> = new Map([
  [0, 'NULL'],
  [1, 'EN10MB'],
  [3, 'AX25'],
  [6, 'IEEE802_5'],
  [7, 'ARCNET_BSD'],
  [8, 'SLIP'],
  [9, 'PPP'],
  [10, 'FDDI'],
  // DLT_RAW as most BSDs (12) and OpenBSD (14) number it in old files.
  [12, 'RAW'],
  [14, 'RAW'],
  [50, 'PPP_HDLC'],
  [51, 'PPP_ETHER'],
  [100, 'ATM_RFC1483'],
  [101, 'RAW'],
  [104, 'C_HDLC'],
  [105, 'IEEE802_11'],
  [107, 'FRELAY'],
  [108, 'LOOP'],
  [113, 'LINUX_SLL'],
  [114, 'LTALK'],
  [117, 'PFLOG'],
  [119, 'IEEE802_11_PRISM'],
  [122, 'IP_OVER_FC'],
  [123, 'SUNATM'],
  [127, 'IEEE802_11_RADIOTAP'],
  [129, 'ARCNET_LINUX'],
  [138, 'APPLE_IP_OVER_IEEE1394'],
  [139, 'MTP2_WITH_PHDR'],
  [140, 'MTP2'],
  [141, 'MTP3'],
  [142, 'SCCP'],
  [143, 'DOCSIS'],
  [144, 'LINUX_IRDA'],
  [147, 'USER0'],
  [163, 'IEEE802_11_AVS'],
  [165, 'BACNET_MS_TP'],
  [166, 'PPP_PPPD'],
  [169, 'GPRS_LLC'],
  [177, 'LINUX_LAPD'],
  [187, 'BLUETOOTH_HCI_H4'],
  [189, 'USB_LINUX'],
  [192, 'PPI'],
  [195, 'IEEE802_15_4_WITHFCS'],
  [201, 'BLUETOOTH_HCI_H4_WITH_PHDR'],
  [204, 'PPP_WITH_DIR'],
  [215, 'IEEE802_15_4_NONASK_PHY'],
  [220, 'USB_LINUX_MMAPPED'],
  [227, 'CAN_SOCKETCAN'],
  [228, 'IPV4'],
  [229, 'IPV6'],
  [230, 'IEEE802_15_4_NOFCS'],
  [231, 'DBUS'],
  [235, 'DVB_CI'],
  [239, 'NFLOG'],
  [240, 'NETANALYZER'],
  [248, 'SCTP'],
  [249, 'USBPCAP'],
  [251, 'BLUETOOTH_LE_LL'],
  [253, 'NETLINK'],
  [254, 'BLUETOOTH_LINUX_MONITOR'],
  [256, 'BLUETOOTH_LE_LL_WITH_PHDR'],
  [263, 'PROFIBUS_DL'],
  [264, 'PKTAP'],
  [266, 'IPMI_HPM_2'],
  [271, 'VSOCK'],
  [276, 'LINUX_SLL2'],
  [279, 'ZBOSS_NCP'],
  [281, 'FIRA_UCI'],
]);

const BY_NAME: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  // First number wins, except RAW which is 101 by name.
  for (const [n, name] of BY_NUMBER) if (!m.has(name)) m.set(name, n);
  m.set('RAW', 101);
  m.set('ETHERNET', 1);
  return m;
})();

/** "EN10MB", "LINUX_SLL2", ... or "LINKTYPE_<n>" when the number has no name here. */
export function linkTypeName(linkType: number): string {
  return BY_NUMBER.get(linkType) ?? `LINKTYPE_${linkType}`;
}

/** The number for a name ("EN10MB", "linktype_en10mb", "DLT_RAW", "LINKTYPE_147"), or null. */
export function linkTypeNumber(name: string): number | null {
  const upper = name.trim().toUpperCase().replace(/^(LINKTYPE_|DLT_)/, '');
  const known = BY_NAME.get(upper);
  if (known !== undefined) return known;
  return /^\d+$/.test(upper) ? Number(upper) : null;
}

/** LINKTYPE values live in the low 26 bits of the pcap header field; the rest carries FCS info. */
export function linkTypeFromHeaderField(field: number): number {
  return field & 0x03ffffff;
}

/**
 * The link types the decoders in src/dissect understand (link.ts decodes each of these); the
 * readers flag any other with an unknown-link-type finding. Kept here so that the capture
 * layer needs nothing from the dissector.
 */
const DECODED: ReadonlySet<number> = new Set([0, 1, 12, 14, 101, 108, 113, 228, 229, 276]);

export function isSupportedLinkType(linkType: number): boolean {
  return DECODED.has(linkType);
}
