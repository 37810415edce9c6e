import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { parseAllDocuments, parse } from 'yaml';
import { fromRoot } from '../../common/paths.js';
import { DEFAULT_HTTP_PORTS, ROLES } from '../../workers/worker-config.js';

const manifests = ['control', 'ml', 'node'].flatMap((f) =>
  parseAllDocuments(fs.readFileSync(fromRoot(`deploy/kubernetes/${f}.yaml`), 'utf8')).map((d) => d.toJSON()),
);

test('each role has a Kubernetes workload whose args, port, probes and scrape annotation agree with the worker', () => {
  for (const role of ROLES) {
    const w = manifests.find((m) => m.spec?.template?.metadata?.labels?.['app.kubernetes.io/component'] === role);
    assert.ok(w, `a workload for ${role}`);
    const c = w.spec.template.spec.containers[0];
    const port = DEFAULT_HTTP_PORTS[role];
    assert.deepEqual(c.args, ['--role', role, '--http-port', String(port)]);
    assert.equal(c.ports[0].containerPort, port);
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(w.spec.template.metadata.annotations['prometheus.io/port'], String(port));
  }
  const node = manifests.find((m) => m.kind === 'DaemonSet');
  assert.equal(node?.spec.template.spec.containers[0].securityContext.privileged, true, 'node workers load eBPF: privileged DaemonSet');
});

test('the local Prometheus config scrapes every role on its default port and the dev server metrics port', () => {
  const prom = parse(fs.readFileSync(fromRoot('deploy/prometheus/prometheus.yml'), 'utf8'));
  const local = prom.scrape_configs.find((s: { job_name: string }) => s.job_name === 'x0t-local');
  const targets = Object.fromEntries(local.static_configs.map((s: { labels: { role: string }; targets: string[] }) => [s.labels.role, s.targets[0]]));
  for (const role of ROLES) assert.equal(targets[role], `127.0.0.1:${DEFAULT_HTTP_PORTS[role]}`);
  const devSpec = parse(fs.readFileSync(fromRoot('temporal-dev.yaml'), 'utf8'));
  const server = prom.scrape_configs.find((s: { job_name: string }) => s.job_name === 'temporal-dev-server');
  assert.equal(server.static_configs[0].targets[0], `127.0.0.1:${devSpec.metricsPort}`);
});

test('Grafana dashboards are valid JSON and query only metrics with known prefixes', () => {
  const dir = fromRoot('deploy/grafana/dashboards');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const d = JSON.parse(fs.readFileSync(`${dir}/${f}`, 'utf8'));
    assert.ok(d.uid && d.panels.length > 0, `${f} has a uid and panels`);
    for (const p of d.panels) for (const t of p.targets ?? []) assert.match(t.expr, /\b(x0t_|temporal_|up\b)/, `${f}: ${p.title}`);
  }
});
