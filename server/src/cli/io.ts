// What the command line needs from its host, injected so tests can run commands in process.

/** The host of one command-line invocation. */
export interface CliIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** Reads a file as UTF-8; throws a Node system error (with `code`) when it cannot. */
  readFile(path: string): string;
  /** Milliseconds from an arbitrary origin, for run timings. */
  now(): number;
}

/** Exit statuses of spec §11, plus one for bugs. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;

/** A usage mistake: reported as one line on stderr, exit status 2. */
export class UsageError extends Error {}

/** One-line text for a failed file read, such as `no such file or directory`. */
export function describeReadError(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EISDIR':
      return 'is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return error instanceof Error ? error.message.split('\n')[0] ?? 'cannot read' : 'cannot read';
  }
}
