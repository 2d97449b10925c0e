/**
 * Child process for compaction.test.ts: fills nothing, opens the log given as
 * argv[2], compacts it and SIGKILLs itself at stage argv[3] (`copy:N` after the
 * Nth copied record, or `rename` just before the rename): a crash mid-compaction.
 */
import { compactLog } from '../../../runtime/storage/compaction.js';
import { RecordLog } from '../../../runtime/storage/record-log.js';

const [path, at] = process.argv.slice(2);
const log = new RecordLog(path, 'never');
await compactLog(log, {
  yieldBytes: 1,
  onStage: (stage, n) => {
    if (at === 'rename' ? stage === 'rename' : stage === 'copy' && `copy:${n}` === at) process.kill(process.pid, 'SIGKILL');
  },
});
process.stdout.write('finished without being killed\n');
