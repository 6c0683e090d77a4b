// Waiting on predicates with timeouts, never on fixed sleeps (style.md B8): a waiter is
// re-checked whenever the thing it watches changes, and fails with what it last saw.

export class Signal {
  private waiters = new Set<() => void>();

  /** Wakes every waiter so it re-checks its predicate. */
  notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /**
   * Resolves with the first non-undefined value of `probe`, checked now and after every
   * `notify`; rejects after `timeoutMs` with `describe()` in the message.
   */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const value = probe();
        if (value === undefined) return false;
        this.waiters.delete(check as () => void);
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check as () => void);
        reject(new Error(`timed out after ${timeoutMs} ms waiting: ${describe()}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(check as () => void);
    });
  }
}
