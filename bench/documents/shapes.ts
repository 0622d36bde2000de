// The document dataset's rows, pure: CycloneDX 1.5 SBOMs and CSAF 2.0 advisories built from real package metadata
// (names, versions, licenses, descriptions, dependencies, registry hashes, README prose). Deterministic for a seed.
import { createHash } from 'node:crypto';

export interface PackageInfo {
  name: string;
  version: string;
  license: string | null;
  description: string;
  homepage: string | null;
  repository: string | null;
  /** Names of the packages it depends on that are in the same set. */
  dependencies: string[];
  /** SHA-512 of the registry tarball, hex (from the lock file's integrity), or null when unknown. */
  sha512: string | null;
  /** Sentences of prose from the package's README: the text of advisories' notes. */
  sentences: string[];
}

export interface DocumentRow {
  kind: 'cyclonedx' | 'csaf';
  name: string;
  version: string;
  published: string; // ISO 8601
  doc: unknown;
}

export type Random = () => number;

/** mulberry32: a small seeded generator, so that a run's data can be made again. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rnd: Random, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(rnd: Random, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;

function uuid(rnd: Random): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[int(rnd, 0, 3)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The package URL of an npm package: the scope's @ is percent-encoded. */
export function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;
}

function component(p: PackageInfo) {
  const scoped = /^(@[^/]+)\/(.+)$/.exec(p.name);
  const refs = [
    ...(p.homepage ? [{ type: 'website', url: p.homepage }] : []),
    ...(p.repository ? [{ type: 'vcs', url: p.repository }] : []),
  ];
  return {
    type: 'library',
    'bom-ref': npmPurl(p.name, p.version),
    ...(scoped ? { group: scoped[1], name: scoped[2] } : { name: p.name }),
    version: p.version,
    ...(p.description ? { description: p.description } : {}),
    ...(p.license ? { licenses: [{ license: { id: p.license } }] } : {}),
    purl: npmPurl(p.name, p.version),
    ...(p.sha512 ? { hashes: [{ alg: 'SHA-512', content: p.sha512 }] } : {}),
    ...(refs.length ? { externalReferences: refs } : {}),
  };
}

/** The packages reachable from the roots through their dependencies, roots first. */
export function closure(
  roots: readonly PackageInfo[],
  byName: ReadonlyMap<string, PackageInfo>,
): PackageInfo[] {
  const seen = new Map<string, PackageInfo>();
  const queue = [...roots];
  while (queue.length) {
    const p = queue.shift()!;
    if (seen.has(p.name)) continue;
    seen.set(p.name, p);
    for (const dep of p.dependencies) {
      const next = byName.get(dep);
      if (next && !seen.has(dep)) queue.push(next);
    }
  }
  return [...seen.values()];
}

export interface Product {
  vendor: string;
  name: string;
  /** Its direct dependencies: every SBOM of the product lists their closure. */
  roots: PackageInfo[];
  /** Patch releases of each component since the installed version: products update dependencies over time. */
  drift: Map<string, number>;
}

const VENDORS = ['ACME Corp', 'Globex GmbH', 'Initech AG', 'Umbrella Systems', 'Hooli Ltd'];

/** A vendor's products: each picks a handful of real packages as its direct dependencies. */
export function makeProducts(rnd: Random, packages: readonly PackageInfo[], count: number): Product[] {
  return Array.from({ length: count }, (_, i) => ({
    vendor: pick(rnd, VENDORS),
    name: `${pick(rnd, packages).name.replace(/^@[^/]+\//, '')}-appliance-${i + 1}`,
    roots: Array.from({ length: int(rnd, 3, 12) }, () => pick(rnd, packages)),
    drift: new Map(),
  }));
}

/** 1.2.3 with a drift of 2 -> 1.2.5; pre-release and build parts are dropped. */
export function bumpPatch(version: string, by: number): string {
  const [major = '0', minor = '0', patch = '0'] = version.split(/[-+]/)[0]!.split('.');
  return `${major}.${minor}.${Number(patch) + by}`;
}

const fakeHash = (name: string, drift: number) =>
  createHash('sha512').update(`${name}@${drift}`).digest('hex');

const versionOf = (n: number) => `${1 + Math.floor(n / 20)}.${Math.floor(n / 4) % 5}.${n % 4}`;

export function cycloneDx(
  rnd: Random,
  product: Product,
  release: number,
  at: Date,
  byName: ReadonlyMap<string, PackageInfo>,
): DocumentRow {
  const version = versionOf(release);
  // Later releases add and drop a few dependencies, as real products do.
  const extra = Array.from({ length: int(rnd, 0, 3) }, () => pick(rnd, [...byName.values()]));
  const roots = [...product.roots.filter(() => rnd() > 0.1), ...extra];
  // Each release updates about one component in eight to a later patch version (a version not installed here:
  // its hash is a stand-in, SHA-512 of name@version, as unique as the registry's would be).
  const parts = closure(roots, byName).map((p) => {
    const drift = (product.drift.get(p.name) ?? 0) + (rnd() < 0.125 ? 1 : 0);
    product.drift.set(p.name, drift);
    return drift === 0 ? p : { ...p, version: bumpPatch(p.version, drift), sha512: fakeHash(p.name, drift) };
  });
  const current = new Map(parts.map((p) => [p.name, p]));
  const rootRef = `pkg:generic/${encodeURIComponent(product.vendor)}/${product.name}@${version}`;
  const doc = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${uuid(rnd)}`,
    version: 1,
    metadata: {
      timestamp: at.toISOString(),
      tools: { components: [{ type: 'application', name: 'cyclonedx-npm', version: '1.19.3' }] },
      component: { type: 'application', 'bom-ref': rootRef, name: product.name, version },
      manufacture: { name: product.vendor },
      supplier: { name: product.vendor },
    },
    components: parts.map(component),
    dependencies: [
      {
        ref: rootRef,
        dependsOn: roots.map((p) => current.get(p.name)!).map((p) => npmPurl(p.name, p.version)),
      },
      ...parts.map((p) => ({
        ref: npmPurl(p.name, p.version),
        dependsOn: p.dependencies
          .map((d) => current.get(d))
          .filter((d) => d !== undefined)
          .map((d) => npmPurl(d.name, d.version)),
      })),
    ],
  };
  return { kind: 'cyclonedx', name: product.name, version, published: at.toISOString(), doc };
}

const CWES: [string, string][] = [
  ['CWE-79', "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')"],
  ['CWE-400', 'Uncontrolled Resource Consumption'],
  ['CWE-1321', "Improperly Controlled Modification of Object Prototype Attributes ('Prototype Pollution')"],
  ['CWE-22', "Improper Limitation of a Pathname to a Restricted Directory ('Path Traversal')"],
  ['CWE-94', "Improper Control of Generation of Code ('Code Injection')"],
  ['CWE-20', 'Improper Input Validation'],
];
const VECTORS: [string, number, string][] = [
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8, 'CRITICAL'],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', 7.5, 'HIGH'],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1, 'MEDIUM'],
  ['CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N', 2.5, 'LOW'],
];
const DISCLAIMER =
  'The information in this advisory is provided "as is" without warranty of any kind. The vendor disclaims all ' +
  'warranties, either express or implied, including the warranties of merchantability and fitness for a ' +
  'particular purpose. In no event shall the vendor be liable for any damages whatsoever.';

function prose(rnd: Random, p: PackageInfo, count: number): string {
  const pool = p.sentences.length ? p.sentences : [p.description || `${p.name} is affected.`];
  return Array.from({ length: count }, () => pick(rnd, pool)).join(' ');
}

/** One vulnerability of an advisory: a CVE in a third-party package, its score and the fix. */
function advisoryVulnerability(
  rnd: Random,
  product: Product,
  at: Date,
  packages: readonly PackageInfo[],
  status: { known_affected: string[]; fixed: string[] },
  fixedVersion: string | undefined,
) {
  const affected = status.known_affected;
  const p = pick(rnd, packages);
  const [cwe, cweName] = pick(rnd, CWES);
  const [vector, score, severity] = pick(rnd, VECTORS);
  return {
    cve: `CVE-${at.getUTCFullYear()}-${int(rnd, 10000, 59999)}`,
    cwe: { id: cwe, name: cweName },
    notes: [
      { category: 'description', title: 'Vulnerability description', text: prose(rnd, p, int(rnd, 3, 8)) },
      { category: 'details', title: `Affected component ${p.name} ${p.version}`, text: p.description },
    ],
    product_status: status,
    scores: [
      {
        products: affected,
        cvss_v3: { version: '3.1', vectorString: vector, baseScore: score, baseSeverity: severity },
      },
    ],
    remediations: [
      {
        category: 'vendor_fix',
        details: `Update ${product.name} to ${fixedVersion} or later, which ships ${p.name} with the fix.`,
        product_ids: affected,
      },
    ],
    references: [
      { category: 'external', summary: `${p.name} on npm`, url: `https://www.npmjs.com/package/${p.name}` },
    ],
  };
}

/** The vendor, the product and its versions, each with its product id. */
function productTree(product: Product, versions: string[], productIds: string[]) {
  return {
    branches: [
      {
        category: 'vendor',
        name: product.vendor,
        branches: [
          {
            category: 'product_name',
            name: product.name,
            branches: versions.map((v, i) => ({
              category: 'product_version',
              name: v,
              product: {
                product_id: productIds[i],
                name: `${product.vendor} ${product.name} ${v}`,
                product_identification_helper: {
                  purl: `pkg:generic/${encodeURIComponent(product.vendor)}/${product.name}@${v}`,
                },
              },
            })),
          },
        ],
      },
    ],
  };
}

export function csaf(
  rnd: Random,
  product: Product,
  serial: number,
  at: Date,
  packages: readonly PackageInfo[],
): DocumentRow {
  const id = `${product.vendor.split(' ')[0]!.toUpperCase()}-SA-${at.getUTCFullYear()}-${String(serial).padStart(5, '0')}`;
  const versions = Array.from({ length: int(rnd, 2, 8) }, (_, i) => versionOf((serial % 40) + i));
  const productIds = versions.map((_, i) => `CSAFPID-${String(i + 1).padStart(4, '0')}`);
  const fixedFrom = int(rnd, 1, versions.length - 1);
  const status = { known_affected: productIds.slice(0, fixedFrom), fixed: productIds.slice(fixedFrom) };
  const vulnerabilities = Array.from({ length: int(rnd, 1, 4) }, () =>
    advisoryVulnerability(rnd, product, at, packages, status, versions[fixedFrom]),
  );
  const doc = {
    document: {
      category: 'csaf_security_advisory',
      csaf_version: '2.0',
      title: `${product.name}: ${vulnerabilities.length} vulnerabilities in third-party components`,
      lang: 'en',
      distribution: { tlp: { label: 'WHITE' } },
      publisher: {
        category: 'vendor',
        name: product.vendor,
        namespace: `https://${product.vendor.split(' ')[0]!.toLowerCase()}.example`,
      },
      notes: [
        { category: 'summary', text: prose(rnd, pick(rnd, packages), 2) },
        { category: 'legal_disclaimer', text: DISCLAIMER },
      ],
      tracking: {
        id,
        status: 'final',
        version: '1',
        initial_release_date: at.toISOString(),
        current_release_date: at.toISOString(),
        revision_history: [{ number: '1', date: at.toISOString(), summary: 'Initial release.' }],
        generator: { engine: { name: 'BOMnipotent bench', version: '1.0.0' } },
      },
    },
    product_tree: productTree(product, versions, productIds),
    vulnerabilities,
  };
  return { kind: 'csaf', name: id, version: '1', published: at.toISOString(), doc };
}

/**
 * An endless stream of rows: per product, SBOMs of successive releases, and one advisory for every three SBOMs
 * (a vendor publishes far more SBOMs than advisories), one document every 7 hours from 2020-01-01 on.
 */
export function* documentRows(packages: readonly PackageInfo[], seed: number): Generator<DocumentRow> {
  if (packages.length === 0) throw new Error('no package metadata to build documents from');
  const rnd = seededRandom(seed);
  const byName = new Map(packages.map((p) => [p.name, p]));
  const products = makeProducts(rnd, packages, 40);
  const releases = new Map<Product, number>();
  const day = Date.UTC(2020, 0, 1);
  for (let n = 0; ; n += 1) {
    const at = new Date(day + n * 3_600_000 * 7);
    const product = pick(rnd, products);
    if (n % 4 === 3) yield csaf(rnd, product, n, at, packages);
    else {
      const release = (releases.get(product) ?? 0) + 1;
      releases.set(product, release);
      yield cycloneDx(rnd, product, release, at, byName);
    }
  }
}

/** One line of COPY ... FROM STDIN in text format: tab-separated, backslash escaped. */
export function copyLine(row: DocumentRow): string {
  const esc = (s: string) =>
    s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return [row.kind, row.name, row.version, row.published, JSON.stringify(row.doc)].map(esc).join('\t') + '\n';
}
