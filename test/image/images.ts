/**
 * The image tier builds each (board, role) image once per test run: every
 * scenario that boots the stock image of a board and role shares one
 * buildImage call (into build/images/<board>-<role>, as `tfw build` writes
 * it), so a suite of eleven files no longer rebuilds the same initramfs a
 * dozen times. Builds with their own options (version, outDir, lock, cache)
 * still call buildImage themselves.
 */
import { buildImage } from '../../images/builder/image.js';
import { makeProgress } from '../../images/builder/progress.js';

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
  if (!r) built.set(key, (r = buildImage({ board, role, progress: makeProgress({ quiet: true }) })));
  return r;
}
