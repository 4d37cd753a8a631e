// CSS selectors of the `includeSelectors`/`excludeSelectors` options, checked
// with the engine the extractor runs them with (cheerio's: cheerio-select over
// css-select and css-what), so that a selector accepted here never throws
// during a crawl.
import { select } from 'cheerio-select';
import { parse, type Selector } from 'css-what';

/**
 * Pseudo-classes css-select runs in time quadratic in an element's siblings
 * (each match counts the siblings before or after it): one of them took 1 s
 * on a 128 KiB page of 18,000 siblings, and a 10 MiB page would take hours.
 */
const QUADRATIC_PSEUDOS = new Set(['nth-child', 'nth-last-child', 'nth-of-type', 'nth-last-of-type']);
/**
 * `a ~ b` looks at every sibling before each `b` (1.3 s on the same page);
 * inside `:has()`, so does `+` (`:has(+ p)`: 4 s).
 */
const SIBLING = 'sibling';
const ADJACENT = 'adjacent';

/** Why `selector` cannot be used, or undefined when it can. */
export function cssSelectorProblem(selector: string): string | undefined {
  if (selector.trim() === '') return 'empty selector';
  try {
    // Compiling against no elements parses and checks every part (pseudo-classes, nth rules).
    select(selector, [], { xmlMode: false });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return costProblem(parse(selector), false);
}

function costProblem(selectors: Selector[][], inHas: boolean): string | undefined {
  for (const sequence of selectors) {
    for (const token of sequence) {
      if (token.type === SIBLING) return 'the ~ combinator is not supported (its cost grows with the square of the page)';
      if (inHas && token.type === ADJACENT) return 'the + combinator inside :has() is not supported (its cost grows with the square of the page)';
      if (token.type !== 'pseudo') continue;
      if (QUADRATIC_PSEUDOS.has(token.name)) return `:${token.name}() is not supported (its cost grows with the square of the page)`;
      if (Array.isArray(token.data)) {
        const problem = costProblem(token.data, inHas || token.name === 'has');
        if (problem) return problem;
      }
    }
  }
  return undefined;
}
