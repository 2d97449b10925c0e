/** A hook that calls `fn` now and every `ms` while the component is shown (2 s by default). */
import { useEffect, useRef } from 'preact/hooks';

export function usePoll(fn: () => Promise<void> | void, ms = 2000): void {
  const f = useRef(fn);
  f.current = fn;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        await f.current();
      } finally {
        if (!stopped) timer = setTimeout(tick, ms);
      }
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [ms]);
}
