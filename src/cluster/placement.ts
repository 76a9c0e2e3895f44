/**
 * Which node pulls a `source:` path: rendezvous (highest random weight) hashing of the path over the
 * live members. Every node computes the same order from the same members, and a member's arrival or
 * departure moves only the paths it wins or held (about 1/N of them), unlike a modulo.
 */

/** A 32-bit FNV-1a over the member name, a NUL, and the path, with a final avalanche (murmur3 fmix32). */
export function weight(member: string, path: string): number {
  let h = 0x811c9dc5;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  };
  mix(member);
  h = Math.imul(h, 0x01000193); // the separator: "ab"+"c" and "a"+"bc" differ
  mix(path);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The members in the order they would take the path: the first pulls it, the next takes over. */
export function placementOrder(path: string, members: Iterable<string>): string[] {
  // Ties (1 in 2^32) are broken by name, so every node agrees.
  return [...members].map((m) => ({ m, w: weight(m, path) }))
    .sort((a, b) => b.w - a.w || (a.m < b.m ? -1 : a.m > b.m ? 1 : 0))
    .map((x) => x.m);
}

/** The member that pulls the path, or undefined with no member. */
export function placeOf(path: string, members: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestW = -1;
  for (const m of members) {
    const w = weight(m, path);
    if (w > bestW || (w === bestW && best !== undefined && m < best)) {
      best = m;
      bestW = w;
    }
  }
  return best;
}
