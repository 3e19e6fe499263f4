/**
 * Display filters, one parser and evaluator for every place that filters: `report`, `flow` and
 * `extract` (-Y keeps the sessions and data connections that match), the dashboard's `/`
 * (which falls back to substring search when the text is not a filter), and `packets`.
 */
import type { PacketFact } from '../../model/packet-facts.js';
import type { DataConnection, Session } from '../../model/types.js';
import { compileFilter, type Predicate } from './eval.js';
import { FILTER_FIELDS, isTransferField } from './fields.js';
import { FilterSyntaxError, parseFilter, type FilterNode } from './parse.js';
import { packetRecord, sessionRecord, transferRecord, type FilterOptions, type PacketContext } from './records.js';

export { FilterSyntaxError } from './parse.js';
export { FILTER_FIELDS } from './fields.js';
export type { PacketContext } from './records.js';

function fieldsOf(n: FilterNode): string[] {
  switch (n.kind) {
    case 'and': case 'or': return [...fieldsOf(n.left), ...fieldsOf(n.right)];
    case 'not': return fieldsOf(n.node);
    default: return [n.field];
  }
}

export class DisplayFilter {
  private readonly test: Predicate;
  /** The filter names fields of single data connections: it keeps only the matching ones. */
  readonly perTransfer: boolean;

  private constructor(readonly expr: string, node: FilterNode, private readonly opts: FilterOptions) {
    this.test = compileFilter(node);
    this.perTransfer = fieldsOf(node).some(isTransferField);
  }

  /** Throws FilterSyntaxError (say .explain() to the user). */
  static parse(expr: string, opts: FilterOptions = {}): DisplayFilter {
    return new DisplayFilter(expr, parseFilter(expr), opts);
  }

  /**
   * A filter when the text is one, null when it is plain search text (the dashboard's `/`):
   * text is taken as a filter when it parses and names a known field.
   */
  static tryParse(text: string, opts: FilterOptions = {}): DisplayFilter | null {
    try {
      return DisplayFilter.parse(text, opts);
    } catch (e) {
      if (e instanceof FilterSyntaxError) return null;
      throw e;
    }
  }

  matchesSession(s: Session): boolean {
    if (this.perTransfer) return s.dataConnections.some((dc) => this.matchesTransfer(s, dc));
    return this.test(sessionRecord(s, this.opts));
  }

  matchesTransfer(s: Session | null, dc: DataConnection): boolean {
    return this.test(transferRecord(s, dc));
  }

  matchesPacket(p: PacketFact, ctx: PacketContext): boolean {
    return this.test(packetRecord(p, { ...ctx, showPasswords: this.opts.showPasswords }));
  }

  /**
   * The session as the filter keeps it: null when it does not match; when the filter names
   * fields of data connections, a copy holding only the ones that match.
   */
  keepSession(s: Session): Session | null {
    if (!this.perTransfer) return this.test(sessionRecord(s, this.opts)) ? s : null;
    const dcs = s.dataConnections.filter((dc) => this.matchesTransfer(s, dc));
    return dcs.length === 0 ? null : { ...s, dataConnections: dcs };
  }
}

/** Field names and what they hold, for help texts. */
export function filterFieldHelp(): string {
  return Object.entries(FILTER_FIELDS).map(([k, v]) => `${k.padEnd(36)} ${v.description}`).join('\n');
}
