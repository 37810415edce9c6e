import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { HostSnapshot, InterfaceCounters, RecordedSnapshot } from '../../common/host-snapshot.js';
import { invalidInput } from '../errors.js';
import { memInfo, operState, readCounters, type RawCounters } from './proc-stats.js';

export interface HostSnapshotDeps {
  nodeId: string;
  /** The node's own journal of recorded snapshots, one file per idempotency key. */
  journalDir: string;
}

function rates(before: RawCounters, after: RawCounters): InterfaceCounters[] {
  const secs = Math.max((after.atMs - before.atMs) / 1000, 1e-3);
  const addrs = os.networkInterfaces();
  return [...after.interfaces].map(([name, c]) => {
    const b = before.interfaces.get(name) ?? c;
    // Counters can reset (device re-created): a negative delta means "unknown", not a negative rate.
    const rate = (k: string) => Math.max(((c[k] ?? 0) - (b[k] ?? 0)) / secs, 0);
    return {
      name,
      addresses: (addrs[name] ?? []).map((a) => a.address),
      operState: operState(name),
      rxBytesPerSec: rate('rx_bytes'),
      txBytesPerSec: rate('tx_bytes'),
      rxPacketsPerSec: rate('rx_packets'),
      txPacketsPerSec: rate('tx_packets'),
      rxDroppedPerSec: rate('rx_dropped'),
      txDroppedPerSec: rate('tx_dropped'),
      rxErrorsPerSec: rate('rx_errors'),
      txErrorsPerSec: rate('tx_errors'),
    };
  });
}

/**
 * Records a snapshot under its key exactly once: the file is written aside and hard-linked
 * into place, which fails if any attempt (this one retried, or a concurrent one) got there first.
 */
export function recordOnce(journalDir: string, key: string, snapshot: HostSnapshot): RecordedSnapshot {
  fs.mkdirSync(journalDir, { recursive: true });
  const file = path.join(journalDir, `${encodeURIComponent(key)}.json`);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ idempotencyKey: key, snapshot }));
  try {
    fs.linkSync(tmp, file);
    return { idempotencyKey: key, snapshot, recorded: 'new' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const existing = JSON.parse(fs.readFileSync(file, 'utf8')) as { snapshot: HostSnapshot };
    return { idempotencyKey: key, snapshot: existing.snapshot, recorded: 'existing' };
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Activities on `x0t-node-<nodeId>` that read this host. */
export function createHostSnapshotActivities(deps: HostSnapshotDeps) {
  return {
    /**
     * Samples the host's counters over sampleMs (heartbeating meanwhile) and records the
     * snapshot in the node's journal, keyed by workflow id + activity id.
     */
    async collectHostSnapshot(input: { sampleMs: number }): Promise<RecordedSnapshot> {
      const { sampleMs } = input ?? {};
      if (!Number.isFinite(sampleMs) || sampleMs < 10 || sampleMs > 600_000) {
        throw invalidInput(`sampleMs must be a number of milliseconds in [10, 600000], got ${JSON.stringify(sampleMs)}`);
      }
      const ctx = Context.current();
      const key = `${ctx.info.workflowExecution?.workflowId ?? "standalone"}/${ctx.info.activityId}`;
      const before = readCounters();
      for (let waited = 0; waited < sampleMs; waited += 500) {
        await ctx.sleep(Math.min(500, sampleMs - waited));
        ctx.heartbeat({ waited });
      }
      const after = readCounters();
      const mem = memInfo();
      const [load1 = 0, load5 = 0, load15 = 0] = os.loadavg();
      const snapshot: HostSnapshot = {
        nodeId: deps.nodeId,
        hostname: os.hostname(),
        takenAt: new Date(after.atMs).toISOString(),
        intervalMs: after.atMs - before.atMs,
        cpuCount: os.availableParallelism(),
        cpuBusyRatio: after.cpuTotal > before.cpuTotal ? (after.cpuBusy - before.cpuBusy) / (after.cpuTotal - before.cpuTotal) : 0,
        load1,
        load5,
        load15,
        memTotalBytes: mem.total,
        memAvailableBytes: mem.available,
        interfaces: rates(before, after),
      };
      return recordOnce(deps.journalDir, key, snapshot);
    },
  };
}
