/**
 * The guest console as shown on the user's terminal (tfw boot, make run):
 * terminal control sequences the guest sends (SeaBIOS's reset `ESC c` and
 * clear-screen `ESC [ 2 J`, OSC window titles, ECMA-48 CSI sequences) must not
 * reset or clear the user's terminal. Chunks from QEMU split sequences
 * anywhere, so the filter keeps an unfinished sequence for the next chunk.
 * ECMA-48 (5th edition) §5.4 gives the CSI form: ESC [ parameters (0x30-0x3f),
 * intermediates (0x20-0x2f), one final byte (0x40-0x7e).
 */

/** Complete sequences: CSI, OSC (ended by BEL or ESC \), other two-byte escapes. */
const SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -~]/g;
/** What may still become a sequence at the end of a chunk. */
const UNFINISHED = /\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?)?$/;
/** Interactive use keeps line editing (cursor moves, erase in line, colours) and drops what wipes the screen. */
const SCREEN_WIPE = /^(?:\x1bc|\x1b\[[0-9;]*J|\x1b\[\?(?:1049|47|1047)[hl]|\x1b\[[0-9;]*[HfSTr])$/;

/**
 * Returns a function that filters console chunks in order. `interactive`
 * (a shell on the guest console) keeps sequences that edit a line and drops
 * only those that reset, clear or switch the screen; otherwise every sequence
 * and every C0 control but tab, newline and carriage return goes.
 */
export function consoleFilter(o: { interactive?: boolean } = {}): (chunk: string) => string {
  let held = '';
  return (chunk) => {
    let s = held + chunk;
    const tail = UNFINISHED.exec(s);
    held = tail ? tail[0] : '';
    if (tail) s = s.slice(0, tail.index);
    s = s.replace(SEQUENCE, (seq) => (o.interactive && !SCREEN_WIPE.test(seq) ? seq : ''));
    return o.interactive ? s : s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
  };
}
