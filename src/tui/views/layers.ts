/**
 * Layers view: the selected packet's full dissection as a tree (Frame / Ethernet / 802.1Q /
 * IPv4 or IPv6 / TCP / FTP). Each field shows its value and meaning and its byte range; the
 * selected row's bytes are what the hex view highlights.
 */
import type { Dissection, Field } from '../../dissect/field.js';
import type { PaneModel } from '../pane.js';
import { fieldLine } from '../../report/layers.js';

export interface LayerRow {
  depth: number;
  layer: number;
  /** null for the layer's own row. */
  field: Field | null;
  text: string;
  offset: number;
  length: number;
  /** "layer.field.child…" path: a row is inside another when its key extends the other's. */
  key: string;
  hasChildren: boolean;
}

function range(offset: number, length: number): string {
  return length > 0 ? ` [${offset}-${offset + length - 1}]` : '';
}

export function layerRows(d: Dissection): LayerRow[] {
  const rows: LayerRow[] = [];
  d.layers.forEach((layer, li) => {
    rows.push({ depth: 0, layer: li, field: null, text: `${layer.label}${range(layer.offset, layer.length)}`,
      offset: layer.offset, length: layer.length, key: `${li}`, hasChildren: layer.fields.length > 0 });
    const walk = (fields: Field[], depth: number, path: string): void => {
      fields.forEach((f, fi) => {
        const key = `${path}.${fi}`;
        rows.push({ depth, layer: li, field: f, text: fieldLine(f),
          offset: f.offset, length: f.length, key, hasChildren: !!f.children?.length });
        if (f.children?.length) walk(f.children, depth + 1, key);
      });
    };
    walk(layer.fields, 1, `${li}`);
  });
  return rows;
}

/** Rows not hidden inside a collapsed node. */
export function visibleLayerRows(rows: LayerRow[], collapsed: ReadonlySet<string>): LayerRow[] {
  if (collapsed.size === 0) return rows;
  return rows.filter((r) => {
    for (let i = r.key.lastIndexOf('.'); i > 0; i = r.key.lastIndexOf('.', i - 1)) {
      if (collapsed.has(r.key.slice(0, i))) return false;
    }
    return true;
  });
}

/** The key of the node that contains this row, or null for a layer. */
export function parentKey(key: string): string | null {
  const i = key.lastIndexOf('.');
  return i < 0 ? null : key.slice(0, i);
}

export function layersPane(d: Dissection | null, rows: LayerRow[], status: string, collapsed: ReadonlySet<string>): PaneModel {
  const index = new Map(rows.map((r, i) => [r.key, i]));
  // ▾ open node, ▸ closed node (h/← closes, l/→ opens), so the tree reads without colour
  const mark = (r: LayerRow): string => (r.hasChildren ? (collapsed.has(r.key) ? '▸ ' : '▾ ') : '  ');
  return {
    title: d ? `Layers — frame ${d.frame} (${d.captureLength} of ${d.wireLength} bytes)` : 'Layers',
    source: { count: rows.length, keyAt: (i) => rows[i].key, indexOf: (k) => index.get(String(k)) ?? -1 },
    row: (i) => {
      const r = rows[i];
      return r.field
        ? [{ text: '  '.repeat(r.depth - 1) + mark(r) + r.text }]
        : [{ text: mark(r) + r.text, style: 'key' }];
    },
    empty: status,
    matches: (i, needle) => rows[i].text.toLowerCase().includes(needle.toLowerCase())
      || (rows[i].field?.name ?? '').toLowerCase().includes(needle.toLowerCase()),
  };
}
