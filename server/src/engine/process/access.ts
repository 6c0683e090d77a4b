// User accesses: `read`, `write`, `exec` and `touch`. Each access finds its VMA (no VMA:
// SIGSEGV with SEGV_MAPERR; a VMA whose protection forbids it: SEGV_ACCERR), faults the page
// in as the kernel would, and then reads or stores the page's value. `touch … write` stores
// the default value 1 in every page, like `write` without `value`.

import type { ExecContext } from '../exec/context';
import { ok, type Outcome } from '../exec/outcome';
import type { AccessStmt, TouchStmt } from '../program';
import { hex16 } from '../u64';
import { handleFault, pageAt, vmaPermits, type Access, type Task } from './fault';
import { reportMapped } from './mmap';
import { taskOf } from './syscall';
import { RunStop } from '../model/machine';

const NAMES: Record<Access, string> = { read: 'read', write: 'write', exec: 'instruction fetch' };

/** One access; returns undefined on success, else the SIGSEGV reason. */
function accessOne(task: Task, va: bigint, access: Access, value: bigint | undefined): string | undefined {
  const vma = task.mm.vmas.lookup(va);
  if (!vma) return `SEGV_MAPERR: no VMA covers ${hex16(va)}`;
  if (!vmaPermits(task.machine, vma, access)) {
    const prot = `${vma.flags & 1 ? 'r' : '-'}${vma.flags & 2 ? 'w' : '-'}${vma.flags & 4 ? 'x' : '-'}`;
    return `SEGV_ACCERR: a ${NAMES[access]} of ${hex16(va)}, in a VMA mapped ${prot}`;
  }
  const reason = handleFault(task, vma, va, access);
  if (reason !== undefined) return reason;
  if (access === 'write') {
    const pa = pageAt(task, va);
    if (pa !== undefined) task.memory.setValue(pa, value ?? 1n);
  }
  return undefined;
}

function segv(message: string): Outcome {
  return { kind: 'segv', message };
}

export function execAccess(ctx: ExecContext, stmt: AccessStmt): Outcome {
  const task = taskOf(ctx);
  const va = ctx.num(stmt.addr);
  const value = stmt.kind === 'write' ? (stmt.value ? ctx.num(stmt.value) : 1n) : undefined;
  const reason = accessOne(task, va, stmt.kind, value);
  reportMapped(ctx, task);
  if (reason !== undefined) return segv(reason);
  if (stmt.kind === 'read') {
    const pa = pageAt(task, va);
    const read = pa === undefined ? 0n : task.memory.value(pa);
    return { kind: 'value', value: read, summary: `read ${hex16(va)}: value ${read}` };
  }
  return ok(`${stmt.kind} ${hex16(va)}${value !== undefined ? `: value ${value}` : ''}`);
}

export function execTouch(ctx: ExecContext, stmt: TouchStmt): Outcome {
  const task = taskOf(ctx);
  const start = ctx.num(stmt.addr);
  const size = ctx.num(stmt.size);
  const access: Access = stmt.access?.text === 'write' ? 'write' : 'read';
  const page = ctx.machine.profile.pageSize;
  const first = start - (start % page);
  // The step budget counts each page of a touch (run-api.ts Budget.steps).
  const pages = (start + size - first + page - 1n) / page;
  if (BigInt(ctx.machine.step) + pages > BigInt(ctx.machine.budget.steps)) {
    throw new RunStop('budget', `touch of ${pages} pages would exceed the budget of ${ctx.machine.budget.steps} steps`);
  }
  let count = 0;
  for (let va = first; va < start + size; va += page) {
    const reason = accessOne(task, va, access, access === 'write' ? 1n : undefined);
    if (reason !== undefined) {
      reportMapped(ctx, task);
      return segv(`the ${NAMES[access]} of page ${count} (${hex16(va)}) faulted: ${reason}`);
    }
    count++;
  }
  reportMapped(ctx, task);
  return ok(`touch ${access}: ${count} page${count === 1 ? '' : 's'} from ${hex16(first)}`);
}
