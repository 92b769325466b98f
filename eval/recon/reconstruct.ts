/**
 * The one reconstruction entry: `reconstruct(op, data, spec)`, every method behind it.
 *
 * Per-channel methods (one tilt series in, one volume out): SIRT (ASTRA semantics; the
 * slice-parallel WebAssembly kernel on the Joseph projector, the reference loop on any other
 * operator), FBP, TV (Chambolle-Pock). Joint methods (a HAADF tilt series plus one EDX tilt series
 * per element in, every element volume and the HAADF model volume out): fused, bimodal, TNV
 * (joint/). Specs are strings ('sirt:100', 'fbp:hann', 'tv:100:0.05', 'fused:100') parsed by
 * `parseReconSpec`; the CLI (`nanodose reconstruct`) and the evaluation harness both go through here.
 */
import type { TiltGeometry } from '../../generators/projection/geometry.ts';
import { Projector, makeGeometry } from '../../generators/projection/index.ts';
import type { Progress } from '../../core/progress.ts';
import type { ProjectionOperator, IterationRecord } from './operator.ts';
import { sirt } from './sirt/reference.ts';
import { sirtFast } from './sirt/slices.ts';
import { RayTableOperator } from './sirt/ray-operator.ts';
import { fbp, FBP_FILTERS, type FbpFilter } from './fbp.ts';
import { tvReconstruct } from './tv.ts';
import { SliceMatrixOperator } from './joseph-matrix.ts';
import { JOINT_METHODS, parseJointSpec, reconstructJoint, type JointSpec, type JointTiltSeries, type JointVolumes } from './joint/index.ts';
import { ConfigError } from '../../core/validate.ts';

export type ChannelReconSpec =
  | { kind: 'sirt'; iterations: number; relaxation?: number }
  | { kind: 'fbp'; iterations: 0; filter: FbpFilter }
  | { kind: 'tv'; iterations: number; mu: number };
export type ReconSpec = ChannelReconSpec | JointSpec;

export const CHANNEL_METHODS = ['sirt', 'fbp', 'tv'] as const;

export function isJointSpec(s: ReconSpec): s is JointSpec { return (JOINT_METHODS as readonly string[]).includes(s.kind); }

const USAGE = 'sirt[:iterations], fbp[:filter], tv[:iterations[:mu]], fused[:iterations[:tv]], bimodal[:iterations[:alpha]] or tnv[:iterations[:weight]]';

/** Parses a method spec; throws naming what was found and what is allowed. */
export function parseReconSpec(spec: string): ReconSpec {
  const [kind, a, b] = spec.split(':');
  if (kind === 'sirt') {
    const it = a === undefined ? 100 : Number(a);
    if (!Number.isInteger(it) || it < 1 || it > 10000) throw new ConfigError('recon', `SIRT iterations must be an integer in [1, 10000], got '${a}'`);
    return { kind, iterations: it };
  }
  if (kind === 'fbp') {
    const f = (a ?? 'ram-lak') as FbpFilter;
    if (!FBP_FILTERS.includes(f)) throw new ConfigError('recon', `FBP filter must be one of ${FBP_FILTERS.join(', ')}, got '${a}'`);
    return { kind, iterations: 0, filter: f };
  }
  if (kind === 'tv') {
    const it = a === undefined ? 100 : Number(a), mu = b === undefined ? 0.05 : Number(b);
    if (!Number.isInteger(it) || it < 1 || it > 10000) throw new ConfigError('recon', `TV iterations must be an integer in [1, 10000], got '${a}'`);
    if (!(mu >= 0) || !Number.isFinite(mu)) throw new ConfigError('recon', `TV weight mu must be >= 0 (relative to the tilt series' mean), got '${b}'`);
    return { kind, iterations: it, mu };
  }
  if ((JOINT_METHODS as readonly string[]).includes(kind)) return parseJointSpec(spec);
  throw new ConfigError('recon', `expected ${USAGE}, got '${spec}'`);
}

/** The Joseph projector (generators/projection) over `workers` threads for a geometry. */
export async function makeOperator(geom: TiltGeometry, workers?: number): Promise<ProjectionOperator> {
  return new Projector(makeGeometry({ angles: geom.angles, nz: geom.nz, ny: geom.ny, nx: geom.nx, nCols: geom.nCols, axisOffset: geom.axisOffset }), { workers });
}

/** Whether the operator is the Joseph projector (the slice-parallel SIRT kernel computes its iterates). */
export function isJoseph(op: ProjectionOperator): boolean { return op instanceof SliceMatrixOperator || op instanceof Projector; }

export interface ReconOptions {
  /** SIRT worker threads (the projector's are set where it is made). */
  workers?: number;
  /** Ticks once per iteration (per slice-iteration fraction for the slice-parallel SIRT). */
  progress?: Progress;
  /**
   * Per-iteration record (objective and its terms), in iteration order. The slice-parallel SIRT
   * kernel runs every iteration of a chunk of slices before the next chunk, so it has no
   * whole-volume residual per iteration: there no records come (the progress bar still ticks).
   */
  onIteration?: (r: IterationRecord) => void;
}

export function reconstruct(op: ProjectionOperator, data: Float32Array, spec: ChannelReconSpec, o?: ReconOptions): Promise<Float32Array>;
export function reconstruct(op: ProjectionOperator, data: JointTiltSeries, spec: JointSpec, o?: ReconOptions): Promise<JointVolumes>;
export async function reconstruct(op: ProjectionOperator, data: Float32Array | JointTiltSeries, spec: ReconSpec, o: ReconOptions = {}): Promise<Float32Array | JointVolumes> {
  if (isJointSpec(spec)) {
    if (data instanceof Float32Array) throw new ConfigError('recon', `${spec.kind} is a joint method: it needs a HAADF tilt series and the element tilt series`);
    if (!isJoseph(op)) return reconstructJoint(op, data, spec, o);
    // On the Joseph operator, the joint engine projects on the ray table (sirt/ray-operator.ts): the
    // same projector up to float rounding, several times faster than the matrix-free Projector, with
    // the operator's own number of workers (results identical for any number).
    const fast = new RayTableOperator(op.geom, { workers: op instanceof Projector ? op.workers : 1 });
    try { return await reconstructJoint(fast, data, spec, o); } finally { await fast.close(); }
  }
  if (!(data instanceof Float32Array)) throw new ConfigError('recon', `${spec.kind} reconstructs one tilt series at a time`);
  const g = op.geom;
  if (spec.kind === 'sirt') {
    // On the Joseph operator (generators/projection's Projector or its CSR matrix), the
    // slice-parallel kernel computes the same iterates (up to float rounding; byte-identical for any
    // number of workers) several times faster (64^3, 29 tilts, 50 iterations: 1.2 s against 4.5 s
    // for the generic SIRT on the matrix-free Projector); workers only pay off for more than a few slices.
    if (isJoseph(op)) return sirtFast(data, { nz: g.nz, ny: g.ny, nx: g.nx, nCols: g.nCols, angles: g.angles, axisOffset: g.axisOffset, iterations: spec.iterations, relaxation: spec.relaxation, minConstraint: 0, workers: g.nz >= 32 ? o.workers : 1, progress: o.progress });
    return sirt(op, data, { iterations: spec.iterations, relaxation: spec.relaxation, minConstraint: 0, progress: o.progress, onIteration: o.onIteration && ((r) => o.onIteration!(r)) });
  }
  if (spec.kind === 'fbp') return fbp(op, data, { filter: spec.filter });
  let mean = 0;
  for (let i = 0; i < data.length; i++) mean += data[i];
  mean /= data.length;
  return tvReconstruct(op, data, { iterations: spec.iterations, mu: spec.mu * Math.max(mean, 1e-6), progress: o.progress, onIteration: o.onIteration });
}
