// Shortening arrays, as the undo paths (history, the race explorer's journal) do after almost
// every step they take back.

/**
 * Shortens `list` to `length` (no-op when it is not longer). Pops rather than assigning
 * `length`: that is a runtime call in V8, several times slower for the one or two elements a
 * step adds, and it may shrink the array's storage only for the next push to grow it again.
 */
export function truncate(list: unknown[], length: number): void {
  while (list.length > length) list.pop();
}
