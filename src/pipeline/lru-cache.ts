/** A small least-recently-used map: a Map's insertion order is its recency order. */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(
    private readonly capacity: number,
    /** Called with each value pushed out by a newer one or cleared (to free GPU memory). */
    private readonly onEvict: (value: V) => void = () => {},
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be >= 1');
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) {
        const evicted = this.entries.get(oldest.value);
        this.entries.delete(oldest.value);
        if (evicted !== undefined) this.onEvict(evicted);
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    const values = [...this.entries.values()];
    this.entries.clear();
    for (const value of values) this.onEvict(value);
  }
}
