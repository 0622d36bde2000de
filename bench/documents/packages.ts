// Real package metadata for the document dataset: every package installed under node_modules, with its registry
// hash from the lock file and sentences of its README.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PackageInfo } from './shapes';

interface LockEntry {
  version?: string;
  integrity?: string;
  license?: string;
}

interface Manifest {
  name?: string;
  version?: string;
  license?: string | { type?: string };
  description?: string;
  homepage?: string;
  repository?: string | { url?: string };
  dependencies?: Record<string, string>;
}

/** sha512-<base64> (npm's integrity) as hex, the form CycloneDX hashes take; null for anything else. */
export function integrityToHex(integrity: string | undefined): string | null {
  const match = /^sha512-([A-Za-z0-9+/=]+)$/.exec(integrity?.split(' ')[0] ?? '');
  return match ? Buffer.from(match[1]!, 'base64').toString('hex') : null;
}

/** Plain sentences from a README: no code blocks, headings, tables, links-only lines or markup-heavy lines. */
export function readmeSentences(markdown: string, limit = 40): string[] {
  const text = markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .split('\n')
    .filter((line) => !/^\s*(#|\||<|!\[|\[!\[|[-*]\s*\[|>)/.test(line))
    .join(' ')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*_]/g, '')
    .replace(/\s+/g, ' ');
  return (text.match(/[A-Z][^.!?]{30,300}[.!?]/g) ?? []).slice(0, limit);
}

function readme(dir: string): string {
  for (const name of ['README.md', 'readme.md', 'Readme.md', 'README.markdown', 'README']) {
    const path = join(dir, name);
    if (existsSync(path)) return readFileSync(path, 'utf8').slice(0, 200_000);
  }
  return '';
}

const url = (value: string | { url?: string } | undefined) =>
  (typeof value === 'string' ? value : value?.url)?.replace(/^git\+/, '') ?? null;

/** The installed packages of a project, from its node_modules/.package-lock.json and each package.json. */
export function installedPackages(projectRoot: string): PackageInfo[] {
  const lockPath = join(projectRoot, 'node_modules', '.package-lock.json');
  const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as { packages: Record<string, LockEntry> };
  const found: PackageInfo[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    // Top-level installs only (node_modules/<name>): one version per name keeps the dependency graph simple.
    const name = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(path)?.[1];
    const dir = join(projectRoot, path);
    if (!name || !existsSync(join(dir, 'package.json'))) continue;
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
    const license =
      typeof manifest.license === 'string' ? manifest.license : (manifest.license?.type ?? null);
    found.push({
      name,
      version: manifest.version ?? entry.version ?? '0.0.0',
      license: license ?? entry.license ?? null,
      description: manifest.description ?? '',
      homepage: manifest.homepage ?? null,
      repository: url(manifest.repository),
      dependencies: Object.keys(manifest.dependencies ?? {}),
      sha512: integrityToHex(entry.integrity),
      sentences: readmeSentences(readme(dir)),
    });
  }
  const names = new Set(found.map((p) => p.name));
  return found.map((p) => ({ ...p, dependencies: p.dependencies.filter((d) => names.has(d)) }));
}
