// CSS selectors of the `includeSelectors`/`excludeSelectors` options, checked
// with the engine the extractor runs them with (cheerio's: cheerio-select over
// css-select and css-what), so that a selector accepted here never throws
// during a crawl.
import { select } from 'cheerio-select';

/** Why `selector` cannot be used, or undefined when it can. */
export function cssSelectorProblem(selector: string): string | undefined {
  if (selector.trim() === '') return 'empty selector';
  try {
    // Compiling against no elements parses and checks every part (pseudo-classes, nth rules).
    select(selector, [], { xmlMode: false });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
