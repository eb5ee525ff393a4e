import { CryptoInputError, publicKeyFingerprint } from '@smartmeter/crypto';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { EventName, type OrgKeyPointer, type OrgKeyRecord } from '@smartmeter/domain';
import { callerOf, describe, isAuditor, isOperatorOf, type Caller } from '../access';
import { SmartMeterContract } from '../baseContract';
import { alreadyExists, forbidden, invalidArgument, notFound } from '../contractError';
import { Keys } from '../ledger/keys';
import { canonicalJson } from '../ledger/marshal';
import { saveAndEmit, valuesByPartialKey, write } from '../ledger/store';
import { txTimeIso } from '../ledger/txTime';
import { currentOrgKey, orgKeyVersionKey } from '../orgKeys';
import { requireIdentifier } from '../validate';

const MAX_PEM_LENGTH = 1024;

/** The registry of organizations' encryption public keys: session keys are wrapped for these keys. */
@Info({ title: 'OrgKey', description: 'Organization encryption key registry (versioned, with history)' })
export class OrgKeyContract extends SmartMeterContract {
  constructor() {
    super('OrgKey');
  }

  /** Publishes a new version of the caller's organization key. Org admins and operators/auditors may. */
  @Transaction()
  @Returns('string')
  async PublishOrgKey(ctx: Context, publicKeyPem: string): Promise<string> {
    if (
      typeof publicKeyPem !== 'string' ||
      publicKeyPem.length === 0 ||
      publicKeyPem.length > MAX_PEM_LENGTH
    ) {
      throw invalidArgument(`publicKeyPem must be a PEM public key of at most ${MAX_PEM_LENGTH} characters`);
    }
    let fingerprint: string;
    try {
      fingerprint = publicKeyFingerprint(publicKeyPem);
    } catch (err) {
      if (err instanceof CryptoInputError) throw invalidArgument(`publicKeyPem: ${err.message}`);
      throw err;
    }
    const caller = callerOf(ctx);
    const publishedByRole = publisherRole(caller);

    const current = await currentOrgKey(ctx, caller.mspId);
    if (current?.fingerprint === fingerprint) {
      throw alreadyExists(`this key is already version ${current.version} of ${caller.mspId}`);
    }
    const record: OrgKeyRecord = {
      docType: 'orgKey',
      mspId: caller.mspId,
      version: (current?.version ?? 0) + 1,
      publicKeyPem,
      fingerprint,
      publishedAt: txTimeIso(ctx),
      publishedByRole,
    };
    const pointer: OrgKeyPointer = { docType: 'orgKeyPointer', mspId: record.mspId, version: record.version };
    await write(ctx, Keys.orgKeyCurrent.key(ctx, { mspId: record.mspId }), pointer);
    return saveAndEmit(
      ctx,
      orgKeyVersionKey(ctx, record.mspId, record.version),
      record,
      EventName.OrgKeyPublished,
      {
        mspId: record.mspId,
        version: record.version,
      },
    );
  }

  @Transaction(false)
  @Returns('string')
  async GetOrgKey(ctx: Context, mspId: string): Promise<string> {
    const key = await currentOrgKey(ctx, requireIdentifier('mspId', mspId));
    if (!key) throw notFound(`${mspId} has not published an encryption key on this channel`);
    return canonicalJson(key);
  }

  @Transaction(false)
  @Returns('string')
  async GetOrgKeyHistory(ctx: Context, mspId: string): Promise<string> {
    const history = await valuesByPartialKey<OrgKeyRecord, 'mspId' | 'version'>(ctx, Keys.orgKey, {
      mspId: requireIdentifier('mspId', mspId),
    });
    return canonicalJson(history);
  }
}

function publisherRole(caller: Caller): string {
  if (caller.isOrgAdmin) return 'admin';
  if (isOperatorOf(caller)) return 'operator';
  if (isAuditor(caller)) return 'auditor';
  throw forbidden(
    `publishing an organization key needs an org admin, operator or auditor; caller is ${describe(caller)}`,
  );
}
