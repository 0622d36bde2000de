// The benchmark's document dataset: CycloneDX and CSAF shapes built from package metadata, and the COPY lines.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installedPackages, integrityToHex, readmeSentences } from '../../bench/documents/packages';
import {
  bumpPatch,
  copyLine,
  documentRows,
  npmPurl,
  seededRandom,
  type DocumentRow,
  type PackageInfo,
} from '../../bench/documents/shapes';

const pkg = (name: string, dependencies: string[] = [], over: Partial<PackageInfo> = {}): PackageInfo => ({
  name,
  version: '1.2.3',
  license: 'MIT',
  description: `${name} does things`,
  homepage: `https://example.com/${name}`,
  repository: null,
  dependencies,
  sha512: 'ab'.repeat(64),
  sentences: [`The ${name} package parses input safely.`, 'It has no known issues today.'],
  ...over,
});

const PACKAGES = [
  pkg('alpha', ['beta', '@scope/gamma']),
  pkg('beta', ['delta']),
  pkg('@scope/gamma'),
  pkg('delta', [], { license: null, sha512: null }),
  pkg('epsilon', ['alpha']),
];

function take(n: number, seed = 7): DocumentRow[] {
  const rows: DocumentRow[] = [];
  for (const row of documentRows(PACKAGES, seed)) {
    rows.push(row);
    if (rows.length === n) break;
  }
  return rows;
}

interface Bom {
  bomFormat: string;
  specVersion: string;
  serialNumber: string;
  metadata: { component: { 'bom-ref': string } };
  components: {
    'bom-ref': string;
    purl: string;
    name: string;
    group?: string;
    version: string;
    hashes?: { alg: string; content: string }[];
    licenses?: unknown[];
  }[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

interface Advisory {
  document: { category: string; csaf_version: string; tracking: { id: string } };
  product_tree: { branches: { branches: { branches: { product: { product_id: string } }[] }[] }[] };
  vulnerabilities: { cve: string; product_status: { known_affected: string[]; fixed: string[] } }[];
}

describe('documentRows', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(JSON.stringify(take(12, 7))).toBe(JSON.stringify(take(12, 7)));
    expect(JSON.stringify(take(12, 8))).not.toBe(JSON.stringify(take(12, 7)));
  });

  it('yields three SBOMs for every advisory', () => {
    const kinds = take(40).map((r) => r.kind);
    expect(kinds.filter((k) => k === 'csaf')).toHaveLength(10);
    expect(kinds.filter((k) => k === 'cyclonedx')).toHaveLength(30);
  });

  it('builds CycloneDX 1.5 SBOMs whose components and dependency graph fit together', () => {
    const boms = take(40)
      .filter((r) => r.kind === 'cyclonedx')
      .map((r) => r.doc as Bom);
    for (const bom of boms) {
      expect(bom.bomFormat).toBe('CycloneDX');
      expect(bom.specVersion).toBe('1.5');
      expect(bom.serialNumber).toMatch(
        /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(bom.components.length).toBeGreaterThan(0);
      const refs = new Set([bom.metadata.component['bom-ref'], ...bom.components.map((c) => c['bom-ref'])]);
      for (const c of bom.components) {
        expect(c['bom-ref']).toBe(c.purl);
        expect(c.purl).toMatch(/^pkg:npm\/[^@]+@\d+\.\d+\.\d+$/);
        for (const h of c.hashes ?? [])
          expect(h).toEqual({ alg: 'SHA-512', content: expect.stringMatching(/^[0-9a-f]{128}$/) });
      }
      for (const d of bom.dependencies) {
        expect(refs.has(d.ref)).toBe(true);
        for (const target of d.dependsOn) expect(refs.has(target)).toBe(true);
      }
    }
    const all = boms.flatMap((b) => b.components);
    const gamma = all.find((c) => c.name === 'gamma')!;
    expect(gamma.group).toBe('@scope');
    expect(gamma.purl.startsWith('pkg:npm/%40scope/gamma@')).toBe(true);
    // delta has no license and no known hash: none is made up for it (unless a later release drifted it).
    const delta = all.find((c) => c.name === 'delta' && c.version === '1.2.3');
    expect(delta).toBeDefined();
    expect(delta?.licenses).toBeUndefined();
    expect(delta?.hashes).toBeUndefined();
  });

  it('builds CSAF 2.0 advisories that reference only products of their own product tree', () => {
    const advisories = take(40)
      .filter((r) => r.kind === 'csaf')
      .map((r) => r.doc as Advisory);
    for (const a of advisories) {
      expect(a.document.category).toBe('csaf_security_advisory');
      expect(a.document.csaf_version).toBe('2.0');
      expect(a.document.tracking.id).toMatch(/^[A-Z]+-SA-\d{4}-\d{5}$/);
      const ids = new Set(
        a.product_tree.branches.flatMap((v) =>
          v.branches.flatMap((p) => p.branches.map((b) => b.product.product_id)),
        ),
      );
      expect(a.vulnerabilities.length).toBeGreaterThan(0);
      for (const v of a.vulnerabilities) {
        expect(v.cve).toMatch(/^CVE-\d{4}-\d{5}$/);
        const { known_affected, fixed } = v.product_status;
        expect(known_affected.length).toBeGreaterThan(0);
        expect(fixed.length).toBeGreaterThan(0);
        for (const id of [...known_affected, ...fixed]) expect(ids.has(id)).toBe(true);
      }
    }
  });

  it('refuses to run without package metadata', () => {
    expect(() => documentRows([], 1).next()).toThrow(/no package metadata/);
  });
});

describe('copyLine', () => {
  it('writes five tab-separated fields and escapes what COPY text format would misread', () => {
    const line = copyLine({
      kind: 'csaf',
      name: 'a\tb',
      version: '1',
      published: '2020-01-01T00:00:00.000Z',
      doc: { text: 'line one\nline "two" \\ end' },
    });
    expect(line.endsWith('\n')).toBe(true);
    const fields = line.slice(0, -1).split('\t');
    expect(fields).toHaveLength(5);
    expect(fields[1]).toBe('a\\tb');
    // JSON already escapes the newline and the backslash; COPY needs every backslash doubled once more.
    expect(fields[4]).toBe('{"text":"line one\\\\nline \\\\"two\\\\" \\\\\\\\ end"}');
    expect(JSON.parse(fields[4]!.replace(/\\\\/g, '\\'))).toEqual({ text: 'line one\nline "two" \\ end' });
  });
});

describe('package metadata', () => {
  it('turns npm integrity into a hex SHA-512 and ignores other algorithms', () => {
    expect(
      integrityToHex(
        'sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==',
      ),
    ).toBe(
      'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
    );
    expect(integrityToHex('sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=')).toBeNull();
    expect(integrityToHex(undefined)).toBeNull();
  });

  it('keeps README prose and drops code, headings and badges', () => {
    const sentences = readmeSentences(
      '# Title heading here\n[![badge](x)](y)\nThis library parses [URLs](https://x) quickly and safely.\n```js\nConst code = "Not a sentence at all, really not.";\n```\nIt is small.\n',
    );
    expect(sentences).toEqual(['This library parses URLs quickly and safely.']);
  });

  it('reads the installed packages of this project with their dependencies inside the set', () => {
    const packages = installedPackages(resolve(import.meta.dirname, '../..'));
    expect(packages.length).toBeGreaterThan(50);
    const names = new Set(packages.map((p) => p.name));
    expect(names.has('pg')).toBe(true);
    for (const p of packages) for (const d of p.dependencies) expect(names.has(d)).toBe(true);
    expect(packages.filter((p) => p.sha512 !== null).length).toBeGreaterThan(packages.length / 2);
  });

  it('bumps the patch version', () => {
    expect(bumpPatch('1.2.3', 2)).toBe('1.2.5');
    expect(bumpPatch('4.0.0-beta.1', 1)).toBe('4.0.1');
    expect(npmPurl('@a/b', '1.0.0')).toBe('pkg:npm/%40a/b@1.0.0');
    expect(seededRandom(1)()).toBe(seededRandom(1)());
  });
});
