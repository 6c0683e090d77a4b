// Findings: what the engine (and the checker before it) reports about a scenario.
//
// A finding is data with a stable code from spec §10, a severity and the span of the statement
// that caused it. Nothing downstream parses the message text; quick fixes read `fix`.

import type { Span } from './program';

/** The diagnostic codes of spec §10. Stable: never renamed, never reused. */
export type FindingCode =
  | 'syntax'
  | 'unknown-name'
  | 'bad-value'
  | 'partial-block-overlap'
  | 'wx-mapping'
  | 'ctor-dtor-leak'
  | 'expectation-failed'
  | 'statement-failed'
  | 'race'
  | 'resource-limit';

export const FINDING_CODES: readonly FindingCode[] = [
  'syntax',
  'unknown-name',
  'bad-value',
  'partial-block-overlap',
  'wx-mapping',
  'ctor-dtor-leak',
  'expectation-failed',
  'statement-failed',
  'race',
  'resource-limit',
];

export type Severity = 'error' | 'warning' | 'information' | 'hint';

/** Another place involved in a finding: the mapping that created a block, a table's allocation. */
export interface Related {
  span: Span;
  message: string;
}

/**
 * What a quick fix needs, supplied by whoever made the finding. The language server turns these
 * into code actions; the engine never edits text itself.
 */
export type FixData =
  | {
      kind: 'partial-block';
      /** The range aligned outwards to the block (or contiguous run) that was hit. */
      alignedStart: bigint;
      alignedPages: bigint;
      /** Whether `feature bbml2` would make the kernel split instead (arm64 only). */
      bbml2Helps: boolean;
    }
  | {
      kind: 'wx';
      /** The protection word of the statement that asked for `w` and `x` together, if any. */
      prot?: Span;
    }
  | { kind: 'unknown-name'; candidates: string[] }
  | {
      kind: 'ctor-dtor';
      /** The statement to add (`pgtable_dtor NAME` or `pgtable_free NAME`) and where. */
      insert: string;
      after: Span;
    };

export interface Finding {
  code: FindingCode;
  severity: Severity;
  span: Span;
  message: string;
  related?: Related[];
  fix?: FixData;
  /**
   * True when the scenario expected this finding (spec §6 "Expected findings"). The severity is
   * then already lowered to information and the finding does not fail the run.
   */
  expected?: boolean;
}

/** Text the scenario printed: a ptdump, a check_wx verdict, an exploration summary. */
export interface Output {
  span: Span;
  kind: 'ptdump' | 'check_wx' | 'explore' | 'accounting';
  text: string;
}

export function isError(finding: Finding): boolean {
  return finding.severity === 'error';
}
