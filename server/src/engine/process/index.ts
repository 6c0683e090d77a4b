// Processes: the ProcessModule the runner dispatches process blocks, fork and exit to, and the
// queries (vmas, value, guard) it answers for expressions.

import { pageShiftOf } from '../arch/profile';
import type { ProcessModule } from '../exec/modules';
import { errno } from '../exec/outcome';
import type { AddressSpace } from '../model/machine';
import { translate } from '../walk-ops/translate-ops';
import { execAccess, execTouch } from './access';
import { exitMm } from './exit';
import { execFork } from './fork';
import { execMadvise } from './madvise';
import { userMemory } from './memory';
import { execMlock } from './mlock';
import { execMmap } from './mmap';
import { Mm, mmCreate } from './mm';
import { execMprotect } from './mprotect';
import { execMremap } from './mremap';
import { pmdSize } from './fault';
import { munmapRange } from './unmap';
import { rangeArgs, taskOf } from './syscall';
import { ok } from '../exec/outcome';

/** The value of the page mapped at `va`, or what a fault would find there, without faulting. */
function pageValue(space: AddressSpace, va: bigint): bigint | undefined {
  if (!(space instanceof Mm)) return undefined;
  const vma = space.vmas.lookup(va);
  if (!vma) return undefined;
  const machine = space.machineRef;
  if (!machine) return undefined;
  const memory = userMemory(machine);
  const t = translate(machine, space, va);
  if (t.kind === 'leaf' && t.prot.present) {
    const page = t.pa - (t.pa % memory.pageSize);
    if (memory.isHugeZero(page - (page % Number(pmdSize(machine))))) return 0n;
    return memory.value(page);
  }
  // Not mapped: a file page keeps its value in the page cache; anonymous memory reads zero.
  if (vma.file) {
    const pgoff = Number(vma.pgoff + ((va - vma.start) >> pageShiftOf(machine.profile)));
    const cached = vma.file.pages.get(pgoff);
    return cached === undefined ? 0n : memory.value(cached);
  }
  return 0n;
}

function isGuard(space: AddressSpace, va: bigint): boolean {
  if (!(space instanceof Mm) || !space.machineRef) return false;
  const machine = space.machineRef;
  const t = translate(machine, space, va);
  return t.kind === 'nonpresent' && machine.profile.codec.isMarker(t.table.lo(t.index), t.table.hi(t.index), 'guard');
}

export const processModule: ProcessModule = {
  queries: {
    vmaCount: (space) => (space instanceof Mm ? space.vmas.count : 0),
    pageValue,
    isGuard,
  },
  enter(ctx, name) {
    const existing = ctx.machine.spaces.get(name.text);
    if (existing) {
      if (existing.exited) return errno('EINVAL', `${name.text} has exited`);
      return existing;
    }
    return mmCreate(ctx.machine, name.text);
  },
  exec(ctx, stmt) {
    switch (stmt.kind) {
      case 'mmap':
        return execMmap(ctx, stmt);
      case 'munmap': {
        // munmap: like the others, but an empty range is EINVAL (do_vmi_munmap).
        const args = rangeArgs(ctx, 'munmap', stmt.addr, stmt.size);
        if ('error' in args) return args.error;
        if (args.empty) return errno('EINVAL', 'munmap: the length is 0');
        const task = taskOf(ctx);
        if (args.end > ctx.machine.profile.userEnd) return errno('EINVAL', 'munmap: the range ends above TASK_SIZE');
        const removed = munmapRange(task, args.start, args.end);
        return ok(`munmap: ${removed.length} VMA piece${removed.length === 1 ? '' : 's'} removed, ${task.mm.vmas.count} left`);
      }
      case 'mprotect':
        return execMprotect(ctx, stmt);
      case 'madvise':
        return execMadvise(ctx, stmt);
      case 'mremap':
        return execMremap(ctx, stmt);
      case 'mlock':
      case 'munlock':
        return execMlock(ctx, stmt);
      case 'read':
      case 'write':
      case 'exec':
        return execAccess(ctx, stmt);
      case 'touch':
        return execTouch(ctx, stmt);
    }
  },
  fork: (ctx, stmt) => execFork(ctx, stmt),
  exit: (ctx, space, span) => exitMm(ctx, space, span),
};
