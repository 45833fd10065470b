/**
 * The near future in memory: timer entries of the loaded slots in a binary min-heap ordered by
 * effectiveMs, then by timer-log position (the order they were taken in). Only entries due within
 * the lookahead are here, so its size follows the delivery rate, not the number of pending messages.
 */

export interface TimerEntry {
  effectiveMs: number;
  deliverMs: number;
  physicalOffset: number;
  size: number;
  queueOffset: number;
  /** Position of the entry's record in the timer log. */
  position: number;
}

function before(a: TimerEntry, b: TimerEntry): boolean {
  return a.effectiveMs < b.effectiveMs || (a.effectiveMs === b.effectiveMs && a.position < b.position);
}

export class TimerHeap {
  private readonly items: TimerEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): TimerEntry | undefined {
    return this.items[0];
  }

  push(entry: TimerEntry): void {
    const items = this.items;
    items.push(entry);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(entry, items[parent]!)) break;
      items[index] = items[parent]!;
      index = parent;
    }
    items[index] = entry;
  }

  pop(): TimerEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let index = 0;
    const length = items.length;
    for (;;) {
      const left = index * 2 + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && before(items[right]!, items[left]!) ? right : left;
      if (!before(items[child]!, last)) break;
      items[index] = items[child]!;
      index = child;
    }
    items[index] = last;
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}
