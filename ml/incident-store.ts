import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { INCIDENT_ID, type AnalysisResult } from './analyze.js';
import { renderCausalGraphSvg } from './svg.js';

/*
 * Incidents live in the control process's data dir (dataDir()/incidents/<id>.json): the ML worker
 * may run elsewhere, so the workflow hands the analysis to a control-queue activity that stores it
 * here, and the control process serves it. This module has no TensorFlow dependency.
 */

export function incidentsDir(dataDir: string): string {
  return path.join(dataDir, 'incidents');
}

/** Stores an incident once: a retried store of the same id finds it and reports 'existing'. */
export function storeIncident(dataDir: string, incident: AnalysisResult): { incidentId: string; stored: 'new' | 'existing' } {
  if (!INCIDENT_ID.test(incident.incidentId)) throw new TypeError(`incident id ${JSON.stringify(incident.incidentId)} must match ${INCIDENT_ID}`);
  const dir = incidentsDir(dataDir);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${incident.incidentId}.json`);
  const tmp = path.join(dir, `.${incident.incidentId}.${process.pid}.${Date.now()}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(incident, null, 2));
  try {
    fs.linkSync(tmp, file); // atomic: exactly one attempt creates the file
    return { incidentId: incident.incidentId, stored: 'new' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { incidentId: incident.incidentId, stored: 'existing' };
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export function readIncident(dataDir: string, id: string): AnalysisResult | null {
  if (!INCIDENT_ID.test(id)) return null;
  try {
    return JSON.parse(fs.readFileSync(path.join(incidentsDir(dataDir), `${id}.json`), 'utf8')) as AnalysisResult;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** `GET /incidents/:id` (JSON) and `GET /incidents/:id/graph.svg` on the control process. */
export function registerIncidentRoutes(app: FastifyInstance, dataDir: string): void {
  app.get<{ Params: { id: string } }>('/incidents/:id', async (req, reply) => {
    const inc = readIncident(dataDir, req.params.id);
    if (!inc) return reply.code(404).send({ error: `no incident ${req.params.id}` });
    return reply.type('application/json').send(inc);
  });
  app.get<{ Params: { id: string } }>('/incidents/:id/graph.svg', async (req, reply) => {
    const inc = readIncident(dataDir, req.params.id);
    if (!inc) return reply.code(404).type('text/plain').send(`no incident ${req.params.id}\n`);
    const svg = renderCausalGraphSvg(inc.graph, { rootCause: inc.rootCauses[0]?.entity, title: `Incident ${inc.incidentId}: ${inc.faultClass ?? 'no fault'}` });
    return reply.type('image/svg+xml').send(svg);
  });
}
