/**
 * Greedy CTC decoding of one recognised line: the best class per time step, repeats merged, blanks
 * (class 0) dropped; confidence is the mean probability of the kept characters.
 */
export function ctcDecode(probs: Float32Array, steps: number, classes: number, dictionary: readonly string[]): { text: string; confidence: number } {
  let text = '';
  let total = 0;
  let kept = 0;
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    let bestP = -Infinity;
    const row = t * classes;
    for (let c = 0; c < classes; c++) {
      const p = probs[row + c]!;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== 0 && best !== previous) {
      text += dictionary[best - 1] ?? '';
      total += bestP;
      kept++;
    }
    previous = best;
  }
  return { text, confidence: kept ? total / kept : 0 };
}
