/** Shapes that cross the workflow/activity boundary for host snapshots (types only). */

export interface InterfaceCounters {
  name: string;
  addresses: string[];
  operState: string;
  rxBytesPerSec: number;
  txBytesPerSec: number;
  rxPacketsPerSec: number;
  txPacketsPerSec: number;
  rxDroppedPerSec: number;
  txDroppedPerSec: number;
  rxErrorsPerSec: number;
  txErrorsPerSec: number;
}

/** What a node reports about itself over one sampling interval (rates, not raw counters). */
export interface HostSnapshot {
  nodeId: string;
  hostname: string;
  takenAt: string; // ISO time at the end of the interval
  intervalMs: number;
  cpuCount: number;
  cpuBusyRatio: number; // 0..1 over the interval
  load1: number;
  load5: number;
  load15: number;
  memTotalBytes: number;
  memAvailableBytes: number;
  interfaces: InterfaceCounters[];
}

/** The node's record of a snapshot: the key makes a retried activity record it once. */
export interface RecordedSnapshot {
  idempotencyKey: string;
  snapshot: HostSnapshot;
  /** 'new' when this attempt recorded it, 'existing' when an earlier attempt already had. */
  recorded: 'new' | 'existing';
}

export type HostHealth = 'healthy' | 'degraded' | 'critical';

export interface HostAssessment {
  nodeId: string;
  health: HostHealth;
  findings: string[];
}
