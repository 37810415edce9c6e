import { createHash } from 'node:crypto';
import { buildGraph, linkIdOf } from './graph.js';
import type { MeshModelFile, MeshSage } from './model.js';
import { analyseCause, type CausalResult } from './causal.js';
import { indexSnapshot, type MeshSnapshot } from './telemetry.js';

export interface AnalyzeInput {
  /** Stable id for the incident (e.g. from the workflow); derived from the snapshot when absent. */
  incidentId?: string;
  /** The snapshot to analyse. */
  snapshot: MeshSnapshot;
  /** Recent snapshots before it, oldest first (time precedence and correlation need them). */
  history?: MeshSnapshot[];
}

export interface ScoredEntity {
  id: string;
  score: number;
}

/** What Analyze returns: scores, ranked root causes, confidence, explanation, suggestions, links. */
export interface AnalysisResult extends Omit<CausalResult, 'candidates' | 'features'> {
  incidentId: string;
  takenAt: string;
  backend: string;
  nodes: number;
  links: number;
  /** Metric values that were missing and imputed (flagged in the features). */
  imputed: number;
  /** GraphSAGE anomaly scores: the highest ones (at most 50 each) and how many exceed 0.5. */
  scores: { nodes: ScoredEntity[]; links: ScoredEntity[]; nodesAbove05: number; linksAbove05: number };
  /** Where the control process serves this incident (JSON) and its causal graph (SVG). */
  url: string;
  graphUrl: string;
}

function top(id: (i: number) => string, s: Float32Array, k: number): ScoredEntity[] {
  const idx: number[] = [];
  for (let i = 0; i < s.length; i++) if (s[i]! >= 0.05) idx.push(i);
  idx.sort((a, b) => s[b]! - s[a]!);
  return idx.slice(0, k).map((i) => ({ id: id(i), score: Math.round(s[i]! * 1000) / 1000 }));
}

/** Incident ids are safe as file names and URL segments. */
export const INCIDENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function incidentBaseUrl(): string {
  return (process.env.X0T_INCIDENT_BASE_URL ?? 'http://localhost:9464').replace(/\/+$/, '');
}

/** GraphSAGE scoring then causal analysis; one instance per worker holds the loaded model. */
export class Analyzer {
  constructor(readonly model: MeshSage, readonly meta: MeshModelFile, readonly backend: string) {}

  /** Throws TelemetryError for malformed input. */
  analyze(input: AnalyzeInput, with_?: { keepFeatures?: boolean }): AnalysisResult & Partial<Pick<CausalResult, 'candidates' | 'features'>> {
    const cur = indexSnapshot(input.snapshot, 'snapshot');
    const hist = (input.history ?? []).map((h, i) => indexSnapshot(h, `history[${i}]`, cur));
    const graph = buildGraph(cur, this.meta.stats);
    const scores = this.model.score(graph);
    const causal = analyseCause({ history: [...hist, cur], graph, scores, ranker: this.meta.ranker });
    const id = input.incidentId ?? `inc-${createHash('sha256').update(`${input.snapshot.takenAt}|${cur.nodeIds.length}|${causal.rootCauses[0]?.entity ?? 'none'}`).digest('hex').slice(0, 16)}`;
    const base = `${incidentBaseUrl()}/incidents/${encodeURIComponent(id)}`;
    let above = 0;
    for (const x of scores.node) if (x > 0.5) above++;
    let aboveL = 0;
    for (const x of scores.edge) if (x > 0.5) aboveL++;
    const { candidates, features, ...rest } = causal;
    return {
      incidentId: id,
      takenAt: input.snapshot.takenAt,
      backend: this.backend,
      nodes: graph.n,
      links: graph.linkEnds.length / 2,
      imputed: graph.imputed,
      scores: { nodes: top((v) => graph.nodeIds[v]!, scores.node, 50), links: top((l) => linkIdOf(graph, l), scores.edge, 50), nodesAbove05: above, linksAbove05: aboveL },
      ...rest,
      url: base,
      graphUrl: `${base}/graph.svg`,
      ...(with_?.keepFeatures ? { candidates, features } : {}),
    };
  }
}
