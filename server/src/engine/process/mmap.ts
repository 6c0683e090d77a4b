// mmap (mm/mmap.c do_mmap, mmap_region) and the populate that follows it (mm_populate).
//
// `at` is MAP_FIXED: what is mapped there is unmapped first (zapped with its guard markers,
// tables freed), then the new VMA goes in, merging with its neighbours where vma_merge_new_range
// allows. Without `at` the address comes from the top-down search below the mmap base; an
// anonymous private mapping whose length is a multiple of the PMD size is aligned to it
// (__get_unmapped_area → thp_get_unmapped_area_vmflags, 64-bit only).

import { parseProt } from '../arch/codec';
import { pageShiftOf } from '../arch/profile';
import type { ExecContext } from '../exec/context';
import { errno, ok, type Outcome } from '../exec/outcome';
import type { MmapStmt } from '../program';
import { hex16 } from '../u64';
import { pmdSize, populateRange, type Task } from './fault';
import { MMAP_MIN_ADDR, sizeText, taskOf } from './syscall';
import { munmapRange } from './unmap';
import {
  VM_ACCESS_FLAGS,
  VM_ACCOUNT,
  VM_EXEC,
  VM_LOCKED,
  VM_LOCKONFAULT,
  VM_READ,
  VM_SHARED,
  VM_WIPEONFORK,
  VM_WRITE,
} from './vma';

/**
 * get_unmapped_area for a mapping without MAP_FIXED: the highest free range below the mmap
 * base (profile.mmapTop; the model has no stack VMA and no randomisation), THP-aligned for
 * anonymous private lengths that are a multiple of the PMD size.
 */
export function unmappedArea(task: Task, len: bigint, thpAlign: boolean): bigint | undefined {
  const profile = task.machine.profile;
  const high = profile.mmapTop;
  const low = MMAP_MIN_ADDR > profile.pageSize ? MMAP_MIN_ADDR : profile.pageSize;
  if (len > high - low) return undefined;
  const vmas = task.mm.vmas;
  const size = pmdSize(task.machine);
  if (thpAlign && profile.vaBits > 32 && len % size === 0n) {
    // __thp_get_unmapped_area: search for len + PMD_SIZE, then align inside the padding.
    const ret = vmas.topdownGap(len + size, low, high);
    if (ret !== undefined) {
      const offSub = (size - (ret % size)) % size;
      return offSub === 0n ? ret + size : ret + offSub;
    }
  }
  return vmas.topdownGap(len, low, high);
}

/**
 * mm_populate over [start, end) after mmap (MAP_POPULATE, MAP_LOCKED) or mlock: errors are
 * ignored, VMAs without access are skipped, and private writable mappings are populated for
 * write so copy-on-write is broken at once (populate_vma_page_range).
 */
export function mmPopulate(task: Task, start: bigint, end: bigint, stopOnError = false): { va: bigint; reason: string } | undefined {
  let firstError: { va: bigint; reason: string } | undefined;
  for (const vma of task.mm.vmas.overlapping(start, end)) {
    if ((vma.flags & VM_ACCESS_FLAGS) === 0) continue;
    // MLOCK_ONFAULT: nothing is populated now (populate_vma_page_range returns early).
    if ((vma.flags & VM_LOCKONFAULT) !== 0) continue;
    const write = (vma.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
    const from = vma.start > start ? vma.start : start;
    const to = vma.end < end ? vma.end : end;
    const error = populateRange(task, vma, from, to, write);
    if (error && !firstError) firstError = error;
    if (error && stopOnError) break;
  }
  return firstError;
}

export function execMmap(ctx: ExecContext, stmt: MmapStmt): Outcome {
  const task = taskOf(ctx);
  const { machine, mm, memory } = task;
  const profile = machine.profile;
  const page = profile.pageSize;
  const prot = parseProt(stmt.prot.text) ?? { r: false, w: false, x: false };
  const flags = new Set(stmt.flags.map((f) => f.text));
  const shared = flags.has('shared');
  const file = flags.has('file');
  const lenIn = ctx.num(stmt.size);
  const len = (lenIn + page - 1n) - ((lenIn + page - 1n) % page);
  // do_mmap: a zero length (or one that wraps when rounded) is EINVAL.
  if (len === 0n || len >= 1n << 64n) return errno('EINVAL', 'mmap: the length is 0 (do_mmap rejects an empty mapping)');
  if (flags.has('wipeonfork') && (shared || file)) {
    return errno('EINVAL', 'mmap: wipeonfork is only supported on private anonymous memory (MADV_WIPEONFORK)');
  }
  let start: bigint;
  if (stmt.at) {
    start = ctx.num(stmt.at);
    if (start % page !== 0n) return errno('EINVAL', `mmap: MAP_FIXED address ${hex16(start)} is not page-aligned`);
    if (start + len > profile.userEnd) return errno('ENOMEM', `mmap: ${hex16(start)} + ${len} ends above TASK_SIZE (${hex16(profile.userEnd)})`);
    if (start < MMAP_MIN_ADDR) return errno('EPERM', `mmap: ${hex16(start)} is below vm.mmap_min_addr (${hex16(MMAP_MIN_ADDR)})`);
  } else {
    const found = unmappedArea(task, len, !file && !shared);
    if (found === undefined) return errno('ENOMEM', `mmap: no free range of ${sizeText(len, page)} below the mmap base`);
    start = found;
  }
  const end = start + len;
  let vmFlags = (prot.r ? VM_READ : 0) | (prot.w ? VM_WRITE : 0) | (prot.x ? VM_EXEC : 0);
  if (shared) vmFlags |= VM_SHARED;
  if (flags.has('locked')) vmFlags |= VM_LOCKED;
  if (flags.has('wipeonfork')) vmFlags |= VM_WIPEONFORK;
  // accountable_mapping(): private writable mappings are charged (VM_ACCOUNT).
  if (!shared && prot.w) vmFlags |= VM_ACCOUNT;
  // MAP_FIXED: the old mappings go first, markers and all.
  if (stmt.at) munmapRange(task, start, end);
  const backing = file ? memory.newFile(false) : shared ? memory.newFile(true) : undefined;
  // Anonymous private VMAs take vm_pgoff = addr >> PAGE_SHIFT; file and shmem offsets start at 0.
  const pgoff = backing ? 0n : start >> pageShiftOf(profile);
  mm.vmas.addRange({ start, end, flags: vmFlags, file: backing, pgoff, anonVma: 0 }, stmt.prot.span);
  ctx.bind(stmt.name.text, { kind: 'value', value: start, span: stmt.name.span });
  if (flags.has('populate') || flags.has('locked')) mmPopulate(task, start, end);
  reportMapped(ctx, task);
  return ok(`${stmt.name.text} = ${hex16(start)}: ${sizeText(len, page)}${stmt.at ? ' (MAP_FIXED)' : ''}, ${mm.vmas.count} VMA${mm.vmas.count === 1 ? '' : 's'}`);
}

/** The wx-mapping warning when a statement mapped pages of a rwx VMA (once per statement). */
export function reportMapped(ctx: ExecContext, task: Task): void {
  const vma = task.mappedWx;
  if (!vma) return;
  ctx.machine.report(
    'wx-mapping',
    'warning',
    `this statement mapped pages of the rwx VMA ${hex16(vma.start)}-${hex16(vma.end)} of ${task.mm.name}: user memory writable and executable at once`,
    { fix: vma.protSpan ? { kind: 'wx', prot: vma.protSpan } : { kind: 'wx' } },
  );
}
