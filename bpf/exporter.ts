/**
 * Prometheus export of the eBPF maps, read at scrape time (no polling loop): each metric below is a
 * prom-client metric whose values come from one decoded reading of the runtime's maps per scrape,
 * the way cloudflare/ebpf_exporter turns maps into series. Histograms are log2 in the kernel and made
 * cumulative here. Names follow Prometheus conventions: base units, `_total` for counters.
 */
import type { Registry } from 'prom-client';
import { SYSCALL_SLOTS } from './decoders.js';
import type { CounterReading, EbpfRuntime } from './runtime.js';

type Labels = Record<string, string | number>;
interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** A metric in the shape prom-client's Registry renders (what its own metric classes return from get()). */
class MapMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly values: (r: CounterReading) => Sample[],
    private readonly reading: () => CounterReading | undefined,
  ) {}

  async get() {
    const r = this.reading();
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: r ? this.values(r) : [] };
  }
}

/** Upper bounds (seconds) of the kernel's log2 ns buckets: bucket k ends at 2^(k+1) ns. */
const SYSCALL_LE = Array.from({ length: SYSCALL_SLOTS }, (_, k) => 2 ** (k + 1) / 1e9);

function sumBy<T>(items: T[], key: (t: T) => string, labels: (t: T) => Labels, value: (t: T) => number): Sample[] {
  const acc = new Map<string, Sample>();
  for (const it of items) {
    const k = key(it);
    const s = acc.get(k);
    if (s) s.value += value(it);
    else acc.set(k, { labels: labels(it), value: value(it) });
  }
  return [...acc.values()];
}

/**
 * Registers the eBPF series on `registry` (once per registry). `runtime()` gives the node's runtime,
 * or undefined while eBPF is off: then the metrics render with no series.
 */
export function registerEbpfMetrics(registry: Registry, runtime: () => EbpfRuntime | undefined): void {
  if (registry.getSingleMetric('x0t_xdp_packets_total')) return;
  // One map read serves every metric of one scrape (they are collected concurrently).
  let cached: { at: number; r: CounterReading | undefined } | undefined;
  const reading = () => {
    const now = Date.now();
    if (!cached || now - cached.at > 200) {
      let r: CounterReading | undefined;
      try {
        r = runtime()?.read();
      } catch {
        r = undefined; // a scrape never fails because a map vanished meanwhile
      }
      cached = { at: now, r };
    }
    return cached.r;
  };
  const add = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: (r: CounterReading) => Sample[]) =>
    registry.registerMetric(new MapMetric(name, help, type, values, reading) as unknown as Parameters<Registry['registerMetric']>[0]);

  const xdpLabels = (x: CounterReading['xdp'][number]) => ({ interface: x.interface, l3: x.l3, l4: x.l4 });
  add('x0t_xdp_packets_total', 'Packets seen by xdp_counter, per interface and L3/L4 protocol', 'counter', (r) => r.xdp.map((x) => ({ labels: xdpLabels(x), value: x.packets })));
  add('x0t_xdp_bytes_total', 'Bytes seen by xdp_counter, per interface and L3/L4 protocol', 'counter', (r) => r.xdp.map((x) => ({ labels: xdpLabels(x), value: x.bytes })));
  add('x0t_xdp_drops_total', 'Packets xdp_counter dropped (headers shorter than they claim)', 'counter', (r) => r.xdp.map((x) => ({ labels: xdpLabels(x), value: x.drops })));

  const flowKey = (f: CounterReading['flows'][number]) => `${f.interface}|${f.direction}|${f.protocol}`;
  const flowLabels = (f: CounterReading['flows'][number]) => ({ interface: f.interface, direction: f.direction, protocol: f.protocol });
  add('x0t_tc_packets_total', 'Packets tc_classifier saw in flows still in its LRU map, per interface, direction and protocol', 'counter', (r) =>
    sumBy(r.flows, flowKey, flowLabels, (f) => f.packets),
  );
  add('x0t_tc_bytes_total', 'Bytes tc_classifier saw in flows still in its LRU map, per interface, direction and protocol', 'counter', (r) =>
    sumBy(r.flows, flowKey, flowLabels, (f) => f.bytes),
  );
  add('x0t_tc_flows', 'Flows in tc_classifier\'s LRU map, per interface and direction', 'gauge', (r) =>
    sumBy(r.flows, (f) => `${f.interface}|${f.direction}`, (f) => ({ interface: f.interface, direction: f.direction }), () => 1),
  );
  add('x0t_tc_policy_dropped_packets_total', 'Packets a source policy dropped (drop, or over its rate limit)', 'counter', (r) =>
    r.policies.map((p) => ({ labels: { source: p.source, action: p.action }, value: p.dropped })),
  );
  add('x0t_tc_policy_passed_packets_total', 'Packets from a policed source that passed', 'counter', (r) =>
    r.policies.map((p) => ({ labels: { source: p.source, action: p.action }, value: p.passed })),
  );

  add('x0t_syscall_latency_seconds', 'Syscall latency per syscall (log2 buckets from kprobe_syscall_latency)', 'histogram', (r) =>
    r.syscalls.flatMap((h) => {
      let cum = 0;
      const out: Sample[] = h.buckets.map((c, k) => {
        cum += c;
        return { metricName: 'x0t_syscall_latency_seconds_bucket', labels: { syscall: h.syscall, le: SYSCALL_LE[k]! }, value: cum };
      });
      out.push({ metricName: 'x0t_syscall_latency_seconds_bucket', labels: { syscall: h.syscall, le: '+Inf' }, value: h.count });
      out.push({ metricName: 'x0t_syscall_latency_seconds_sum', labels: { syscall: h.syscall }, value: h.sumNs / 1e9 });
      out.push({ metricName: 'x0t_syscall_latency_seconds_count', labels: { syscall: h.syscall }, value: h.count });
      return out;
    }),
  );

  add('x0t_net_drops_total', 'Packets the kernel freed as dropped (skb:kfree_skb), by drop reason and device', 'counter', (r) =>
    r.drops.map((d) => ({ labels: { reason: d.reason, interface: d.interface }, value: d.count })),
  );
  add('x0t_net_device_packets_total', 'Packets devices received (netif_receive_skb) and transmitted (net_dev_xmit)', 'counter', (r) =>
    r.devices.map((d) => ({ labels: { interface: d.interface, direction: d.direction }, value: d.packets })),
  );
  add('x0t_net_device_bytes_total', 'Bytes devices received and transmitted', 'counter', (r) =>
    r.devices.map((d) => ({ labels: { interface: d.interface, direction: d.direction }, value: d.bytes })),
  );

  add('x0t_fault_injector_seen_packets_total', 'IP packets a fault injector saw', 'counter', (r) => r.faults.map((f) => ({ labels: { attachment: f.key }, value: f.seen })));
  add('x0t_fault_injector_dropped_packets_total', 'IP packets a fault injector dropped', 'counter', (r) => r.faults.map((f) => ({ labels: { attachment: f.key }, value: f.dropped })));
  add('x0t_fault_injector_drop_ratio', 'Configured share of packets a fault injector drops (0..1)', 'gauge', (r) =>
    r.faults.map((f) => ({ labels: { attachment: f.key }, value: f.dropPercent / 100 })),
  );

  add('x0t_bpf_program_info', 'One series per loaded program of ours, with its kernel id (as in `bpftool prog list`)', 'gauge', (r) =>
    r.programs.map((p) => ({ labels: { object: p.object, program: p.program, id: p.id }, value: 1 })),
  );
  add('x0t_bpf_program_run_seconds_total', 'Kernel time spent running each of our BPF programs (while kernel BPF stats are on)', 'counter', (r) =>
    r.programs.map((p) => ({ labels: { object: p.object, program: p.program }, value: p.runTimeNs / 1e9 })),
  );
  add('x0t_bpf_program_runs_total', 'Times each of our BPF programs ran (while kernel BPF stats are on)', 'counter', (r) =>
    r.programs.map((p) => ({ labels: { object: p.object, program: p.program }, value: p.runCount })),
  );
}
