// Permission changes on kernel mappings: set_memory_*, set_memory_valid, set_direct_map_*.
// FIXME(#4): placeholder until pageattr lands.

import type { ExecContext } from '../exec/context';
import { errno, type Outcome } from '../exec/outcome';
import type { SetDirectMapStmt, SetMemoryStmt, SetMemoryValidStmt } from '../program';

export function execSetMemory(_ctx: ExecContext, _stmt: SetMemoryStmt): Outcome {
  return errno('EPERM', 'set_memory_* is not modelled yet');
}

export function execSetMemoryValid(_ctx: ExecContext, _stmt: SetMemoryValidStmt): Outcome {
  return errno('EPERM', 'set_memory_valid is not modelled yet');
}

export function execSetDirectMap(_ctx: ExecContext, _stmt: SetDirectMapStmt): Outcome {
  return errno('EPERM', 'set_direct_map_* is not modelled yet');
}
