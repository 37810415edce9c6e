/** Renders an incident's causal graph as a standalone SVG (no dependencies, no I/O). */

export interface SvgGraph {
  nodes: Array<{ id: string; kind: 'node' | 'link'; signal: number }>;
  edges: Array<{ from: string; to: string; weight: number }>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Circular layout with the root cause at the centre (red, thick outline); arrows point from cause
 * to effect (both ways when the onsets tie) and carry their correlation weight; fill deepens with
 * the anomaly signal; circles are nodes, rounded boxes are links.
 */
export function renderCausalGraphSvg(g: SvgGraph, opts: { rootCause?: string; title?: string } = {}): string {
  const W = 720;
  const H = 560;
  const cx = W / 2;
  const cy = H / 2 + 10;
  const root = opts.rootCause;
  const others = g.nodes.filter((v) => v.id !== root);
  const pos = new Map<string, { x: number; y: number }>();
  if (root && g.nodes.some((v) => v.id === root)) pos.set(root, { x: cx, y: cy });
  const r = Math.min(W, H) / 2 - 70;
  others.forEach((v, i) => {
    const a = (2 * Math.PI * i) / Math.max(1, others.length) - Math.PI / 2;
    pos.set(v.id, { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) });
  });
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>');
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="12" y="22" font-size="15" font-weight="bold">${esc(opts.title ?? 'Causal graph')}</text>`);
  if (root) parts.push(`<text x="12" y="40" fill="#c0392b">root cause: ${esc(root)}</text>`);
  const R = 18;
  // One line per pair: both arrowheads when each could have caused the other (same onset).
  const pairs = new Map<string, { from: string; to: string; weight: number; both: boolean }>();
  for (const e of g.edges) {
    const key = [e.from, e.to].sort().join('\u0000');
    const seen = pairs.get(key);
    if (seen) seen.both = seen.both || seen.from !== e.from;
    else pairs.set(key, { ...e, both: false });
  }
  for (const e of pairs.values()) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len = Math.hypot(dx, dy) || 1;
    const x1 = a.x + (dx / len) * (R + 2);
    const y1 = a.y + (dy / len) * (R + 2);
    const x2 = b.x - (dx / len) * (R + 2);
    const y2 = b.y - (dy / len) * (R + 2);
    const sw = (1 + 2 * Math.min(1, e.weight)).toFixed(1);
    parts.push(`<g class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}"><line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="#888" stroke-width="${sw}" marker-end="url(#arrow)"${e.both ? ' marker-start="url(#arrow)"' : ''}/>`);
    // Label at 40 % from the cause, so labels of lines that cross in the middle do not collide.
    const lx = x1 + (x2 - x1) * 0.4;
    const ly = y1 + (y2 - y1) * 0.4;
    parts.push(`<text class="weight" x="${lx.toFixed(1)}" y="${(ly - 3).toFixed(1)}" text-anchor="middle" fill="#222" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke">${e.weight.toFixed(2)}</text></g>`);
  }
  for (const v of g.nodes) {
    const p = pos.get(v.id)!;
    const isRoot = v.id === root;
    const heat = Math.min(1, v.signal / 12);
    const fill = isRoot ? '#e74c3c' : `rgb(255,${Math.round(230 - 120 * heat)},${Math.round(200 - 150 * heat)})`;
    const shape = v.kind === 'link'
      ? `<rect x="${(p.x - R).toFixed(1)}" y="${(p.y - R * 0.7).toFixed(1)}" width="${2 * R}" height="${(1.4 * R).toFixed(1)}" rx="4" fill="${fill}" stroke="${isRoot ? '#7b1d12' : '#555'}" stroke-width="${isRoot ? 4 : 1.5}"/>`
      : `<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="${R}" fill="${fill}" stroke="${isRoot ? '#7b1d12' : '#555'}" stroke-width="${isRoot ? 4 : 1.5}"/>`;
    parts.push(`<g class="${isRoot ? 'entity root-cause' : 'entity'}" data-id="${esc(v.id)}">${shape}<text x="${p.x.toFixed(1)}" y="${(p.y + R + 14).toFixed(1)}" text-anchor="middle"${isRoot ? ' font-weight="bold"' : ''}>${esc(v.id)}</text></g>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}
