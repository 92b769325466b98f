/**
 * Block worker of the concurrent evaluation (eval/harness/run.ts): a piscina task (core/pool.ts
 * taskQueue, started by core/ts-worker.mjs) that evaluates one whole (phantom, dose) group. Each
 * worker keeps one GroupEvaluator for all its groups (its own operator, SIRT threads and denoisers;
 * a model method loads its own single-threaded wasm TensorFlow.js), built from the GroupContext in
 * its workerData on its first task. It writes no file: it returns the group's rows, slices and
 * warnings with its share of the stage times, and the main thread is the only writer.
 */
import { errorReply, poolWorkerData, type WorkerErrorReply } from '../../core/pool.ts';
import { GroupEvaluator, type BlockResult, type GroupContext, type GroupSample } from './group.ts';

export interface GroupTask { phantom: number; dose: number; methods: string[]; sample: GroupSample }

/** A group's blocks and this task's share of the stage times (ms per stage), or the error as the parent rebuilds it (core/pool.ts workerError). */
export type GroupTaskResult = { blocks: BlockResult[]; times: [string, number][]; perMethod: [string, number][] } | { error: WorkerErrorReply };

let ev: GroupEvaluator | undefined;

export default async function evaluateGroup(t: GroupTask): Promise<GroupTaskResult> {
  try {
    ev ??= new GroupEvaluator(await poolWorkerData<GroupContext>());
    const before = new Map(ev.times.seconds());
    const beforeM = new Map(ev.perMethod.seconds());
    const blocks = await ev.evaluate(t.phantom, t.dose, t.sample, t.methods);
    const delta = (now: [string, number][], was: Map<string, number>) => now.map(([k, s]) => [k, (s - (was.get(k) ?? 0)) * 1000] as [string, number]);
    return { blocks, times: delta(ev.times.seconds(), before), perMethod: delta(ev.perMethod.seconds(), beforeM) };
  } catch (e) {
    return { error: errorReply(e) };
  }
}
