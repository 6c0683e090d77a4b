// Physical memory: a frame allocator that behaves like a fragmented page allocator, and the
// cache of pte-mapped pages of seed 001.
//
// Order-0 pages come back scattered across RAM (a real allocator's free lists after uptime are),
// which is what makes direct-map fragmentation visible: each page-table page whose linear-map
// alias is made read-only splits a different large mapping. The scatter is a fixed
// low-discrepancy sequence, so runs are deterministic.

export interface PhysRange {
  start: number;
  end: number;
}

/** Frames are numbered by absolute physical address / `frameSize`, so RAM can be replaced. */
export class PhysAllocator {
  private readonly used = new FrameSet();
  private cursor = 0;
  /** Free frames of the pte-mapped cache (seed 001), lowest first. */
  private readonly pteMappedCache: number[] = [];
  /** Whether pteMappedCache is in descending order (it is sorted once per refill, not per take). */
  private cacheSorted = true;
  /** Frames that belong to the pte-mapped cache's blocks. */
  private readonly pteMapped = new Set<number>();
  /** XOR of a mix of every used frame: compares allocator states cheaply (the race explorer). */
  usedHash = 0;
  /** Set while the race explorer records changes for backtracking: takes each change's revert. */
  undo: ((revert: () => void) => void) | undefined;

  constructor(
    private ram: PhysRange,
    readonly frameSize: number,
  ) {}

  /** Replaces the RAM the allocator hands out (the linear map's coverage once one exists). */
  setRam(ram: PhysRange): void {
    const { ram: oldRam, cursor } = this;
    this.undo?.(() => {
      this.ram = oldRam;
      this.cursor = cursor;
    });
    this.ram = ram;
    this.cursor = 0;
  }

  /** The allocator's state in a few numbers (the used frames hashed), for comparing explorer states. */
  signature(): number[] {
    const numbers: number[] = [];
    this.addSignature({ add: (x) => numbers.push(x) });
    return numbers;
  }

  /** The same numbers fed to a hash one by one (the race explorer's machine ids: no array per call). */
  addSignature(h: { add(x: number): void }): void {
    let cache = 0;
    for (const pa of this.pteMappedCache) cache = (cache + mixFrame(pa / this.frameSize)) | 0;
    h.add(this.ram.start);
    h.add(this.ram.end);
    h.add(this.cursor);
    h.add(this.used.size);
    h.add(this.usedHash);
    h.add(this.pteMapped.size);
    h.add(this.pteMappedCache.length);
    h.add(cache);
  }

  private use(frame: number): void {
    this.used.add(frame);
    this.usedHash ^= mixFrame(frame);
    if (this.undo) this.undo(this.unuse(frame));
  }

  // The undo closures of the two hottest paths are made in functions of their own: a variable a
  // closure captures lives in a context V8 allocates on every call of the function declaring it,
  // undo log or not, and a big map statement allocates thousands of frames.
  private unuse(frame: number): () => void {
    return () => {
      this.used.delete(frame);
      this.usedHash ^= mixFrame(frame);
    };
  }

  private restoreCursor(cursor: number): () => void {
    return () => {
      this.cursor = cursor;
    };
  }

  private release(frame: number): void {
    if (!this.used.delete(frame)) return;
    this.usedHash ^= mixFrame(frame);
    this.undo?.(() => {
      this.used.add(frame);
      this.usedHash ^= mixFrame(frame);
    });
  }

  /** Hashes of blocks (they are taken and given back again and again while a block is explored). */
  private readonly blockHashes = new Map<number, number>();

  private blockHash(first: number, count: number): number {
    let h = this.blockHashes.get(first * 64 + Math.log2(count));
    if (h === undefined) {
      h = rangeHash(first, count);
      this.blockHashes.set(first * 64 + Math.log2(count), h);
    }
    return h;
  }

  private keepCache(): void {
    if (!this.undo) return;
    const cache = this.pteMappedCache.slice();
    this.undo(() => {
      this.pteMappedCache.length = 0;
      this.pteMappedCache.push(...cache);
      this.cacheSorted = false;
    });
  }

  get ramRange(): PhysRange {
    return this.ram;
  }

  /** How many frames the RAM holds, used or not. */
  get totalFrames(): number {
    return this.frames;
  }

  private get frames(): number {
    return Math.max(1, Math.floor((this.ram.end - this.ram.start) / this.frameSize));
  }

  /**
   * The k-th frame of the scatter sequence: frames visited in golden-ratio stride order, so that
   * consecutive allocations land far apart while every frame is eventually visited.
   */
  private scatter(k: number): number {
    const n = this.frames;
    if (this.strideFor !== n) {
      this.stride = goldenStride(n);
      this.strideFor = n;
    }
    return (k * this.stride) % n;
  }

  private stride = 1;
  private strideFor = 0;

  /** Allocates one frame from anywhere in RAM; returns its physical address or undefined. */
  allocPage(): number | undefined {
    if (this.undo) this.undo(this.restoreCursor(this.cursor));
    const n = this.frames;
    for (let tries = 0; tries < n; tries++) {
      const pa = this.ram.start + this.scatter(this.cursor++) * this.frameSize;
      const frame = pa / this.frameSize;
      if (!this.used.has(frame)) {
        this.use(frame);
        return pa;
      }
    }
    return undefined;
  }

  /**
   * Allocates 2^order contiguous, naturally aligned frames (a PMD-sized block for the
   * pte-mapped cache, a huge vmalloc page). Returns the physical address of the first frame.
   */
  allocBlock(order: number): number | undefined {
    const count = 2 ** order;
    const blockBytes = count * this.frameSize;
    const firstBlock = Math.ceil(this.ram.start / blockBytes);
    const lastBlock = Math.floor(this.ram.end / blockBytes) - 1;
    const blocks = lastBlock - firstBlock + 1;
    if (blocks <= 0) return undefined;
    // Scan blocks in the same scattered order so huge pages are spread too.
    const stride = goldenStride(blocks);
    for (let k = 0; k < blocks; k++) {
      const block = firstBlock + ((k * stride) % blocks);
      const base = block * blockBytes;
      const firstFrame = base / this.frameSize;
      const free = this.used.rangeFree(firstFrame, count);
      if (!free) continue;
      this.used.setRange(firstFrame, count, true);
      const hash = this.blockHash(firstFrame, count);
      this.usedHash ^= hash;
      this.undo?.(() => {
        this.used.setRange(firstFrame, count, false);
        this.usedHash ^= hash;
      });
      return base;
    }
    return undefined;
  }

  free(pa: number, order = 0): void {
    const first = pa / this.frameSize;
    const count = 2 ** order;
    if (order > 0 && this.pteMapped.size === 0 && this.used.rangeFull(first, count)) {
      // A whole block: one change for the undo log.
      this.used.setRange(first, count, false);
      const hash = this.blockHash(first, count);
      this.usedHash ^= hash;
      this.undo?.(() => {
        this.used.setRange(first, count, true);
        this.usedHash ^= hash;
      });
      return;
    }
    for (let f = 0; f < 2 ** order; f++) {
      const frame = first + f;
      if (this.pteMapped.has(frame)) {
        this.keepCache();
        this.pteMappedCache.push(frame * this.frameSize);
        this.cacheSorted = false;
      } else this.release(frame);
    }
  }

  /**
   * Takes a page from the pte-mapped cache. When the cache is empty the caller refills it with
   * `refillPteMapped` (which is where the direct map gets split, once per block).
   */
  takePteMapped(): number | undefined {
    this.keepCache();
    // Lowest address first, as a refill hands out its block in order.
    if (!this.cacheSorted) this.pteMappedCache.sort((a, b) => b - a);
    this.cacheSorted = true;
    return this.pteMappedCache.pop();
  }

  /** Adds a freshly allocated block to the pte-mapped cache. */
  refillPteMapped(base: number, order: number): void {
    this.keepCache();
    for (let f = 0; f < 2 ** order; f++) {
      const pa = base + f * this.frameSize;
      const frame = pa / this.frameSize;
      if (!this.pteMapped.has(frame)) {
        this.pteMapped.add(frame);
        this.undo?.(() => this.pteMapped.delete(frame));
      }
      this.pteMappedCache.push(pa);
    }
    this.cacheSorted = false;
  }

  isUsed(pa: number): boolean {
    return this.used.has(pa / this.frameSize);
  }
}

/**
 * Frames per bitmap chunk: 16 MiB of 4 KiB frames in 512 bytes. A chunk that big lives outside
 * the JS heap (V8 keeps only typed arrays of 64 bytes or less inside it), so a run's scattered
 * table pages cost a few hundred small objects for the garbage collector to copy, not thousands.
 */
const CHUNK_FRAMES = 4096;

/**
 * A set of frame numbers: a bitmap per chunk of CHUNK_FRAMES frames, so that a block of frames
 * is taken or given back a word at a time.
 */
class FrameSet {
  private readonly chunks = new Map<number, Uint32Array>();
  size = 0;

  private chunk(frame: number, create: boolean): Uint32Array | undefined {
    const key = Math.floor(frame / CHUNK_FRAMES);
    let c = this.chunks.get(key);
    if (!c && create) this.chunks.set(key, (c = new Uint32Array(CHUNK_FRAMES / 32)));
    return c;
  }

  has(frame: number): boolean {
    const c = this.chunk(frame, false);
    const b = frame % CHUNK_FRAMES;
    return c !== undefined && ((c[b >>> 5] ?? 0) & (1 << (b & 31))) !== 0;
  }

  /** Adds a frame; false when it was there already. */
  add(frame: number): boolean {
    const c = this.chunk(frame, true) as Uint32Array;
    const b = frame % CHUNK_FRAMES;
    const w = c[b >>> 5] ?? 0;
    const bit = 1 << (b & 31);
    if ((w & bit) !== 0) return false;
    c[b >>> 5] = w | bit;
    this.size++;
    return true;
  }

  /** Removes a frame; false when it was not there. */
  delete(frame: number): boolean {
    const c = this.chunk(frame, false);
    const b = frame % CHUNK_FRAMES;
    const w = c?.[b >>> 5] ?? 0;
    const bit = 1 << (b & 31);
    if (!c || (w & bit) === 0) return false;
    c[b >>> 5] = w & ~bit;
    this.size--;
    return true;
  }

  /** Whether [first, first + count) is whole bitmap words (blocks are: 2^order frames, aligned). */
  private whole(first: number, count: number): boolean {
    return count >= 32 && first % 32 === 0 && count % 32 === 0;
  }

  /** The bitmap word holding frames [f, f + 32) (f a multiple of 32), or undefined. */
  private word(f: number): number | undefined {
    return this.chunk(f, false)?.[(f % CHUNK_FRAMES) >>> 5];
  }

  /** Whether no frame of [first, first + count) is in the set. */
  rangeFree(first: number, count: number): boolean {
    if (!this.whole(first, count)) {
      for (let f = 0; f < count; f++) if (this.has(first + f)) return false;
      return true;
    }
    for (let f = first; f < first + count; f += 32) if ((this.word(f) ?? 0) !== 0) return false;
    return true;
  }

  /** Whether every frame of [first, first + count) is in the set. */
  rangeFull(first: number, count: number): boolean {
    if (!this.whole(first, count)) {
      for (let f = 0; f < count; f++) if (!this.has(first + f)) return false;
      return true;
    }
    for (let f = first; f < first + count; f += 32) if (this.word(f) !== 0xffffffff) return false;
    return true;
  }

  /** Sets or clears [first, first + count), which the caller knows to be all clear or all set. */
  setRange(first: number, count: number, on: boolean): void {
    if (!this.whole(first, count)) {
      for (let f = 0; f < count; f++) {
        if (on) this.add(first + f);
        else this.delete(first + f);
      }
      return;
    }
    for (let f = first; f < first + count; f += 32) (this.chunk(f, true) as Uint32Array)[(f % CHUNK_FRAMES) >>> 5] = on ? 0xffffffff : 0;
    this.size += on ? count : -count;
  }
}

/** XOR of mixFrame over [first, first + count). */
function rangeHash(first: number, count: number): number {
  let h = 0;
  for (let f = 0; f < count; f++) h ^= mixFrame(first + f);
  return h;
}

/** A 32-bit mix of a frame number (murmur3's finaliser), for `usedHash`. */
function mixFrame(frame: number): number {
  const lo = frame >>> 0;
  const x = (lo ^ Math.imul(Math.floor(frame / 0x100000000), 0x9e3779b1)) | 0;
  let h = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** A stride near n/φ that is coprime with n, so k·stride mod n visits every slot once. */
function goldenStride(n: number): number {
  let stride = Math.max(1, Math.round(n * 0.6180339887498949));
  while (gcd(stride, n) !== 1) stride++;
  return stride;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
