/**
 * A one-slot mailbox: putting replaces what is waiting, so a slow consumer always gets the
 * newest item and nothing queues up behind it (latency cannot grow). `replaced` counts the
 * items that were never taken.
 */
export class Mailbox<T> {
  private item: T | undefined;
  replaced = 0;

  /** True when `item` replaced one that was still waiting (that one will never be taken). */
  put(item: T): boolean {
    const replacing = this.item !== undefined;
    if (replacing) this.replaced++;
    this.item = item;
    return replacing;
  }

  take(): T | undefined {
    const item = this.item;
    this.item = undefined;
    return item;
  }

  get waiting(): boolean {
    return this.item !== undefined;
  }
}
