/**
 * The paper's own figures (Robustness of self-supervised ViT features in b-mode images), shown
 * beside every measured result so a reader can see how far a run is from the publication.
 * They come from the paper's text and figures, not from this code.
 */
export const PAPER = {
  sameDomain: {
    /** Best domain: about the same at every set size (2, 3, 5, 10). */
    best: { dice: 0.9, iou: 0.77 },
    notes: [
      'Best domain: Dice ≈ 0.9, IoU ≈ 0.77 at every set size (2, 3, 5 and 10 images).',
      'Other domains: Dice 0.58–0.75.',
      'One domain collapsed to Dice 0 with sets of 10 images.',
    ],
  },
  crossDomain: {
    /** The best domain when each of its images is paired with an image of another domain. */
    bestPaired: { dice: 0.78, iou: 0.59 },
    notes: [
      'Pairing with an image of another domain dropped the best domain from Dice ≈ 0.9 / IoU ≈ 0.77 to ≈ 0.78 / 0.59.',
    ],
  },
  noise: {
    notes: [
      'Additive noise I + ε·N(0, 1) on the normalized input, ε from 0 to 3: the features degrade visibly from ε ≈ 2.',
      'Dice and IoU fall by about half over that range.',
    ],
  },
} as const;
