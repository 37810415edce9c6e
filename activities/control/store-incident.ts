import type { AnalysisResult } from '../../ml/analyze.js';
import { storeIncident } from '../../ml/incident-store.js';
import { invalidInput } from '../errors.js';

/** Activities on `x0t-control` that keep incidents where the control process serves them. */
export function createIncidentActivities(deps: { dataDir: string }) {
  return {
    /** Stores an analysed incident under dataDir()/incidents; idempotent by incident id. */
    async storeIncident(incident: AnalysisResult): Promise<{ incidentId: string; stored: 'new' | 'existing' }> {
      if (!incident || typeof incident.incidentId !== 'string') throw invalidInput('storeIncident needs an analysis result with an incidentId');
      try {
        return storeIncident(deps.dataDir, incident);
      } catch (err) {
        if (err instanceof TypeError) throw invalidInput(err.message);
        throw err;
      }
    },
  };
}
