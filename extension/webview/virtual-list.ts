// A virtualised list: only the rows in view exist in the DOM, drawn from a pool of elements.
//
// Lists can hold millions of rows (a fully expanded 64 GiB linear map in 4K pages is 16.8M), far
// beyond the tallest element a browser lays out (about 33.5M px in Chromium, less in others). The
// spacer is therefore capped at MAX_SCROLL_PX and the list keeps its own position, `virtualTop`,
// in unscaled pixels: wheel and keys move it pixel by pixel as in any list, and only dragging the
// scroll bar maps the bar's position proportionally onto the whole list.

import { h } from './dom';

/** Height of one row in pixels; style.css sets the same (--row-height). */
export const ROW_HEIGHT = 22;
/** Tallest spacer used; beyond it scrolling is scaled. */
export const MAX_SCROLL_PX = 8_000_000;
/** Viewport height assumed when the page has no layout (tests in happy-dom). */
const FALLBACK_HEIGHT = 440;

export interface VirtualListOptions {
  /** Role of the scrolling element (`tree`, `list`, `grid`). */
  role: string;
  label: string;
  className?: string;
  rowHeight?: number;
  /** Fills a pooled element with row `index` (its data may still be loading). */
  render(element: HTMLElement, index: number): void;
  /** Called after every draw with the rows in view (first, last inclusive). */
  onRange?(first: number, last: number): void;
}

export class VirtualList {
  readonly element: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly window: HTMLElement;
  private readonly pool: HTMLElement[] = [];
  private readonly rowHeight: number;
  private total = 0;
  /** Top of the view in unscaled pixels of the whole list. */
  private virtualTop = 0;
  /** The scrollTop we last set ourselves, to tell our scrolls from the user's drags. */
  private expectedScrollTop = -1;
  private frame = 0;
  /** The row index each pool element shows, so unchanged rows are not rendered again. */
  private readonly shown = new WeakMap<HTMLElement, number>();
  private isStale = true;
  /** The row index pool[0] showed at the last draw. */
  private poolFirst = 0;

  constructor(
    private readonly doc: Document,
    private readonly options: VirtualListOptions,
  ) {
    this.rowHeight = options.rowHeight ?? ROW_HEIGHT;
    this.window = h(doc, 'div', { className: 'vlist-window', role: 'presentation' });
    this.spacer = h(doc, 'div', { className: 'vlist-spacer', role: 'presentation' }, this.window);
    this.element = h(doc, 'div', { className: `vlist ${options.className ?? ''}`.trim(), role: options.role, attrs: { 'aria-label': options.label, tabindex: 0 } }, this.spacer);
    this.element.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.element.addEventListener('wheel', (event) => this.onWheel(event as WheelEvent), { passive: false });
  }

  get count(): number {
    return this.total;
  }

  get top(): number {
    return this.virtualTop;
  }

  private get viewport(): number {
    return this.element.clientHeight || FALLBACK_HEIGHT;
  }

  private get fullHeight(): number {
    return this.total * this.rowHeight;
  }

  private get spacerHeight(): number {
    return Math.min(this.fullHeight, MAX_SCROLL_PX);
  }

  /** True when the spacer is capped and the scroll bar maps proportionally. */
  get isScaled(): boolean {
    return this.fullHeight > MAX_SCROLL_PX;
  }

  private maxTop(): number {
    return Math.max(0, this.fullHeight - this.viewport);
  }

  /** Marks every row for rendering on the next draw (its data or its look changed). */
  invalidate(): void {
    this.isStale = true;
  }

  /** Renders every row in view again (after their data or their look changed). */
  refresh(): void {
    this.invalidate();
    this.draw();
  }

  setTotal(total: number): void {
    this.invalidate();
    if (Math.max(0, total) === this.total) {
      this.draw();
      return;
    }
    this.total = Math.max(0, total);
    this.spacer.style.height = `${this.spacerHeight}px`;
    this.setTop(this.virtualTop);
  }

  /** Rows fully or partly in view. */
  visibleRange(): { first: number; last: number } {
    const first = Math.floor(this.virtualTop / this.rowHeight);
    const last = Math.min(this.total - 1, Math.floor((this.virtualTop + this.viewport - 1) / this.rowHeight));
    return { first, last: Math.max(first - 1, last) };
  }

  /** Rows that fit in the viewport. */
  pageSize(): number {
    return Math.max(1, Math.floor(this.viewport / this.rowHeight));
  }

  /** Moves the view so row `index` shows: only if needed (`nearest`), centred, or at the top. */
  scrollToIndex(index: number, mode: 'nearest' | 'center' | 'top' = 'nearest'): void {
    const rowTop = index * this.rowHeight;
    let top = this.virtualTop;
    if (mode === 'top') top = rowTop;
    else if (mode === 'center') top = rowTop - (this.viewport - this.rowHeight) / 2;
    else if (rowTop < top) top = rowTop;
    else if (rowTop + this.rowHeight > top + this.viewport) top = rowTop + this.rowHeight - this.viewport;
    this.setTop(top);
  }

  /** Sets the view's top in unscaled pixels and draws. */
  setTop(top: number): void {
    this.virtualTop = Math.max(0, Math.min(this.maxTop(), Math.round(top)));
    const scrollRange = this.spacerHeight - this.viewport;
    const target = scrollRange > 0 ? Math.round((this.virtualTop * scrollRange) / Math.max(1, this.maxTop())) : 0;
    if (Math.abs(this.element.scrollTop - target) >= 1) {
      this.expectedScrollTop = target;
      this.element.scrollTop = target;
    }
    this.draw();
  }

  private onScroll(): void {
    const scrollTop = this.element.scrollTop;
    if (this.expectedScrollTop >= 0 && Math.abs(scrollTop - this.expectedScrollTop) < 1.5) {
      this.expectedScrollTop = -1;
      return;
    }
    this.expectedScrollTop = -1;
    const scrollRange = this.spacerHeight - this.viewport;
    this.virtualTop = scrollRange > 0 ? Math.round((scrollTop * this.maxTop()) / scrollRange) : 0;
    this.scheduleDraw();
  }

  private onWheel(event: WheelEvent): void {
    // Unscaled lists scroll natively; a scaled one would jump hundreds of rows per notch.
    if (!this.isScaled || event.ctrlKey) return;
    event.preventDefault();
    const unit = event.deltaMode === 1 ? this.rowHeight : event.deltaMode === 2 ? this.viewport : 1;
    this.setTop(this.virtualTop + event.deltaY * unit);
  }

  private scheduleDraw(): void {
    const view = this.doc.defaultView;
    if (!view || typeof view.requestAnimationFrame !== 'function') {
      this.draw();
      return;
    }
    if (this.frame) return;
    this.frame = view.requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /**
   * Redraws the rows in view. The pool stays in visual order (so the DOM reads in row order for
   * assistive technology): after a scroll the elements that left the view move to the other end
   * and only they `render` their new rows, unless the caller marked everything stale.
   */
  draw(): void {
    const { first, last } = this.visibleRange();
    const needed = this.total === 0 ? 0 : last - first + 1;
    while (this.pool.length < needed) {
      const row = h(this.doc, 'div', { className: 'vlist-row' });
      this.pool.push(row);
      this.window.append(row);
    }
    const shift = first - this.poolFirst;
    if (shift !== 0 && Math.abs(shift) < this.pool.length) {
      if (shift > 0) {
        const moved = this.pool.splice(0, shift);
        this.pool.push(...moved);
        this.window.append(...moved);
      } else {
        const moved = this.pool.splice(this.pool.length + shift, -shift);
        this.pool.unshift(...moved);
        this.window.prepend(...moved);
      }
    }
    this.poolFirst = first;
    for (let k = 0; k < this.pool.length; k++) {
      const row = this.pool[k];
      if (!row) continue;
      const index = first + k;
      if (k < needed) {
        if (row.hidden) row.hidden = false;
        if (this.isStale || this.shown.get(row) !== index) {
          this.options.render(row, index);
          this.shown.set(row, index);
        }
      } else if (!row.hidden) {
        row.hidden = true;
        this.shown.delete(row);
        row.removeAttribute('id');
      }
    }
    this.isStale = false;
    // Place the pool where the first row sits in the spacer's (possibly scaled) coordinates.
    const within = this.virtualTop - first * this.rowHeight;
    const scrollTop = this.element.scrollTop;
    this.window.style.transform = `translateY(${Math.max(0, scrollTop - within)}px)`;
    if (needed > 0) this.options.onRange?.(first, last);
  }
}
