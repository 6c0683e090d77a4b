// Shortening arrays, as the undo paths (history, the race explorer's journal) do after almost
// every step they take back, and building arrays hot code indexes.

/**
 * Shortens `list` to `length` (no-op when it is not longer). Pops rather than assigning
 * `length`: that is a runtime call in V8, several times slower for the one or two elements a
 * step adds, and it may shrink the array's storage only for the next push to grow it again.
 */
export function truncate(list: unknown[], length: number): void {
  while (list.length > length) list.pop();
}

/**
 * `xs.map(f)`, always a packed array. V8's builtin `map` makes a packed array and TurboFan's
 * inlined `map` a holey one, so the kind of a `map` result depends on whether its caller was
 * optimized at the time. Optimized code that indexes such arrays is compiled for one kind and
 * deoptimizes on the other: the race explorer's states and threads, rebuilt every run, flipped
 * kind whenever the code building them was optimized or deoptimized, and every search function
 * deoptimized with them (runs of sample 50 two to four times as long, every dozen edits).
 */
export function mapPacked<T, U>(xs: readonly T[], f: (x: T, index: number) => U): U[] {
  const out: U[] = [];
  for (let i = 0; i < xs.length; i++) out.push(f(xs[i] as T, i));
  return out;
}
