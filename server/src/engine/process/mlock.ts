// mlock and munlock (mm/mlock.c do_mlock, apply_vma_lock_flags, mlock_fixup): the range's VMAs
// get VM_LOCKED (or VM_LOCKED|VM_LOCKONFAULT) with the usual split and merge, then mlock
// populates them (__mm_populate). A hole in the range is ENOMEM, after the VMAs before it
// were changed; a page that cannot be populated (a guard marker: EFAULT inside) makes mlock
// return ENOMEM too (__mlock_posix_error_return), with the VMA flags already set.

import type { ExecContext } from '../exec/context';
import { errno, ok, type Outcome } from '../exec/outcome';
import type { MlockStmt, MunlockStmt } from '../program';
import { hex16 } from '../u64';
import { mmPopulate, reportMapped } from './mmap';
import { rangeArgs, taskOf } from './syscall';
import { splitHugeAtBoundaries } from './unmap';
import { VM_LOCKED, VM_LOCKONFAULT, VM_SPECIAL } from './vma';

export function execMlock(ctx: ExecContext, stmt: MlockStmt | MunlockStmt): Outcome {
  const lock = stmt.kind === 'mlock';
  const name = lock ? 'mlock' : 'munlock';
  const args = rangeArgs(ctx, name, stmt.addr, stmt.size);
  if ('error' in args) return args.error;
  if (args.empty) return ok(`${name}: empty range, nothing to do`);
  const task = taskOf(ctx);
  const vmas = task.mm.vmas;
  const { start, end } = args;
  const set = lock ? VM_LOCKED | (stmt.kind === 'mlock' && stmt.onfault ? VM_LOCKONFAULT : 0) : 0;
  let addr = start;
  while (addr < end) {
    const vma = vmas.list[vmas.firstEndingAfter(addr)];
    if (!vma || vma.start > addr) return errno('ENOMEM', `${name}: ${hex16(addr)} is not mapped`);
    const to = vma.end < end ? vma.end : end;
    const flags = (vma.flags & ~(VM_LOCKED | VM_LOCKONFAULT)) | set;
    // mlock_fixup leaves VM_SPECIAL mappings alone.
    if (flags !== vma.flags && (vma.flags & VM_SPECIAL) === 0) {
      const cuts: bigint[] = [];
      vmas.modify(vma, addr, to, flags, cuts);
      splitHugeAtBoundaries(task, cuts);
    }
    addr = to;
  }
  if (lock) {
    const failure = mmPopulate(task, start, end, true);
    reportMapped(ctx, task);
    if (failure) return errno('ENOMEM', `mlock: the range is locked but ${failure.reason}, so it cannot be populated (EFAULT → ENOMEM)`);
  }
  return ok(`${name}: ${hex16(start)}-${hex16(end)}, ${vmas.count} VMA${vmas.count === 1 ? '' : 's'}`);
}
