// Kernel statements of spec §4 that build and inspect kernel mappings: map, unmap, vmalloc,
// vfree, ptdump, check_wx. Permission changes live in pageattr.ts, page-table pages of seed 001
// in pgtable-pages.ts.

import { parseProt } from '../arch/codec';
import { isCanonical, regionAt, type Depth } from '../arch/profile';
import type { ExecContext } from '../exec/context';
import { errno, ok, type Outcome } from '../exec/outcome';
import type { Finding } from '../findings';
import type { Machine } from '../model/machine';
import type { CheckWxStmt, Expr, MapStmt, PtdumpStmt, Span, UnmapStmt, VfreeStmt, VmallocStmt } from '../program';
import { hex16, sizeText } from '../u64';
import { createMapping, findBlockOverTable, findMapped, unmapRange } from './mapping';
import { checkWx, ptdumpText } from './ptdump';
import { vfree, vmalloc } from './vmalloc';

/** The kernel helper each statement models, for step records and hovers. */
export function mapHelper(machine: Machine): string {
  switch (machine.profile.family) {
    case 'arm64':
      return '__create_pgd_mapping';
    case 'x86':
      return 'kernel_physical_mapping_init';
    case 'riscv':
      return 'create_pgd_mapping';
    case 'arm':
      return 'create_mapping';
  }
}

/** A `bad-value` finding that also explains an EINVAL result. */
function badValue(ctx: ExecContext, span: Span, message: string): Finding {
  return ctx.machine.report('bad-value', 'error', message, { span });
}

/** Checks that a kernel virtual address is page-aligned, canonical and in the kernel half. */
function checkKernelVa(ctx: ExecContext, expr: Expr, va: bigint): Finding | undefined {
  const profile = ctx.machine.profile;
  if (va % profile.pageSize !== 0n) return badValue(ctx, expr.span, `${hex16(va)} is not aligned to the ${sizeText(profile.pageSize)} page size`);
  if (!isCanonical(profile, va)) return badValue(ctx, expr.span, `${hex16(va)} is not canonical for ${profile.label}`);
  if (va < profile.kernelStart) return badValue(ctx, expr.span, `${hex16(va)} is below the kernel half of the address space (which starts at ${hex16(profile.kernelStart)})`);
  return undefined;
}

function checkSize(ctx: ExecContext, expr: Expr, size: bigint): Finding | undefined {
  const page = ctx.machine.profile.pageSize;
  if (size % page !== 0n) return badValue(ctx, expr.span, `${size} bytes is not a multiple of the ${sizeText(page)} page size`);
  return undefined;
}

export function execMap(ctx: ExecContext, stmt: MapStmt): Outcome {
  const machine = ctx.machine;
  const profile = machine.profile;
  const va = ctx.num(stmt.va);
  const size = ctx.num(stmt.size);
  const pa = ctx.num(stmt.phys);
  const prot = parseProt(stmt.prot.text);
  if (!prot) return errno('EINVAL', `\`${stmt.prot.text}\` is not a protection`, [badValue(ctx, stmt.prot.span, `\`${stmt.prot.text}\` is not a protection`)]);
  const problem =
    checkKernelVa(ctx, stmt.va, va) ??
    checkSize(ctx, stmt.size, size) ??
    (pa % profile.pageSize !== 0n ? badValue(ctx, stmt.phys.span, `physical address ${hex16(pa)} is not page aligned`) : undefined) ??
    (pa + size > 1n << BigInt(profile.physBits) ? badValue(ctx, stmt.phys.span, `physical range ends beyond the ${profile.physBits}-bit physical address space`) : undefined) ??
    (va + size > 1n << 64n || (va + size < 1n << 64n && !isCanonical(profile, va + size - 1n))
      ? badValue(ctx, stmt.size.span, `the range ends outside the kernel half of the address space`)
      : undefined);
  if (problem) return errno('EINVAL', problem.message, [problem]);
  if (size === 0n) return ok('nothing to map');

  // leaf=pte|pmd|pud caps the leaf size; the level must be able to hold leaves.
  const leaf = stmt.leaf?.text ?? 'auto';
  const maxLeaf: Depth = leaf === 'pud' ? 2 : leaf === 'pmd' ? 3 : leaf === 'pte' ? 4 : (profile.autoLeaves[0] ?? 4);
  if (leaf !== 'auto') {
    const geometry = profile.levels[maxLeaf];
    if (!geometry?.leaf || geometry.folded && profile.entryDepth[geometry.tableDepth] !== maxLeaf) {
      const f = badValue(ctx, stmt.leaf?.span ?? stmt.span, `${profile.label} has no ${leaf.toUpperCase()} leaves`);
      return errno('EINVAL', f.message, [f]);
    }
    const leafSize = geometry.sizeBig;
    if (va % leafSize !== 0n || pa % leafSize !== 0n || size % leafSize !== 0n) {
      const f = badValue(ctx, stmt.leaf?.span ?? stmt.span, `leaf=${leaf} needs VA, physical address and size aligned to ${sizeText(leafSize)}`);
      return errno('EINVAL', f.message, [f]);
    }
  }

  const existing = findMapped(machine, machine.kernel, va, va + size);
  if (existing.leaves > 0) {
    return errno('EINVAL', `the range overlaps an existing mapping at ${hex16(existing.firstLeaf ?? va)}`);
  }
  const policy = { maxLeaf: leaf === 'auto' ? (profile.autoLeaves[0] ?? 4) : maxLeaf, cont: stmt.nocont === undefined, kernel: true };
  if (profile.family === 'arm64') {
    const conflict = findBlockOverTable(machine, machine.kernel, va, pa, size, policy);
    if (conflict !== undefined) {
      return errno(
        'EINVAL',
        `a table page is still installed at ${hex16(conflict)} where a block would go; arm64's alloc_init_pmd/pud would overwrite it and BUG in pgattr_change_is_safe() (use leaf=pte, or vmalloc … huge, which frees stale tables)`,
      );
    }
  }
  const stats = createMapping(machine, machine.kernel, va, pa, size, prot, policy);
  if (regionAt(profile, va)?.id === 'linear') {
    machine.linearMaps.push({ va, pa, size });
    // Page-table and data pages now come from the RAM the linear map covers, so they have aliases.
    if (machine.linearMaps.length === 1) machine.phys.setRam({ start: Number(pa), end: Number(pa + size) });
  }
  const parts = [...stats.leaves.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([depth, n]) => `${n} ${profile.levels[depth]?.name.toUpperCase()}${n === 1 ? '' : 's'}`);
  const cont = stats.contEntries > 0 ? ` (${stats.contEntries} with the contiguous hint)` : '';
  return ok(`mapped ${sizeText(size)} with ${parts.join(', ')}${cont}; ${stats.tablesAllocated} table page${stats.tablesAllocated === 1 ? '' : 's'} allocated`);
}

export function execUnmap(ctx: ExecContext, stmt: UnmapStmt): Outcome {
  const machine = ctx.machine;
  const va = ctx.num(stmt.va);
  const size = ctx.num(stmt.size);
  const problem = checkKernelVa(ctx, stmt.va, va) ?? checkSize(ctx, stmt.size, size);
  if (problem) return errno('EINVAL', problem.message, [problem]);
  if (size === 0n) return ok('nothing to unmap');
  const state = unmapRange(machine, machine.kernel, va, va + size);
  for (const block of state.partialBlocks) {
    const level = machine.profile.levels[block.depth]?.name.toUpperCase() ?? '';
    machine.report(
      'partial-block-overlap',
      'warning',
      `unmap covers only part of the ${level} block ${hex16(block.start)}-${hex16(block.end)}; vunmap clears the whole block (WARN_ON in vunmap_${level.toLowerCase()}_range)`,
    );
  }
  machine.flushTlb();
  return ok(`cleared ${state.cleared} entr${state.cleared === 1 ? 'y' : 'ies'}; table pages stay`);
}

export function execVmalloc(ctx: ExecContext, stmt: VmallocStmt): Outcome {
  const machine = ctx.machine;
  const size = ctx.num(stmt.size);
  const prot = parseProt(stmt.prot?.text ?? 'rw');
  if (!prot) return errno('EINVAL', 'bad protection');
  if (machine.vmAreas.has(stmt.name.text)) {
    const f = badValue(ctx, stmt.name.span, `\`${stmt.name.text}\` already names a live vmalloc area`);
    return errno('EINVAL', f.message, [f]);
  }
  const result = vmalloc(machine, stmt.name.text, size, prot, stmt.huge !== undefined, stmt.span);
  if (!result.area) return errno(result.errno ?? 'ENOMEM', result.message ?? 'vmalloc failed');
  ctx.bind(stmt.name.text, { kind: 'value', value: result.area.start, span: stmt.name.span });
  const depth = result.leafDepth ?? 4;
  const leafName = machine.profile.levels[depth]?.name.toUpperCase() ?? 'PTE';
  const freed = result.tablesFreed > 0 ? `; freed ${result.tablesFreed} stale table page${result.tablesFreed === 1 ? '' : 's'}` : '';
  return ok(`${stmt.name.text} = ${hex16(result.area.start)}, ${sizeText(result.area.size)} mapped with ${leafName} leaves${freed}`);
}

export function execVfree(ctx: ExecContext, stmt: VfreeStmt): Outcome {
  const machine = ctx.machine;
  const area = machine.vmAreas.get(stmt.name.text);
  if (!area) {
    const f = badValue(ctx, stmt.name.span, `\`${stmt.name.text}\` is not a live vmalloc area`);
    return errno('EINVAL', f.message, [f]);
  }
  const cleared = vfree(machine, area);
  return ok(`cleared ${cleared} entr${cleared === 1 ? 'y' : 'ies'} of ${stmt.name.text}; table pages stay`);
}

export function execPtdump(ctx: ExecContext, stmt: PtdumpStmt): Outcome {
  const machine = ctx.machine;
  if (machine.profile.ptdumpFormat === 'none') {
    const f = badValue(ctx, stmt.span, `ptdump is not modelled for ${machine.profile.label}`);
    return errno('EINVAL', f.message, [f]);
  }
  const start = stmt.addr ? ctx.num(stmt.addr) : undefined;
  const size = stmt.size ? ctx.num(stmt.size) : undefined;
  const text = ptdumpText(machine, start, size);
  machine.output('ptdump', text);
  return ok(`printed ${text.split('\n').length} lines`);
}

export function execCheckWx(ctx: ExecContext, stmt: CheckWxStmt): Outcome {
  const machine = ctx.machine;
  if (machine.profile.ptdumpFormat === 'none') {
    const f = badValue(ctx, stmt.span, `check_wx is not modelled for ${machine.profile.label}`);
    return errno('EINVAL', f.message, [f]);
  }
  const report = checkWx(machine);
  machine.output('check_wx', report.text);
  return ok(report.passed ? 'passed' : `FAILED: ${report.wxPages} W+X pages`);
}
