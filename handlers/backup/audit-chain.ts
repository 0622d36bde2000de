// The audit log as a signed chain: each line of audit.log.jsonl is the record plus `seq` (1, 2, 3 ... from the first
// signed line), `prev` (the SHA-256 of the line before it, as written; null for the very first line of the file) and
// `sig`, an Ed25519 signature by the backup-signing key over all of that. An edited, deleted, inserted or reordered
// line in the middle, a line cut off, or a signature stripped shows; deleting the newest lines (or the file) shows only
// against the anchor the server keeps in its database (anchorBreak). Pure: the executor writes and reads the file.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, isPublicKeyId, keyObjectOf, publicKeyId } from './manifest';
import type { AuditRecord } from './model';
import type { AuditAnchor } from '../ports/audit-anchor';

/** Another context than a manifest's or a rehearsal's: an audit signature can pass for neither. */
const SIGNING_CONTEXT = 'BOMNIPOTENT-BACKUP-AUDIT-V1\n';

export interface AuditLink {
  seq: number;
  prev: string | null;
}

export interface AuditSignature {
  publicKey: string;
  value: string;
}

export type AuditEntry = AuditRecord & AuditLink & { sig?: AuditSignature };

/** The SHA-256 of one line as written, without its newline: what the next line names as `prev`. */
export function auditLineDigest(line: string): string {
  return createHash('sha256').update(line, 'utf8').digest('hex');
}

function signedBytes(entry: AuditRecord & AuditLink): Buffer {
  return Buffer.from(SIGNING_CONTEXT + canonicalJson(entry), 'utf8');
}

export function signAuditEntry(
  entry: AuditRecord & AuditLink,
  privateKey: KeyObject | string,
): AuditSignature {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const value = sign(null, signedBytes(entry), key).toString('base64');
  return { publicKey: publicKeyId(createPublicKey(key)), value };
}

/** The link the next line gets, from the last line of the file ('' when empty or new). */
export function nextAuditLink(lastLine: string): AuditLink {
  if (lastLine === '') return { seq: 1, prev: null };
  let seq = 0;
  try {
    const parsed = JSON.parse(lastLine) as { seq?: unknown };
    if (typeof parsed.seq === 'number' && Number.isSafeInteger(parsed.seq)) seq = parsed.seq;
  } catch {
    // A cut-off last line: the chain goes on after it, and reading the file shows the break.
  }
  return { seq: seq + 1, prev: auditLineDigest(lastLine) };
}

export interface AuditChainReport {
  /** Lines in the file. */
  entries: number;
  /** Lines with a good signature by a trusted key, in an unbroken chain. */
  signed: number;
  /** Lines before the first signed one (written before the chain began, or by the sidecar): not evidence. */
  unsignedBefore: number;
  /** One sentence per break, with its line number; empty when the chain is whole. */
  breaks: string[];
  /** One sentence for the log and the list, or null when the chain is whole. */
  problem: string | null;
}

const MAX_BREAKS = 20;

function signatureMatches(entry: AuditEntry, trustedKeys: readonly string[]): boolean {
  const sig = entry.sig;
  if (!sig || !isPublicKeyId(sig.publicKey) || !trustedKeys.includes(sig.publicKey)) return false;
  const { sig: _omit, ...signed } = entry;
  try {
    return verify(null, signedBytes(signed), keyObjectOf(sig.publicKey), Buffer.from(sig.value, 'base64'));
  } catch {
    return false;
  }
}

/** Whether `sig` is a good signature over exactly `entry` by the key it names (whether that key is trusted aside). */
export function auditSignatureValid(entry: AuditRecord & AuditLink, sig: AuditSignature): boolean {
  return signatureMatches({ ...entry, sig }, [sig.publicKey]);
}

/**
 * Whether the file still holds the line the database anchored (its newest line as this server wrote it): null when
 * it does (or nothing was anchored), else one sentence. Deleting the newest lines leaves no trace in the file itself.
 */
export function anchorBreak(text: string, anchor: AuditAnchor | null): string | null {
  if (!anchor) return null;
  let head = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let seq: unknown;
    try {
      seq = (JSON.parse(line) as { seq?: unknown }).seq;
    } catch {
      continue;
    }
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) continue;
    if (seq === anchor.seq && auditLineDigest(line) === anchor.digest) return null;
    head = Math.max(head, seq);
  }
  return head < anchor.seq
    ? `the audit trail ends at ${head} but the database records ${anchor.seq}: lines were removed from its end`
    : `the audit trail's entry ${anchor.seq} is not the one the database records: lines were removed from its end and others written after them`;
}

/** Reads the whole file's text against the trusted keys (this server's own and trusted_keys) and the anchor. */
export function assessAuditChain(
  text: string,
  trustedKeys: readonly string[],
  anchor: AuditAnchor | null = null,
): AuditChainReport {
  const cutOff = text.length > 0 && !text.endsWith('\n');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const breaks: string[] = [];
  let signed = 0;
  let unsignedBefore = 0;
  let chainStarted = false;
  let previous: { line: string; seq: number } | null = null;
  lines.forEach((line, index) => {
    const at = `line ${index + 1}`;
    let entry: AuditEntry | null = null;
    try {
      entry = JSON.parse(line) as AuditEntry;
    } catch {
      entry = null;
    }
    if (cutOff && index === lines.length - 1) breaks.push(`${at} is cut off (the file was truncated)`);
    else if (entry === null || typeof entry !== 'object') breaks.push(`${at} is not a JSON record`);
    else if (!entry.sig) {
      if (chainStarted) breaks.push(`${at} is not signed (written or replaced by someone without the key)`);
      else unsignedBefore += 1;
    } else if (!signatureMatches(entry, trustedKeys)) {
      chainStarted = true;
      breaks.push(`${at}'s signature does not match (edited, or signed by a key this server does not trust)`);
    } else {
      const expectedSeq = chainStarted ? (previous?.seq ?? 0) + 1 : 1;
      const expectedPrev = index === 0 ? null : auditLineDigest(lines[index - 1] ?? '');
      if (entry.seq !== expectedSeq)
        breaks.push(
          entry.seq > expectedSeq
            ? `${at} has number ${entry.seq} where ${expectedSeq} belongs: entries before it were deleted`
            : `${at} has number ${entry.seq} after ${expectedSeq - 1}: entries were reordered or repeated`,
        );
      else if (entry.prev !== expectedPrev)
        breaks.push(`${at} does not follow the line before it (a line was deleted, inserted or reordered)`);
      else signed += 1;
      chainStarted = true;
    }
    const seq = entry && typeof entry.seq === 'number' ? entry.seq : (previous?.seq ?? 0);
    previous = { line, seq };
  });
  const cut = anchorBreak(text, anchor);
  if (cut) breaks.unshift(cut);
  const shown = breaks.slice(0, MAX_BREAKS);
  const problem =
    shown.length === 0
      ? null
      : `the audit log's signed chain is broken: ${shown.join('; ')}${breaks.length > shown.length ? `; and ${breaks.length - shown.length} more` : ''}`;
  return { entries: lines.length, signed, unsignedBefore, breaks: shown, problem };
}
