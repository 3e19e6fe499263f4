/**
 * Selection and scroll state of a virtualized list. The selection is pinned to an item key,
 * not a row number, so rows arriving or a filter changing do not move it to another item.
 * Widgets receive only the rows in [top, top + height).
 */
export type ItemKey = string | number;

export interface ListSource {
  count: number;
  keyAt(index: number): ItemKey;
  /** -1 when the item is gone. */
  indexOf(key: ItemKey): number;
}

export class VList {
  key: ItemKey | null = null;
  index = 0;
  top = 0;
  hscroll = 0;
  /** Live views: keep the newest item selected until the user moves. */
  follow = false;

  /** Re-find the selected item after the items changed; returns its index (or -1 when empty). */
  sync(src: ListSource): number {
    if (src.count === 0) { this.index = 0; this.top = 0; return -1; }
    if (this.follow) this.index = src.count - 1;
    else if (this.key !== null) {
      const i = src.indexOf(this.key);
      if (i >= 0) this.index = i;
    }
    this.index = Math.max(0, Math.min(this.index, src.count - 1));
    this.key = src.keyAt(this.index);
    return this.index;
  }

  moveTo(src: ListSource, index: number): void {
    if (src.count === 0) return;
    this.index = Math.max(0, Math.min(index, src.count - 1));
    this.key = src.keyAt(this.index);
  }

  select(src: ListSource, key: ItemKey): boolean {
    const i = src.indexOf(key);
    if (i < 0) return false;
    this.follow = false;
    this.moveTo(src, i);
    return true;
  }

  /** Adjust `top` so the selection is visible in `height` rows; returns top. */
  scrollInto(height: number, count: number): number {
    if (height <= 0) return this.top;
    if (this.index < this.top) this.top = this.index;
    if (this.index >= this.top + height) this.top = this.index - height + 1;
    this.top = Math.max(0, Math.min(this.top, Math.max(0, count - height)));
    return this.top;
  }
}

/** A ListSource over an array with a key function (a Map index is built once per array). */
export function arraySource<T>(items: readonly T[], keyOf: (item: T) => ItemKey): ListSource {
  let index: Map<ItemKey, number> | null = null;
  return {
    count: items.length,
    keyAt: (i) => keyOf(items[i]),
    indexOf: (key) => {
      if (!index) {
        index = new Map();
        for (let i = 0; i < items.length; i++) index.set(keyOf(items[i]), i);
      }
      return index.get(key) ?? -1;
    },
  };
}
