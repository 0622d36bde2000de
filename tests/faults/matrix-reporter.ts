// Prints the fault matrix as a table at the end of `npm run faults`: one line per cell, PASS or FAIL.
import type { Reporter, TestModule } from 'vitest/node';

export default class MatrixReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const rows: { area: string; cell: string; state: string }[] = [];
    for (const module of testModules) {
      const tests = [...module.children.allTests()];
      if (tests.length === 0 && module.state() === 'failed')
        rows.push({
          area: module.moduleId.split('/').pop() ?? '',
          cell: '(file did not load)',
          state: 'FAIL',
        });
      for (const test of tests) {
        const state = test.result().state;
        rows.push({
          area: test.parent.type === 'suite' ? test.parent.name : '',
          cell: test.name,
          state: state === 'passed' ? 'PASS' : state === 'failed' ? 'FAIL' : 'SKIP',
        });
      }
    }
    const areaWidth = Math.max(4, ...rows.map((r) => r.area.length));
    const cellWidth = Math.max(4, ...rows.map((r) => r.cell.length));
    const line = (a: string, c: string, s: string) =>
      `${a.padEnd(areaWidth)}  ${c.padEnd(cellWidth)}  ${s}\n`;
    let out = `\nFault matrix\n${line('Area', 'Cell', 'Result')}${line('-'.repeat(areaWidth), '-'.repeat(cellWidth), '------')}`;
    for (const r of rows) out += line(r.area, r.cell, r.state);
    const failed = rows.filter((r) => r.state === 'FAIL').length;
    out += `\n${rows.length - failed} of ${rows.length} cells PASS${failed ? `, ${failed} FAIL` : ''}\n`;
    process.stdout.write(out);
  }
}
