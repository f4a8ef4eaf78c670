// How a kind reads its input ports: ctx.ports[name], which pipeline.yaml bound when it was
// loaded (src/spec.ts), checked against the kind's declaration (stages/ports.ts). A kind never
// looks for an input by stage name or by shape.
import { UserError } from '../src/errors.js';
import type { Artifact, CollectionArtifact, PortSpec, TreeArtifact } from '../src/stage-api.js';
import { CONTRACTS, type Contract } from './ports.js';

type ArtifactOf<P extends PortSpec> = P['artifact'] extends 'collection' ? CollectionArtifact : TreeArtifact;

/** Port name -> the bound artifact, typed by the port's declaration (optional ports may be absent). */
export type BoundPorts<T extends Readonly<Record<string, PortSpec>>> = {
  readonly [K in keyof T]: T[K]['optional'] extends true ? ArtifactOf<T[K]> | undefined : ArtifactOf<T[K]>;
};

/** What a kind's context holds of its inputs. */
export interface PortsContext {
  readonly stage: string;
  readonly ports: Readonly<Record<string, Artifact>>;
}

/**
 * Every declared port's artifact. A required port with nothing bound, or bound to the wrong
 * artifact type, is a UserError naming the port and the fix (the loader refuses such a
 * pipeline.yaml, so this guards callers that build a context by hand).
 */
export function readPorts<T extends Readonly<Record<string, PortSpec>>>(ctx: PortsContext, ports: T): BoundPorts<T> {
  const out: Record<string, Artifact | undefined> = {};
  for (const [name, spec] of Object.entries(ports)) {
    const a = ctx.ports[name];
    if (a === undefined) {
      if (spec.optional === true) continue;
      throw new UserError(
        `stage ${ctx.stage}: nothing is bound to its input '${name}' (${spec.doc}: ${CONTRACTS[spec.contract as Contract]?.doc ?? spec.contract})`,
        `bind it in pipeline.yaml: inputs: {${name}: <a stage that writes ${spec.contract}>}, or list that stage under deps`,
      );
    }
    if (a.type !== spec.artifact) {
      throw new UserError(
        `stage ${ctx.stage}: its input '${name}' needs a ${spec.artifact} (${spec.contract}), but a ${a.type} is bound to it`,
        `bind '${name}' to a stage that writes ${spec.contract} (inputs: in pipeline.yaml)`,
      );
    }
    out[name] = a;
  }
  return out as BoundPorts<T>;
}
