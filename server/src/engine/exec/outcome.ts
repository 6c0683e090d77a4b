// What a statement returned, in the terms `=> RESULT` compares against (spec §6).

import type { Finding } from '../findings';

export type Errno = 'EINVAL' | 'ENOMEM' | 'EFAULT' | 'EPERM' | 'EBUSY' | 'EAGAIN';

export type Outcome =
  | { kind: 'ok'; summary: string }
  | {
      kind: 'errno';
      errno: Errno;
      /** Why, in the kernel's terms. */
      message: string;
      summary?: string;
      /** Findings that explain this errno; expected when `=> ERRNO` says so. */
      causes?: Finding[];
    }
  | { kind: 'segv'; message: string; summary?: string }
  | { kind: 'value'; value: bigint; summary?: string };

export function ok(summary: string): Outcome {
  return { kind: 'ok', summary };
}

export function errno(code: Errno, message: string, causes?: Finding[]): Outcome {
  return causes ? { kind: 'errno', errno: code, message, causes } : { kind: 'errno', errno: code, message };
}

export function outcomeText(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'ok':
      return 'ok';
    case 'errno':
      return outcome.errno;
    case 'segv':
      return 'segv';
    case 'value':
      return `value ${outcome.value}`;
  }
}
