// exit (mm/mmap.c exit_mmap, kernel/fork.c __mmdrop → mm_free_pgd, check_mm): every VMA is
// zapped with ZAP_FLAG_DROP_MARKER, free_pgtables frees the tables between FIRST_USER_ADDRESS
// and USER_PGTABLES_CEILING, pgd_free frees the top level, and then the ledger's exit checks
// run: any table still allocated is a leak, and pgtables_bytes must be zero (check_mm's
// "BUG: non-zero pgtables_bytes on freeing mm").

import type { ExecContext } from '../exec/context';
import { ok, type Outcome } from '../exec/outcome';
import type { AddressSpace } from '../model/machine';
import type { Span } from '../program';
import type { Task } from './fault';
import { userMemory } from './memory';
import { Mm, pgdFree } from './mm';
import { freePgtables, pgtablesCeiling, zapRange } from './unmap';

export function exitMm(ctx: ExecContext, space: AddressSpace, _span: Span): Outcome {
  const machine = ctx.machine;
  if (space instanceof Mm) {
    const task: Task = { machine, mm: space, memory: userMemory(machine), mappedWx: undefined };
    const vmas = [...space.vmas.list];
    for (const vma of vmas) zapRange(task, vma.start, vma.end, { dropMarkers: true, reclaimPt: false });
    freePgtables(task, vmas, 0n, pgtablesCeiling(task));
    space.vmas.list.length = 0;
    pgdFree(machine, space);
  } else {
    machine.freeTable(space.root);
  }
  space.exited = true;
  machine.checkExit(space);
  return ok(`${space.name} exited`);
}
