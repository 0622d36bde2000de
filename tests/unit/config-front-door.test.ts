// The front-door settings: where the server listens, which proxies are believed, budgets, and tmp_admin's key.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../runtime/config';
import { createAddressMatcher } from '../../runtime/config/cidr';
import { clientAddress } from '../../runtime/http/client-address';

const parse = (text: string) => parseConfig({ file: '/etc/b/config.toml', text, dotenvText: '' }, {});
const FINGERPRINT = 'SHA256:' + 'A'.repeat(43);

describe('listen addresses and ports', () => {
  it('listens on 127.0.0.1 unless told, and HTTPS on the same address', () => {
    expect(parse('')).toMatchObject({
      listenAddress: '127.0.0.1',
      httpsListenAddress: '127.0.0.1',
      httpPort: 8080,
    });
    expect(parse('listen_address = "0.0.0.0"\n')).toMatchObject({
      listenAddress: '0.0.0.0',
      httpsListenAddress: '0.0.0.0',
    });
  });

  it('turns plain HTTP off with [tls] unless http_port is set explicitly', () => {
    const tls = '[tls]\ncertificate_chain_path = "c.pem"\nsecret_key_path = "k.pem"\n';
    expect(parse(tls).httpPort).toBeUndefined();
    expect(parse('http_port = 8080\n' + tls).httpPort).toBe(8080);
  });

  it('refuses a listen address that is no IP address, naming the key', () => {
    expect(() => parse('listen_address = "localhost:80"\n')).toThrow(
      /listen_address "localhost:80" is not an IP address/,
    );
  });
});

describe('trusted_proxies', () => {
  it('accepts CIDR ranges and single addresses, and refuses anything else by name', () => {
    expect(
      parse('trusted_proxies = ["10.0.0.0/8", "fd00::/8", "192.168.1.1"]\n').trustedProxies,
    ).toHaveLength(3);
    expect(() => parse('trusted_proxies = ["10.0.0.0/33"]\n')).toThrow(
      /trusted_proxies entry "10.0.0.0\/33"/,
    );
    expect(() => parse('trusted_proxies = ["proxy.internal"]\n')).toThrow(
      /trusted_proxies entry "proxy.internal"/,
    );
  });

  it('matches IPv4, IPv4-mapped IPv6 and IPv6 peers', () => {
    const trusted = createAddressMatcher(['10.0.0.0/8', 'fd00::/8']);
    expect(trusted('10.1.2.3')).toBe(true);
    expect(trusted('::ffff:10.1.2.3')).toBe(true);
    expect(trusted('fd00::1')).toBe(true);
    expect(trusted('11.0.0.1')).toBe(false);
    expect(trusted('not an address')).toBe(false);
  });

  it('believes X-Forwarded-For only from a trusted peer, and only up to the first untrusted hop', () => {
    const trusted = createAddressMatcher(['10.0.0.0/8']);
    // An untrusted peer's header is ignored: spoofing from outside does not work.
    expect(clientAddress('203.0.113.9', '1.2.3.4', trusted)).toBe('203.0.113.9');
    expect(clientAddress('10.0.0.2', '198.51.100.7', trusted)).toBe('198.51.100.7');
    // A client that sends its own X-Forwarded-For gets it prepended by the proxy: the proxy's view counts.
    expect(clientAddress('10.0.0.2', '1.2.3.4, 198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientAddress('10.0.0.2', '198.51.100.7, 10.0.0.5', trusted)).toBe('198.51.100.7');
    expect(clientAddress('10.0.0.2', 'garbage\n, 198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientAddress('10.0.0.2', '198.51.100.7, garbage', trusted)).toBe('10.0.0.2');
  });
});

describe('budgets and timeouts', () => {
  it('has a per-address new-user budget and a body timeout, both settable', () => {
    expect(parse('').dosPrevention).toMatchObject({ newUserLimitPerAddress: 3, bodyTimeoutMs: 10_000 });
    const custom = parse('[dos_prevention]\nnew_user_limit_per_address = 1\nbody_timeout = "3 s"\n');
    expect(custom.dosPrevention).toMatchObject({ newUserLimitPerAddress: 1, bodyTimeoutMs: 3000 });
  });
});

describe('tmp_admin', () => {
  it('takes the key fingerprint after the email, or from tmp_admin_key', () => {
    expect(parse(`[user]\ntmp_admin = "a@b.example:${FINGERPRINT}"\n`).user).toMatchObject({
      tmpAdmin: 'a@b.example',
      tmpAdminKey: FINGERPRINT,
    });
    expect(parse(`[user]\ntmp_admin = "a@b.example"\ntmp_admin_key = "${FINGERPRINT}"\n`).user).toMatchObject(
      {
        tmpAdmin: 'a@b.example',
        tmpAdminKey: FINGERPRINT,
      },
    );
  });

  it('refuses an email without a key: it would give admin powers to whoever requested that name first', () => {
    expect(() => parse('[user]\ntmp_admin = "a@b.example"\n')).toThrow(
      /tmp_admin names only an email, which gives admin powers to whoever requested it first: name the key too, tmp_admin = "a@b\.example:SHA256:\.\.\."/,
    );
  });

  it('refuses a malformed fingerprint, two fingerprints, or a key without an email', () => {
    expect(() => parse('[user]\ntmp_admin = "a@b.example:SHA256:short"\n')).toThrow(/tmp_admin/);
    expect(() =>
      parse(`[user]\ntmp_admin = "a@b.example:${FINGERPRINT}"\ntmp_admin_key = "${FINGERPRINT}"\n`),
    ).toThrow(/keep one of them/);
    expect(() => parse(`[user]\ntmp_admin_key = "${FINGERPRINT}"\n`)).toThrow(/without tmp_admin/);
  });
});
