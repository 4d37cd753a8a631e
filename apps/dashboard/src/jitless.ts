// Imported first by main.ts, before any schema is built: zod must not compile
// validators with `new Function`. The page's Content-Security-Policy forbids
// eval, and zod's probe for it would be reported as a CSP violation.
import { config } from 'zod';

config({ jitless: true });
