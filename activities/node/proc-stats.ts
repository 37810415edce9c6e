import fs from 'node:fs';
import os from 'node:os';

/** Raw, cumulative counters read from /proc and /sys at one instant. */
export interface RawCounters {
  atMs: number;
  cpuBusy: number;
  cpuTotal: number;
  interfaces: Map<string, Record<string, number>>;
}

const IFACE_COUNTERS = ['rx_bytes', 'tx_bytes', 'rx_packets', 'tx_packets', 'rx_dropped', 'tx_dropped', 'rx_errors', 'tx_errors'];

function readCpu(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number); // user nice system idle iowait irq softirq steal
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

function readInterfaces(): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const name of fs.readdirSync('/sys/class/net')) {
    const c: Record<string, number> = {};
    for (const k of IFACE_COUNTERS) {
      try {
        c[k] = Number(fs.readFileSync(`/sys/class/net/${name}/statistics/${k}`, 'utf8'));
      } catch {
        c[k] = 0; // counter not exposed by this driver
      }
    }
    out.set(name, c);
  }
  return out;
}

export function readCounters(): RawCounters {
  const cpu = readCpu();
  return { atMs: Date.now(), cpuBusy: cpu.busy, cpuTotal: cpu.total, interfaces: readInterfaces() };
}

export function operState(name: string): string {
  try {
    return fs.readFileSync(`/sys/class/net/${name}/operstate`, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export function memInfo(): { total: number; available: number } {
  const text = fs.readFileSync('/proc/meminfo', 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { total: kb('MemTotal') || os.totalmem(), available: kb('MemAvailable') || os.freemem() };
}
