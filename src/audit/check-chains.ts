import type { Line, Segment } from './history.js';
import { lineDigest } from './record.js';

/** A problem in the trail, at the line where it shows. */
export interface Finding {
  line: Line | undefined;
  message: string;
}

interface WriterState {
  seq: number;
  digest: string;
  line: Line;
  first: Line;
  parent: string | null;
  pid: number | undefined;
  thread: number | undefined;
}

const where = (line: Line): string => `${line.segment}:${line.number}`;

/**
 * Checks every writer's chain across the segments (oldest first): each
 * writer starts at 0 with its start line, counts up by one, and links to the
 * digest of its previous line; every Node child and worker a writer recorded
 * starting has a chain that names it as parent, and every parent a chain
 * names has one. Returns the findings in the order of the trail.
 */
export function checkChains(segments: readonly Segment[]): Finding[] {
  const findings: Finding[] = [];
  const writers = new Map<string, WriterState>();
  // Where each writer's record is, to tell a record moved later from one removed.
  const placed = new Map<string, Line>();
  for (const segment of segments) for (const line of segment.lines) if (line.record?.writer !== undefined) placed.set(`${line.record.writer} ${line.record.seq}`, line);
  const starts: Array<{ parent: string; kind: 'child' | 'worker'; id: number; line: Line }> = [];
  for (const segment of segments) {
    for (const line of segment.lines) {
      const record = line.record;
      if (record?.seal !== undefined) continue;
      if (record === undefined || typeof record.writer !== 'string' || !Number.isSafeInteger(record.seq) || record.seq! < 0) {
        findings.push({ line, message: `${where(line)} is not an audit record: it was altered or cut short` });
        continue;
      }
      const seq = record.seq!;
      const digest = lineDigest(line.text);
      const state = writers.get(record.writer);
      if (state === undefined) {
        if (seq !== 0 || record.event !== 'start') {
          findings.push({ line, message: `${where(line)}: the first ${seq} record(s) of writer ${record.writer} are missing: removed` });
        }
        writers.set(record.writer, { seq, digest, line, first: line, parent: typeof record.parent === 'string' ? record.parent : null, pid: record.pid, thread: record.thread });
      } else if (seq <= state.seq) {
        findings.push({ line, message: `${where(line)}: record #${seq} of writer ${record.writer} comes after its #${state.seq} (${where(state.line)}): reordered or duplicated` });
        continue;
      } else {
        if (seq > state.seq + 1) {
          const later = placed.get(`${record.writer} ${state.seq + 1}`);
          findings.push({
            line,
            message: later === undefined
              ? `${where(line)}: records #${state.seq + 1}..#${seq - 1} of writer ${record.writer} are missing after ${where(state.line)}: removed`
              : `${where(line)}: record #${seq} of writer ${record.writer} comes before its #${state.seq + 1} (${where(later)}): reordered`,
          });
        } else if (record.prev !== state.digest) {
          findings.push({ line: state.line, message: `${where(state.line)} (record #${state.seq} of writer ${record.writer}) was altered: the writer's next record (${where(line)}) links to other bytes` });
        }
        writers.set(record.writer, { ...state, seq, digest, line });
      }
      if (record.event === 'child' && typeof record.pid === 'number') starts.push({ parent: record.writer, kind: 'child', id: record.pid, line });
      if (record.event === 'worker' && typeof record.thread === 'number') starts.push({ parent: record.writer, kind: 'worker', id: record.thread, line });
    }
  }
  const children = [...writers.values()];
  for (const start of starts) {
    const found = children.some((child) => child.parent === start.parent && (start.kind === 'child' ? child.pid === start.id && child.thread === undefined : child.thread === start.id));
    if (!found) {
      const who = start.kind === 'child' ? `child process ${start.id}` : `worker thread ${start.id}`;
      findings.push({ line: start.line, message: `${where(start.line)}: writer ${start.parent} started ${who}, whose chain is missing: removed (or it ended before its guard started)` });
    }
  }
  for (const [id, state] of writers) {
    if (state.parent !== null && !writers.has(state.parent)) {
      findings.push({ line: state.first, message: `${where(state.first)}: writer ${id} names its parent ${state.parent}, whose chain is missing: removed` });
    }
  }
  const order = new Map(segments.map((segment, index) => [segment.path, index]));
  const position = (finding: Finding): number => (finding.line === undefined ? -1 : order.get(finding.line.segment)! * 1e9 + finding.line.number);
  return findings.sort((a, b) => position(a) - position(b));
}
