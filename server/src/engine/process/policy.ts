// The per-architecture facts of user memory management that the profiles do not carry, in one
// table: what pgd_alloc preallocates, USER_PGTABLES_CEILING, HAVE_MOVE_PMD/PUD, and which
// protection bits a user read needs. Everything else the process model reads from the profile.

import type { ArchProfile, LevelGeometry } from '../arch/profile';
import type { Machine } from '../model/machine';

export interface UserPolicy {
  /**
   * PGD slots whose PMD tables pgd_alloc allocates and counts (mm_inc_nr_pmds): x86 PAE
   * preallocates one per user PGD entry (preallocate_pmds), ARM LPAE the one covering
   * MODULES_VADDR (arch/arm/mm/pgd.c). pgd_free frees those still linked.
   */
  preallocatedPmds: readonly number[];
  /** USER_PGTABLES_CEILING: 0 (none), or TASK_SIZE on ARM. */
  pgtablesCeiling: bigint;
  /** arch_supports_page_table_move (HAVE_MOVE_PMD/PUD): mremap may relink whole tables. */
  movesTables: boolean;
  /**
   * A read of an exec-only VMA is allowed: x86 (vma_is_accessible; its PTEs cannot deny reads).
   * arm64 is taken to have FEAT_EPAN and riscv checks VM_READ|VM_WRITE, so not there.
   */
  execImpliesRead: boolean;
}

const policies = new WeakMap<ArchProfile, UserPolicy>();

function build(profile: ArchProfile): UserPolicy {
  const arch = profile.options.arch;
  const pgdShift = (profile.levels[0] as LevelGeometry).shiftBig;
  const preallocatedPmds: number[] = [];
  if (arch === 'x86_pae') for (let i = 0; BigInt(i) << pgdShift < profile.userEnd; i++) preallocatedPmds.push(i);
  if (arch === 'arm_lpae') preallocatedPmds.push(Number(profile.userEnd >> pgdShift));
  return {
    preallocatedPmds,
    pgtablesCeiling: arch === 'arm_lpae' ? profile.userEnd : 0n,
    movesTables: arch !== 'arm_lpae',
    execImpliesRead: profile.family === 'x86',
  };
}

export function userPolicy(machine: Machine): UserPolicy {
  let policy = policies.get(machine.profile);
  if (!policy) {
    policy = build(machine.profile);
    policies.set(machine.profile, policy);
  }
  return policy;
}
