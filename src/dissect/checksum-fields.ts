import type { Field } from './field.js';
import type { ChecksumResult } from './checksum.js';
import { field, hex } from './fields.js';

const STATUS_LABEL = { good: 'Good', bad: 'Bad', unverified: 'Unverified' } as const;

/** `<proto>.checksum` and `<proto>.checksum.status` fields, as Wireshark names them. */
export function checksumFields(proto: string, label: string, stored: number, offset: number, r: ChecksumResult): Field[] {
  let meaning = STATUS_LABEL[r.status];
  if (r.status === 'bad' && r.expected !== null) meaning += ` (should be ${hex(r.expected, 4)})`;
  if (r.reason) meaning += ` (${r.reason})`;
  return [
    field(`${proto}.checksum`, label, stored, offset, 2, `${hex(stored, 4)} [${meaning}]`),
    field(`${proto}.checksum.status`, 'Checksum status', r.status, offset, 2, meaning),
  ];
}
