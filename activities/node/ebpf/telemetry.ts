import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { histogramQuantile } from '../../../bpf/decoders.js';
import type { CounterReading } from '../../../bpf/runtime.js';
import { asActivityError } from './errors.js';
import { parseInput } from './attach.js';
import { nodeEbpf, type NodeEbpfDeps } from './runtime.js';

export const SnapshotInput = z.object({
  /** How long to sample; rates are (after - before) / interval. */
  intervalMs: z.number().int().min(100).max(60_000).default(1000),
  /** How many flows to report (highest byte rate first). */
  topFlows: z.number().int().min(0).max(1000).default(20),
});

/** Rates over one interval, from the eBPF maps (never raw cumulative counters). */
export interface EbpfTelemetrySnapshot {
  nodeId: string;
  intervalMs: number;
  interfaces: Array<{ interface: string; l3: string; l4: string; packetsPerSec: number; bytesPerSec: number; dropsPerSec: number }>;
  flows: Array<{ src: string; dst: string; protocol: string; sport: number; dport: number; direction: string; interface: string; packetsPerSec: number; bytesPerSec: number; policyDropsPerSec: number }>;
  syscalls: Array<{ syscall: string; callsPerSec: number; p50Ns: number; p99Ns: number; meanNs: number }>;
  drops: Array<{ reason: string; interface: string; perSec: number }>;
  devices: Array<{ interface: string; direction: string; packetsPerSec: number; bytesPerSec: number }>;
  policies: Array<{ source: string; action: string; droppedPerSec: number; passedPerSec: number }>;
  faults: Array<{ attachment: string; dropPercent: number; seenPerSec: number; droppedPerSec: number }>;
  programs: Array<{ object: string; program: string; runsPerSec: number; nsPerRun: number | null }>;
}

/** Per-key delta between two readings; a key absent before counts from zero, a reset counts as 0. */
function deltas<T>(before: T[], after: T[], key: (t: T) => string, fields: Array<keyof T>): Array<{ item: T; d: Record<string, number> }> {
  const prev = new Map(before.map((b) => [key(b), b]));
  return after.map((a) => {
    const b = prev.get(key(a));
    const d: Record<string, number> = {};
    for (const f of fields) d[f as string] = Math.max(Number(a[f]) - (b ? Number(b[f]) : 0), 0);
    return { item: a, d };
  });
}

export function computeRates(nodeId: string, r0: CounterReading, r1: CounterReading, topFlows: number): EbpfTelemetrySnapshot {
  const secs = Math.max((r1.atMs - r0.atMs) / 1000, 1e-3);
  const rate = (n: number) => n / secs;
  const syscalls = r1.syscalls.flatMap((h) => {
    const b = r0.syscalls.find((x) => x.nr === h.nr);
    const buckets = h.buckets.map((c, k) => Math.max(c - (b?.buckets[k] ?? 0), 0));
    const count = buckets.reduce((x, y) => x + y, 0);
    if (count === 0) return [];
    const sum = Math.max(h.sumNs - (b?.sumNs ?? 0), 0);
    return [{ syscall: h.syscall, callsPerSec: rate(count), p50Ns: histogramQuantile(buckets, 0.5)!, p99Ns: histogramQuantile(buckets, 0.99)!, meanNs: sum / count }];
  });
  return {
    nodeId,
    intervalMs: r1.atMs - r0.atMs,
    interfaces: deltas(r0.xdp, r1.xdp, (x) => `${x.interface}|${x.l3}|${x.l4}`, ['packets', 'bytes', 'drops']).map(({ item, d }) => ({
      interface: item.interface,
      l3: item.l3,
      l4: item.l4,
      packetsPerSec: rate(d.packets!),
      bytesPerSec: rate(d.bytes!),
      dropsPerSec: rate(d.drops!),
    })),
    flows: deltas(r0.flows, r1.flows, (f) => `${f.src}|${f.dst}|${f.protocol}|${f.sport}|${f.dport}|${f.direction}|${f.ifindex}`, ['packets', 'bytes', 'policyDrops'])
      .filter(({ d }) => d.packets! > 0)
      .sort((a, b) => b.d.bytes! - a.d.bytes!)
      .slice(0, topFlows)
      .map(({ item, d }) => ({
        src: item.src,
        dst: item.dst,
        protocol: item.protocol,
        sport: item.sport,
        dport: item.dport,
        direction: item.direction,
        interface: item.interface,
        packetsPerSec: rate(d.packets!),
        bytesPerSec: rate(d.bytes!),
        policyDropsPerSec: rate(d.policyDrops!),
      })),
    syscalls: syscalls.sort((a, b) => b.callsPerSec - a.callsPerSec),
    drops: deltas(r0.drops, r1.drops, (x) => `${x.reasonCode}|${x.interface}`, ['count'])
      .filter(({ d }) => d.count! > 0)
      .map(({ item, d }) => ({ reason: item.reason, interface: item.interface, perSec: rate(d.count!) })),
    devices: deltas(r0.devices, r1.devices, (x) => `${x.ifindex}|${x.interface}|${x.direction}`, ['packets', 'bytes']).map(({ item, d }) => ({
      interface: item.interface,
      direction: item.direction,
      packetsPerSec: rate(d.packets!),
      bytesPerSec: rate(d.bytes!),
    })),
    policies: deltas(r0.policies, r1.policies, (p) => p.source, ['dropped', 'passed']).map(({ item, d }) => ({
      source: item.source,
      action: item.action,
      droppedPerSec: rate(d.dropped!),
      passedPerSec: rate(d.passed!),
    })),
    faults: deltas(r0.faults, r1.faults, (f) => f.key, ['seen', 'dropped']).map(({ item, d }) => ({
      attachment: item.key,
      dropPercent: item.dropPercent,
      seenPerSec: rate(d.seen!),
      droppedPerSec: rate(d.dropped!),
    })),
    programs: deltas(r0.programs, r1.programs, (p) => `${p.id}`, ['runCount', 'runTimeNs']).map(({ item, d }) => ({
      object: item.object,
      program: item.program,
      runsPerSec: rate(d.runCount!),
      nsPerRun: d.runCount! > 0 ? d.runTimeNs! / d.runCount! : null,
    })),
  };
}

/** The node's eBPF telemetry as rates over an interval (sampled here, heartbeating meanwhile). */
export function createTelemetryActivities(deps: NodeEbpfDeps) {
  return {
    async ebpfTelemetrySnapshot(input: { intervalMs?: number; topFlows?: number } = {}): Promise<EbpfTelemetrySnapshot> {
      const { intervalMs, topFlows } = parseInput(SnapshotInput, input ?? {}, 'ebpfTelemetrySnapshot');
      try {
        const rt = nodeEbpf(deps);
        const r0 = rt.read();
        const ctx = Context.current();
        for (let waited = 0; waited < intervalMs; ) {
          const step = Math.min(500, intervalMs - waited);
          await ctx.sleep(step);
          waited += step;
          ctx.heartbeat({ waited });
        }
        return computeRates(deps.nodeId, r0, rt.read(), topFlows);
      } catch (err) {
        throw asActivityError(err);
      }
    },
  };
}
