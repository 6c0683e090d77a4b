// Guard markers (seed 002; mm/madvise.c madvise_guard_install, madvise_guard_remove).
//
// Install needs a VMA whose page tables only core mm manages (is_valid_guard_vma: not mlocked,
// not VM_SPECIAL), sets VM_MAYBE_GUARD on the whole VMA (atomically, without splitting it),
// prepares the anon_vma of an anonymous VMA, and then walks the range with install_pte. When
// the walk finds anything mapped it stops; the range is zapped (guard markers survive that
// zap) and the walk runs again. Remove accepts mlocked VMAs, since it destroys nothing.

import { errno, type Outcome } from '../exec/outcome';
import { hex16 } from '../u64';
import { walkRange } from '../walk';
import { guardInstallOps, guardRemoveOps, type GuardState } from '../walk-ops/guard-ops';
import { anonVmaPrepare, type Task } from './fault';
import { leafBits, userWalk } from './pgtable';
import { zapRange } from './unmap';
import { VM_LOCKED, VM_MAYBE_GUARD, VM_SPECIAL, isAnonymous, type Vma } from './vma';

/** MAX_MADVISE_GUARD_RETRIES. */
const MAX_RETRIES = 3;

/** The zap of an install: guard markers stay, and no page table is reclaimed. */
const KEEP_MARKERS = { dropMarkers: false, reclaimPt: false } as const;

function guardState(task: Task): GuardState {
  return { pages: 0, bits: leafBits(task.machine) };
}

/** is_valid_guard_vma(). */
function invalidGuardVma(vma: Vma, allowLocked: boolean): string | undefined {
  if (!allowLocked && (vma.flags & VM_LOCKED) !== 0) return `the VMA at ${hex16(vma.start)} is mlocked (VM_LOCKED): installing would zap locked pages`;
  if ((vma.flags & VM_SPECIAL) !== 0) return `the VMA at ${hex16(vma.start)} is a special mapping (VM_SPECIAL)`;
  return undefined;
}

export function guardInstall(task: Task, vma: Vma, start: bigint, end: bigint): Outcome | undefined {
  const invalid = invalidGuardVma(vma, false);
  if (invalid) return errno('EINVAL', `MADV_GUARD_INSTALL: ${invalid}`);
  vma.flags |= VM_MAYBE_GUARD;
  if (isAnonymous(vma)) anonVmaPrepare(task, vma);
  const { machine, mm } = task;
  const state = guardState(task);
  for (let i = 0; i < MAX_RETRIES; i++) {
    state.pages = 0;
    const r = walkRange(machine, mm, start, end, guardInstallOps, state, userWalk(machine, mm));
    if (r < 0) return errno('ENOMEM', `MADV_GUARD_INSTALL: the walk failed with ${r}`);
    if (r === 0) return undefined;
    // Something is mapped: zap it (markers stay), then install again.
    zapRange(task, start, end, KEEP_MARKERS);
  }
  return errno('EAGAIN', 'MADV_GUARD_INSTALL: the range kept being populated (restart_syscall)');
}

export function guardRemove(task: Task, vma: Vma, start: bigint, end: bigint): Outcome | undefined {
  const invalid = invalidGuardVma(vma, true);
  if (invalid) return errno('EINVAL', `MADV_GUARD_REMOVE: ${invalid}`);
  const { machine, mm } = task;
  walkRange(machine, mm, start, end, guardRemoveOps, guardState(task), userWalk(machine, mm));
  return undefined;
}
