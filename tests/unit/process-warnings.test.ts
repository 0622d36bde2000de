// Third-party warnings (the AWS SDK's Node version notice, deprecations) reach the server's log once, as one line in
// our format, never as Node's "(node:PID)" dump over several lines.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const REPO = new URL('../..', import.meta.url).pathname;

// A child process, so that the listeners of process warnings are those the server installs, not vitest's.
const SCRIPT = `
import { S3Client } from '@aws-sdk/client-s3';
import { createLogger } from './runtime/observability/logger';
import { logProcessWarnings } from './runtime/observability/process-warnings';
logProcessWarnings(createLogger({ level: 'info' }));
new S3Client({ region: 'us-east-1' });
new S3Client({ region: 'us-east-1' });
process.emitWarning('A library notice\\nover two lines.');
process.emitWarning('A library notice\\nover two lines.');
process.emitWarning('old API', 'DeprecationWarning');
setImmediate(() => console.log('done'));
`;

describe('process warnings', () => {
  it('are logged once each, one line in the log format, and nothing goes to stderr', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '' },
    });
    expect(run.stderr).toBe('');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('done');
    const warnings = lines.slice(0, -1);
    for (const line of warnings)
      expect(line).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+00:00 \[WARN\] \S/);
    expect(warnings.filter((l) => l.endsWith('[WARN] A library notice over two lines.'))).toHaveLength(1);
    expect(warnings.filter((l) => l.endsWith('[WARN] DeprecationWarning: old API'))).toHaveLength(1);
    // The SDK's notice exists on Node before 22 only; where it comes, it comes once.
    const sdk = warnings.filter((l) => l.includes('NodeVersionSupportWarning'));
    expect(sdk).toHaveLength(Number(process.versions.node.split('.')[0]) < 22 ? 1 : 0);
    expect(warnings).toHaveLength(2 + sdk.length);
  });
});
