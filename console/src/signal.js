// A value the page can watch (a tiny observable; preact's own signals package would add 4 kB for this).
export function signal(initial) {
  let value = initial;
  const watchers = new Set();
  return {
    get: () => value,
    set(next) {
      value = next;
      for (const watch of watchers) watch(value);
    },
    watch(fn) {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },
  };
}
