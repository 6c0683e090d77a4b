// Typed reading of the `ptscn.*` settings. The server reads the same section itself through
// `workspace/configuration`; this module serves the client's own needs and its tests.

import { parseServerSettings, type ServerSettings } from '../../server/src/protocol/lsp-ext';
import { SETTINGS_SECTION, Setting } from './ids';

/** Anything that answers `get(key)` for keys inside the `ptscn` section, like WorkspaceConfiguration. */
export interface SettingsSource {
  get(key: string): unknown;
}

/** Builds the nested section object the server parses, from flat `ptscn.*` ids. */
export function sectionFromSource(source: SettingsSource): Record<string, unknown> {
  const section: Record<string, unknown> = {};
  for (const id of Object.values(Setting)) {
    const key = id.slice(SETTINGS_SECTION.length + 1);
    const value = source.get(key);
    if (value === undefined) continue;
    const parts = key.split('.');
    let node = section;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      node = (typeof next === 'object' && next !== null ? next : (node[part] = {})) as Record<string, unknown>;
    }
    node[parts[parts.length - 1] ?? key] = value;
  }
  return section;
}

export function readSettings(source: SettingsSource): ServerSettings {
  return parseServerSettings(sectionFromSource(source));
}

/**
 * Settings that only take effect after a server restart. None today: the server pulls every
 * setting again on `workspace/didChangeConfiguration`.
 */
export const RESTART_SETTINGS: readonly string[] = [];
