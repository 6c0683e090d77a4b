// The only import path into the engine. Everything a caller may use is re-exported here.

export * from './program';
export * from './findings';
export * from './run-api';
export { runScenario, runScenarioSteps, headerOptions } from './runner';
export { RunState, type StepInfo, type TableInfo, type EntryInfo, type EntryKind, type AddressInfo, type NameValue } from './inspect';
export type { Exploration, Counterexample, CounterexampleStep, ExploredTable } from './exec/modules';
export type { TableTree, EntryRun, EntryDetail, TablePageState, OverlapMark, SpaceStat } from './inspect-tree';
export { resolveProfile, allProfiles, arm64VaSizes, levelIndices, LEVELS, type ArchProfile, type ArchOptions, type Depth } from './arch/profile';
export { parseProt, protText, decodeBits, type Prot } from './arch/codec';
export { helperDoc, helperFor } from './kernel-helpers';
export { hex16, hexGrouped, sizeText, U64_MAX } from './u64';
export { SEED_000_ROWS, accountingConfigurations, accountingScenario, deriveConfiguration, deriveAccountingTable, type AccountingMode, type Verdict, type SeedRow, type AccountingConfiguration, type AccountingScenario, type LevelLedger, type ConfigurationVerdict, type ConfigurationLedger, type SeedCell, type DerivedCell, type AccountingCell, type AccountingRow, type AccountingTable } from './accounting-table';
