/**
 * What each map means: byte layouts of the C structs in bpf/src/ turned into typed records with
 * labels (interface names, protocol names, syscall names, kernel drop-reason names). The kernel side
 * only counts; everything readable is made here, as cloudflare/ebpf_exporter's decoders do.
 */
import fs from 'node:fs';
import net from 'node:net';
import koffi from 'koffi';
import type { BpfMap } from './loader.js';
import { libbpf } from './libbpf.js';

// ---------------------------------------------------------------------------------------------
// labels

const L3_NAMES = ['other', 'ipv4', 'ipv6', 'arp'] as const;
export type L3Name = (typeof L3_NAMES)[number];

const IP_PROTOCOLS: Record<number, string> = {
  1: 'icmp', 2: 'igmp', 4: 'ipip', 6: 'tcp', 17: 'udp', 41: 'ipv6', 43: 'ipv6-route', 44: 'ipv6-frag', 47: 'gre', 50: 'esp', 51: 'ah', 58: 'icmpv6', 132: 'sctp',
};

/** IP protocol number → name (IPv6: 0 is the hop-by-hop header, e.g. MLD). */
export function protocolName(l3: L3Name, proto: number): string {
  if (l3 !== 'ipv4' && l3 !== 'ipv6') return 'none';
  if (proto === 0 && l3 === 'ipv6') return 'ipv6-hopopts';
  return IP_PROTOCOLS[proto] ?? `ip-proto-${proto}`;
}

const ifnameCache = new Map<number, string>();
/** Interface name for an index in this network namespace ("if<N>" when gone or elsewhere). */
export function ifname(ifindex: number): string {
  if (ifindex === 0) return 'none';
  const cached = ifnameCache.get(ifindex);
  if (cached) return cached;
  const buf = Buffer.alloc(16);
  const ok = libbpf().if_indextoname(ifindex, buf);
  const name = ok ? buf.toString('latin1', 0, buf.indexOf(0)) : `if${ifindex}`;
  if (ok) ifnameCache.set(ifindex, name);
  return name;
}

/** Forgets interface names (after interfaces were re-created with other indexes). */
export function forgetInterfaceNames(): void {
  ifnameCache.clear();
}

let syscallNames: Map<number, string> | undefined;
/** x86-64 syscall number → name, from the installed kernel headers (linux-libc-dev). */
export function syscallName(nr: number): string {
  if (!syscallNames) {
    syscallNames = new Map();
    try {
      const text = fs.readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8');
      for (const m of text.matchAll(/^#define __NR_(\w+)\s+(\d+)/gm)) syscallNames.set(Number(m[2]), m[1]!);
    } catch {
      /* headers absent: numbers it is */
    }
  }
  return syscallNames.get(nr) ?? `syscall_${nr}`;
}

/** Syscall name → number (inverse of syscallName), or undefined. */
export function syscallNumber(name: string): number | undefined {
  syscallName(0);
  for (const [nr, n] of syscallNames!) if (n === name) return nr;
  return undefined;
}

let dropReasons: Map<number, string> | undefined;
/**
 * enum skb_drop_reason value → lower-case name (e.g. 2 → "no_socket"), read from the running
 * kernel's BTF, so it is right for this kernel whatever its version.
 */
export function dropReasonName(reason: number): string {
  if (!dropReasons) {
    dropReasons = new Map();
    const l = libbpf();
    const btf = l.btf__load_vmlinux_btf();
    if (btf) {
      try {
        const id = l.btf__find_by_name_kind(btf, 'skb_drop_reason', 6 /* BTF_KIND_ENUM */);
        const t = id > 0 ? l.btf__type_by_id(btf, id) : null;
        if (t) {
          const head = new DataView(koffi.view(t, 12));
          const vlen = head.getUint32(4, true) & 0xffff;
          const members = new DataView(koffi.view(t + 12n, vlen * 8));
          for (let i = 0; i < vlen; i++) {
            const name = l.btf__name_by_offset(btf, members.getUint32(i * 8, true)) as string;
            dropReasons.set(members.getInt32(i * 8 + 4, true), name.replace(/^SKB_DROP_REASON_/, '').toLowerCase());
          }
        }
      } finally {
        l.btf__free(btf);
      }
    }
  }
  return dropReasons.get(reason) ?? `reason_${reason}`;
}

// ---------------------------------------------------------------------------------------------
// addresses

/** 16 bytes (IPv4 in the first 4) → text. */
export function addrToString(buf: Buffer, family: number): string {
  if (family === 4) return `${buf[0]}.${buf[1]}.${buf[2]}.${buf[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(i).toString(16));
  // compress the longest run of zero groups, as inet_ntop does
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/** Text address → {family, 16 bytes}; throws RangeError on anything that is not an IP address. */
export function parseAddr(text: string): { family: 4 | 6; bytes: Buffer } {
  const bytes = Buffer.alloc(16);
  const kind = net.isIP(text);
  if (kind === 4) {
    text.split('.').forEach((p, i) => (bytes[i] = Number(p)));
    return { family: 4, bytes };
  }
  if (kind !== 6) throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
  let s = text.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    s = s.slice(0, v4.index) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return { family: 6, bytes };
}

// ---------------------------------------------------------------------------------------------
// per-map decoders

function sumU64(values: Buffer[], offset: number): number {
  let total = 0n;
  for (const v of values) total += v.readBigUInt64LE(offset);
  return Number(total);
}

/** xdp_counter's `xdp_stats` (one object per interface): one record per protocol seen, summed over CPUs. */
export interface XdpStat {
  interface: string;
  l3: L3Name;
  l4: string;
  packets: number;
  bytes: number;
  drops: number;
}

export function decodeXdpStats(map: BpfMap, iface: string): XdpStat[] {
  const out: XdpStat[] = [];
  map.lookupAllArray().forEach((values, idx) => {
    const packets = sumU64(values, 0);
    if (packets === 0) return;
    const l3 = L3_NAMES[idx >> 8] ?? 'other';
    out.push({ interface: iface, l3, l4: protocolName(l3, idx & 0xff), packets, bytes: sumU64(values, 8), drops: sumU64(values, 16) });
  });
  return out;
}

export type FlowDirection = 'ingress' | 'egress';

/** One record of tc_classifier's `tc_flows` per 5-tuple, direction and interface. */
export interface FlowStat {
  family: 4 | 6;
  src: string;
  dst: string;
  protocol: string;
  /** TCP/UDP ports; for ICMP sport is the echo identifier and dport is type << 8 | code. */
  sport: number;
  dport: number;
  icmpType?: number;
  icmpCode?: number;
  direction: FlowDirection;
  ifindex: number;
  interface: string;
  packets: number;
  bytes: number;
  firstSeenNs: number;
  lastSeenNs: number;
  policyDrops: number;
}

function minNonZeroU64(values: Buffer[], offset: number): number {
  let m = 0n;
  for (const v of values) {
    const x = v.readBigUInt64LE(offset);
    if (x !== 0n && (m === 0n || x < m)) m = x;
  }
  return Number(m);
}

function maxU64(values: Buffer[], offset: number): number {
  let m = 0n;
  for (const v of values) {
    const x = v.readBigUInt64LE(offset);
    if (x > m) m = x;
  }
  return Number(m);
}

/** Converts kernel jiffies (what tc_classifier stores) to monotonic ns. */
export type JiffiesToNs = (jiffies: number) => number;

function decodeFlow(key: Buffer, values: Buffer[], family: 4 | 6, toNs: JiffiesToNs): FlowStat {
  const o = family === 4 ? 8 : 32; // where the ports start
  const proto = key.readUInt8(o + 4);
  const dport = key.readUInt16LE(o + 2);
  const isIcmp = proto === 1 || proto === 58;
  const ifindex = key.readUInt32LE(o + 8);
  const first = minNonZeroU64(values, 16);
  const last = maxU64(values, 24);
  return {
    family,
    src: family === 4 ? addrToString(key.subarray(0, 4), 4) : addrToString(key.subarray(0, 16), 6),
    dst: family === 4 ? addrToString(key.subarray(4, 8), 4) : addrToString(key.subarray(16, 32), 6),
    protocol: protocolName(family === 4 ? 'ipv4' : 'ipv6', proto),
    sport: key.readUInt16LE(o),
    dport,
    ...(isIcmp ? { icmpType: dport >> 8, icmpCode: dport & 0xff } : {}),
    direction: key.readUInt8(o + 5) === 1 ? 'egress' : 'ingress',
    ifindex,
    interface: ifname(ifindex),
    packets: sumU64(values, 0),
    bytes: sumU64(values, 8),
    firstSeenNs: first ? toNs(first) : 0,
    lastSeenNs: last ? toNs(last) : 0,
    policyDrops: sumU64(values, 32),
  };
}

/** tc_classifier's `tc_flows4` + `tc_flows6` (LRU, per CPU): counts summed, first seen = earliest, last seen = latest CPU. */
export function decodeFlows(flows4: BpfMap, flows6: BpfMap, toNs: JiffiesToNs): FlowStat[] {
  return [
    ...flows4.entries().map(({ key, values }) => decodeFlow(key, values, 4, toNs)),
    ...flows6.entries().map(({ key, values }) => decodeFlow(key, values, 6, toNs)),
  ];
}

export type PolicyAction = 'drop' | 'rate_limit';
const POLICY_ACTIONS: Record<PolicyAction, number> = { drop: 1, rate_limit: 2 };

/** A source policy as written by a remediation. */
export interface SourcePolicy {
  source: string;
  action: PolicyAction;
  /** rate_limit only: sustained bytes per second and bucket size in bytes. */
  rateBytesPerSec?: number;
  burstBytes?: number;
}

/** A policy as the kernel holds it, with its own counters. */
export interface PolicyState extends Required<SourcePolicy> {
  passed: number;
  dropped: number;
}

export function encodePolicyKey(source: string): Buffer {
  const { family, bytes } = parseAddr(source);
  const key = Buffer.alloc(20);
  key.writeUInt8(family, 0);
  bytes.copy(key, 4);
  return key;
}

/** The value written for a policy (lock, tokens, counters zero; the kernel fills the bucket on first use). */
export function encodePolicyValue(p: SourcePolicy): Buffer {
  const v = Buffer.alloc(56);
  v.writeUInt32LE(POLICY_ACTIONS[p.action], 4);
  v.writeBigUInt64LE(BigInt(Math.round(p.rateBytesPerSec ?? 0)), 8);
  v.writeBigUInt64LE(BigInt(Math.round(p.burstBytes ?? 0)), 16);
  return v;
}

export function decodePolicyValue(source: string, v: Buffer): PolicyState {
  const action = v.readUInt32LE(4) === 2 ? 'rate_limit' : 'drop';
  return {
    source,
    action,
    rateBytesPerSec: Number(v.readBigUInt64LE(8)),
    burstBytes: Number(v.readBigUInt64LE(16)),
    passed: Number(v.readBigUInt64LE(40)),
    dropped: Number(v.readBigUInt64LE(48)),
  };
}

export function decodePolicies(map: BpfMap): PolicyState[] {
  return map.entries().map(({ key, value }) => {
    const family = key.readUInt8(0);
    return decodePolicyValue(addrToString(key.subarray(4, 20), family), value);
  });
}

export const SYSCALL_SLOTS = 32;

/** Latency histogram of one syscall: bucket k counts latencies in [2^k, 2^(k+1)) ns. */
export interface SyscallHistogram {
  nr: number;
  syscall: string;
  buckets: number[];
  count: number;
  sumNs: number;
}

/** kprobe_syscall_latency's `syscall_hist` + `syscall_sum_ns`: syscalls seen at least once. */
export function decodeSyscallHistograms(hist: BpfMap, sums: BpfMap): SyscallHistogram[] {
  const h = hist.lookupAllArray();
  const s = sums.lookupAllArray();
  const out: SyscallHistogram[] = [];
  const nrs = Math.floor(hist.maxEntries / SYSCALL_SLOTS);
  for (let nr = 0; nr < nrs; nr++) {
    const buckets = Array.from({ length: SYSCALL_SLOTS }, (_, k) => {
      const v = h[nr * SYSCALL_SLOTS + k];
      return v ? sumU64(v, 0) : 0;
    });
    const count = buckets.reduce((a, b) => a + b, 0);
    if (count === 0) continue;
    const sv = s[nr];
    out.push({ nr, syscall: syscallName(nr), buckets, count, sumNs: sv ? sumU64(sv, 0) : 0 });
  }
  return out;
}

/**
 * The q-quantile (0..1) of a log2 histogram in ns, interpolated linearly inside the bucket
 * (as Prometheus' histogram_quantile does). undefined for an empty histogram.
 */
export function histogramQuantile(buckets: number[], q: number): number | undefined {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let k = 0; k < buckets.length; k++) {
    const c = buckets[k]!;
    if (c > 0 && seen + c >= rank) {
      const lo = k === 0 ? 0 : 2 ** k;
      const hi = 2 ** (k + 1);
      return lo + ((hi - lo) * (rank - seen)) / c;
    }
    seen += c;
  }
  return 2 ** buckets.length;
}

/** tracepoint_net's `net_drops`: drops by kernel reason and device. */
export interface DropStat {
  reason: string;
  reasonCode: number;
  interface: string;
  count: number;
}

export function decodeDrops(map: BpfMap): DropStat[] {
  return map.entries().map(({ key, values }) => {
    const reasonCode = key.readUInt32LE(0);
    const name = key.toString('latin1', 8, 24).replace(/\0.*$/s, '');
    return { reason: dropReasonName(reasonCode), reasonCode, interface: name || 'none', count: sumU64(values, 0) };
  });
}

/** tracepoint_net's `net_dev`: packets/bytes each device received and transmitted. */
export interface DeviceStat {
  interface: string;
  ifindex: number;
  direction: 'receive' | 'transmit';
  packets: number;
  bytes: number;
}

export function decodeDevices(map: BpfMap): DeviceStat[] {
  return map.entries().map(({ key, values }) => ({
    ifindex: key.readUInt32LE(0),
    direction: key.readUInt32LE(4) === 1 ? 'transmit' : 'receive',
    interface: key.toString('latin1', 8, 24).replace(/\0.*$/s, ''),
    packets: sumU64(values, 0),
    bytes: sumU64(values, 8),
  }));
}

/** fault_injector's config and counters. */
export interface FaultStat {
  dropPercent: number;
  seen: number;
  dropped: number;
}

export function encodeFaultConfig(dropPercent: number): Buffer {
  const v = Buffer.alloc(8);
  v.writeUInt32LE(Math.round(dropPercent * 10_000), 0);
  return v;
}

export function decodeFault(config: BpfMap, stats: BpfMap): FaultStat {
  const key = Buffer.alloc(4);
  const c = config.lookup(key);
  const s = stats.lookupPerCpu(key) ?? [];
  return { dropPercent: c ? c.readUInt32LE(0) / 10_000 : 0, seen: sumU64(s, 0), dropped: sumU64(s, 8) };
}
