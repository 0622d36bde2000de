// Turns the repetitions into the figures that count (medians, ratios) and checks them against the targets.
import { summarizeCatalog, type CatalogSummary } from './catalog-summary';
import { summarizeFileSizes, type FileSizes } from './file-sizes';
import type { Dataset } from './options';
import { max, median, ratio } from './stats';
import type { SizeFigures } from './size-run';
import { summarizeStandby, type StandbySummary } from './standby-summary';

/** Issue 10's create and restore targets (signed, compressed backups); memory and downtime from earlier issues. */
export const TARGETS = {
  createRatio: 1.0,
  restoreRatio: 1.1,
  serverRssBytes: 150 * 1024 * 1024,
  /** "Not growing with size": the largest size's peak may exceed the smallest size's by at most this much. */
  rssGrowthBytes: 15 * 1024 * 1024,
  unavailableMs: 1000,
};

export interface SizeSummary {
  dataset: Dataset;
  sizeMb: number;
  entries: { server: string; client: string };
  databaseBytes: number;
  /** The product's backup file (median size). */
  dumpBytes: number;
  fileSizes: FileSizes;
  catalog: CatalogSummary | null;
  standby: StandbySummary | null;
  reps: number;
  create: { rawMs: number; productMs: number; ratio: number; pass: boolean };
  restore: { rawMs: number; productMs: number; ratio: number; pass: boolean };
  serverRss: {
    idleBytes: number;
    createPeakBytes: number;
    restorePeakBytes: number;
    loadPeakBytes: number | null;
    /** Highest peak over every repetition of create and restore: what the target is checked against. */
    maxPeakBytes: number;
    maxHwmBytes: number | null;
    pass: boolean;
  };
  childrenRss: {
    productDumpBytes: number;
    productRestoreBytes: number;
    rawDumpBytes: number;
    rawRestoreBytes: number;
  };
  downtime: {
    unavailableMs: number;
    unavailableMaxMs: number;
    writesRefusedMs: number;
    maxReadLatencyMs: number;
    pass: boolean;
  };
  restorePhases: { beforeScratchMs: number; scratchMs: number; swapMs: number; afterSwapMs: number };
  diagnostics: {
    clientStartupMs: number;
    bundledClientStartupMs: number | null;
    /** The create ratio if the client started like the bundled one: the tsx start-up taken out (an estimate). */
    createRatioBundled: number | null;
    restoreRatioBundled: number | null;
    /** Server-side time of a create (log lines), and the client wall clock minus it. */
    createServerMs: number;
    createOutsideServerMs: number;
    /** Server-side restore phases (log lines), and the client wall clock minus the server's total. */
    restoreServer: { verifyMs: number; restoreAndSwapMs: number; dropOldMs: number; totalMs: number };
    restoreOutsideServerMs: number;
    productDumpPhaseMs: number;
    verifyMs: number;
    rawFsyncMs: number;
    rawRestoreSteps: Record<string, number>;
  };
  archive: {
    dumpMs: number;
    restoreMs: number;
    fileBytes: number;
    dumpVsPlain: number;
    restoreVsPlain: number;
    restoreSteps: Record<string, number>;
  } | null;
  load: {
    health: { rps: number; p50Ms: number; p99Ms: number; failures: number };
    whoAmI: { rps: number; p50Ms: number; p99Ms: number; failures: number };
  } | null;
}

const nums = (values: (number | null | undefined)[]) =>
  values.filter((v): v is number => typeof v === 'number');

function stepMedians(runs: { steps: Record<string, number> }[]): Record<string, number> {
  const names = Object.keys(runs[0]?.steps ?? {});
  return Object.fromEntries(names.map((n) => [n, median(runs.map((r) => r.steps[n] ?? 0))]));
}

type Rep = SizeFigures['reps'][number];
/** The medians of the four timings every ratio is made of. */
type Medians = { rawCreate: number; productCreate: number; rawRestore: number; productRestore: number };

/** The server's memory over create and restore (and the load tests), and its children's (pg_dump, psql). */
function memorySummary(r: Rep[]): Pick<SizeSummary, 'serverRss' | 'childrenRss'> {
  const createPeaks = r.map((x) => x.create.product.server.peakRssBytes);
  const restorePeaks = r.map((x) => x.restore.product.server.peakRssBytes);
  const hwms = nums(r.flatMap((x) => [x.create.product.server.hwmBytes, x.restore.product.server.hwmBytes]));
  const maxPeak = max([...createPeaks, ...restorePeaks]);
  const loads = r.map((x) => x.load).filter((x) => x !== undefined);
  return {
    serverRss: {
      idleBytes: median(r.map((x) => x.idleServerRssBytes)),
      createPeakBytes: median(createPeaks),
      restorePeakBytes: median(restorePeaks),
      loadPeakBytes: loads.length ? max(loads.map((l) => l.server.peakRssBytes)) : null,
      maxPeakBytes: maxPeak,
      maxHwmBytes: hwms.length ? max(hwms) : null,
      pass: maxPeak < TARGETS.serverRssBytes,
    },
    childrenRss: {
      productDumpBytes: median(r.map((x) => x.create.product.server.peakChildrenRssBytes)),
      productRestoreBytes: median(r.map((x) => x.restore.product.server.peakChildrenRssBytes)),
      rawDumpBytes: median(r.map((x) => x.create.raw.toolPeakRssBytes)),
      rawRestoreBytes: median(r.map((x) => x.restore.raw.toolPeakRssBytes)),
    },
  };
}

/** What clients saw during the restore, and the restore's phases on the client's clock. */
function downtimeSummary(r: Rep[]): Pick<SizeSummary, 'downtime' | 'restorePhases'> {
  const unavailable = r.map((x) => x.restore.product.probes.unavailableMs);
  const phase = (pick: (p: Rep['restore']['product']['phases']) => number | null) =>
    median(nums(r.map((x) => pick(x.restore.product.phases))));
  return {
    downtime: {
      unavailableMs: median(unavailable),
      unavailableMaxMs: max(unavailable),
      writesRefusedMs: median(r.map((x) => x.restore.product.probes.writesRefusedMs)),
      maxReadLatencyMs: max(r.map((x) => x.restore.product.probes.maxReadLatencyMs)),
      pass: median(unavailable) < TARGETS.unavailableMs,
    },
    restorePhases: {
      beforeScratchMs: phase((p) => p.beforeScratchMs),
      scratchMs: phase((p) => p.scratchMs),
      swapMs: phase((p) => p.swapMs),
      afterSwapMs: phase((p) => p.afterSwapMs),
    },
  };
}

/** Where the time goes: the client's start-up, the server's side of create and restore, the raw tools' steps. */
function diagnosticsSummary(f: SizeFigures, m: Medians): SizeSummary['diagnostics'] {
  const r = f.reps;
  const bundledSaving =
    f.bundledClientStartupMs === null ? null : f.clientStartupMs - f.bundledClientStartupMs;
  return {
    clientStartupMs: f.clientStartupMs,
    bundledClientStartupMs: f.bundledClientStartupMs,
    createRatioBundled: bundledSaving === null ? null : ratio(m.productCreate - bundledSaving, m.rawCreate),
    restoreRatioBundled:
      bundledSaving === null ? null : ratio(m.productRestore - bundledSaving, m.rawRestore),
    createServerMs: median(nums(r.map((x) => x.create.product.serverMs))),
    createOutsideServerMs: median(
      nums(
        r.map((x) =>
          x.create.product.serverMs === null ? null : x.create.product.ms - x.create.product.serverMs,
        ),
      ),
    ),
    restoreServer: {
      verifyMs: median(nums(r.map((x) => x.restore.product.serverPhases.verifyMs))),
      restoreAndSwapMs: median(nums(r.map((x) => x.restore.product.serverPhases.restoreAndSwapMs))),
      dropOldMs: median(nums(r.map((x) => x.restore.product.serverPhases.dropOldMs))),
      totalMs: median(nums(r.map((x) => x.restore.product.serverPhases.totalMs))),
    },
    restoreOutsideServerMs: median(
      nums(
        r.map((x) =>
          x.restore.product.serverPhases.totalMs === null
            ? null
            : x.restore.product.ms - x.restore.product.serverPhases.totalMs,
        ),
      ),
    ),
    productDumpPhaseMs: median(nums(r.map((x) => x.create.product.dumpPhaseMs))),
    verifyMs: median(nums(r.map((x) => x.create.product.verifyMs))),
    rawFsyncMs: median(r.map((x) => x.create.raw.fsyncMs)),
    rawRestoreSteps: stepMedians(r.map((x) => x.restore.raw)),
  };
}

/** pg_dump -Fc and pg_restore -j, when they ran. */
function archiveSummary(r: Rep[], m: Medians): SizeSummary['archive'] {
  const archives = r.filter((x) => x.create.archive && x.restore.archive);
  if (!archives.length) return null;
  return {
    dumpMs: median(archives.map((x) => x.create.archive!.ms)),
    restoreMs: median(archives.map((x) => x.restore.archive!.ms)),
    fileBytes: median(archives.map((x) => x.create.archive!.fileBytes)),
    dumpVsPlain: ratio(median(archives.map((x) => x.create.archive!.ms)), m.rawCreate),
    restoreVsPlain: ratio(median(archives.map((x) => x.restore.archive!.ms)), m.rawRestore),
    restoreSteps: stepMedians(archives.map((x) => x.restore.archive!)),
  };
}

/** The request load tests, when they ran. */
function loadSummary(r: Rep[]): SizeSummary['load'] {
  const loads = r.map((x) => x.load).filter((x) => x !== undefined);
  if (!loads.length) return null;
  const loadFigures = (pick: (l: (typeof loads)[number]) => (typeof loads)[number]['health']) => ({
    rps: median(loads.map((l) => pick(l).rps)),
    p50Ms: median(loads.map((l) => pick(l).p50Ms)),
    p99Ms: median(loads.map((l) => pick(l).p99Ms)),
    failures: loads.reduce((t, l) => t + Object.values(pick(l).failures).reduce((a, b) => a + b, 0), 0),
  });
  return { health: loadFigures((l) => l.health), whoAmI: loadFigures((l) => l.whoAmI) };
}

export function summarizeSize(f: SizeFigures): SizeSummary {
  const r = f.reps;
  const m: Medians = {
    rawCreate: median(r.map((x) => x.create.raw.ms)),
    productCreate: median(r.map((x) => x.create.product.ms)),
    rawRestore: median(r.map((x) => x.restore.raw.ms)),
    productRestore: median(r.map((x) => x.restore.product.ms)),
  };
  return {
    dataset: f.dataset,
    sizeMb: f.sizeMb,
    entries: f.entries,
    databaseBytes: f.databaseBytes,
    dumpBytes: median(r.map((x) => x.create.product.sizeBytes)),
    fileSizes: summarizeFileSizes(
      f.dataset,
      r.map((x) => ({
        plainBytes: x.create.raw.fileBytes,
        productBytes: x.create.product.sizeBytes,
        productFile: x.create.product.path,
        ...(x.create.zstd ? { zstd: x.create.zstd } : {}),
        ...(x.create.gzip ? { gzip: x.create.gzip } : {}),
      })),
    ),
    catalog: f.catalog ? summarizeCatalog(f.catalog) : null,
    standby: f.standby ? summarizeStandby(f.dataset, f.sizeMb, f.standby, m.rawRestore) : null,
    reps: r.length,
    create: {
      rawMs: m.rawCreate,
      productMs: m.productCreate,
      ratio: ratio(m.productCreate, m.rawCreate),
      pass: ratio(m.productCreate, m.rawCreate) <= TARGETS.createRatio,
    },
    restore: {
      rawMs: m.rawRestore,
      productMs: m.productRestore,
      ratio: ratio(m.productRestore, m.rawRestore),
      pass: ratio(m.productRestore, m.rawRestore) <= TARGETS.restoreRatio,
    },
    ...memorySummary(r),
    ...downtimeSummary(r),
    diagnostics: diagnosticsSummary(f, m),
    archive: archiveSummary(r, m),
    load: loadSummary(r),
  };
}

/**
 * Peak RSS must not grow with the database: per dataset, the largest size's highest peak against the smallest's.
 * One entry per dataset measured at two sizes or more.
 */
export function rssFlatness(
  sizes: SizeSummary[],
): { dataset: Dataset; largestSizeMb: number; growthBytes: number; pass: boolean }[] {
  const datasets = [...new Set(sizes.map((s) => s.dataset))];
  return datasets.flatMap((dataset) => {
    const sorted = sizes
      .filter((s) => s.dataset === dataset)
      .sort((a, b) => a.databaseBytes - b.databaseBytes);
    if (sorted.length < 2) return [];
    const growth = sorted.at(-1)!.serverRss.maxPeakBytes - sorted[0]!.serverRss.maxPeakBytes;
    return [
      {
        dataset,
        largestSizeMb: sorted.at(-1)!.sizeMb,
        growthBytes: growth,
        pass: growth <= TARGETS.rssGrowthBytes,
      },
    ];
  });
}
