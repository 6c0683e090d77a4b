// Processes: mm creation, VMAs, faults, madvise and guard markers, fork and exit.
// FIXME(#5): placeholder until the process model lands; every statement reports EPERM.

import type { ProcessModule } from '../exec/modules';
import { AddressSpace } from '../model/machine';
import { errno, ok } from '../exec/outcome';

export const processModule: ProcessModule = {
  queries: { vmaCount: () => 0, pageValue: () => undefined, isGuard: () => false },
  enter(ctx, name) {
    const existing = ctx.machine.spaces.get(name.text);
    if (existing) return existing;
    const root = ctx.machine.allocTable(ctx.machine.kernel, 0);
    const space = new AddressSpace(name.text, false, root);
    ctx.machine.spaces.set(name.text, space);
    return space;
  },
  exec: () => errno('EPERM', 'process statements are not modelled yet'),
  fork: () => errno('EPERM', 'fork is not modelled yet'),
  exit: (_ctx, space) => {
    space.exited = true;
    return ok('exited');
  },
};
