import type { Scenario } from './simulator.js';

/**
 * The remediation actions the Plan step can choose from (its action table), by name. The ML worker
 * only suggests; the Plan decides with its policy and knowledge (success rate, MTTR per action and
 * fault class) and the node worker executes.
 */
export const ACTIONS = {
  reroute_around_link: 'raise the link\'s routing cost so traffic takes another path',
  reroute_around_node: 'route transit traffic around the node',
  rate_limit_source: 'rate-limit the heaviest flow source on the node (tc policy map)',
  drop_source: 'drop a flooding source on the node (tc policy map)',
  restart_service: 'restart the overloaded service on the node',
  drain_node: 'take the node out of transit until it recovers',
  restart_node_agent: 'restart the node\'s agent (it stopped reporting)',
  escalate_to_human: 'page an operator with the incident',
} as const;
export type RemediationAction = keyof typeof ACTIONS;

export interface Suggestion {
  action: RemediationAction;
  /** Node id or link id the action applies to. */
  target: string;
  why: string;
}

/** Actions for a fault class at a root cause, most appropriate first; the last resort is always a human. */
export function suggestRemediations(faultClass: Exclude<Scenario, 'healthy'>, root: string): Suggestion[] {
  const s = (action: RemediationAction, why: string): Suggestion => ({ action, target: root, why });
  const human = s('escalate_to_human', 'if the automatic actions do not restore the link/node');
  switch (faultClass) {
    case 'link_degradation':
      return [s('reroute_around_link', 'loss and latency rose on this link alone; its ends are healthy'), human];
    case 'node_overload':
      return [s('rate_limit_source', 'CPU, syscall latency and drops rose on this node first'), s('restart_service', 'if load stays high after rate limiting'), human];
    case 'cascade_failure':
      return [s('drain_node', 'overload spread from this node to its neighbours'), s('rate_limit_source', 'cut the load that started the cascade'), human];
    case 'interference':
      return [s('reroute_around_node', 'every link at this node degraded together while the node itself stays up'), human];
    case 'partition':
      return [s('restart_node_agent', 'the node went silent and all its links lost every probe'), s('reroute_around_node', 'keep the rest of the mesh connected'), human];
  }
}
