// The Kubernetes manifests checked against the Kubernetes API's own OpenAPI schemas (kubernetes-models), so that a
// wrong field type, a missing required field or a misspelt key is caught here and not by `kubectl apply` on a
// user's cluster. infra.test.ts checks what the manifests mean (paths, ports, secrets); this file checks their shape.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';

const K8S = resolve(import.meta.dirname, '../../infra/k8s');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
  [key: string]: unknown;
}

interface PodSpecHolder {
  template: { spec: { containers: Record<string, unknown>[] } };
}

type ModelClass = new (data: Manifest) => { validate(): void };

function manifests(text: string, file: string): Manifest[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    return doc.toJSON() as Manifest;
  });
}

/** The models of the kinds we ship; a manifest of another kind fails the test until its model is added here. */
const MODELS: Record<string, ModelClass> = {
  'apps/v1 Deployment': Deployment,
  'v1 ConfigMap': ConfigMap,
  'v1 PersistentVolumeClaim': PersistentVolumeClaim,
  'v1 Secret': Secret,
  'v1 Service': Service,
};

function model(manifest: Manifest): ModelClass {
  const cls = MODELS[`${manifest.apiVersion} ${manifest.kind}`];
  if (!cls) throw new Error(`no schema model for ${manifest.apiVersion} ${manifest.kind}: add it to MODELS`);
  return cls;
}

function problems(manifest: Manifest): string | null {
  const Model = model(manifest);
  try {
    new Model(manifest).validate();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Kustomize's own file is not an API object: kubectl reads it, the API server never sees it. */
const isApiObject = (m: Manifest) => !m.apiVersion.startsWith('kustomize.config.k8s.io/');

const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml'));

describe('infra/k8s against the Kubernetes schemas', () => {
  it.each(files)('%s validates', (file) => {
    const objects = manifests(readFileSync(join(K8S, file), 'utf8'), file).filter(isApiObject);
    for (const object of objects)
      expect(problems(object), `${file}: ${object.kind} ${object.metadata?.name}`).toBeNull();
  });

  it('the deployment still validates with its commented-out off-site lines switched on', () => {
    const text = readFileSync(join(K8S, 'deployment.yaml'), 'utf8').replace(
      /^(\s*)# (- name: BOMNIPOTENT_EXECUTOR_[A-Z0-9_]+| {2}value: .*)$/gm,
      '$1$2',
    );
    expect(text).not.toEqual(readFileSync(join(K8S, 'deployment.yaml'), 'utf8'));
    for (const object of manifests(text, 'deployment.yaml')) expect(problems(object)).toBeNull();
  });

  it('catches what kubectl would refuse: a wrong type, a missing required field', () => {
    const [deployment] = manifests(readFileSync(join(K8S, 'deployment.yaml'), 'utf8'), 'deployment.yaml');
    const wrongType = structuredClone(deployment!);
    (wrongType.spec as PodSpecHolder).template.spec.containers[0]!.ports = [{ containerPort: 'http' }];
    expect(problems(wrongType)).toMatch(/containerPort/);
    const missing = structuredClone(deployment!);
    delete (missing.spec as PodSpecHolder).template.spec.containers[0]!.name;
    expect(problems(missing)).toMatch(/name/);
  });
});
