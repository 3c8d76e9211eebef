import { CONFUSABLE_PROTOTYPES } from './confusable-prototypes.js';

let prototypes: Map<string, string> | undefined;

// Default-ignorable code points (zero-width joiners, variation selectors...) render as nothing.
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * The UTS #39 skeleton of `text`: NFD, default-ignorable code points removed,
 * each character replaced by its confusables.txt prototype, NFD again. Two
 * names with the same skeleton look alike (Latin "a" and Cyrillic "а").
 */
export function skeleton(text: string): string {
  prototypes ??= new Map(CONFUSABLE_PROTOTYPES.split('\n').map((line) => line.split('\t') as [string, string]));
  let folded = '';
  for (const char of text.normalize('NFD').replace(IGNORABLE, '')) folded += prototypes.get(char) ?? char;
  return folded.normalize('NFD');
}
