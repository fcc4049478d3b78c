/**
 * A one-slot mailbox: putting replaces what is waiting, so a slow consumer always gets the
 * newest item and nothing queues up behind it (latency cannot grow). `replaced` counts the
 * items that were never taken.
 */
export class Mailbox<T> {
  private item: T | undefined;
  replaced = 0;

  put(item: T): void {
    if (this.item !== undefined) this.replaced++;
    this.item = item;
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
