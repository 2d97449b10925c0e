/**
 * The image tier builds each (board, role) image once per test run: every
 * scenario that boots the stock image of a board and role shares one
 * buildImage call (into build/images/<board>-<role>, as `tfw build` writes
 * it), so a suite of eleven files no longer rebuilds the same initramfs a
 * dozen times. Builds with their own options (version, outDir, lock, cache)
 * still call buildImage themselves. An image that embeds another (the aibox
 * carries the slice image) is given this run's build of it, so the slice
 * image is built once whichever test asks first.
 */
import { buildImage } from '../../images/builder/image.js';
import { makeProgress } from '../../images/builder/progress.js';
import { loadRole } from '../../images/builder/schema.js';

type BuildResult = ReturnType<typeof buildImage>;
const built = new Map<string, BuildResult>();

/**
 * The stock image of `board` and `role` (outDir, manifest), built on the
 * first call of a run and reused after.
 * @throws what buildImage throws (missing lock entries, bad board files)
 */
export function builtImage(board: string, role: string): BuildResult {
  const key = `${board}/${role}`;
  let r = built.get(key);
  if (r) return r;
  // An image carrying others (the aibox carries the slice image) reuses their builds of this run, and they its.
  const embedded = Object.fromEntries(loadRole(role).embeds.map((e) => [e, builtImage(board, e)]));
  built.set(key, (r = buildImage({ board, role, embedded, progress: makeProgress({ quiet: true }) })));
  return r;
}
