/**
 * Test labs for the eBPF tests: a network namespace joined to this one by a veth pair, unique names
 * per lab, addresses only inside the lab (10.250.x.0/30 and a ULA /64), torn down by destroy() (call it
 * from `after`, it tolerates a half-built lab). Traffic is only ever sent across these pairs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { listKernelPrograms } from '../../../bpf/loader.js';

export interface VethLab {
  ns: string;
  /** The end in this (the test's) namespace: where the programs attach. */
  hostIf: string;
  /** The end inside the lab namespace. */
  nsIf: string;
  host4: string;
  ns4: string;
  host6: string;
  ns6: string;
  /** Runs a command inside the lab namespace; returns stdout. */
  inNs(cmd: string, args: string[]): string;
  destroy(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why eBPF tests cannot run here (undefined when they can): root, ip, ping, built objects. */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (CAP_BPF, CAP_NET_ADMIN) to load programs and make network namespaces';
  for (const bin of ['/usr/sbin/ip', '/usr/bin/ping']) if (!fs.existsSync(bin)) return `${bin} is missing (npm run setup as root installs iproute2 and iputils-ping)`;
  return undefined;
}

export function createVethLab(): VethLab {
  const id = crypto.randomBytes(3).toString('hex');
  const octet = crypto.randomInt(1, 250);
  const hextet = crypto.randomBytes(2).toString('hex');
  const lab: VethLab = {
    ns: `x0t-lab-${id}`,
    hostIf: `xe${id}h`,
    nsIf: `xe${id}n`,
    host4: `10.250.${octet}.1`,
    ns4: `10.250.${octet}.2`,
    host6: `fd58:7830:${hextet}::1`,
    ns6: `fd58:7830:${hextet}::2`,
    inNs: (cmd, args) => execFileSync('ip', ['netns', 'exec', lab.ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    destroy() {
      spawnSync('ip', ['link', 'del', lab.hostIf], { stdio: 'ignore' });
      spawnSync('ip', ['netns', 'del', lab.ns], { stdio: 'ignore' });
    },
  };
  try {
    ip(['netns', 'add', lab.ns]);
    ip(['link', 'add', lab.hostIf, 'type', 'veth', 'peer', 'name', lab.nsIf, 'netns', lab.ns]);
    ip(['addr', 'add', `${lab.host4}/30`, 'dev', lab.hostIf]);
    ip(['-6', 'addr', 'add', `${lab.host6}/64`, 'dev', lab.hostIf, 'nodad']);
    ip(['link', 'set', lab.hostIf, 'up']);
    ip(['-n', lab.ns, 'addr', 'add', `${lab.ns4}/30`, 'dev', lab.nsIf]);
    ip(['-n', lab.ns, '-6', 'addr', 'add', `${lab.ns6}/64`, 'dev', lab.nsIf, 'nodad']);
    ip(['-n', lab.ns, 'link', 'set', lab.nsIf, 'up']);
    ip(['-n', lab.ns, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    lab.destroy();
    throw new Error(`cannot build the veth lab: ${(err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message}`);
  }
  return lab;
}

/** Pings `target` from inside the lab `count` times; returns {transmitted, received} from ping's summary. */
export function pingFromNs(lab: VethLab, target: string, count: number, opts: { intervalS?: number; size?: number } = {}): { transmitted: number; received: number } {
  const args = ['-q', '-n', '-c', String(count), '-i', String(opts.intervalS ?? 0.005), '-W', '1', ...(opts.size ? ['-s', String(opts.size)] : []), target];
  const res = spawnSync('ip', ['netns', 'exec', lab.ns, 'ping', ...args], { encoding: 'utf8' });
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(res.stdout);
  if (!m) throw new Error(`ping gave no summary (exit ${res.status}): ${res.stdout}${res.stderr}`);
  return { transmitted: Number(m[1]), received: Number(m[2]) };
}

/** Waits until none of `ids` is loaded in the kernel (freeing is RCU-deferred); returns those left. */
export async function programsGone(ids: number[], timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const loaded = new Set(listKernelPrograms().map((p) => p.id));
    const left = ids.filter((id) => loaded.has(id));
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}
