// A self-signed certificate for localhost and 127.0.0.1 (P-256, one day), made by openssl: key.pem and chain.pem.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function selfSignedCertificate(dir = mkdtempSync(join(tmpdir(), 'bomnipotent-cert-'))): {
  key: string;
  cert: string;
} {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'chain.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}
