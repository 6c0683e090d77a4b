/*
 * The seed-004 race in Promela, equivalent to samples 50-52 (arm64, 4K granule, 48-bit VA):
 * ptdump walks the kernel tables under mmap_write_lock(&init_mm), one entry load per step,
 * while vmap frees the PTE table (pmd_free_pte_page) or the PMD table with its PTE table
 * (pud_free_pmd_page, with -DPUD) that a one-page vfree'd vmalloc area left behind.
 *
 * Select the variant with one macro:
 *   -DUNPATCHED   before seed 004: no synchronisation with ptdump
 *   -DSTATIC_KEY  seed 004: ptdump enables arm64_ptdump_lock_key; the helper clears, flushes,
 *                 then takes and drops mmap_read_lock(&init_mm) when the key is on
 *   -DTRYLOCK     7.3: the helper runs only under a successful mmap_read_trylock(&init_mm)
 *
 * Tables: only the entries on the vmalloc path are ever non-none (PGD[256] -> PUD table,
 * PUD[2] -> PMD table, PMD[0] -> PTE table, every PTE none), so the other entries need no
 * variables; the walker still loads each of them in its own step, as ptscn's walk does.
 * A load from a table after it has been freed fails the assertion: a use-after-free.
 * The rw-semaphore has ptscn's semantics: FIFO queue, a reader waits behind a waiting writer,
 * unlock hands the lock to the waiter.
 */

#define N 512
#define PGD_SLOT 256
#define PUD_SLOT 2
#define PMD_SLOT 0
#define NONE 0
#define TABLE 1

byte pgd_e = TABLE;
byte pud_e = TABLE;
byte pmd_e = TABLE;
bool pmd_freed = false;
bool pte_freed = false;
bool key = false;

/* init_mm's mmap_lock: writer held, readers, and who waits (ptdump for write, vmap for read). */
bool wheld = false;
byte readers = 0;
bool wwait = false;
bool rwait = false;

active proctype ptdump()
{
  short i = 0;
  short j;
  short k;
  short l;
#ifdef STATIC_KEY
  key = true;
#endif
  /* mmap_write_lock(&init_mm) */
  atomic {
    if
    :: (!wheld && readers == 0 && !wwait && !rwait) -> wheld = true
    :: else -> wwait = true
    fi
  }
  (wheld);
  do
  :: (i < N) ->
    if
    :: atomic { (i == PGD_SLOT && pgd_e == TABLE) -> i++ } ->
      j = 0;
      do
      :: (j < N) ->
        if
        :: atomic { (j == PUD_SLOT && pud_e == TABLE) -> assert(!pmd_freed); j++ } ->
          k = 0;
          do
          :: (k < N) ->
            if
            :: atomic { (k == PMD_SLOT && pmd_e == TABLE) -> assert(!pmd_freed); k++ } ->
              l = 0;
              do
              :: atomic { (l < N) -> assert(!pte_freed); l++ }
              :: else -> break
              od
            :: atomic { else -> assert(!pmd_freed); k++ }
            fi
          :: else -> break
          od
        :: atomic { else -> j++ }
        fi
      :: else -> break
      od
    :: atomic { else -> i++ }
    fi
  :: else -> break
  od;
  /* mmap_write_unlock: hand the lock to a waiting reader */
  atomic {
    wheld = false;
    if
    :: rwait -> rwait = false; readers++
    :: else -> skip
    fi
  }
#ifdef STATIC_KEY
  key = false;
#endif
}

/* mmap_read_lock / mmap_read_unlock for vmap */
inline read_lock() {
  atomic {
    if
    :: (!wheld && !wwait) -> readers++
    :: else -> rwait = true
    fi
  }
  (!rwait && readers > 0)
}

inline read_unlock() {
  atomic {
    readers--;
    if
    :: (readers == 0 && wwait) -> wwait = false; wheld = true
    :: else -> skip
    fi
  }
}

active proctype vmap()
{
  bool ok = true;
#ifdef TRYLOCK
  atomic {
    if
    :: (!wheld && !wwait) -> readers++; ok = true
    :: else -> ok = false
    fi
  }
#endif
  if
  :: ok ->
#ifndef PUD
    /* pmd_free_pte_page(): READ_ONCE(*pmdp); pmd_clear; flush; [rendezvous]; free */
    if
    :: (pmd_e == TABLE) ->
      pmd_e = NONE;
      skip; /* __flush_tlb_kernel_pgtable */
#ifdef STATIC_KEY
      if
      :: key -> read_lock(); read_unlock()
      :: else -> skip
      fi;
#endif
      pte_freed = true
    :: else -> skip
    fi;
#else
    /* pud_free_pmd_page() */
    if
    :: (pud_e == TABLE) ->
#ifdef STATIC_KEY
      pud_e = NONE;
      skip; /* flush */
      if
      :: key -> read_lock(); read_unlock()
      :: else -> skip
      fi;
#endif
      /* scan to the present PMD entry and free its PTE table */
      atomic { assert(!pmd_freed); (pmd_e == TABLE) };
      pmd_e = NONE;
      skip; /* flush */
      pte_freed = true;
      atomic { assert(!pmd_freed); skip }; /* scan the rest: all none */
#ifndef STATIC_KEY
      pud_e = NONE;
      skip; /* flush */
#endif
      pmd_freed = true
    :: else -> skip
    fi;
#endif
#ifdef TRYLOCK
    read_unlock()
#endif
  :: else -> skip
  fi
}
