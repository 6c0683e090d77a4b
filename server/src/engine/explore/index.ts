// The race explorer for `concurrent` blocks.
// FIXME(#7): placeholder until the explorer lands.

import type { ExploreModule } from '../exec/modules';
import { errno } from '../exec/outcome';

export const exploreModule: ExploreModule = {
  explore: (_ctx, block) => ({ span: block.span, schedules: 0, states: 0, races: [], complete: false, summary: 'not explored' }),
  expectRace: () => errno('EPERM', 'the race explorer is not modelled yet'),
};
