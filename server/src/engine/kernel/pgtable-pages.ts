// Page-table pages of seed 001: alloc_pgtable_page / free_pgtable_page, the pte-mapped cache and
// write-protected page tables.
// FIXME(#4): placeholder until seed 001 lands.

import type { ExecContext } from '../exec/context';
import { errno, type Outcome } from '../exec/outcome';
import type { Machine } from '../model/machine';
import type { AllocPgtablePageStmt, FreePgtablePageStmt } from '../program';

/** Installs the page-table page source the scenario's features ask for. */
export function configurePgtablePages(_machine: Machine): void {}

export function execAllocPgtablePage(_ctx: ExecContext, _stmt: AllocPgtablePageStmt): Outcome {
  return errno('EPERM', 'alloc_pgtable_page is not modelled yet');
}

export function execFreePgtablePage(_ctx: ExecContext, _stmt: FreePgtablePageStmt): Outcome {
  return errno('EPERM', 'free_pgtable_page is not modelled yet');
}
