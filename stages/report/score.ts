// Loading a trained genre model and scoring features with it, through the train stage's model
// API (stages/models/api.ts), behind the small interface the metrics stage needs.

/** Folder of the model files inside a train tree (the baseline's sits under baseline/). */
export const MODEL_DIR = 'model';

export interface GenreScorer {
  /** The model's registered name, shown in reports. */
  readonly name: string;
  /** The genres the model was trained on, in output column order, when the model records them. */
  readonly genres: readonly string[] | undefined;
  /** x: float32 [B,L,D], row-major -> probabilities float32 [B,G]. */
  predict(x: Float32Array, shape: readonly [number, number, number]): Promise<Float32Array>;
  dispose(): void;
}

/** `resolve` maps a path inside the train tree relative to the model's prefix (e.g. "model/model.json") to a local file. */
export async function loadScorer(resolve: (relPath: string) => string): Promise<GenreScorer> {
  void resolve;
  throw new Error('loadScorer: waiting for stages/models/api.ts');
}
