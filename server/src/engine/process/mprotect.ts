// mprotect (mm/mprotect.c do_mprotect_pkey, mprotect_fixup, change_protection): VMAs are split
// or merged so the range carries the new protection, then every present PTE in it gets the new
// vm_page_prot. Guard markers are non-present entries and are left alone, so a guarded range
// stays guarded whatever its protection.

import { parseProt } from '../arch/codec';
import type { ExecContext } from '../exec/context';
import { errno, ok, type Outcome } from '../exec/outcome';
import type { MprotectStmt } from '../program';
import { hex16 } from '../u64';
import { walkRange } from '../walk';
import { changeProtOps, type ChangeProtState } from '../walk-ops/change-prot-ops';
import type { Task } from './fault';
import { mmPopulate, reportMapped } from './mmap';
import { pageProt, userWalk, wantsWritenotify } from './pgtable';
import { rangeArgs, taskOf } from './syscall';
import { splitHugeAtBoundaries } from './unmap';
import { VM_ACCESS_FLAGS, VM_ACCOUNT, VM_EXEC, VM_LOCKED, VM_READ, VM_SHARED, VM_WRITE, isAnonymous, type Vma } from './vma';

export function execMprotect(ctx: ExecContext, stmt: MprotectStmt): Outcome {
  const args = rangeArgs(ctx, 'mprotect', stmt.addr, stmt.size);
  if ('error' in args) return args.error;
  if (args.empty) return ok('mprotect: empty range, nothing to do');
  const prot = parseProt(stmt.prot.text) ?? { r: false, w: false, x: false };
  const access = (prot.r ? VM_READ : 0) | (prot.w ? VM_WRITE : 0) | (prot.x ? VM_EXEC : 0);
  const task = taskOf(ctx);
  const vmas = task.mm.vmas;
  const { start, end } = args;
  const first = vmas.list[vmas.firstEndingAfter(start)];
  if (!first || first.start > start) return errno('ENOMEM', `mprotect: no VMA covers ${hex16(start)}`);
  let addr = start;
  let changed = 0;
  while (addr < end) {
    const vma = vmas.list[vmas.firstEndingAfter(addr)];
    if (!vma || vma.start > addr) {
      reportMapped(ctx, task);
      return errno('ENOMEM', `mprotect: ${hex16(addr)} is not mapped (the range before it was changed)`);
    }
    const to = vma.end < end ? vma.end : end;
    changed += mprotectFixup(task, vma, addr, to, (vma.flags & ~VM_ACCESS_FLAGS) | access, stmt.prot.span);
    addr = to;
  }
  reportMapped(ctx, task);
  return ok(`mprotect ${stmt.prot.text}: ${changed} entr${changed === 1 ? 'y' : 'ies'} changed, ${vmas.count} VMA${vmas.count === 1 ? '' : 's'}`);
}

/** mprotect_fixup for [start, end) of one VMA. Returns the entries change_protection rewrote. */
function mprotectFixup(task: Task, vma: Vma, start: bigint, end: bigint, flags: number, protSpan: Vma['protSpan']): number {
  const old = vma.flags;
  if (flags === old) return 0;
  // A private mapping made writable is charged (VM_ACCOUNT); the charge is dropped again only
  // for an anonymous VMA that has no anon_vma yet.
  if ((flags & VM_WRITE) !== 0) {
    if ((old & (VM_ACCOUNT | VM_WRITE | VM_SHARED)) === 0) flags |= VM_ACCOUNT;
  } else if ((old & VM_ACCOUNT) !== 0 && isAnonymous(vma) && vma.anonVma === 0) {
    flags &= ~VM_ACCOUNT;
  }
  const cuts: bigint[] = [];
  const target = task.mm.vmas.modify(vma, start, end, flags, cuts);
  if ((flags & VM_ACCESS_FLAGS) === VM_ACCESS_FLAGS && protSpan) target.protSpan = protSpan;
  splitHugeAtBoundaries(task, cuts);
  const state: ChangeProtState = {
    task,
    vma: target,
    prot: pageProt(target),
    // vma_wants_manual_pte_write_upgrade.
    tryWritable: (target.flags & VM_SHARED) !== 0 ? wantsWritenotify(target) : (target.flags & VM_WRITE) !== 0,
    changed: 0,
  };
  walkRange(task.machine, task.mm, start, end, changeProtOps, state, userWalk(task.machine, task.mm));
  // Present pages now in a rwx VMA are mapped writable and executable: wx-mapping.
  if (state.changed > 0 && (target.flags & VM_ACCESS_FLAGS) === VM_ACCESS_FLAGS) task.mappedWx ??= target;
  // An mlocked private read-only mapping made writable is populated for write at once.
  if ((old & (VM_WRITE | VM_SHARED | VM_LOCKED)) === VM_LOCKED && (flags & VM_WRITE) !== 0) mmPopulate(task, start, end);
  return state.changed;
}
