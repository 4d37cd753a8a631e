// The render bench's site in a process of its own (its CPU is not counted on
// either side): testkit's spaSite with a sitemap of every page, so a crawl
// that does not render (render: never) reaches the same app pages.
// argv: app pages, the bundle's render delay (ms). Prints its origin.
import { spaSite } from '@crawlstream/testkit/spa-site';

const site = await spaSite({ pages: Number(process.argv[2] ?? 200), staticPages: 3, renderDelayMs: Number(process.argv[3] ?? 75), sitemap: true });
process.stdout.write(`${site.origin}\n`);
process.on('SIGTERM', () => site.close().then(() => process.exit(0)));
