// The linear map (direct map) as the kernel's page_address(), __pa() and CPA see it, built from
// the scenario's `map` statements in the linear region (Machine.linearMaps).

import { regionAt } from '../arch/profile';
import type { Machine } from '../model/machine';

/** page_address(): the linear-map address of physical address `pa`, if a linear map covers it. */
export function linearAliasOf(machine: Machine, pa: number): bigint | undefined {
  const p = BigInt(pa);
  for (const m of machine.linearMaps) {
    if (p >= m.pa && p < m.pa + m.size) return m.va + (p - m.pa);
  }
  return undefined;
}

/** __pa() of a linear-map address, if a `map` of the linear map covers it. */
export function linearPhysOf(machine: Machine, va: bigint): bigint | undefined {
  for (const m of machine.linearMaps) {
    if (va >= m.va && va < m.va + m.size) return m.pa + (va - m.va);
  }
  return undefined;
}

/**
 * [PAGE_OFFSET, end of the last linear mapping): what CPA's `within(vaddr, PAGE_OFFSET,
 * PAGE_OFFSET + (max_pfn_mapped << PAGE_SHIFT))` accepts as the direct map, holes included.
 */
export function directMapRange(machine: Machine): { start: bigint; end: bigint } | undefined {
  const region = machine.profile.regions.find((r) => r.id === 'linear');
  if (!region || machine.linearMaps.length === 0) return undefined;
  let end = region.start;
  for (const m of machine.linearMaps) if (m.va + m.size > end) end = m.va + m.size;
  return { start: region.start, end };
}

export function inLinearRegion(machine: Machine, va: bigint): boolean {
  return regionAt(machine.profile, va)?.id === 'linear';
}
