import type { HostAssessment, HostSnapshot } from '../../common/host-snapshot.js';
import { invalidInput } from '../errors.js';

/** Thresholds for a host's own health, before the graph model sees the mesh as a whole. */
export interface HostThresholds {
  loadPerCpuDegraded: number;
  loadPerCpuCritical: number;
  memAvailableDegraded: number; // share of total
  memAvailableCritical: number;
  dropsPerSecDegraded: number;
}

export const defaultHostThresholds: HostThresholds = {
  loadPerCpuDegraded: 1.5,
  loadPerCpuCritical: 4,
  memAvailableDegraded: 0.1,
  memAvailableCritical: 0.03,
  dropsPerSecDegraded: 10,
};

function validate(s: HostSnapshot): void {
  if (!s || typeof s !== 'object') throw invalidInput('snapshot must be an object');
  for (const k of ['cpuCount', 'cpuBusyRatio', 'load1', 'memTotalBytes', 'memAvailableBytes'] as const) {
    if (typeof s[k] !== 'number' || !Number.isFinite(s[k])) throw invalidInput(`snapshot.${k} must be a finite number, got ${String(s[k])}`);
  }
  if (s.cpuCount < 1 || s.memTotalBytes <= 0) throw invalidInput('snapshot has no CPUs or no memory: not a real host reading');
  if (!Array.isArray(s.interfaces)) throw invalidInput('snapshot.interfaces must be an array');
}

/** Judges one host snapshot against the thresholds; every finding says which number tripped it. */
export function assessHost(s: HostSnapshot, t: HostThresholds = defaultHostThresholds): HostAssessment {
  validate(s);
  const findings: string[] = [];
  let level = 0;
  const raise = (to: number, why: string) => {
    level = Math.max(level, to);
    findings.push(why);
  };
  const loadPerCpu = s.load1 / s.cpuCount;
  if (loadPerCpu >= t.loadPerCpuCritical) raise(2, `load1 ${s.load1.toFixed(2)} is ${loadPerCpu.toFixed(1)}× the ${s.cpuCount} CPUs`);
  else if (loadPerCpu >= t.loadPerCpuDegraded) raise(1, `load1 ${s.load1.toFixed(2)} is ${loadPerCpu.toFixed(1)}× the ${s.cpuCount} CPUs`);
  const memShare = s.memAvailableBytes / s.memTotalBytes;
  if (memShare <= t.memAvailableCritical) raise(2, `only ${(memShare * 100).toFixed(1)} % of memory available`);
  else if (memShare <= t.memAvailableDegraded) raise(1, `only ${(memShare * 100).toFixed(1)} % of memory available`);
  for (const i of s.interfaces) {
    const drops = i.rxDroppedPerSec + i.txDroppedPerSec;
    if (drops >= t.dropsPerSecDegraded) raise(1, `${i.name} drops ${drops.toFixed(0)} packets/s`);
  }
  return { nodeId: s.nodeId, health: (['healthy', 'degraded', 'critical'] as const)[level]!, findings };
}

/** Activities on `x0t-ml` for single-host judgement. */
export function createAssessActivities(thresholds: HostThresholds = defaultHostThresholds) {
  return {
    async assessHostSnapshot(snapshot: HostSnapshot): Promise<HostAssessment> {
      return assessHost(snapshot, thresholds);
    },
  };
}
