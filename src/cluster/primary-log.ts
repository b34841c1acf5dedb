import { hostname } from 'node:os';
import { LOG_LEVELS, type LogLevel } from '../config.js';

const LEVEL_NUMBERS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type Level = keyof typeof LEVEL_NUMBERS;

/**
 * The primary's log: JSON lines in the shape the workers' logger writes (level, time, pid,
 * hostname, msg), so one stream reads as one log. The primary handles no requests and no secrets:
 * its fields are process ids, exit codes and counts.
 */
export function createPrimaryLog(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stdout.write(l),
) {
  const threshold = level === 'silent' ? Number.POSITIVE_INFINITY : LEVEL_NUMBERS[level];
  const line = (at: Level) => (fields: Record<string, unknown>, msg: string) => {
    if (LEVEL_NUMBERS[at] < threshold) return;
    const record = {
      level: LEVEL_NUMBERS[at],
      time: Date.now(),
      pid: process.pid,
      hostname: hostname(),
      ...fields,
      msg,
    };
    write(`${JSON.stringify(record)}\n`);
  };
  return { info: line('info'), warn: line('warn'), error: line('error'), fatal: line('fatal') };
}

export type PrimaryLog = ReturnType<typeof createPrimaryLog>;
// Every configured level maps to a threshold (kept in step with LOG_LEVELS by the compiler).
LOG_LEVELS satisfies readonly (Level | 'silent')[];
