// The virtual address an entry maps, rebuilt from its table's position in the tree.

import type { ArchProfile, LevelGeometry } from '../arch/profile';
import type { TablePage } from './table';

/**
 * First virtual address mapped by entry `index` of `table`. The top level indexes the low
 * vaBits bits; kernel addresses are the sign-extended upper half (arm64's TTBR1 tables index the
 * kernel half from its bottom, so every init_mm address is in it).
 */
export function entryVa(profile: ArchProfile, table: TablePage, index: number): bigint {
  let va = BigInt(index) << (profile.levels[table.depth] as LevelGeometry).shiftBig;
  for (let child = table; child.parent; child = child.parent) {
    va += BigInt(child.parentIndex) << (profile.levels[child.parent.depth] as LevelGeometry).shiftBig;
  }
  if (profile.vaBits === 32) return va;
  const span = 1n << BigInt(profile.vaBits);
  const kernelHalf = profile.family === 'arm64' ? table.space === 'kernel' : va >= span >> 1n;
  return kernelHalf ? va + (1n << 64n) - span : va;
}
