import { Gauge, Histogram } from 'prom-client';
import type { Logger } from '../../common/logger.js';
import { registry } from '../../workers/metrics.js';
import { initBackend } from '../../ml/backend.js';
import { Analyzer, INCIDENT_ID, type AnalysisResult, type AnalyzeInput } from '../../ml/analyze.js';
import { DEFAULT_MODEL_PATH, loadMeshModel } from '../../ml/model.js';
import { TelemetryError } from '../../ml/telemetry.js';
import { invalidInput } from '../errors.js';

const backendInfo = new Gauge({
  name: 'x0t_ml_backend_info',
  help: 'TensorFlow.js backend the ML worker runs on (value 1 for the one in use)',
  labelNames: ['backend'] as const,
  registers: [registry],
});
const analyzeSeconds = new Histogram({
  name: 'x0t_ml_analyze_seconds',
  help: 'Time of one analyze activity (GraphSAGE scoring + causal analysis)',
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
  registers: [registry],
});

function validate(input: AnalyzeInput): void {
  if (!input || typeof input !== 'object') throw invalidInput('analyze input must be an object { snapshot, history?, incidentId? }');
  if (!input.snapshot || typeof input.snapshot !== 'object') throw invalidInput('analyze input has no snapshot');
  if (input.history !== undefined && !Array.isArray(input.history)) throw invalidInput('history must be an array of snapshots, oldest first');
  if (input.incidentId !== undefined && (typeof input.incidentId !== 'string' || !INCIDENT_ID.test(input.incidentId))) {
    throw invalidInput(`incidentId ${JSON.stringify(input.incidentId)} must match ${INCIDENT_ID}`);
  }
}

/**
 * Activities on `x0t-ml` for mesh-wide analysis. The backend is chosen and the model file read
 * once, here, when the worker builds its activities; every call reuses them.
 */
export async function createAnalyzeActivities(deps: { logger: Logger; modelPath?: string }) {
  const backend = await initBackend();
  const modelPath = deps.modelPath ?? process.env.X0T_ML_MODEL ?? DEFAULT_MODEL_PATH;
  const { model, meta } = loadMeshModel(modelPath);
  backendInfo.labels(backend).set(1);
  deps.logger.info('ML model loaded', { backend, modelPath, trainedAt: meta.trainedAt, hidden: meta.config.hidden });
  const analyzer = new Analyzer(model, meta, backend);
  return {
    /**
     * GraphSAGE anomaly scores and causal root-cause analysis of one mesh snapshot with its recent
     * history. Malformed input (bad shapes, unknown node ids, NaN/infinite values) fails at once
     * with a non-retryable 'InvalidInput' that names the value.
     */
    async analyze(input: AnalyzeInput): Promise<AnalysisResult> {
      validate(input);
      const end = analyzeSeconds.startTimer();
      try {
        return analyzer.analyze(input);
      } catch (err) {
        if (err instanceof TelemetryError) throw invalidInput(err.message);
        throw err;
      } finally {
        end();
      }
    },
  };
}
