/**
 * Entry point of the bar database verifier, a child process started by
 * src/storage/verify.ts (through dev-shim.mjs when running from TypeScript):
 * `verify-store <db path> <record bytes>`. The verifier is
 * src/storage/verify-child.ts.
 */
import { verifyChild } from '../src/storage/verify-child.ts';

const args = process.argv.slice(process.argv[2]?.endsWith('verify-store.ts') === true ? 3 : 2);
process.exit(verifyChild(args[0]!, Number(args[1]))); // lmdb's threads must not keep it alive
