// fork (kernel/fork.c dup_mm → dup_mmap, mm/memory.c copy_page_range).
//
// The child gets a new mm (pgd_alloc) and a copy of every VMA except the MADV_DONTFORK ones
// (VM_DONTCOPY); mlock is not inherited. A VM_WIPEONFORK VMA is copied empty. Page tables are
// copied only where refaulting could not rebuild them (vma_needs_copy): VMAs with an anon_vma,
// and VMAs that may hold guard markers (VM_MAYBE_GUARD is a VM_COPY_ON_FORK flag in 7.x).
// Private pages become copy-on-write in both processes.

import type { ExecContext } from '../exec/context';
import { errno, ok, type Outcome } from '../exec/outcome';
import type { ForkStmt } from '../program';
import { walkRange } from '../walk';
import { copyRangeOps, type CopyRangeState } from '../walk-ops/copy-range-ops';
import type { Task } from './fault';
import { userMemory } from './memory';
import { Mm, mmCreate } from './mm';
import { userWalk } from './pgtable';
import { VM_DONTCOPY, VM_LOCKED, VM_LOCKONFAULT, VM_MAYBE_GUARD, VM_WIPEONFORK, type Vma } from './vma';

/** vma_needs_copy(). */
function needsCopy(vma: Vma): boolean {
  return (vma.flags & VM_MAYBE_GUARD) !== 0 || vma.anonVma !== 0;
}

export function execFork(ctx: ExecContext, stmt: ForkStmt): Outcome {
  const machine = ctx.machine;
  const parent = machine.spaces.get(stmt.parent.text);
  if (!(parent instanceof Mm)) return errno('EINVAL', `no process \`${stmt.parent.text}\` to fork`);
  if (parent.exited) return errno('EINVAL', `${stmt.parent.text} has exited`);
  if (machine.spaces.has(stmt.child.text)) return errno('EINVAL', `a process \`${stmt.child.text}\` exists already`);
  const memory = userMemory(machine);
  const child = mmCreate(machine, stmt.child.text);
  const task: Task = { machine, mm: parent, memory, mappedWx: undefined };
  let copied = 0;
  for (const vma of parent.vmas.list) {
    if ((vma.flags & VM_DONTCOPY) !== 0) continue;
    const copy: Vma = { ...vma, flags: vma.flags & ~(VM_LOCKED | VM_LOCKONFAULT) };
    if ((vma.flags & VM_WIPEONFORK) !== 0) {
      // The child sees fresh memory: no anon_vma, no page tables copied.
      copy.anonVma = 0;
      copy.anonChained = false;
      child.vmas.list.push(copy);
      continue;
    }
    // anon_vma_fork: the child's VMA gets its own anon_vma, chained to the parent's.
    if (vma.anonVma !== 0) {
      copy.anonVma = memory.newAnonVma();
      copy.anonChained = true;
    }
    child.vmas.list.push(copy);
    if (!needsCopy(vma)) continue;
    const state: CopyRangeState = { task, child, vma, copied: 0 };
    walkRange(machine, parent, vma.start, vma.end, copyRangeOps, state, userWalk(machine, parent));
    copied += state.copied;
  }
  return ok(`forked ${stmt.parent.text} as ${stmt.child.text}: ${child.vmas.count} VMA${child.vmas.count === 1 ? '' : 's'}, ${copied} page${copied === 1 ? '' : 's'} shared copy-on-write`);
}
