import { readFileSync } from 'node:fs';

/** The parts of a V8 `.cpuprofile` (written by `node --cpu-prof`) this summary reads. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the monotonic clock, the same clock as process.hrtime in any process. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A stretch of the profiled process's life: one scenario's measured load, in hrtime microseconds. */
export interface Window {
  label: string;
  startUs: number;
  endUs: number;
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const src = url.search(/\/(dist|src)\//);
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

/** Where a frame's code lives: a package, Tessera itself, Node's internals, or V8 (GC, idle, …). */
function area(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node internals';
  if (/\/(dist|src)\//.test(url)) return 'tessera';
  return url;
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by function, highest first. */
  functions: { frame: string; selfMs: number; selfPct: number; totalPct: number }[];
  /** Self time by package (or tessera, node internals, GC, idle), highest first. */
  areas: { area: string; selfMs: number; selfPct: number }[];
}

/** The whole profile, and one summary per window (samples taken inside it). */
export function summarizeProfile(
  file: string,
  top = 30,
  windows: Window[] = [],
): ProfileSummary & { windows: (ProfileSummary & { label: string })[] } {
  return summarizeProfiles([file], top, windows);
}

/**
 * Several profiles summarised as one (a cluster primary and its workers: each process writes its
 * own, and the workers all run the same code), and one summary per window. The windows apply to
 * every file alike: all processes share the monotonic clock. Files are read one at a time.
 */
export function summarizeProfiles(
  files: string[],
  top = 30,
  windows: Window[] = [],
): ProfileSummary & { windows: (ProfileSummary & { label: string })[] } {
  const whole = new Tally();
  const perWindow = windows.map(() => new Tally());
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const times: number[] = [];
    let at = profile.startTime;
    for (const delta of profile.timeDeltas) {
      at += delta;
      times.push(at);
    }
    whole.add(profile, () => true);
    windows.forEach((w, n) => {
      perWindow[n]?.add(profile, (i) => (times[i] ?? 0) >= w.startUs && (times[i] ?? 0) <= w.endUs);
    });
  }
  return {
    ...whole.summary(top),
    windows: windows.map((w, n) => ({ label: w.label, ...(perWindow[n] as Tally).summary(top) })),
  };
}

/** Self and inclusive time by frame, and self time by area, added up over one or more profiles. */
class Tally {
  private totalUs = 0;
  private readonly self = new Map<string, number>();
  private readonly inclusive = new Map<string, number>();
  private readonly areas = new Map<string, number>();

  /** Adds the samples of `profile` that `keep` accepts (by sample index). */
  add(profile: CpuProfile, keep: (sample: number) => boolean) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

    const selfUs = new Map<number, number>();
    profile.samples.forEach((id, i) => {
      if (!keep(i)) return;
      selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    });
    const frameOf = (node: ProfileNode) => {
      const { functionName, url, lineNumber } = node.callFrame;
      const where = shortUrl(url);
      return `${functionName || '(anonymous)'}${where === '' ? '' : ` ${where}:${lineNumber + 1}`}`;
    };

    for (const [id, us] of selfUs) {
      const node = byId.get(id);
      if (node === undefined) continue;
      this.totalUs += us;
      const frame = frameOf(node);
      this.self.set(frame, (this.self.get(frame) ?? 0) + us);
      const a = area(node.callFrame.url, node.callFrame.functionName);
      this.areas.set(a, (this.areas.get(a) ?? 0) + us);
      // Inclusive time: every distinct frame on this node's stack gets the sample once.
      const seen = new Set<string>();
      for (let cursor: number | undefined = id; cursor !== undefined; cursor = parent.get(cursor)) {
        const frameNode = byId.get(cursor);
        if (frameNode === undefined) break;
        const name = frameOf(frameNode);
        if (seen.has(name)) continue;
        seen.add(name);
        this.inclusive.set(name, (this.inclusive.get(name) ?? 0) + us);
      }
    }
  }

  summary(top: number): ProfileSummary {
    const totalUs = this.totalUs;
    const pct = (us: number) => (totalUs === 0 ? 0 : (100 * us) / totalUs);
    return {
      totalMs: totalUs / 1000,
      functions: [...this.self.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([frame, us]) => ({
          frame,
          selfMs: us / 1000,
          selfPct: pct(us),
          totalPct: pct(this.inclusive.get(frame) ?? us),
        })),
      areas: [...this.areas.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, us]) => ({ area: name, selfMs: us / 1000, selfPct: pct(us) })),
    };
  }
}

export function formatProfile(summary: ProfileSummary, title = 'CPU profile', areas = 30): string {
  const lines = [`${title}: ${(summary.totalMs / 1000).toFixed(1)} s sampled`, '', 'self %  where'];
  for (const a of summary.areas.slice(0, areas)) lines.push(`${a.selfPct.toFixed(1).padStart(6)}  ${a.area}`);
  lines.push('', 'self %  total %  function');
  for (const f of summary.functions) {
    lines.push(`${f.selfPct.toFixed(1).padStart(6)}  ${f.totalPct.toFixed(1).padStart(7)}  ${f.frame}`);
  }
  return lines.join('\n');
}
