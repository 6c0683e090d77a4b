// x86 change_page_attr (arch/x86/mm/pat/set_memory.c, 7.3): set_memory_*, set_direct_map_*
// and the direct-map alias of vmalloc pages.
//
// CPA looks each address up (lookup_address), changes a 4K PTE in place, keeps or rewrites a
// large page when the request covers it whole or does not change it, and splits it otherwise
// (split_large_page, then looks again). After the primary change of each chunk it changes the
// direct-map alias of the same physical pages (cpa_process_alias). One flush at the end when
// anything changed; each split flushes on its own.

import { indexAt, type Depth } from '../arch/profile';
import type { Machine } from '../model/machine';
import type { TablePage } from '../model/table';
import { x86_4kToLarge, x86ClearProtnone, x86Large2To4k, x86LeafPa, x86SplitLargePage, type Slot, type SplitLog } from './split';
import { directMapRange, linearAliasOf } from './linear';

const X_P = 0x1;
const X_PSE = 0x80;
const X_NX_HI = 0x80000000;

/** One change_page_attr request (struct cpa_data). */
export interface CpaRequest {
  start: bigint;
  pages: number;
  setLo: number;
  setHi: number;
  clrLo: number;
  clrHi: number;
  /** set_memory_4k: split large pages even when nothing else changes. */
  forceSplit: boolean;
  /** CPA_NO_CHECK_ALIAS clear: the direct-map alias of non-direct-map pages changes too. */
  checkAlias: boolean;
}

export interface CpaResult {
  /** 0, -EFAULT (a hole outside the direct map), as __change_page_attr_set_clr returns. */
  ret: number;
  /** CPA_FLUSHTLB: some entry changed. */
  changed: boolean;
  /** An alias was processed (cpa->force_flush_all). */
  forceFlushAll: boolean;
  /** 4K PTEs and large leaves rewritten, primary and alias. */
  ptes: number;
  blocks: number;
  /** Direct-map aliases changed (cpa_process_alias calls that did something). */
  aliases: number;
  /** Splits of the primary range and of the aliases. */
  splits: SplitLog;
  aliasSplits: SplitLog;
  /** The address of the hole that faulted, when ret is -EFAULT. */
  fault?: bigint;
}

interface Found {
  slot: Slot;
  /** 4 for a PTE, else the level of a large (or non-present) upper entry. */
  level: Depth;
}

/**
 * lookup_address(): the PTE, or the upper entry that is a leaf or not present, mapping `va`;
 * for a none upper entry (where the kernel returns NULL), that entry, so a hole can be skipped
 * whole.
 */
function lookupAddress(machine: Machine, va: bigint): Found | undefined {
  const profile = machine.profile;
  const codec = profile.codec;
  let table: TablePage = machine.kernel.root;
  for (;;) {
    const geometry = profile.levels[table.depth];
    if (!geometry) return undefined;
    const index = indexAt(profile, table.depth, va);
    const depth = profile.entryDepth[table.depth] ?? table.depth;
    if (depth !== 4 && !table.isNone(index)) {
      const child = table.children?.[index];
      if (child && codec.classify(depth, table.lo(index), table.hi(index), false) === 'table') {
        table = child;
        continue;
      }
    }
    // Only the slot found is built: a lookup runs for every page-table page made read-only.
    const slot: Slot = { table, index, depth, base: va - (va & geometry.offsetMask), size: geometry.sizeBig };
    return { slot, level: depth };
  }
}

const EFAULT = 14;

type DirectMap = { start: bigint; end: bigint };
const NO_DIRECT_MAP: DirectMap = { start: 0n, end: 0n };

/**
 * __change_page_attr_set_clr(): applies the request page by page (a PTE table at a time) and
 * large page by large page. `primary` is false for an alias request.
 */
export function changePageAttr(machine: Machine, req: CpaRequest, primary: boolean, result?: CpaResult): CpaResult {
  const res: CpaResult = result ?? { ret: 0, changed: false, forceFlushAll: false, ptes: 0, blocks: 0, aliases: 0, splits: [], aliasSplits: [] };
  if (!(req.setLo | req.setHi | req.clrLo | req.clrHi) && !req.forceSplit) return res;
  const page = machine.profile.pageSize;
  const pageNum = Number(page);
  const direct = directMapRange(machine) ?? NO_DIRECT_MAP;
  const inDirect = (va: bigint): boolean => va >= direct.start && va < direct.end;
  // Split records go to the alias log when this is an alias request.
  const splitLog = primary ? res.splits : res.aliasSplits;
  let done = 0;
  while (done < req.pages) {
    const addr = req.start + BigInt(done) * page;
    const found = lookupAddress(machine, addr);
    const none = !found || found.slot.table.isNone(found.slot.index);
    if (none) {
      // __cpa_process_fault(): holes are fine in the direct map and for aliases; elsewhere the
      // kernel warns "CPA: called for zero pte" and fails with -EFAULT.
      if (!primary || inDirect(addr)) {
        done += holePages(found, addr, req.pages - done, pageNum);
        continue;
      }
      res.ret = -EFAULT;
      res.fault = addr;
      return res;
    }
    const slot = found.slot;
    if (found.level === 4) {
      done += changePtes(machine, req, primary, res, slot, req.pages - done, addr, direct);
      if (res.ret !== 0) return res;
      continue;
    }
    const large = largePage(machine, req, slot, addr, req.pages - done);
    if (large.split) {
      x86SplitLargePage(machine, slot, splitLog);
      continue;
    }
    if (large.wrote) {
      res.changed = true;
      res.blocks++;
    }
    if (primary && req.checkAlias) {
      const lo = slot.table.lo(slot.index);
      const hi = slot.table.hi(slot.index);
      const pa = x86LeafPa(machine, found.level, lo, hi) + Number(addr - slot.base);
      const ret = processAlias(machine, req, res, pa, addr, large.pages, direct);
      if (ret !== 0) {
        res.ret = ret;
        return res;
      }
    }
    done += large.pages;
  }
  return res;
}

/** Pages to skip over a hole: the rest of the none entry (one page at a time in the kernel). */
function holePages(found: Found | undefined, addr: bigint, remaining: number, pageNum: number): number {
  if (!found) return 1;
  const end = found.slot.base + found.slot.size;
  return Math.max(1, Math.min(remaining, Number((end - addr) / BigInt(pageNum))));
}

/**
 * The 4K branch of __change_page_attr(), for the consecutive PTEs of one table: clear, set,
 * drop _PAGE_GLOBAL from a non-present entry, write only what changed; then the alias.
 * Returns the pages handled.
 */
function changePtes(machine: Machine, req: CpaRequest, primary: boolean, res: CpaResult, slot: Slot, remaining: number, addr: bigint, direct: DirectMap): number {
  const table = slot.table;
  const codec = machine.profile.codec;
  const count = Math.min(remaining, table.ptrs - slot.index);
  const pageNum = Number(machine.profile.pageSize);
  // cpa_process_alias() does nothing for pages of the direct map itself, nor without one.
  const chunkEnd = addr + BigInt(count) * machine.profile.pageSize;
  const alias = primary && req.checkAlias && machine.linearMaps.length > 0 && !(addr >= direct.start && chunkEnd <= direct.end);
  const setLo = req.setLo;
  const setHi = req.setHi;
  const keepLo = ~req.clrLo;
  const keepHi = ~req.clrHi;
  const first = slot.index;
  let written = 0;
  let handled = 0;
  machine.touch(table);
  const e = table.e;
  for (let k = 0; k < count; k++) {
    const i = first + k;
    // Entries are handled as int32 so that values with bit 31 set (NX) stay small integers.
    const lo = (e[2 * i] ?? 0) | 0;
    const hi = (e[2 * i + 1] ?? 0) | 0;
    if (lo === 0 && hi === 0) {
      const va = addr + BigInt(k * pageNum);
      if (primary && !(va >= direct.start && va < direct.end)) {
        res.ret = -EFAULT;
        res.fault = va;
        break;
      }
      handled++;
      continue;
    }
    let nlo = (lo & keepLo) | setLo;
    // pgprot_clear_protnone_bits(): no _PAGE_GLOBAL on a non-present entry.
    if ((nlo & 1) === 0) nlo &= ~0x100;
    const nhi = (hi & keepHi) | setHi;
    if (nlo !== lo || nhi !== hi) {
      table.set(i, nlo, nhi);
      written++;
    }
    handled++;
    if (alias) {
      const ret = processAlias(machine, req, res, codec.address(lo >>> 0, hi >>> 0), addr + BigInt(k * pageNum), 1, direct);
      if (ret !== 0) {
        res.ret = ret;
        break;
      }
    }
  }
  if (written > 0) {
    machine.countWrites(table, written, true);
    res.changed = true;
    res.ptes += written;
  }
  return handled;
}

/**
 * should_split_large_page(): how many pages of the request this large page takes, and whether
 * it is kept (the new protection equals the old), rewritten whole, or must be split.
 */
function largePage(machine: Machine, req: CpaRequest, slot: Slot, addr: bigint, remaining: number): { split: boolean; wrote: boolean; pages: number } {
  const pageNum = machine.profile.pageSize;
  const lpEnd = slot.base + slot.size;
  const pages = Math.min(remaining, Number((lpEnd - addr) / pageNum));
  if (req.forceSplit) return { split: true, wrote: false, pages };
  const lo = slot.table.lo(slot.index);
  const hi = slot.table.hi(slot.index);
  // The large page's protection: bits [12:0] (with _PAGE_PAT_LARGE) and [63:52].
  const oldLo = (lo & 0x1fff) >>> 0;
  const oldHi = (hi & 0xfff00000) >>> 0;
  let reqLo = x86Large2To4k(oldLo);
  reqLo = ((reqLo & ~req.clrLo) | req.setLo) >>> 0;
  const reqHi = ((oldHi & ~req.clrHi) | req.setHi) >>> 0;
  reqLo = x86ClearProtnone(x86_4kToLarge(reqLo));
  if ((reqLo & X_P) !== 0) reqLo |= X_PSE;
  // "If the requested pgprot is the same as the current pgprot, then the large page can be
  // preserved": whatever part of it the request covers.
  if (reqLo === oldLo && reqHi === oldHi) return { split: false, wrote: false, pages };
  if (addr !== slot.base || BigInt(pages) * pageNum !== slot.size) return { split: true, wrote: false, pages };
  // The whole large page changes: __set_pmd_pte() with the old pfn and the new protection.
  const addrLo = (lo & ~0x1fff) >>> 0;
  const addrHi = (hi & ~0xfff00000) >>> 0;
  machine.writeEntry(slot.table, slot.index, (addrLo | reqLo) >>> 0, (addrHi | reqHi) >>> 0);
  return { split: false, wrote: true, pages };
}

/**
 * cpa_process_alias(): when the primary address is outside the direct map and the physical
 * page is in it, the same change (without NX: "Directmap always has NX set") is applied to the
 * direct-map alias, and the final flush becomes flush_tlb_all().
 */
function processAlias(machine: Machine, req: CpaRequest, res: CpaResult, pa: number, vaddr: bigint, pages: number, direct: DirectMap): number {
  // "No need to redo, when the primary call touched the direct mapping already."
  if (vaddr >= direct.start && vaddr < direct.end) return 0;
  const laddr = linearAliasOf(machine, pa);
  if (laddr === undefined) return 0;
  res.forceFlushAll = true;
  res.aliases++;
  const alias: CpaRequest = {
    start: laddr,
    pages,
    setLo: req.setLo,
    setHi: (req.setHi & ~X_NX_HI) >>> 0,
    clrLo: req.clrLo,
    clrHi: (req.clrHi & ~X_NX_HI) >>> 0,
    forceSplit: req.forceSplit,
    checkAlias: false,
  };
  // The alias has its own cpa_data: its CPA_FLUSHTLB does not reach the primary's.
  const changed = res.changed;
  changePageAttr(machine, alias, false, res);
  res.changed = changed;
  return res.ret;
}
